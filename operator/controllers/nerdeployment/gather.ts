/**
 * Everything a NerDeployment reconcile reads: the namespace's NerModels and both tracks' Deployments
 * (cache), the stable track's request rate from Prometheus when autoscaling is on, the canary analysis when
 * one is due, and the user's HTTPRoute for gatewayAPI routing (read directly: it is not ours, so not
 * cached). Prometheus and API failures become reasons in the observed record, never exceptions. The plan is
 * pure over what this returns.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { NerDeployment } from '../../api/nerdeployment.js';
import { NerDeploymentReason as R } from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import { httpRoutes, nerModels } from '../../api/resources.js';
import { PrometheusError, type MetricsQuerier } from '../../prometheus/client.js';
import type { ReconcileContext } from '../../runtime/controller.js';
import { builtin } from '../../runtime/resource.js';
import type { ModelStorageDefaults } from '../model-storage.js';
import { DEFAULT_IMAGE } from '../pod-templates.js';
import { analysisQueries, decideAnalysis, type AnalysisDecision, type Measurements } from './analysis.js';
import {
  inFlightQuery,
  p95LatencyQuery,
  requestRateQuery,
  type RateMeasurement,
  type Recommendation,
} from './autoscale.js';
import { combineAnalysis, measureCustomMetrics } from './custom-analysis.js';
import { measureFeedbackGate } from './feedback-gate.js';
import { deploymentName } from './desired.js';
import type { DeploymentObserved } from './observed.js';
import type { TenantPolicy } from '../pod-policy.js';
import { analysisDue, inShadow } from './rollout.js';
import { routingProblem, type HttpRoute } from './routing.js';

export interface NerDeploymentControllerOptions {
  image?: string;
  /** Which images spec.image may name (allowed registries); only the operator's own when unset. */
  tenant?: TenantPolicy;
  /** Default credentials / CA for http(s) model sources (operator flags `--default-model-*`). */
  storage?: ModelStorageDefaults;
  /** Prometheus for the request rate; undefined: autoscaling holds with MetricsAvailable=False. */
  prometheus?: MetricsQuerier;
  /** How often the rate is re-read while autoscaling is on (default 10 s). */
  metricsIntervalMs?: number;
  /** Registry for the rollout metrics (the operator's /metrics registry); a private one when absent. */
  registry?: Registry;
  /** Where the inference pods send traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); unset: tracing off. */
  otlpTracesUrl?: string;
}

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
  const auto = nd.spec.autoscaling;
  const window = auto?.rateWindowSeconds ?? 60;
  try {
    // The concurrency and latency queries run only when the policy uses them.
    const [r, inFlight, p95] = await Promise.all([
      prometheus.query(requestRateQuery(nd, window)),
      auto?.targetInFlightPerReplica !== undefined ? prometheus.query(inFlightQuery(nd)) : undefined,
      auto?.maxP95LatencyMs !== undefined ? prometheus.query(p95LatencyQuery(nd, window)) : undefined,
    ]);
    if (r.value === undefined)
      return { ok: false, reason: R.NoData, message: 'Prometheus has no request-rate series for the stable pods yet' };
    return {
      ok: true,
      rate: r.value,
      ...(inFlight?.value !== undefined ? { inFlight: inFlight.value } : {}),
      ...(p95?.value !== undefined && Number.isFinite(p95.value) ? { p95Seconds: p95.value } : {}),
    };
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
      const [samples, errors, p95, shadowSamples, agreement, shadowErrors] = await Promise.all([
        prometheus.query(q.samples),
        prometheus.query(q.errors),
        prometheus.query(q.p95Seconds),
        shadow ? prometheus.query(q.shadowSamples) : undefined,
        shadow ? prometheus.query(q.shadowAgreement) : undefined,
        shadow ? prometheus.query(q.shadowErrors) : undefined,
      ]);
      m = { ok: true };
      if (samples.value !== undefined) m.samples = samples.value;
      if (errors.value !== undefined) m.errors = errors.value;
      if (p95.value !== undefined) m.p95Seconds = p95.value;
      if (shadowSamples?.value !== undefined) m.shadowSamples = shadowSamples.value;
      if (agreement?.value !== undefined) m.shadowAgreement = agreement.value;
      if (shadowErrors?.value !== undefined) m.shadowErrors = shadowErrors.value;
    } catch (err) {
      const reason = err instanceof PrometheusError ? err.reason : R.PrometheusUnreachable;
      m = { ok: false, reason, message: (err as Error).message.slice(0, 300) };
    }
  }
  const builtin = decideAnalysis(m, thresholds, shadow);
  // Custom metrics (spec.rollout.analysis.metrics) join the built-in outcome; the worse one wins.
  const custom = await measureCustomMetrics(prometheus, nd, nd.status?.canaryModel ?? '');
  // The feedback F1 gate joins them the same way. Not in the shadow phase: the candidate answers no real request
  // then, so it gets no feedback, and the gate could only hold the rollout.
  const gate = shadow ? [] : await measureFeedbackGate(prometheus, nd);
  return combineAnalysis(builtin, [...custom, ...gate]);
}

/** The user's HTTPRoute for gatewayAPI routing, and why the router cannot honour the spec (if it cannot). */
async function readRoute(
  ctx: ReconcileContext<NerDeployment>,
): Promise<{ route?: HttpRoute; routingProblem?: string }> {
  const nd = ctx.object;
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
  return { ...(route ? { route } : {}), ...(problem ? { routingProblem: problem } : {}) };
}

export async function gatherDeployment(
  ctx: ReconcileContext<NerDeployment>,
  options: NerDeploymentControllerOptions,
  history: readonly Recommendation[],
): Promise<DeploymentObserved> {
  const nd = ctx.object;
  const models = ctx.cache<NerModel>(nerModels).list(ctx.namespace);
  const deployments = ctx.cache<V1Deployment>(builtin.deployments);
  // External mode: an HPA or KEDA measures; the operator reads nothing for scaling.
  const measurement =
    nd.spec.autoscaling && nd.spec.autoscaling.mode !== 'External'
      ? await measureRequestRate(options.prometheus, nd)
      : undefined;
  // An analysis is taken only when status says one is due: a restart neither skips nor repeats one.
  const analysis = analysisDue(nd, ctx.now()) ? await analyseCanary(options.prometheus, nd) : undefined;
  return {
    nd,
    models,
    deployment: deployments.get(ctx.namespace, deploymentName(nd)),
    canaryDeployment: deployments.get(ctx.namespace, deploymentName(nd, 'canary')),
    ...(analysis ? { analysis } : {}),
    ...(await readRoute(ctx)),
    now: ctx.now(),
    image: options.image ?? DEFAULT_IMAGE,
    ...(options.tenant ? { tenant: options.tenant } : {}),
    ...(options.storage ? { storage: options.storage } : {}),
    ...(options.otlpTracesUrl ? { otlpTracesUrl: options.otlpTracesUrl } : {}),
    history,
    ...(measurement ? { measurement } : {}),
    ...(options.metricsIntervalMs !== undefined ? { metricsIntervalMs: options.metricsIntervalMs } : {}),
  };
}
