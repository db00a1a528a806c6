/**
 * DriftPolicy controller: gather (gather.ts, and cleanup-io.ts for retention's bundle cleanup) → plan (plan.ts,
 * pure) → apply (apply.ts). The drift metrics
 * (metrics.ts) live as long as the controller.
 */
import type { DriftPolicy } from '../../api/driftpolicy.js';
import { LABELS } from '../../api/group.js';
import { driftPolicies, nerDeployments, nerModels } from '../../api/resources.js';
import type { ControllerSpec, MapFunction, ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin, makeKey, type ObjectKey } from '../../runtime/resource.js';
import { applyPolicyPlan } from './apply.js';
import { gatherCleanup } from './cleanup-io.js';
import { gatherPolicy, type DriftPolicyControllerOptions } from './gather.js';
import { DriftMetrics } from './metrics.js';
import { planDriftPolicy } from './plan.js';

export type { DriftPolicyControllerOptions } from './gather.js';
export { DriftMetrics } from './metrics.js';

/** NerDeployment and NerModel events wake the policies of the namespace that target them. */
export const toPolicies: MapFunction = (obj, caches) => {
  const ns = obj.metadata?.namespace;
  const out: ObjectKey[] = [];
  for (const p of caches.cache<DriftPolicy>(driftPolicies).list(ns)) {
    if (obj.kind === 'NerDeployment' && p.spec.targetRef.name === obj.metadata?.name)
      out.push(makeKey(ns, p.metadata.name ?? ''));
    if (obj.kind === 'NerModel') out.push(makeKey(ns, p.metadata.name ?? ''));
  }
  return out;
};

export function createDriftPolicyReconciler(options: DriftPolicyControllerOptions = {}) {
  const metrics = new DriftMetrics(options.registry);
  async function reconcile(ctx: ReconcileContext<DriftPolicy>): Promise<ReconcileResult> {
    if (ctx.object.metadata.deletionTimestamp) return {};
    const gathered = { ...(await gatherPolicy(ctx, options)), ...(await gatherCleanup(ctx)) };
    return applyPolicyPlan(ctx, planDriftPolicy(gathered), metrics);
  }
  return { reconcile, metrics };
}

/** The DriftPolicy controller definition for the manager. */
export function driftPolicyController(options: DriftPolicyControllerOptions = {}): ControllerSpec<DriftPolicy> {
  const r = createDriftPolicyReconciler(options);
  return {
    name: 'driftpolicy',
    resource: driftPolicies,
    owns: [{ resource: builtin.jobs, labelSelector: LABELS.driftPolicy }],
    watches: [
      { resource: nerDeployments, map: toPolicies },
      { resource: nerModels, map: toPolicies },
    ],
    reconcile: (_key, ctx) => r.reconcile(ctx),
    onDeleted: async (key, ctx) => {
      r.metrics.forget(ctx.namespace, ctx.name);
      void key;
    },
  };
}
