/**
 * Cluster DNS for process-node pods, loaded into each pod process with
 * `NODE_OPTIONS=--import <dist>/local-cluster/service-dns-preload.js` (process-node.ts sets it).
 *
 * Wraps `dns.lookup` (what `net`, `http` and fetch/undici use to resolve a host) so Service names resolve
 * to the loopback service IP the process node listens on (service-proxy.ts). The mapping is read from
 * the file named by `NEROPS_SERVICE_HOSTS` on every lookup, so Services created after the pod started
 * resolve too; `NEROPS_POD_NAMESPACE` is the namespace a bare `<svc>` means. Any other name, or a
 * missing or unreadable file, goes to the original lookup.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { ProcessNodeEnv } from '../contracts/process-node-env.js';
import { resolveServiceHost, type ServiceHosts } from './service-routing.js';

const hostsFile = process.env[ProcessNodeEnv.serviceHosts];
const podNamespace = process.env[ProcessNodeEnv.podNamespace];

function lookupService(host: string): string | undefined {
  if (!hostsFile) return undefined;
  let hosts: ServiceHosts;
  try {
    hosts = JSON.parse(readFileSync(hostsFile, 'utf8')) as ServiceHosts;
  } catch {
    return undefined;
  }
  return resolveServiceHost(host, podNamespace, hosts);
}

type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
const original = dns.lookup.bind(dns) as unknown as (host: string, options: LookupOptions, cb: Callback) => void;

function lookup(host: string, options: LookupOptions | number | Callback, cb?: Callback): void {
  const callback = (typeof options === 'function' ? options : cb) as Callback;
  const opts: LookupOptions =
    typeof options === 'function' ? {} : typeof options === 'number' ? { family: options } : (options ?? {});
  const address = typeof host === 'string' && opts.family !== 6 ? lookupService(host) : undefined;
  if (address === undefined) return original(host, opts, callback);
  process.nextTick(() => (opts.all ? callback(null, [{ address, family: 4 }]) : callback(null, address, 4)));
}

const originalPromise = dns.promises.lookup.bind(dns.promises);
async function lookupPromise(host: string, options?: LookupOptions | number): Promise<LookupAddress | LookupAddress[]> {
  const opts: LookupOptions = typeof options === 'number' ? { family: options } : (options ?? {});
  const address = opts.family !== 6 ? lookupService(host) : undefined;
  if (address === undefined) return originalPromise(host, opts);
  return opts.all ? [{ address, family: 4 }] : { address, family: 4 };
}

(dns as { lookup: unknown }).lookup = lookup;
(dns.promises as { lookup: unknown }).lookup = lookupPromise;
syncBuiltinESMExports();
