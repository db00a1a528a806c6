/**
 * Conditions (metav1.Condition shape) and status comparison.
 *
 * `setCondition` always records observedGeneration and moves lastTransitionTime only when the condition's
 * status flips, so a reconcile that recomputes the same conditions produces an equal status, and
 * `statusEqual` ignores lastTransitionTime so a reconciler that builds conditions from scratch with "now"
 * still causes no write.
 */

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** A status condition, as in metav1.Condition. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  /** CamelCase reason constant (documented per kind in operator/api). */
  reason: string;
  message: string;
  /** metadata.generation the condition was computed from. */
  observedGeneration?: number;
  /** RFC 3339 time of the last status flip. */
  lastTransitionTime: string;
}

/** What a reconciler sets; the helper fills lastTransitionTime. */
export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'message'> & { message?: string };

/** The condition of `type`, if present. */
export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition of `type` exists with status True. */
export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * Returns a new conditions array with `input` set. The existing condition's lastTransitionTime is kept when
 * the status does not change; otherwise it becomes `now`. Order of existing conditions is preserved, a new
 * type is appended. Never mutates `conditions`.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message ?? '',
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
    lastTransitionTime: prev && prev.status === input.status ? prev.lastTransitionTime : formatTime(now),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** Returns a new conditions array without the condition of `type`. */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** A condition whose status changed between two condition lists (for transition Events). */
export interface ConditionTransition {
  type: string;
  from: ConditionStatus | undefined;
  to: ConditionStatus;
  condition: Condition;
}

/** Conditions in `next` whose status differs from `prev` (new conditions included). */
export function conditionTransitions(
  prev: readonly Condition[] | undefined,
  next: readonly Condition[] | undefined,
): ConditionTransition[] {
  const out: ConditionTransition[] = [];
  for (const c of next ?? []) {
    const before = findCondition(prev, c.type);
    if (before?.status !== c.status) out.push({ type: c.type, from: before?.status, to: c.status, condition: c });
  }
  return out;
}

/** RFC 3339 without fractional seconds, as the API server stores metav1.Time. */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Deep equality of two statuses, ignoring `lastTransitionTime` at any depth (a reconciler that rebuilds its
 * conditions with "now" must not cause a write). A property set to undefined equals a missing one.
 */
export function statusEqual(a: unknown, b: unknown): boolean {
  return deepEqual(a, b, (key) => key === 'lastTransitionTime');
}

/** Structural deep equality of JSON-like values; `ignoreKey` skips object properties; undefined = missing. */
export function deepEqual(a: unknown, b: unknown, ignoreKey?: (key: string) => boolean): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bb[i], ignoreKey)) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    if (ignoreKey?.(k)) continue;
    if (!deepEqual(ao[k], bo[k], ignoreKey)) return false;
  }
  return true;
}
