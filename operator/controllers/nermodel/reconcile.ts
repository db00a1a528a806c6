/**
 * NerModel controller: gather (gather.ts) → plan (plan.ts and protection.ts, pure) → apply (apply.ts).
 * Models are reconciled when they, their validation Jobs or a NerDeployment serving them change.
 */
import { LABELS } from '../../api/group.js';
import type { NerModel } from '../../api/nermodel.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import { driftPolicies, nerDeployments, nerModels } from '../../api/resources.js';
import type { ControllerSpec, ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin, makeKey, type ObjectKey } from '../../runtime/resource.js';
import { applyModelPlan } from './apply.js';
import { gatherModel, type NerModelControllerOptions } from './gather.js';
import { planModel } from './plan.js';
import { modelsOfPolicy, releaseOrphanedBundle } from './bundle-release.js';

export type { NerModelControllerOptions } from './gather.js';

export async function reconcileNerModel(
  ctx: ReconcileContext<NerModel>,
  options: NerModelControllerOptions = {},
): Promise<ReconcileResult> {
  // The finalizer change makes an update event, which reconciles the model again (or it is gone).
  if (await releaseOrphanedBundle(ctx)) return {};
  return applyModelPlan(ctx, planModel(await gatherModel(ctx, options)));
}

/**
 * The models a NerDeployment serves, to reconcile when it changes or goes: the manager maps both the old and
 * the new object of an update, so the model a promotion leaves behind is looked at too (its finalizer goes).
 */
export function servedModelKeys(d: NerDeployment): ObjectKey[] {
  const names = new Set([d.status?.stableModel, d.status?.canaryModel].filter((n): n is string => !!n));
  return [...names].map((n) => makeKey(d.metadata.namespace, n));
}

/** The NerModel controller definition for the manager. */
export function nerModelController(options: NerModelControllerOptions = {}): ControllerSpec<NerModel> {
  return {
    name: 'nermodel',
    resource: nerModels,
    owns: [{ resource: builtin.jobs, labelSelector: LABELS.validates }],
    watches: [
      { resource: nerDeployments, map: (d) => servedModelKeys(d as NerDeployment) },
      // A DriftPolicy's deletion releases the models waiting for its bundle cleanup (bundle-release.ts).
      { resource: driftPolicies, map: modelsOfPolicy },
    ],
    reconcile: (_key, ctx) => reconcileNerModel(ctx, options),
  };
}
