/**
 * Services for process-node pods (what kube-proxy and cluster DNS do in a real cluster).
 *
 * Every routed Service (ClusterIP with a selector, see service-routing.ts) gets a loopback "service IP"
 * from the process node's pod-address allocator, so it can overlap neither a pod of this cluster nor
 * (no more than pods can) one of another cluster. On each of its TCP ports a proxy listens on that IP and
 * forwards each new connection to the next serving endpoint pod (round-robin; the target port by number
 * or container port name); with no endpoint the connection is reset, like kube-proxy's reject rule.
 * Established connections stay on their pod, as with kube-proxy. The name → IP table is written (atomic
 * rename) to a hosts file that service-dns-preload.ts reads inside each pod.
 *
 * {@link ServiceProxies} does the routing from given Services and Pods (unit-testable without a
 * cluster); {@link watchServices} feeds it from watches of all Services and the process node's pods.
 */
import net from 'node:net';
import { renameSync, writeFileSync } from 'node:fs';
import {
  ListWatch,
  Watch,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { isRoutedService, serviceEndpoints, serviceKey, type Endpoint, type ServiceHosts } from './service-routing.js';

interface PortProxy {
  server: net.Server;
  endpoints: Endpoint[];
  next: number;
  sockets: Set<net.Socket>;
}

interface ServiceEntry {
  key: string;
  ip: string;
  ports: Map<number, PortProxy>;
}

export interface ServiceProxiesOptions {
  /** Hands out a fresh loopback address (the process node's pod-address allocator). */
  allocateIp: () => string;
  /** The hosts file pods read (see service-dns-preload.ts); none when unset. */
  hostsFile?: string;
  log?: (line: string) => void;
}

export class ServiceProxies {
  readonly #o: ServiceProxiesOptions;
  /** By Service uid. */
  readonly #services = new Map<string, ServiceEntry>();
  #updates: Promise<void> = Promise.resolve();
  #hostsJson = '';
  #stopped = false;

  constructor(opts: ServiceProxiesOptions) {
    this.#o = opts;
    this.#writeHosts();
  }

  /** The current name → service IP table (`<name>.<namespace>` keys). */
  hosts(): ServiceHosts {
    return Object.fromEntries(
      [...this.#services.values()].map((e) => [e.key, e.ip]).sort(([a], [b]) => a!.localeCompare(b!)),
    );
  }

  /** Where `<name>.<namespace>:<port>` forwards now (tests, debugging). */
  endpoints(namespace: string, name: string, port: number): readonly Endpoint[] {
    const e = [...this.#services.values()].find((s) => s.key === serviceKey(namespace, name));
    return e?.ports.get(port)?.endpoints ?? [];
  }

  /** Brings listeners, endpoints and the hosts file in line with `services` and `pods`. Serialised. */
  update(services: readonly V1Service[], pods: readonly V1Pod[]): Promise<void> {
    this.#updates = this.#updates
      .then(() => this.#apply(services, pods))
      .catch((err: unknown) => this.#o.log?.(`service routing update failed: ${String(err)}`));
    return this.#updates;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#updates;
    await Promise.all([...this.#services.values()].flatMap((e) => [...e.ports.values()].map(closePort)));
    this.#services.clear();
  }

  async #apply(services: readonly V1Service[], pods: readonly V1Pod[]): Promise<void> {
    if (this.#stopped) return;
    const wanted = new Map(services.filter(isRoutedService).map((s) => [s.metadata?.uid ?? '', s]));
    for (const [uid, entry] of this.#services) {
      if (wanted.has(uid)) continue;
      this.#services.delete(uid);
      await Promise.all([...entry.ports.values()].map(closePort));
    }
    for (const [uid, svc] of wanted) {
      let entry = this.#services.get(uid);
      if (!entry) {
        entry = {
          key: serviceKey(svc.metadata?.namespace ?? '', svc.metadata?.name ?? ''),
          ip: this.#o.allocateIp(),
          ports: new Map(),
        };
        this.#services.set(uid, entry);
      }
      const ports = serviceEndpoints(svc, pods);
      for (const [port, proxy] of entry.ports) {
        if (!ports.some((p) => p.port === port)) {
          entry.ports.delete(port);
          await closePort(proxy);
        }
      }
      for (const { port, endpoints } of ports) {
        let proxy = entry.ports.get(port);
        if (!proxy) {
          try {
            proxy = await listen(entry.ip, port);
          } catch (err) {
            this.#o.log?.(`service ${entry.key}: cannot listen on ${entry.ip}:${port}: ${String(err)}`);
            continue;
          }
          entry.ports.set(port, proxy);
        }
        proxy.endpoints = endpoints;
      }
    }
    this.#writeHosts();
  }

  #writeHosts(): void {
    const file = this.#o.hostsFile;
    if (!file) return;
    const json = `${JSON.stringify(this.hosts(), null, 2)}\n`;
    if (json === this.#hostsJson) return;
    writeFileSync(`${file}.tmp`, json);
    renameSync(`${file}.tmp`, file);
    this.#hostsJson = json;
  }
}

async function listen(ip: string, port: number): Promise<PortProxy> {
  const proxy: PortProxy = { server: net.createServer(), endpoints: [], next: 0, sockets: new Set() };
  const track = (s: net.Socket): void => {
    proxy.sockets.add(s);
    s.on('close', () => proxy.sockets.delete(s));
  };
  proxy.server.on('connection', (client) => {
    track(client);
    const ep = proxy.endpoints.length ? proxy.endpoints[proxy.next++ % proxy.endpoints.length] : undefined;
    if (!ep) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(ep.port, ep.address);
    track(upstream);
    // An upstream that refuses or fails resets the client, so it sees a failed connection, not an empty answer.
    upstream.on('error', () => (client.destroyed ? undefined : client.resetAndDestroy()));
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    proxy.server.once('error', reject);
    proxy.server.listen(port, ip, () => {
      proxy.server.off('error', reject);
      resolve();
    });
  });
  return proxy;
}

async function closePort(proxy: PortProxy): Promise<void> {
  for (const s of proxy.sockets) s.destroy();
  await new Promise<void>((r) => proxy.server.close(() => r()));
}

/**
 * Feeds `proxies` from watches of every Service and of the pods bound to `nodeName` (the only ones a
 * loopback proxy can reach). Watches that fail are restarted; returns a stop function.
 */
export async function watchServices(
  kc: KubeConfig,
  nodeName: string,
  proxies: ServiceProxies,
  log?: (line: string) => void,
): Promise<() => Promise<void>> {
  const core = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `spec.nodeName=${nodeName}`;
  const services = new ListWatch<V1Service>(
    '/api/v1/services',
    new Watch(kc),
    () => core.listServiceForAllNamespaces(),
    false,
  );
  const pods = new ListWatch<V1Pod>(
    '/api/v1/pods',
    new Watch(kc),
    () => core.listPodForAllNamespaces({ fieldSelector }),
    false,
    undefined,
    fieldSelector,
  );
  let stopped = false;
  let scheduled = false;
  const sync = (): void => {
    if (scheduled || stopped) return;
    scheduled = true;
    // Coalesce a burst of events into one update.
    setTimeout(() => {
      scheduled = false;
      if (!stopped) void proxies.update(services.list(), pods.list());
    }, 20);
  };
  for (const informer of [services, pods] as ListWatch<KubernetesObject>[]) {
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, sync);
    informer.on('error', (err) => {
      if (stopped) return;
      log?.(`service routing watch failed (${String(err)}); restarting in 1 s`);
      setTimeout(() => void (stopped ? undefined : informer.start().catch(() => undefined)), 1000);
    });
  }
  await Promise.all([services.start(), pods.start()]);
  sync();
  return async () => {
    stopped = true;
    await Promise.all([services.stop(), pods.stop()].map((p) => p.catch(() => undefined)));
  };
}
