/**
 * NerDeployment controller (stable serving, request-rate autoscaling, canary and shadow rollouts):
 * gather (gather.ts) → plan (plan.ts, pure) → apply (apply.ts). The autoscaler's recommendations and the
 * rollout metrics live as long as the controller.
 */
import { LABELS, MANAGED_BY } from '../../api/group.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import { nerDeployments, nerModels } from '../../api/resources.js';
import type { ControllerSpec, MapFunction, ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin, makeKey, parseKey, type ObjectKey } from '../../runtime/resource.js';
import { applyDeploymentPlan } from './apply.js';
import type { Recommendation } from './autoscale.js';
import { gatherDeployment, type NerDeploymentControllerOptions } from './gather.js';
import { RolloutMetrics } from './metrics.js';
import { planDeployment } from './plan.js';

export type { NerDeploymentControllerOptions } from './gather.js';

const MANAGED = `${LABELS.managedBy}=${MANAGED_BY}`;

/** NerModel events wake the NerDeployments of the same namespace that pin it or follow its family. */
export const modelToDeployments: MapFunction = (obj, caches) => {
  const model = obj as NerModel;
  const ns = model.metadata?.namespace;
  const out: ObjectKey[] = [];
  for (const nd of caches.cache<NerDeployment>(nerDeployments).list(ns)) {
    if (
      nd.spec.model === model.metadata.name ||
      nd.spec.modelSelector?.family === model.spec?.family ||
      nd.status?.stableModel === model.metadata.name
    )
      out.push(makeKey(ns, nd.metadata.name ?? ''));
  }
  return out;
};

export function createNerDeploymentReconciler(options: NerDeploymentControllerOptions = {}) {
  /** Autoscaler recommendations per NerDeployment (in memory, like the HPA: a restart restarts the window). */
  const histories = new Map<ObjectKey, Recommendation[]>();
  const metrics = new RolloutMetrics(options.registry);

  async function reconcile(ctx: ReconcileContext<NerDeployment>): Promise<ReconcileResult> {
    // Being deleted: the garbage collector removes the children through their ownerReferences.
    if (ctx.object.metadata.deletionTimestamp) return {};
    const plan = planDeployment(await gatherDeployment(ctx, options, histories.get(ctx.key) ?? []));
    histories.set(ctx.key, plan.history);
    return applyDeploymentPlan(ctx, plan, metrics);
  }
  return {
    reconcile,
    forget: (key: ObjectKey) => {
      histories.delete(key);
      const ref = parseKey(key);
      metrics.forget(ref.namespace ?? '', ref.name);
    },
  };
}

/** The NerDeployment controller definition for the manager. */
export function nerDeploymentController(options: NerDeploymentControllerOptions = {}): ControllerSpec<NerDeployment> {
  const r = createNerDeploymentReconciler(options);
  return {
    name: 'nerdeployment',
    resource: nerDeployments,
    owns: [
      { resource: builtin.deployments, labelSelector: MANAGED },
      { resource: builtin.services, labelSelector: MANAGED },
      { resource: builtin.podDisruptionBudgets, labelSelector: MANAGED },
    ],
    watches: [{ resource: nerModels, map: modelToDeployments }],
    reconcile: (_key, ctx) => r.reconcile(ctx),
    onDeleted: async (key) => {
      r.forget(key);
    },
  };
}
