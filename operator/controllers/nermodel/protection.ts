/**
 * Deletion protection of a NerModel, as a pure function of the model and the NerDeployments of its
 * namespace: which NerDeployments serve it (status.stableModel / status.canaryModel), and therefore whether
 * the `nerops.io/in-use` finalizer should be added, kept or removed, and whether a deletion is blocked.
 *
 * A finalizer and not a ValidatingAdmissionPolicy: a policy's CEL sees the object under admission (and one
 * params object), never a list of other objects, so a DELETE of a NerModel cannot ask which NerDeployments
 * serve it. The finalizer lets the deletion be accepted and then wait, visibly, until nothing serves the model.
 */
import { IN_USE_FINALIZER } from '../../api/nermodel-constants.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';

/** A NerDeployment that serves the model, and on which tracks. */
export interface Holder {
  name: string;
  tracks: Array<'stable' | 'canary'>;
}

export interface Protection {
  /** NerDeployments serving the model, sorted by name (empty: none). */
  holders: Holder[];
  /** Change to metadata.finalizers: add ours (served, not being deleted) or remove it (served by none). */
  finalizer?: 'add' | 'remove';
  /** The model is being deleted and the deletion waits for its holders. */
  blocked: boolean;
}

/**
 * The NerDeployments of the model's namespace that serve it. One being deleted does not hold the model: its
 * pods go with it, and a namespace deletion must not wait on an order between the two kinds.
 */
export function holdersOf(model: NerModel, deployments: readonly NerDeployment[]): Holder[] {
  const name = model.metadata.name;
  const out: Holder[] = [];
  for (const d of deployments) {
    if (d.metadata.namespace !== model.metadata.namespace || d.metadata.deletionTimestamp) continue;
    const tracks: Holder['tracks'] = [];
    if (d.status?.stableModel === name) tracks.push('stable');
    if (d.status?.canaryModel === name) tracks.push('canary');
    if (tracks.length) out.push({ name: d.metadata.name ?? '', tracks });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** `notes (stable), triage (canary)`: the holders as a condition message and Event note name them. */
export function describeHolders(holders: readonly Holder[]): string {
  return holders.map((h) => `${h.name} (${h.tracks.join(', ')})`).join(', ');
}

/** What deletion protection asks of this reconcile. */
export function planProtection(model: NerModel, deployments: readonly NerDeployment[]): Protection {
  const holders = holdersOf(model, deployments);
  const ours = (model.metadata.finalizers ?? []).includes(IN_USE_FINALIZER);
  const deleting = !!model.metadata.deletionTimestamp;
  if (holders.length === 0) return { holders, blocked: false, ...(ours ? { finalizer: 'remove' } : {}) };
  // The API server refuses new finalizers on an object being deleted: one deleted before we saw it served goes.
  if (!ours) return { holders, blocked: false, ...(deleting ? {} : { finalizer: 'add' }) };
  return { holders, blocked: deleting };
}

/** metadata.finalizers after the change (others' finalizers kept, in their order). */
export function finalizersAfter(model: NerModel, change: 'add' | 'remove'): string[] {
  const rest = (model.metadata.finalizers ?? []).filter((f) => f !== IN_USE_FINALIZER);
  return change === 'add' ? [...rest, IN_USE_FINALIZER] : rest;
}
