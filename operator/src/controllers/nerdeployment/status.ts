/**
 * The NerDeployment plan for stable serving, as pure functions: which model to serve, how many replicas
 * (the autoscaler's decision), the children to apply, and the status/Events/requeue that follow from what
 * was observed. The reconcile does the I/O around {@link planDeployment}.
 */
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { NerDeployment, NerDeploymentStatus } from '../../api/nerdeployment.js';
import { NerDeploymentConditionType as C, NerDeploymentEventReason as E, NerDeploymentReason as R } from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import type { EventSpec } from '../../runtime/client.js';
import { findCondition, formatTime, removeCondition, setCondition, type Condition } from '../../runtime/conditions.js';
import { labelMatchers } from '../../prometheus/client.js';
import { decideReplicas, type RateMeasurement, type Recommendation } from './autoscale.js';
import { deploymentName, desiredDeployment, desiredPdb, desiredService } from './desired.js';

/** Counter the server increments per API request (server/metrics.ts MetricNames). */
export const REQUESTS_METRIC = 'nerops_requests_total';

/** How often the request rate is re-read while autoscaling is on. */
export const DEFAULT_METRICS_INTERVAL_MS = 10_000;

/** PromQL: requests/s of a track, summed over its pods (rates of counters add; gauges are never averaged). */
export function requestRateQuery(nd: NerDeployment, windowSeconds: number, track = 'stable'): string {
  const sel = labelMatchers({ namespace: nd.metadata.namespace ?? '', deployment: nd.metadata.name ?? '', track });
  return `sum(rate(${REQUESTS_METRIC}${sel}[${windowSeconds}s]))`;
}

export interface ModelResolution {
  model?: NerModel;
  reason: string;
  message: string;
}

function isReady(m: NerModel): boolean {
  return m.status?.phase === 'Ready';
}

function f1(m: NerModel | undefined): number | undefined {
  return m?.status?.metrics?.micro.f1;
}

/** Why a candidate fails the gates (undefined: it passes). */
export function gateViolation(nd: NerDeployment, candidate: NerModel, stable: NerModel | undefined): { reason: string; message: string } | undefined {
  const g = nd.spec.gates;
  if (!g || (g.minF1 === undefined && g.maxRegression === undefined)) return undefined;
  const score = f1(candidate);
  if (score === undefined) return { reason: R.MissingMetrics, message: `${candidate.metadata.name} has no measured F1 to check the gates against` };
  if (g.minF1 !== undefined && score < g.minF1) return { reason: R.BelowMinF1, message: `${candidate.metadata.name} F1 ${score} is below gates.minF1 ${g.minF1}` };
  const base = f1(stable);
  if (g.maxRegression !== undefined && base !== undefined && stable?.metadata.name !== candidate.metadata.name && base - score > g.maxRegression) {
    return { reason: R.RegressionTooLarge, message: `${candidate.metadata.name} F1 ${score} regresses ${(base - score).toFixed(4)} against ${stable?.metadata.name} (gates.maxRegression ${g.maxRegression})` };
  }
  return undefined;
}

/** Newest first: creation time, then version and name as tie-breakers (deterministic). */
function newestFirst(a: NerModel, b: NerModel): number {
  // Cached objects carry the timestamp as a string, typed objects as a Date: compare instants.
  const ta = a.metadata.creationTimestamp ? new Date(a.metadata.creationTimestamp).getTime() : 0;
  const tb = b.metadata.creationTimestamp ? new Date(b.metadata.creationTimestamp).getTime() : 0;
  if (ta !== tb) return tb - ta;
  const v = b.spec.version.localeCompare(a.spec.version, undefined, { numeric: true });
  return v !== 0 ? v : String(b.metadata.name).localeCompare(String(a.metadata.name));
}

/**
 * The model to serve: `spec.model` when it is Ready; or the newest Ready model of `modelSelector.family`
 * that passes the gates (against the model served now). `models` are the NerModels of the namespace.
 */
