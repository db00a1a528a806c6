/**
 * NerDeployment controller (stable serving and request-rate autoscaling): the thin I/O shell around
 * {@link planDeployment}. Gathers from the caches (NerModels, the stable Deployment), measures the request
 * rate in Prometheus when autoscaling is on, applies the desired children with server-side apply (skipped
 * when unchanged), writes status only when it changed and records Events after that write.
 */
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { LABELS, MANAGED_BY } from '../../api/group.js';
import type { NerDeployment, NerDeploymentStatus } from '../../api/nerdeployment.js';
import { Counter, Gauge, Registry } from 'prom-client';
import { NerDeploymentReason as R } from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import type { ControllerSpec, MapFunction, ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin, makeKey, parseKey, resourcePath, type ObjectKey, type ResourceType } from '../../runtime/resource.js';
import { PrometheusError, type MetricsQuerier } from '../../prometheus/client.js';
import { DEFAULT_IMAGE } from '../pod-templates.js';
import { httpRoutes, nerDeployments, nerModels } from '../../api/resources.js';
import { type ModelStorageDefaults } from '../model-storage.js';
import { ROLLOUT_ACTION_ANNOTATION } from '../../api/nerdeployment-constants.js';
import { analysisQueries, decideAnalysis, type AnalysisDecision, type Measurements } from './analysis.js';
import type { RateMeasurement, Recommendation } from './autoscale.js';
import { deploymentName } from './desired.js';
import { analysisDue, inShadow } from './rollout.js';
import { routingProblem, weightedRules, type HttpRoute } from './routing.js';
import { planDeployment, requestRateQuery } from './status.js';

export interface NerDeploymentControllerOptions {
  image?: string;
  /** Default credentials / CA for http(s) model sources (operator flags `--default-model-*`). */
  storage?: ModelStorageDefaults;
  /** Prometheus for the request rate; undefined: autoscaling holds with MetricsAvailable=False. */
  prometheus?: MetricsQuerier;
  /** How often the rate is re-read while autoscaling is on (default 10 s). */
  metricsIntervalMs?: number;
  /** Registry for the rollout metrics (the operator's /metrics registry); a private one when absent. */
  registry?: Registry;
}

/**
 * Rollout metrics for alerts and dashboards (charts/nerops PrometheusRule and Grafana dashboard):
 * the canary weight in effect and the number of rollbacks, per NerDeployment.
 */
export class RolloutMetrics {
  readonly canaryWeight: Gauge<'namespace' | 'nerdeployment'>;
  readonly rollbacks: Counter<'namespace' | 'nerdeployment'>;

  constructor(registry: Registry = new Registry()) {
    const registers = [registry];
    this.canaryWeight = new Gauge({
      name: 'nerops_operator_canary_weight',
      help: 'Percent of traffic on the canary track (0 without a rollout)',
      labelNames: ['namespace', 'nerdeployment'],
      registers,
    });
    this.rollbacks = new Counter({
      name: 'nerops_operator_rollbacks_total',
      help: 'Canary rollouts aborted and rolled back to stable',
      labelNames: ['namespace', 'nerdeployment'],
      registers,
    });
  }

  /** Record a status written for a NerDeployment; `previousPhase` is the phase before the write. */
  observe(namespace: string, name: string, previousPhase: string | undefined, status: NerDeploymentStatus): void {
    const labels = { namespace, nerdeployment: name };
    this.canaryWeight.set(labels, status.weights?.canary ?? 0);
    if (status.phase === 'RolledBack' && previousPhase !== 'RolledBack') this.rollbacks.inc(labels);
  }

  forget(namespace: string, name: string): void {
    this.canaryWeight.remove({ namespace, nerdeployment: name });
  }
}

const MANAGED = `${LABELS.managedBy}=${MANAGED_BY}`;

const KINDS: Record<string, ResourceType> = {
  Deployment: builtin.deployments,
  Service: builtin.services,
  PodDisruptionBudget: builtin.podDisruptionBudgets,
};

/** Measure the stable track's request rate; every failure becomes a reason, never an exception. */
export async function measureRequestRate(
  prometheus: MetricsQuerier | undefined,
  nd: NerDeployment,
): Promise<RateMeasurement> {
  if (!prometheus)
    return {
      ok: false,
      reason: R.PrometheusUnreachable,
      message: 'no Prometheus is configured (ner-ops operator --prometheus-url)',
    };
  const window = nd.spec.autoscaling?.rateWindowSeconds ?? 60;
  try {
    const r = await prometheus.query(requestRateQuery(nd, window));
    if (r.value === undefined)
      return { ok: false, reason: R.NoData, message: 'Prometheus has no request-rate series for the stable pods yet' };
    return { ok: true, rate: r.value };
  } catch (err) {
    if (err instanceof PrometheusError)
      return {
        ok: false,
        reason: err.reason === 'PrometheusUnreachable' ? R.PrometheusUnreachable : err.reason,
        message: err.message.slice(0, 300),
      };
    return {
      ok: false,
      reason: R.PrometheusUnreachable,
      message: `querying Prometheus failed: ${(err as Error).message.slice(0, 200)}`,
    };
  }
}

/**
 * Measure the candidate over the last analysis interval (five instant queries) and decide. Prometheus
 * being unreachable or refusing a query is an Inconclusive analysis, never an exception.
 */
