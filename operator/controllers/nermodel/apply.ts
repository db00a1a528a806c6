/**
 * Carries out a NerModel plan: the in-use finalizer when it is added, the validation Job, then the status
 * (written only when it changed), then Events, and last the finalizer when it is removed (after which the
 * model may be gone).
 */
import { IN_USE_FINALIZER } from '../../api/nermodel-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import { nerModels } from '../../api/resources.js';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin, resourcePath } from '../../runtime/resource.js';
import type { ModelPlan } from './plan.js';
import { finalizersAfter } from './protection.js';

/**
 * Adds or removes our finalizer by a merge patch that carries the resourceVersion the plan was computed
 * from: a concurrent change (another finalizer, the deletion) is a 409 Conflict and the manager reconciles
 * again at once, never a list written over someone else's.
 */
async function patchFinalizers(ctx: ReconcileContext<NerModel>, change: 'add' | 'remove'): Promise<void> {
  const m = ctx.object;
  await ctx.client.kube.request({
    method: 'PATCH',
    path: resourcePath(nerModels, ctx.namespace, m.metadata.name),
    body: { metadata: { resourceVersion: m.metadata.resourceVersion, finalizers: finalizersAfter(m, change) } },
    contentType: 'application/merge-patch+json',
  });
  ctx.log.info({ finalizer: IN_USE_FINALIZER, change }, 'finalizer changed');
}

export async function applyModelPlan(ctx: ReconcileContext<NerModel>, plan: ModelPlan): Promise<ReconcileResult> {
  // First, so that a model served from now on cannot be deleted before the rest of this reconcile.
  if (plan.finalizer === 'add') await patchFinalizers(ctx, 'add');
  if (plan.createJob) {
    await ctx.client.apply(builtin.jobs, plan.createJob, { current: null });
    ctx.log.info({ job: plan.createJob.metadata?.name }, 'validation Job created');
  }
  const { changed } = await ctx.client.applyStatus(nerModels, ctx.object, plan.status);
  // The Events carry the object with the status just written (notifications report the current state).
  if (changed)
    for (const e of plan.events) await ctx.client.event({ ...ctx.object, status: plan.status } as NerModel, e);
  if (plan.finalizer === 'remove') await patchFinalizers(ctx, 'remove');
  return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
}
