/** Free TCP ports on loopback, found by letting the kernel pick one and releasing it. */
import { createServer } from 'node:net';

/**
 * A port that was free a moment ago on `host`. There is a window before the component binds it;
 * each component gets a distinct port from one {@link freePorts} call, so they cannot collide with each other.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, host, () => resolve(s));
        }),
    ),
  );
  // Hold all of them open until every port is known, so the kernel cannot hand out one twice.
  const ports = servers.map((s) => {
    const addr = s.address();
    if (!addr || typeof addr === 'string') throw new Error('unexpected server address');
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
