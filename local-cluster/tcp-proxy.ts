/**
 * A loopback TCP proxy a test can cut and restore: "Prometheus is down" (or any dependency) for the one
 * client pointed at the proxy, without disturbing the shared cluster. `cut()` closes the listener and
 * every open connection; `start()` listens again on the same port.
 */
import net from 'node:net';

export class TcpProxy {
  #server: net.Server | undefined;
  #sockets = new Set<net.Socket>();
  port = 0;
  constructor(readonly target: URL) {}
  async start(): Promise<void> {
    this.#server = net.createServer((c) => {
      const up = net.connect(Number(this.target.port), this.target.hostname);
      for (const s of [c, up]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      c.pipe(up).pipe(c);
    });
    await new Promise<void>((r) => this.#server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }
  async cut(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    for (const sock of this.#sockets) sock.destroy();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }
}
