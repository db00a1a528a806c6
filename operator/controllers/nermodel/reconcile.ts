/**
 * NerModel controller: gather (gather.ts) → plan (plan.ts, pure) → apply (apply.ts).
 */
import { LABELS } from '../../api/group.js';
import type { NerModel } from '../../api/nermodel.js';
import { nerModels } from '../../api/resources.js';
import type { ControllerSpec, ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin } from '../../runtime/resource.js';
import { applyModelPlan } from './apply.js';
import { gatherModel, type NerModelControllerOptions } from './gather.js';
import { planModel } from './plan.js';

export type { NerModelControllerOptions } from './gather.js';

export async function reconcileNerModel(
  ctx: ReconcileContext<NerModel>,
  options: NerModelControllerOptions = {},
): Promise<ReconcileResult> {
  return applyModelPlan(ctx, planModel(await gatherModel(ctx, options)));
}

/** The NerModel controller definition for the manager. */
export function nerModelController(options: NerModelControllerOptions = {}): ControllerSpec<NerModel> {
  return {
    name: 'nermodel',
    resource: nerModels,
    owns: [{ resource: builtin.jobs, labelSelector: LABELS.validates }],
    reconcile: (_key, ctx) => reconcileNerModel(ctx, options),
  };
}
