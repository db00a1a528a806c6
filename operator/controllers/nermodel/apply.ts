/** Carries out a NerModel plan: the validation Job, then the status (written only when it changed), then Events. */
import type { NerModel } from '../../api/nermodel.js';
import { nerModels } from '../../api/resources.js';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin } from '../../runtime/resource.js';
import type { ModelPlan } from './plan.js';

export async function applyModelPlan(ctx: ReconcileContext<NerModel>, plan: ModelPlan): Promise<ReconcileResult> {
  if (plan.createJob) {
    await ctx.client.apply(builtin.jobs, plan.createJob, { current: null });
    ctx.log.info({ job: plan.createJob.metadata?.name }, 'validation Job created');
  }
  const { changed } = await ctx.client.applyStatus(nerModels, ctx.object, plan.status);
  // The Events carry the object with the status just written (notifications report the current state).
  if (changed)
    for (const e of plan.events) await ctx.client.event({ ...ctx.object, status: plan.status } as NerModel, e);
  return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
}
