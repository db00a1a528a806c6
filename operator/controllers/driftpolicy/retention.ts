/**
 * Model retention of a DriftPolicy (`spec.retention.keepLast`), as a pure function: which of the NerModels
 * this policy's retraining runs created are deleted. Per family, the newest `keepLast` are kept, and the
 * newest `keepLast` Ready ones; older ones go, except any model that something still needs:
 *   - served: a NerDeployment's stable or canary model (status), or the model a NerDeployment pins (spec);
 *   - validating: no verdict yet (Pending, Validating, or no status);
 *   - a base model: the target's serving model, and the base of a retraining Job still running.
 * Models the policy did not create (the family's base model, a user's) are never candidates: only those
 * carrying our managed-by label, the policy's label and the policy's name in spec.lineage.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { DriftPolicy } from '../../api/driftpolicy.js';
import { LABELS, MANAGED_BY } from '../../api/group.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import { jobFinished } from '../job-result.js';

export interface RetentionInput {
  policy: DriftPolicy;
  /** NerModels of the namespace (cache), plus those this reconcile creates. */
  models: readonly NerModel[];
  /** NerDeployments of the namespace (cache). */
  deployments: readonly NerDeployment[];
  /** The policy's retraining Jobs. */
  jobs: readonly V1Job[];
  /** The target's serving model. */
  servingName: string | undefined;
  /** Annotation on a retraining Job naming its base model. */
  baseModelAnnotation: string;
}

/** Why a model older than the last N is kept (for tests and the log). */
export type KeptBecause = 'served' | 'pinned' | 'validating' | 'base';

export interface RetentionPlan {
  /** Names of the NerModels to delete, oldest first. */
  deleteModels: string[];
  /** Models past the last N that stay, and why. */
  kept: Array<{ name: string; because: KeptBecause }>;
}

/** True when the policy's own retraining created this model. */
export function createdByPolicy(model: NerModel, policy: DriftPolicy): boolean {
  const name = policy.metadata.name;
  const labels = model.metadata.labels ?? {};
  return (
    labels[LABELS.managedBy] === MANAGED_BY &&
    labels[LABELS.driftPolicy] === name &&
    model.spec.lineage?.driftPolicy === name
  );
}

/** Newest first: creation time, then name (a deterministic order for models created in the same second). */
function newestFirst(a: NerModel, b: NerModel): number {
  const ta = Date.parse(String(a.metadata.creationTimestamp ?? '')) || Number.MAX_SAFE_INTEGER;
  const tb = Date.parse(String(b.metadata.creationTimestamp ?? '')) || Number.MAX_SAFE_INTEGER;
  return tb - ta || (b.metadata.name ?? '').localeCompare(a.metadata.name ?? '');
}

/** Why a model must stay whatever its age, or undefined. */
function neededBecause(model: NerModel, i: RetentionInput): KeptBecause | undefined {
  const name = model.metadata.name;
  if (i.deployments.some((d) => d.status?.stableModel === name || d.status?.canaryModel === name)) return 'served';
  if (i.deployments.some((d) => d.spec.model === name)) return 'pinned';
  const phase = model.status?.phase;
  if (phase === undefined || phase === 'Pending' || phase === 'Validating') return 'validating';
  if (name === i.servingName) return 'base';
  const running = i.jobs.filter((j) => !jobFinished(j));
  if (running.some((j) => j.metadata?.annotations?.[i.baseModelAnnotation] === name)) return 'base';
  return undefined;
}

/** The retention plan; nothing to delete without `spec.retention`. */
export function planRetention(i: RetentionInput): RetentionPlan {
  const keepLast = i.policy.spec.retention?.keepLast;
  const out: RetentionPlan = { deleteModels: [], kept: [] };
  if (keepLast === undefined) return out;
  const families = new Map<string, NerModel[]>();
  for (const m of i.models) {
    if (!createdByPolicy(m, i.policy) || m.metadata.deletionTimestamp) continue;
    const list = families.get(m.spec.family) ?? [];
    list.push(m);
    families.set(m.spec.family, list);
  }
  for (const list of families.values()) {
    const sorted = [...list].sort(newestFirst);
    // The newest N, and the newest N Ready: newer models that failed validation never push out the
    // usable ones a modelSelector would fall back to.
    const keep = new Set([
      ...sorted.slice(0, keepLast),
      ...sorted.filter((m) => m.status?.phase === 'Ready').slice(0, keepLast),
    ]);
    const older = sorted.filter((m) => !keep.has(m));
    for (const m of older.reverse()) {
      const because = neededBecause(m, i);
      if (because) out.kept.push({ name: m.metadata.name ?? '', because });
      else out.deleteModels.push(m.metadata.name ?? '');
    }
  }
  return out;
}
