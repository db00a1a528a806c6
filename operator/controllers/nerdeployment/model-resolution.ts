/**
 * Which NerModel a NerDeployment serves, and which one a rollout would move to, from the namespace's
 * NerModels: the pinned `spec.model`, or the newest Ready model of `spec.modelSelector.family` that passes
 * the gates (gates.ts). A model being deleted is never selected.
 */
import type { NerDeployment } from '../../api/nerdeployment.js';
import { NerDeploymentReason as R } from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import { gateViolation } from './gates.js';

export interface ModelResolution {
  model?: NerModel;
  reason: string;
  message: string;
}

export function isReady(m: NerModel): boolean {
  return m.status?.phase === 'Ready';
}

/**
 * A model a selector may pick: Ready and not being deleted. A model being deleted (retention, a person) is
 * on its way out and its bundle may go with it (DriftPolicy bundle cleanup): no NerDeployment starts
 * following it, and one serving it moves on to the next model the selector picks (the in-use finalizer holds
 * the deletion until it has).
 */
function selectable(m: NerModel): boolean {
  return isReady(m) && !m.metadata.deletionTimestamp;
}

/** A pinned model being deleted that this NerDeployment does not serve yet: it never starts serving it. */
function deletedBeforeServed(nd: NerDeployment, m: NerModel): boolean {
  const name = m.metadata.name;
  return !!m.metadata.deletionTimestamp && nd.status?.stableModel !== name && nd.status?.canaryModel !== name;
}

/** Newest first: creation time, then version and name as tie-breakers (deterministic). */
function newestFirst(a: NerModel, b: NerModel): number {
  // Cached objects carry the timestamp as a string, typed objects as a Date: compare instants.
  const ta = a.metadata.creationTimestamp ? new Date(a.metadata.creationTimestamp).getTime() : 0;
  const tb = b.metadata.creationTimestamp ? new Date(b.metadata.creationTimestamp).getTime() : 0;
  if (ta !== tb) return tb - ta;
  const v = b.spec.version.localeCompare(a.spec.version, undefined, { numeric: true });
  return v !== 0 ? v : String(b.metadata.name).localeCompare(String(a.metadata.name));
}

/**
 * The model to serve: `spec.model` when it is Ready; or the newest Ready model of `modelSelector.family`
 * that passes the gates (against the model served now). `models` are the NerModels of the namespace. A
 * model being deleted is never newly served: a selector skips it, a pin to it waits (ModelNotReady) unless
 * this NerDeployment serves it already.
 */
export function resolveModel(nd: NerDeployment, models: readonly NerModel[]): ModelResolution {
  if (nd.spec.model) {
    const m = models.find((x) => x.metadata.name === nd.spec.model);
    if (!m) return { reason: R.ModelNotFound, message: `NerModel ${nd.spec.model} does not exist` };
    if (deletedBeforeServed(nd, m))
      return { reason: R.ModelNotReady, message: `NerModel ${nd.spec.model} is being deleted` };
    if (!isReady(m))
      return {
        reason: R.ModelNotReady,
        message: `NerModel ${nd.spec.model} is ${m.status?.phase ?? 'Pending'}${m.status?.message ? `: ${m.status.message}` : ''}`,
      };
    return { model: m, reason: R.ModelResolved, message: `serving NerModel ${m.metadata.name} (${m.spec.version})` };
  }
  const family = nd.spec.modelSelector?.family ?? '';
  const stable = models.find((x) => x.metadata.name === nd.status?.stableModel);
  const candidates = models.filter((x) => x.spec.family === family && selectable(x)).sort(newestFirst);
  let firstViolation: { reason: string; message: string } | undefined;
  for (const c of candidates) {
    const v = gateViolation(nd, c, stable && isReady(stable) ? stable : undefined);
    if (!v)
      return {
        model: c,
        reason: R.ModelResolved,
        message: `serving NerModel ${c.metadata.name} (${c.spec.version}), the newest Ready model of family ${family} passing the gates`,
      };
    firstViolation ??= v;
  }
  return {
    reason: R.NoMatchingModel,
    message: `no Ready NerModel of family ${family} passes the gates${firstViolation ? ` (${firstViolation.message})` : ''}`,
  };
}

/**
 * The model a rollout would move to: the pinned `spec.model` (any phase: the gate decides), or the newest
 * Ready model of `modelSelector.family`.
 */
export function rolloutTarget(nd: NerDeployment, models: readonly NerModel[]): NerModel | undefined {
  if (nd.spec.model) {
    const pinned = models.find((x) => x.metadata.name === nd.spec.model);
    return pinned && deletedBeforeServed(nd, pinned) ? undefined : pinned;
  }
  const family = nd.spec.modelSelector?.family ?? '';
  return models.filter((x) => x.spec.family === family && selectable(x)).sort(newestFirst)[0];
}