export function resolveModel(nd: NerDeployment, models: readonly NerModel[]): ModelResolution {
  if (nd.spec.model) {
    const m = models.find((x) => x.metadata.name === nd.spec.model);
    if (!m) return { reason: R.ModelNotFound, message: `NerModel ${nd.spec.model} does not exist` };
    if (!isReady(m)) return { reason: R.ModelNotReady, message: `NerModel ${nd.spec.model} is ${m.status?.phase ?? 'Pending'}${m.status?.message ? `: ${m.status.message}` : ''}` };
    return { model: m, reason: R.ModelResolved, message: `serving NerModel ${m.metadata.name} (${m.spec.version})` };
  }
  const family = nd.spec.modelSelector?.family ?? '';
  const stable = models.find((x) => x.metadata.name === nd.status?.stableModel);
  const candidates = models.filter((x) => x.spec.family === family && isReady(x)).sort(newestFirst);
  let firstViolation: { reason: string; message: string } | undefined;
  for (const c of candidates) {
    const v = gateViolation(nd, c, stable && isReady(stable) ? stable : undefined);
    if (!v) return { model: c, reason: R.ModelResolved, message: `serving NerModel ${c.metadata.name} (${c.spec.version}), the newest Ready model of family ${family} passing the gates` };
    firstViolation ??= v;
  }
  return { reason: R.NoMatchingModel, message: `no Ready NerModel of family ${family} passes the gates${firstViolation ? ` (${firstViolation.message})` : ''}` };
}

export interface DeploymentObserved {
  nd: NerDeployment;
  /** NerModels of the NerDeployment's namespace. */
  models: readonly NerModel[];
  /** The live stable Deployment (cache), if it exists. */
  deployment: V1Deployment | undefined;
  now: Date;
  image: string;
  /** The request rate (only when spec.autoscaling is set). */
  measurement?: RateMeasurement;
  /** Autoscaler recommendations kept between reconciles. */
  history: readonly Recommendation[];
  metricsIntervalMs?: number;
}

export interface DeploymentPlan {
  /** Objects to server-side apply, in order. Empty when no model can be served yet. */
  apply: KubernetesObject[];
  status: NerDeploymentStatus;
  events: EventSpec[];
  requeueAfterMs?: number;
  history: Recommendation[];
}

function deploymentCondition(d: V1Deployment | undefined, type: string) {
  return d?.status?.conditions?.find((c) => c.type === type);
}

