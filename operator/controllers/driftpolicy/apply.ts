/**
 * Carries out a DriftPolicy plan: the NerModels of succeeded runs, the retraining Job and the bundle cleanup
 * Job, then the status (written only when it changed), then Events and the run counters, then retention's
 * deletions and the release of cleaned-up models (cleanup-io.ts), then the gauges.
 */
import type { DriftPolicy } from '../../api/driftpolicy.js';
import { DriftPolicyEventReason } from '../../api/driftpolicy-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import { driftPolicies, nerModels } from '../../api/resources.js';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin } from '../../runtime/resource.js';
import type { DriftMetrics } from './metrics.js';
import type { PolicyPlan } from './plan.js';
import { createCleanupJob, deletePrunedModel, releaseBundleFinalizers } from './cleanup-io.js';

/** The NerModels of succeeded runs, by server-side apply (create when absent, patch). */
async function createModels(ctx: ReconcileContext<DriftPolicy>, plan: PolicyPlan): Promise<void> {
  for (const model of plan.createModels) {
    const { changed } = await ctx.client.apply(nerModels, model, {
      current: ctx.cache<NerModel>(nerModels).get(ctx.namespace, model.metadata.name ?? '') ?? null,
    });
    if (changed) ctx.log.info({ model: model.metadata.name }, 'retrained NerModel created');
  }
}

/**
 * Retention: deletes the retrained NerModels the plan lets go, one Normal Event naming them. A model that
 * became served meanwhile is still safe: its in-use finalizer holds the deletion until nothing serves it.
 * A model whose bundle is on the policy's pvc:// output gets the bundle-cleanup finalizer first
 * (cleanup-io.ts), so it lasts until its bundle is deleted.
 */
async function pruneModels(ctx: ReconcileContext<DriftPolicy>, plan: PolicyPlan): Promise<void> {
  const deleted: string[] = [];
  const mark = new Set(plan.markBundles ?? []);
  for (const name of plan.deleteModels ?? [])
    if (await deletePrunedModel(ctx, name, mark.has(name))) deleted.push(name);
  if (!deleted.length) return;
  const keepLast = ctx.object.spec.retention?.keepLast;
  ctx.log.info({ models: deleted, keepLast }, 'retrained NerModels deleted (retention)');
  await ctx.client.event(ctx.object, {
    type: 'Normal',
    reason: DriftPolicyEventReason.ModelsPruned,
    note: `deleted NerModel ${deleted.join(', ')} (spec.retention.keepLast ${keepLast})`.slice(0, 300),
  });
}

export async function applyPolicyPlan(
  ctx: ReconcileContext<DriftPolicy>,
  plan: PolicyPlan,
  metrics: DriftMetrics,
): Promise<ReconcileResult> {
  const policy = ctx.object;
  if (plan.evaluation)
    ctx.log.debug({ state: plan.evaluation.state, reason: plan.evaluation.reason }, 'drift evaluated');
  await createModels(ctx, plan);
  if (plan.createJob) {
    await ctx.client.apply(builtin.jobs, plan.createJob, { current: null });
    ctx.log.info({ job: plan.createJob.metadata?.name }, 'retraining Job created');
  }
  await createCleanupJob(ctx, plan.cleanup);
  const { changed, object } = await ctx.client.applyStatus(driftPolicies, policy, plan.status);
  if (changed) {
    // The Events carry the object with the status just written (notifications report the current state).
    const current = { ...policy, status: (object as DriftPolicy).status ?? plan.status };
    for (const e of plan.events) await ctx.client.event(current, e);
    for (const f of plan.finished)
      metrics.runs.inc({ namespace: ctx.namespace ?? '', driftpolicy: ctx.name, result: f.result });
  }
  await pruneModels(ctx, plan);
  await releaseBundleFinalizers(ctx, plan.cleanup);
  metrics.observe({ ...policy, status: (object as DriftPolicy).status ?? plan.status });
  return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
}
