/**
 * Resource types (group/version/kind/plural) and the REST paths built from them. The runtime is generic
 * over these; the API engineer's CRDs and the built-in kinds the controllers own are all described this way.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

/** What the runtime needs to list, watch and write one kind. */
export interface ResourceType {
  /** API group; '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural used in paths, e.g. `configmaps`. */
  plural: string;
  /** False for cluster-scoped kinds. */
  namespaced: boolean;
}

/** `namespace/name` (or `name` for cluster-scoped objects): the queue and cache key. */
export type ObjectKey = string;

/** A key split into its parts. */
export interface ObjectRef {
  namespace?: string;
  name: string;
}

export function apiVersionOf(rt: Pick<ResourceType, 'group' | 'version'>): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** Builds the cache/queue key of an object. */
export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): ObjectKey {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export function makeKey(namespace: string | undefined, name: string): ObjectKey {
  return namespace ? `${namespace}/${name}` : name;
}

export function parseKey(key: ObjectKey): ObjectRef {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/**
 * The collection path (`namespace` undefined = all namespaces for namespaced kinds) or, with `name`, the
 * object path; `subresource` appends e.g. `/status`.
 */
export function resourcePath(rt: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const base = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  let p = base;
  if (rt.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${rt.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/** `kind.group` for logs and metrics labels (`ConfigMap` for the core group). */
export function resourceLabel(rt: ResourceType): string {
  return rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
}

/** True when `obj` is of kind `rt` (by apiVersion group and kind). */
export function isKind(rt: ResourceType, obj: KubernetesObject): boolean {
  return obj.kind === rt.kind && groupOf(obj.apiVersion ?? '') === rt.group;
}

/** The group part of an apiVersion (`apps/v1` → `apps`, `v1` → ``). */
export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** Built-in kinds the runtime and controllers use. */
export const builtin = {
  configMaps: { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  secrets: { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  services: { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  pods: { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  namespaces: { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  deployments: { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  jobs: { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true },
  podDisruptionBudgets: {
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    namespaced: true,
  },
  leases: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true },
  events: { group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true },
} as const satisfies Record<string, ResourceType>;