export async function analyseCanary(
  prometheus: MetricsQuerier | undefined,
  nd: NerDeployment,
): Promise<AnalysisDecision> {
  const r = nd.spec.rollout;
  const shadow = inShadow(nd.status ?? {}) && nd.spec.shadow !== undefined;
  const thresholds = { ...r.thresholds, minSampleCount: r.minSampleCount };
  let m: Measurements;
  if (!prometheus)
    m = {
      ok: false,
      reason: R.PrometheusUnreachable,
      message: 'no Prometheus is configured (ner-ops operator --prometheus-url)',
    };
  else {
    const q = analysisQueries(nd, r.analysisIntervalSeconds);
    try {
      const [samples, errors, p95, shadowSamples, agreement] = await Promise.all([
        prometheus.query(q.samples),
        prometheus.query(q.errors),
        prometheus.query(q.p95Seconds),
        shadow ? prometheus.query(q.shadowSamples) : undefined,
        shadow ? prometheus.query(q.shadowAgreement) : undefined,
      ]);
      m = { ok: true };
      if (samples.value !== undefined) m.samples = samples.value;
      if (errors.value !== undefined) m.errors = errors.value;
      if (p95.value !== undefined) m.p95Seconds = p95.value;
      if (shadowSamples?.value !== undefined) m.shadowSamples = shadowSamples.value;
      if (agreement?.value !== undefined) m.shadowAgreement = agreement.value;
    } catch (err) {
      const reason = err instanceof PrometheusError ? err.reason : R.PrometheusUnreachable;
      m = { ok: false, reason, message: (err as Error).message.slice(0, 300) };
    }
  }
  return decideAnalysis(m, thresholds, shadow);
}

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
    const nd = ctx.object;
    // Being deleted: the garbage collector removes the children through their ownerReferences.
    if (nd.metadata.deletionTimestamp) return {};
    const models = ctx.cache<NerModel>(nerModels).list(ctx.namespace);
    const deployment = ctx.cache<V1Deployment>(builtin.deployments).get(ctx.namespace, deploymentName(nd));
    const canaryDeployment = ctx
      .cache<V1Deployment>(builtin.deployments)
      .get(ctx.namespace, deploymentName(nd, 'canary'));
    const measurement = nd.spec.autoscaling ? await measureRequestRate(options.prometheus, nd) : undefined;
    // An analysis is taken only when status says one is due: a restart neither skips nor repeats one.
    const analysis = analysisDue(nd, ctx.now()) ? await analyseCanary(options.prometheus, nd) : undefined;
    // The Gateway API router needs its HTTPRoute (read directly: it is not ours, so not cached).
    let route: HttpRoute | undefined;
    let routeError: string | undefined;
    const routeName =
      nd.spec.trafficRouting.type === 'gatewayAPI' ? nd.spec.trafficRouting.gatewayAPI?.httpRouteName : undefined;
    if (routeName) {
      try {
        route = await ctx.client.get<HttpRoute>(httpRoutes, ctx.namespace, routeName);
      } catch (err) {
        routeError = (err as Error).message.slice(0, 300);
      }
    }
    const problem = routingProblem(nd, route, routeError);
    const plan = planDeployment({
      nd,
      models,
      deployment,
      canaryDeployment,
      ...(analysis ? { analysis } : {}),
      ...(problem ? { routingProblem: problem } : {}),
      now: ctx.now(),
      image: options.image ?? DEFAULT_IMAGE,
      ...(options.storage ? { storage: options.storage } : {}),
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
    // Weights on the HTTPRoute: only our rules' backendRefs change; optimistic concurrency on the route.
    if (route && !problem) {
      const rules = weightedRules(nd, route, plan.routeWeights);
      if (rules) {
        await ctx.client.kube.request({
          method: 'PATCH',
          path: resourcePath(httpRoutes, ctx.namespace, routeName),
          body: { metadata: { resourceVersion: route.metadata?.resourceVersion }, spec: { rules } },
          contentType: 'application/merge-patch+json',
        });
        ctx.log.info({ route: routeName, weights: plan.status.weights }, 'HTTPRoute weights set');
      }
    }
    for (const p of plan.prune) {
      const rt = KINDS[p.kind] as ResourceType;
      if (ctx.cache(rt).get(ctx.namespace, p.name) && (await ctx.client.delete(rt, ctx.namespace, p.name)))
        ctx.log.info({ kind: p.kind, child: p.name }, 'deleted');
    }
    const { changed } = await ctx.client.applyStatus(nerDeployments, nd, plan.status);
    metrics.observe(ctx.namespace ?? '', nd.metadata.name ?? '', nd.status?.phase, plan.status);
    if (changed) for (const e of plan.events) await ctx.client.event(nd, e);
    // A one-shot action (resume, promote, abort) is removed once its effect is in status.
    if (plan.rollout?.consumeAction && nd.metadata.annotations?.[ROLLOUT_ACTION_ANNOTATION] !== undefined) {
      await ctx.client.kube.request({
        method: 'PATCH',
        path: resourcePath(nerDeployments, ctx.namespace, nd.metadata.name),
        body: { metadata: { annotations: { [ROLLOUT_ACTION_ANNOTATION]: null } } },
        contentType: 'application/merge-patch+json',
      });
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
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
