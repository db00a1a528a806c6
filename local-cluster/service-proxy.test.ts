/**
 * ServiceProxies on loopback without a cluster: two HTTP "pods" behind a Service, reached by name
 * through the DNS preload (imported into this test process, as NODE_OPTIONS does in a pod).
 */
import http from 'node:http';
import dns from 'node:dns';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProxies } from './service-proxy.js';

const dir = mkdtempSync(join(tmpdir(), 'svc-proxy-'));
const hostsFile = join(dir, 'hosts.json');
// A subnet of its own (third octet 250 is never a harness cluster's pod subnet start).
const subnet = `127.${1 + Math.floor(Math.random() * 254)}.250`;
let nextIp = 1;
const proxies = new ServiceProxies({ allocateIp: () => `${subnet}.${nextIp++}`, hostsFile });
const servers: http.Server[] = [];

async function backend(name: string): Promise<{ ip: string; port: number }> {
  const ip = `${subnet}.${100 + servers.length}`;
  const s = http.createServer((_req, res) => res.end(name));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, ip, r));
  return { ip, port: (s.address() as AddressInfo).port };
}
const pod = (name: string, ip: string, port: number, ready = true): V1Pod => ({
  metadata: { name, namespace: 'prod', labels: { app: 'ner' } },
  spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: port }] }] },
  status: { podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const svc: V1Service = {
  metadata: { name: 'notes', namespace: 'prod', uid: 'u1' },
  spec: { selector: { app: 'ner' }, ports: [{ port: 8080, targetPort: 'http' }] },
};
/** One GET on a fresh connection (an established connection stays on its pod, as with kube-proxy). */
const get = (url: string): Promise<string> =>
  new Promise<string>((resolve, reject) => {
    http
      .get(url, { agent: false, timeout: 2000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });

beforeAll(async () => {
  process.env.NEROPS_SERVICE_HOSTS = hostsFile;
  process.env.NEROPS_POD_NAMESPACE = 'prod';
  await import('./service-dns-preload.js');
});
afterAll(async () => {
  await proxies.stop();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

describe('ServiceProxies', () => {
  it('gives a Service an IP, resolves its names there and round-robins connections over serving pods', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const c = await backend('c');
    await proxies.update([svc], [pod('a', a.ip, a.port), pod('b', b.ip, b.port), pod('c', c.ip, c.port, false)]);
    const ip = proxies.hosts()['notes.prod'];
    expect(ip).toBe(`${subnet}.1`);
    expect(JSON.parse(readFileSync(hostsFile, 'utf8'))).toEqual({ 'notes.prod': ip });
    const addr = await dns.promises.lookup('notes.prod.svc.cluster.local');
    expect(addr).toEqual({ address: ip, family: 4 });
    const answers = [];
    for (const host of ['notes.prod.svc', 'notes', 'notes.prod', 'notes.prod.svc.cluster.local'])
      answers.push(await get(`http://${host}:8080/`));
    expect(answers).toEqual(['a', 'b', 'a', 'b']);
    // fetch (undici) resolves through the same lookup.
    expect(['a', 'b']).toContain(
      await (await fetch('http://notes.prod.svc:8080/', { signal: AbortSignal.timeout(2000) })).text(),
    );
  });

  it('follows endpoint changes, resets connections without endpoints, and drops a deleted Service', async () => {
    await proxies.update([svc], []);
    expect(proxies.endpoints('prod', 'notes', 8080)).toEqual([]);
    await expect(get('http://notes.prod.svc:8080/')).rejects.toThrow();
    const d = await backend('d');
    await proxies.update([svc], [pod('d', d.ip, d.port)]);
    expect(await get('http://notes.prod.svc:8080/')).toBe('d');
    await proxies.update([], []);
    expect(proxies.hosts()).toEqual({});
    expect(JSON.parse(readFileSync(hostsFile, 'utf8'))).toEqual({});
    await expect(dns.promises.lookup('notes.prod.svc')).rejects.toThrow();
  });
});
