/**
 * Pure parts of Service routing on the process node (see service-proxy.ts and service-dns-preload.ts):
 * which Service a host name means from inside a pod, and which pod addresses a Service port forwards to.
 * Type imports only: the DNS preload imports this module into every pod process.
 */
import type { V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';

/** Service name → loopback service IP, keyed `<name>.<namespace>`: the hosts file the process node keeps. */
export type ServiceHosts = Record<string, string>;

/** `<name>.<namespace>`: the key of a Service in {@link ServiceHosts}. */
export const serviceKey = (namespace: string, name: string): string => `${name}.${namespace}`;

/**
 * The service IP `host` resolves to from a pod in `podNamespace`, or undefined (then ordinary DNS
 * answers). Follows cluster DNS with the usual search path (`<ns>.svc.cluster.local`, `svc.cluster.local`,
 * `cluster.local`): `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc` and `<svc>.<ns>.svc.cluster.local` (any case,
 * a trailing dot allowed) name a Service; only Services in `hosts` resolve, so `example.com` still reaches
 * the internet unless namespace `com` has a Service `example`, as in a real cluster.
 */
export function resolveServiceHost(
  host: string,
  podNamespace: string | undefined,
  hosts: ServiceHosts,
): string | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (!name || /^[\d.]+$/.test(name) || name.includes(':')) return undefined;
  const parts = name.split('.');
  let key: string | undefined;
  if (parts.length === 1) key = podNamespace ? serviceKey(podNamespace, name) : undefined;
  else if (
    parts.length === 2 ||
    (parts.length === 3 && parts[2] === 'svc') ||
    (parts.length === 5 && parts.slice(2).join('.') === 'svc.cluster.local')
  ) {
    key = serviceKey(parts[1]!, parts[0]!);
  }
  return key === undefined ? undefined : hosts[key];
}

/** One forwarding target of a Service port. */
export interface Endpoint {
  address: string;
  port: number;
}

/** A Service port and the endpoints it forwards to. */
export interface ServicePortEndpoints {
  port: number;
  endpoints: Endpoint[];
}

/** Ready (Ready condition True), not terminating, with a pod IP: what an EndpointSlice calls serving. */
export function isServingPod(pod: V1Pod): boolean {
  return (
    !pod.metadata?.deletionTimestamp &&
    !!pod.status?.podIP &&
    !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** Whether `svc` is routed: a ClusterIP (or unset type) Service with a non-empty selector, not headless. */
export function isRoutedService(svc: V1Service): boolean {
  const type = svc.spec?.type ?? 'ClusterIP';
  return type === 'ClusterIP' && svc.spec?.clusterIP !== 'None' && Object.keys(svc.spec?.selector ?? {}).length > 0;
}

/** The pod port a Service port's `targetPort` means: a number, a container port's name, or the Service port itself. */
export function targetPortOf(sp: V1ServicePort, pod: V1Pod): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    const p = c.ports?.find((x) => x.name === target && (x.protocol ?? 'TCP') === 'TCP');
    if (p) return p.containerPort;
  }
  return undefined;
}

/**
 * The endpoints of each TCP port of `svc`: serving pods of its namespace whose labels match its selector,
 * ordered by pod name so round-robin is deterministic. A pod without the named target port is skipped for
 * that port, as the EndpointSlice controller does.
 */
export function serviceEndpoints(svc: V1Service, pods: readonly V1Pod[]): ServicePortEndpoints[] {
  if (!isRoutedService(svc)) return [];
  const ns = svc.metadata?.namespace;
  const selector = Object.entries(svc.spec?.selector ?? {});
  const matching = pods
    .filter(
      (p) =>
        p.metadata?.namespace === ns && isServingPod(p) && selector.every(([k, v]) => p.metadata?.labels?.[k] === v),
    )
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return (svc.spec?.ports ?? [])
    .filter((sp) => (sp.protocol ?? 'TCP') === 'TCP')
    .map((sp) => ({
      port: sp.port,
      endpoints: matching.flatMap((p) => {
        const port = targetPortOf(sp, p);
        return port === undefined ? [] : [{ address: p.status!.podIP!, port }];
      }),
    }));
}
