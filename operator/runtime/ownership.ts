/**
 * "May we write this child?" — decided before every apply, so a primary named like an object someone else
 * made (a Deployment, a Service, a Job) never takes it over. Server-side apply with `force` would merge
 * into any object of that name, and the informer caches hold only labelled objects, so neither the apply
 * nor the cache can answer it.
 *
 * A child is ours when it does not exist, or when it carries what we would have written:
 * - a child we create with a controller ownerReference is ours only when the live object's
 *   ownerReferences include that owner's uid (a previous apply of ours put it there);
 * - a child we create without an owner on purpose (a retrained NerModel must outlive its DriftPolicy) is
 *   ours only when the live object carries every label the desired one sets (our managed-by label and the
 *   labels naming what created it).
 * Anything else is a conflict: nothing is written, and the primary is told which object is in the way.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

export type ChildOwnership = 'absent' | 'ours' | 'foreign';

/** Whether `live` (undefined: it does not exist) may be written with `desired`. */
export function childOwnership(desired: KubernetesObject, live: KubernetesObject | undefined): ChildOwnership {
  if (!live) return 'absent';
  const refs = desired.metadata?.ownerReferences ?? [];
  const liveUids = new Set((live.metadata?.ownerReferences ?? []).map((r) => r.uid));
  const controller = refs.find((r) => r.controller) ?? refs[0];
  if (controller) return liveUids.has(controller.uid) ? 'ours' : 'foreign';
  const want = desired.metadata?.labels ?? {};
  const have = live.metadata?.labels ?? {};
  if (Object.keys(want).length === 0) return 'foreign';
  return Object.entries(want).every(([k, v]) => have[k] === v) ? 'ours' : 'foreign';
}

/**
 * An apply refused because the object exists and is not ours. Thrown by the client before any write; the
 * manager turns it into a condition and a Warning Event on the primary (see controller.ts).
 */
export class ChildConflictError extends Error {
  readonly kind: string;
  readonly childName: string;
  readonly namespace: string | undefined;
  constructor(kind: string, namespace: string | undefined, childName: string) {
    super(
      `${kind} ${childName} already exists${namespace ? ` in namespace ${namespace}` : ''} and is not owned by this object; ` +
        'nothing was written (rename this object or remove the other one)',
    );
    this.name = 'ChildConflictError';
    this.kind = kind;
    this.childName = childName;
    this.namespace = namespace;
  }
}

/** The reason of the condition and Event a {@link ChildConflictError} becomes. */
export const CHILD_CONFLICT_REASON = 'ChildConflict';

export function isChildConflict(err: unknown): err is ChildConflictError {
  return err instanceof ChildConflictError;
}
