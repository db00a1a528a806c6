/**
 * NerDeployment controller (stable serving and request-rate autoscaling): the thin I/O shell around
 * {@link planDeployment}. Gathers from the caches (NerModels, the stable Deployment), measures the request
 * rate in Prometheus when autoscaling is on, applies the desired children with server-side apply (skipped
 * when unchanged), writes status only when it changed and records Events after that write.
 */
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { LABELS, MANAGED_BY } from '../../api/group.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import { NerDeploymentReason as R } from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import type { ControllerSpec, MapFunction, ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin, makeKey, type ObjectKey, type ResourceType } from '../../runtime/resource.js';
import { PrometheusError, type MetricsQuerier } from '../../prometheus/client.js';
import { DEFAULT_IMAGE, nerDeployments, nerModels } from '../common.js';
import type { RateMeasurement, Recommendation } from './autoscale.js';
import { deploymentName } from './desired.js';
import { planDeployment, requestRateQuery } from './status.js';

export interface NerDeploymentControllerOptions {
  image?: string;
  /** Prometheus for the request rate; undefined: autoscaling holds with MetricsAvailable=False. */
  prometheus?: MetricsQuerier;
  /** How often the rate is re-read while autoscaling is on (default 10 s). */
  metricsIntervalMs?: number;
}

const MANAGED = `${LABELS.managedBy}=${MANAGED_BY}`;

const KINDS: Record<string, ResourceType> = { Deployment: builtin.deployments, Service: builtin.services, PodDisruptionBudget: builtin.podDisruptionBudgets };

/** Measure the stable track's request rate; every failure becomes a reason, never an exception. */
export async function measureRequestRate(prometheus: MetricsQuerier | undefined, nd: NerDeployment): Promise<RateMeasurement> {
  if (!prometheus) return { ok: false, reason: R.PrometheusUnreachable, message: 'no Prometheus is configured (ner-ops operator --prometheus-url)' };
  const window = nd.spec.autoscaling?.rateWindowSeconds ?? 60;
  try {
    const r = await prometheus.query(requestRateQuery(nd, window));
    if (r.value === undefined) return { ok: false, reason: R.NoData, message: 'Prometheus has no request-rate series for the stable pods yet' };
    return { ok: true, rate: r.value };
  } catch (err) {
    if (err instanceof PrometheusError) return { ok: false, reason: err.reason === 'PrometheusUnreachable' ? R.PrometheusUnreachable : err.reason, message: err.message.slice(0, 300) };
    return { ok: false, reason: R.PrometheusUnreachable, message: `querying Prometheus failed: ${(err as Error).message.slice(0, 200)}` };
  }
}

/** NerModel events wake the NerDeployments of the same namespace that pin it or follow its family. */
export const modelToDeployments: MapFunction = (obj, caches) => {
  const model = obj as NerModel;
  const ns = model.metadata?.namespace;
  const out: ObjectKey[] = [];
  for (const nd of caches.cache<NerDeployment>(nerDeployments).list(ns)) {
    if (nd.spec.model === model.metadata.name || nd.spec.modelSelector?.family === model.spec?.family || nd.status?.stableModel === model.metadata.name) out.push(makeKey(ns, nd.metadata.name ?? ''));
  }
  return out;
};

export function createNerDeploymentReconciler(options: NerDeploymentControllerOptions = {}) {
  /** Autoscaler recommendations per NerDeployment (in memory, like the HPA: a restart restarts the window). */
  const histories = new Map<ObjectKey, Recommendation[]>();

  async function reconcile(ctx: ReconcileContext<NerDeployment>): Promise<ReconcileResult> {
    const nd = ctx.object;
    // Being deleted: the garbage collector removes the children through their ownerReferences.
    if (nd.metadata.deletionTimestamp) return {};
    const models = ctx.cache<NerModel>(nerModels).list(ctx.namespace);
    const deployment = ctx.cache<V1Deployment>(builtin.deployments).get(ctx.namespace, deploymentName(nd));
    const measurement = nd.spec.autoscaling ? await measureRequestRate(options.prometheus, nd) : undefined;
    const plan = planDeployment({
      nd,
      models,
      deployment,
      now: ctx.now(),
      image: options.image ?? DEFAULT_IMAGE,
      history: histories.get(ctx.key) ?? [],
      ...(measurement ? { measurement } : {}),
      ...(options.metricsIntervalMs !== undefined ? { metricsIntervalMs: options.metricsIntervalMs } : {}),
    });
    histories.set(ctx.key, plan.history);
    for (const obj of plan.apply) {
      const rt = KINDS[obj.kind ?? ''];
      if (!rt) throw new Error(`no resource type for ${obj.kind}`);
      const cached = ctx.cache<KubernetesObject>(rt).get(ctx.namespace, obj.metadata?.name ?? '');
      const { changed } = await ctx.client.apply(rt, obj, { current: cached ?? null });
      if (changed) ctx.log.info({ kind: obj.kind, child: obj.metadata?.name }, 'applied');
    }
    const { changed } = await ctx.client.applyStatus(nerDeployments, nd, plan.status);
    if (changed) for (const e of plan.events) await ctx.client.event(nd, e);
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
  }
  return { reconcile, forget: (key: ObjectKey) => histories.delete(key) };
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
