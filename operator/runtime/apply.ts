/**
 * "Is the desired object already what the server has?" — decided locally so an unchanged reconcile sends
 * no request at all.
 *
 * Three checks, all on the fields *we* manage:
 * 1. Every field in the desired object has the same value on the live object (`isSubset`). Server defaults
 *    add fields we never set (a container's terminationMessagePath, a Service's clusterIP); those are
 *    ignored because only the desired side is walked. A hand edit of a field we set fails this check, so
 *    the next apply reverts it.
 * 2. Every field our field manager owns (its `managedFields` entry, operation Apply) is still in the
 *    desired object (`ownedFieldsCovered`). A field we stopped setting must be applied once more so the
 *    server removes it.
 * 3. Atomic string maps (a Service's `selector`) are owned as one leaf, so a key dropped from the desired
 *    map would pass both checks: those listed in {@link ATOMIC_STRING_MAPS} must equal the live map
 *    exactly (`atomicMapsEqual`). Only string maps are listed on purpose: other atomic structs (an env
 *    var's `fieldRef`) get server defaults that an exact comparison would flag on every reconcile.
 * A value the server normalises (a quantity `1000m` stored as `1`) fails check 1 on every reconcile; the
 * apply then is a no-op on the server (no new resourceVersion) but still a request, so desired objects
 * should use canonical forms.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

/** A managedFields entry (metav1.ManagedFieldsEntry). */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
}

/** Metadata fields the server owns or that never take part in the comparison. */
const IGNORED_METADATA = new Set([
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
]);

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

/**
 * True when every field set in `desired` has the same value in `live`. Objects compare recursively (extra
 * live fields are fine), arrays must have the same length and compare item by item, an empty desired
 * object/array matches a missing live one.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === undefined) return true;
  if (isEmpty(desired) && isEmpty(live)) return true;
  if (desired === null || typeof desired !== 'object') return desired === live;
  if (live === null || typeof live !== 'object') return false;
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return false;
    return desired.every((d, i) => isSubset(d, live[i]));
  }
  if (Array.isArray(live)) return false;
  const l = live as Record<string, unknown>;
  for (const [k, v] of Object.entries(desired as Record<string, unknown>)) {
    if (!isSubset(v, l[k])) return false;
  }
  return true;
}

/**
 * True when every leaf field recorded in a fieldsV1 set is present in `desired`. Handles `f:` (field),
 * `k:` (list item by key), `v:` (set value) and `i:` (list index) entries.
 */
export function ownedFieldsCovered(fields: Record<string, unknown> | undefined, desired: unknown): boolean {
  if (!fields) return true;
  for (const [k, sub] of Object.entries(fields)) {
    if (k === '.') continue;
    const child = sub as Record<string, unknown>;
    const hasChildren = Object.keys(child).some((c) => c !== '.');
    if (k.startsWith('f:')) {
      const name = k.slice(2);
      if (desired === null || typeof desired !== 'object' || Array.isArray(desired)) return false;
      const v = (desired as Record<string, unknown>)[name];
      if (v === undefined) return false;
      if (hasChildren && !ownedFieldsCovered(child, v)) return false;
    } else if (k.startsWith('k:')) {
      if (!Array.isArray(desired)) return false;
      let keyFields: Record<string, unknown>;
      try {
        keyFields = JSON.parse(k.slice(2)) as Record<string, unknown>;
      } catch {
        return false;
      }
      const item = desired.find(
        (d) =>
          d !== null &&
          typeof d === 'object' &&
          Object.entries(keyFields).every(([kk, kv]) => looseEqual((d as Record<string, unknown>)[kk], kv)),
      );
      if (item === undefined) return false;
      if (hasChildren && !ownedFieldsCovered(child, item)) return false;
    } else if (k.startsWith('v:')) {
      if (!Array.isArray(desired)) return false;
      let value: unknown;
      try {
        value = JSON.parse(k.slice(2));
      } catch {
        return false;
      }
      if (!desired.some((d) => looseEqual(d, value))) return false;
    } else if (k.startsWith('i:')) {
      const idx = Number(k.slice(2));
      if (!Array.isArray(desired) || idx >= desired.length) return false;
      if (hasChildren && !ownedFieldsCovered(child, desired[idx])) return false;
    }
  }
  return true;
}

/** Equality for list keys: the server keys e.g. `containerPort` as a number, `protocol` as a string. */
function looseEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The managedFields entry of `manager` for apply on the main resource (or on `subresource`). */
export function managedEntry(obj: KubernetesObject, manager: string, subresource = ''): ManagedFieldsEntry | undefined {
  const entries = (obj.metadata?.managedFields ?? []) as ManagedFieldsEntry[];
  return entries.find((e) => e.manager === manager && e.operation === 'Apply' && (e.subresource ?? '') === subresource);
}

/** Strips what never takes part in the comparison from a desired object (status, server-set metadata). */
export function comparable(desired: KubernetesObject): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = desired as KubernetesObject & { status?: unknown };
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) if (!IGNORED_METADATA.has(k)) meta[k] = v;
  return { ...rest, metadata: meta };
}

/**
 * Atomic `map[string]string` fields, by kind, that we set and may shrink: the client Service's selector
 * loses its `nerops.io/track` key after a canary's shadow phase. The server never adds keys to them.
 */
const ATOMIC_STRING_MAPS: Record<string, ReadonlyArray<readonly string[]>> = {
  Service: [['spec', 'selector']],
};

function at(obj: unknown, path: readonly string[]): unknown {
  let v = obj;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** Check 3: every listed atomic string map of `desired` has exactly the live map's keys. */
export function atomicMapsEqual(desired: KubernetesObject, live: KubernetesObject): boolean {
  for (const path of ATOMIC_STRING_MAPS[desired.kind ?? ''] ?? []) {
    const want = at(desired, path) as Record<string, string> | undefined;
    if (want === undefined) continue;
    const have = (at(live, path) ?? {}) as Record<string, string>;
    // Check 1 already matched every desired key's value, so equal sizes mean equal maps.
    if (Object.keys(have).length !== Object.keys(want).length) return false;
  }
  return true;
}

/**
 * True when applying `desired` with field manager `manager` would change nothing on `live`: every desired
 * field matches and everything the manager owns is still desired. False when `live` is missing or was
 * never applied by `manager`.
 */
export function isApplied(desired: KubernetesObject, live: KubernetesObject | undefined, manager: string): boolean {
  if (!live) return false;
  const entry = managedEntry(live, manager);
  if (!entry) return false;
  const want = comparable(desired);
  // apiVersion/kind of a cached list item may be filled in by us; compare the rest.
  const { apiVersion: _a, kind: _k, ...body } = want;
  if (!isSubset(body, live)) return false;
  if (!atomicMapsEqual(desired, live)) return false;
  return ownedFieldsCovered(entry.fieldsV1, want);
}