/** Build the plan. Pure. */
export function planDeployment(o: DeploymentObserved): DeploymentPlan {
  const { nd, now } = o;
  const gen = nd.metadata.generation;
  const prev = nd.status ?? {};
  const events: EventSpec[] = [];
  let conds: Condition[] = [...(prev.conditions ?? [])];
  const set = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string) => {
    conds = setCondition(conds, { type, status, reason, message, ...(gen !== undefined ? { observedGeneration: gen } : {}) }, now);
  };

  // 1. The model. When it cannot be resolved, keep serving what runs (never tear down a working service
  //    because a model was deleted or a new one is not Ready), and say so.
  const resolution = resolveModel(nd, o.models);
  const fallback = resolution.model ? undefined : o.models.find((m) => m.metadata.name === prev.stableModel && isReady(m));
  const model = resolution.model ?? fallback;
  set(C.ModelResolved, resolution.model ? 'True' : 'False', resolution.reason, resolution.message + (fallback ? `; still serving ${fallback.metadata.name}` : ''));

  // 2. Replicas: the autoscaler owns spec.replicas of the Deployment we create.
  // The count we last decided (status) is the reference, not the live Deployment: a hand edit of
  // spec.replicas is reverted rather than adopted. Without autoscaling the track runs replicas.min.
  const { min, max } = nd.spec.replicas;
  const current = o.deployment ? (prev.replicas?.stable?.desired || o.deployment.spec?.replicas) : undefined;
  let desired = nd.spec.autoscaling ? Math.min(max, Math.max(min, current ?? min)) : min;
  let history: Recommendation[] = [];
  let requeueAfterMs: number | undefined;
  let observedRequestRate = prev.observedRequestRate;
  let lastScaleTime = prev.lastScaleTime;
  const auto = nd.spec.autoscaling;
  if (auto && o.measurement) {
    const d = decideReplicas({ now, current, min, max, policy: auto, measurement: o.measurement, history: o.history });
    desired = d.desired;
    history = d.history;
    requeueAfterMs = o.metricsIntervalMs ?? DEFAULT_METRICS_INTERVAL_MS;
    const wasAvailable = findCondition(prev.conditions, C.MetricsAvailable)?.status;
    if (o.measurement.ok) {
      observedRequestRate = Math.round(o.measurement.rate * 100) / 100;
      set(C.MetricsAvailable, 'True', R.MetricsQueried, `${observedRequestRate} req/s over the stable pods`);
      if (wasAvailable === 'False') events.push({ type: 'Normal', reason: E.MetricsRecovered, note: 'request rate measurable again' });
    } else {
      set(C.MetricsAvailable, 'False', o.measurement.reason, `${o.measurement.message}; holding ${desired} replicas`);
      if (wasAvailable !== 'False') events.push({ type: 'Warning', reason: E.MetricsUnavailable, note: `${o.measurement.message}; holding ${desired} replicas`.slice(0, 300) });
    }
    const scalingReason = d.action === 'ScaleUp' ? R.ScaledUp : d.action === 'ScaleDown' ? R.ScaledDown : d.action === 'ScaleDownPending' ? R.ScaleDownStabilizing : d.action === 'HoldNoMetrics' ? o.measurement.ok ? R.MetricsQueried : o.measurement.reason : R.MetricsQueried;
    set(C.ScalingActive, d.action === 'HoldNoMetrics' ? 'False' : 'True', scalingReason, d.message);
    if (model && current !== undefined && desired !== current) {
      lastScaleTime = formatTime(now);
      events.push({ type: 'Normal', reason: E.Scaled, note: d.message.slice(0, 300) });
    }
  } else {
    conds = removeCondition(removeCondition(conds, C.MetricsAvailable), C.ScalingActive);
    observedRequestRate = undefined;
  }

  // 3. Children.
  const apply: KubernetesObject[] = model ? [desiredDeployment({ nd, model, replicas: desired, image: nd.spec.image ?? o.image }), desiredService(nd), desiredPdb(nd)] : [];

  // 4. Serving state from the real Deployment.
  const dep = o.deployment;
  const ready = dep?.status?.readyReplicas ?? 0;
  const updated = dep?.status?.updatedReplicas ?? 0;
  const servingModel = dep?.metadata?.labels?.['nerops.io/model'];
  const available = deploymentCondition(dep, 'Available')?.status === 'True' && ready > 0;
  const stalled = deploymentCondition(dep, 'Progressing')?.status === 'False';
  const rolledOut = !!dep && (dep.status?.observedGeneration ?? 0) >= (dep.metadata?.generation ?? 0) && updated >= desired && ready >= desired && servingModel === model?.metadata.name && dep.spec?.replicas === desired;
  if (!model) {
    set(C.Ready, 'False', resolution.reason, resolution.message);
    set(C.Progressing, 'False', resolution.reason, resolution.message);
    set(C.Degraded, resolution.reason === R.ModelNotReady ? 'False' : 'True', resolution.reason, resolution.message);
  } else {
    set(C.Ready, available ? 'True' : 'False', available ? R.DeploymentAvailable : R.DeploymentProgressing, `${ready}/${desired} replicas ready`);
    set(C.Progressing, rolledOut ? 'False' : 'True', rolledOut ? R.DeploymentAvailable : R.DeploymentProgressing, rolledOut ? `${model.metadata.name} rolled out` : `rolling out ${model.metadata.name}: ${ready}/${desired} ready, ${updated} updated`);
    if (stalled) set(C.Degraded, 'True', R.DeploymentUnavailable, deploymentCondition(dep, 'Progressing')?.message ?? 'the Deployment stopped progressing');
    else if (!resolution.model) set(C.Degraded, 'True', resolution.reason, `${resolution.message}; still serving ${model.metadata.name}`);
    else set(C.Degraded, 'False', R.AsExpected, '');
  }
  const isTrue = (t: string) => findCondition(conds, t)?.status === 'True';
  const phase = isTrue(C.Degraded) ? 'Degraded' : isTrue(C.Progressing) ? 'Progressing' : isTrue(C.Ready) ? 'Healthy' : 'Progressing';

  if (model && prev.stableModel !== model.metadata.name) {
    events.push({ type: 'Normal', reason: E.ModelDeployed, note: `serving ${model.metadata.name} (${model.spec.version}) on the stable track` });
  }

  const status: NerDeploymentStatus = {
    ...prev,
    observedGeneration: gen,
    phase,
    ...(model ? { stableModel: model.metadata.name } : {}),
    replicas: { desired: model ? desired : 0, ready, stable: { desired: model ? desired : 0, ready } },
    serviceName: nd.metadata.name,
    weights: { stable: 100, canary: 0 },
    message: findCondition(conds, C.Degraded)?.status === 'True' ? (findCondition(conds, C.Degraded)?.message ?? '') : (findCondition(conds, C.Progressing)?.message ?? ''),
    conditions: conds,
  };
  if (observedRequestRate !== undefined) status.observedRequestRate = observedRequestRate;
  else delete status.observedRequestRate;
  if (lastScaleTime !== undefined) status.lastScaleTime = lastScaleTime;
  return { apply, status, events, history, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}

export { deploymentName };
