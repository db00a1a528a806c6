/**
 * The NerDeployment plan for stable serving, as pure functions: which model to serve, how many replicas
 * (the autoscaler's decision), the children to apply, and the status/Events/requeue that follow from what
 * was observed. The reconcile does the I/O around {@link planDeployment}.
 */
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { NerDeployment, NerDeploymentStatus } from '../../api/nerdeployment.js';
import {
  NerDeploymentConditionType as C,
  NerDeploymentEventReason as E,
  NerDeploymentReason as R,
  ROLLOUT_ACTION_ANNOTATION,
} from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import type { EventSpec } from '../../runtime/client.js';
import { findCondition, formatTime, removeCondition, setCondition, type Condition } from '../../runtime/conditions.js';
import { labelMatchers } from '../../prometheus/client.js';
import type { ModelStorageDefaults } from '../model-storage.js';
import type { AnalysisDecision } from './analysis.js';
import { decideReplicas, type RateMeasurement, type Recommendation } from './autoscale.js';
import { deploymentName, desiredDeployment, desiredPdb, desiredService, trackServiceName } from './desired.js';
import { canaryReplicas, stepRollout, type RolloutDecision } from './rollout.js';

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
export function gateViolation(
  nd: NerDeployment,
  candidate: NerModel,
  stable: NerModel | undefined,
): { reason: string; message: string } | undefined {
  const g = nd.spec.gates;
  if (!g || (g.minF1 === undefined && g.maxRegression === undefined)) return undefined;
  const score = f1(candidate);
  if (score === undefined)
    return {
      reason: R.MissingMetrics,
      message: `${candidate.metadata.name} has no measured F1 to check the gates against`,
    };
  if (g.minF1 !== undefined && score < g.minF1)
    return { reason: R.BelowMinF1, message: `${candidate.metadata.name} F1 ${score} is below gates.minF1 ${g.minF1}` };
  const base = f1(stable);
  if (
    g.maxRegression !== undefined &&
    base !== undefined &&
    stable?.metadata.name !== candidate.metadata.name &&
    base - score > g.maxRegression
  ) {
    return {
      reason: R.RegressionTooLarge,
      message: `${candidate.metadata.name} F1 ${score} regresses ${(base - score).toFixed(4)} against ${stable?.metadata.name} (gates.maxRegression ${g.maxRegression})`,
    };
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
    if (!isReady(m))
      return {
        reason: R.ModelNotReady,
        message: `NerModel ${nd.spec.model} is ${m.status?.phase ?? 'Pending'}${m.status?.message ? `: ${m.status.message}` : ''}`,
      };
    return { model: m, reason: R.ModelResolved, message: `serving NerModel ${m.metadata.name} (${m.spec.version})` };
  }
  const family = nd.spec.modelSelector?.family ?? '';
  const stable = models.find((x) => x.metadata.name === nd.status?.stableModel);
  const candidates = models.filter((x) => x.spec.family === family && isReady(x)).sort(newestFirst);
  let firstViolation: { reason: string; message: string } | undefined;
  for (const c of candidates) {
    const v = gateViolation(nd, c, stable && isReady(stable) ? stable : undefined);
    if (!v)
      return {
        model: c,
        reason: R.ModelResolved,
        message: `serving NerModel ${c.metadata.name} (${c.spec.version}), the newest Ready model of family ${family} passing the gates`,
      };
    firstViolation ??= v;
  }
  return {
    reason: R.NoMatchingModel,
    message: `no Ready NerModel of family ${family} passes the gates${firstViolation ? ` (${firstViolation.message})` : ''}`,
  };
}

/**
 * The model a rollout would move to: the pinned `spec.model` (any phase: the gate decides), or the newest
 * Ready model of `modelSelector.family`.
 */
export function rolloutTarget(nd: NerDeployment, models: readonly NerModel[]): NerModel | undefined {
  if (nd.spec.model) return models.find((x) => x.metadata.name === nd.spec.model);
  const family = nd.spec.modelSelector?.family ?? '';
  return models.filter((x) => x.spec.family === family && isReady(x)).sort(newestFirst)[0];
}

/** A child to delete (it is no longer desired). */
export interface PruneRef {
  kind: 'Deployment' | 'Service';
  name: string;
}

export interface DeploymentObserved {
  nd: NerDeployment;
  /** NerModels of the NerDeployment's namespace. */
  models: readonly NerModel[];
  /** The live stable Deployment (cache), if it exists. */
  deployment: V1Deployment | undefined;
  /** The live candidate Deployment (cache), if it exists. */
  canaryDeployment?: V1Deployment | undefined;
  /** The canary analysis taken in this reconcile (only when one was due). */
  analysis?: AnalysisDecision;
  /** Why the traffic router cannot honour the spec (e.g. the HTTPRoute is missing). */
  routingProblem?: string;
  now: Date;
  image: string;
  /** Operator defaults for http(s) model sources without their own credentials / CA refs. */
  storage?: ModelStorageDefaults;
  /** The request rate (only when spec.autoscaling is set). */
  measurement?: RateMeasurement;
  /** Autoscaler recommendations kept between reconciles. */
  history: readonly Recommendation[];
  metricsIntervalMs?: number;
}

export interface DeploymentPlan {
  /** Objects to server-side apply, in order. Empty when no model can be served yet. */
  apply: KubernetesObject[];
  /** Children to delete (the candidate's Deployment and Service once a promotion has finished). */
  prune: PruneRef[];
  /** The rollout decision (whether the annotation action was consumed, ...). */
  rollout?: RolloutDecision;
  /** Weights for a weighted router: the rollout's, but none on the candidate before one of its pods is ready. */
  routeWeights: { stable: number; canary: number };
  status: NerDeploymentStatus;
  events: EventSpec[];
  requeueAfterMs?: number;
  history: Recommendation[];
}

function deploymentCondition(d: V1Deployment | undefined, type: string) {
  return d?.status?.conditions?.find((c) => c.type === type);
}

/** Status fields owned by the step machine. */
const ROLLOUT_FIELDS = [
  'canaryModel',
  'currentStepIndex',
  'stepsHash',
  'pauseStartTime',
  'paused',
  'failedAnalyses',
  'abortReason',
  'rejectedModel',
  'lastAnalysis',
  'history',
  'weights',
] as const;

/** True when a track's Deployment runs `model` with every one of `replicas` replicas updated and ready. */
function trackReady(d: V1Deployment | undefined, model: string | undefined, replicas: number): boolean {
  if (!d || !model) return false;
  return (
    d.metadata?.labels?.['nerops.io/model'] === model &&
    d.spec?.replicas === replicas &&
    (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (d.status?.updatedReplicas ?? 0) >= replicas &&
    (d.status?.readyReplicas ?? 0) >= replicas
  );
}

/** Candidate replicas for the weights in status (shadow: one replica receiving mirrored requests). */
function canaryCount(weights: { canary: number } | undefined, stable: number): number {
  return (weights?.canary ?? 0) === 0 ? 1 : canaryReplicas(weights?.canary ?? 0, stable);
}

/** Build the plan. Pure. */
export function planDeployment(o: DeploymentObserved): DeploymentPlan {
  const { nd, now } = o;
  const gen = nd.metadata.generation;
  const prev = nd.status ?? {};
  const events: EventSpec[] = [];
  let conds: Condition[] = [...(prev.conditions ?? [])];
  const set = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string) => {
    conds = setCondition(
      conds,
      { type, status, reason, message, ...(gen !== undefined ? { observedGeneration: gen } : {}) },
      now,
    );
  };

  // 1. The model. When it cannot be resolved, keep serving what runs (never tear down a working service
  //    because a model was deleted or a new one is not Ready), and say so.
  const resolution = resolveModel(nd, o.models);
  const fallback = resolution.model
    ? undefined
    : o.models.find((m) => m.metadata.name === prev.stableModel && isReady(m));
  set(
    C.ModelResolved,
    resolution.model ? 'True' : 'False',
    resolution.reason,
    resolution.message + (fallback ? `; still serving ${fallback.metadata.name}` : ''),
  );

  // 2. Replicas: the autoscaler owns spec.replicas of the Deployment we create.
  // The count we last decided (status) is the reference, not the live Deployment: a hand edit of
  // spec.replicas is reverted rather than adopted. Without autoscaling the track runs replicas.min.
  const { min, max } = nd.spec.replicas;
  const current = o.deployment ? prev.replicas?.stable?.desired || o.deployment.spec?.replicas : undefined;
  let desired = nd.spec.autoscaling ? Math.min(max, Math.max(min, current ?? min)) : min;
  let history: Recommendation[] = [];
  let requeueAfterMs: number | undefined;
  let observedRequestRate = prev.observedRequestRate;
  let lastScaleTime = prev.lastScaleTime;
  const auto = nd.spec.autoscaling;
  const stableForAutoscale = o.models.find((m) => m.metadata.name === prev.stableModel) ?? resolution.model ?? fallback;
  if (auto && o.measurement) {
    const d = decideReplicas({ now, current, min, max, policy: auto, measurement: o.measurement, history: o.history });
    desired = d.desired;
    history = d.history;
    requeueAfterMs = o.metricsIntervalMs ?? DEFAULT_METRICS_INTERVAL_MS;
    const wasAvailable = findCondition(prev.conditions, C.MetricsAvailable)?.status;
    if (o.measurement.ok) {
      observedRequestRate = Math.round(o.measurement.rate * 100) / 100;
      set(C.MetricsAvailable, 'True', R.MetricsQueried, `${observedRequestRate} req/s over the stable pods`);
      if (wasAvailable === 'False')
        events.push({ type: 'Normal', reason: E.MetricsRecovered, note: 'request rate measurable again' });
    } else {
      set(C.MetricsAvailable, 'False', o.measurement.reason, `${o.measurement.message}; holding ${desired} replicas`);
      if (wasAvailable !== 'False')
        events.push({
          type: 'Warning',
          reason: E.MetricsUnavailable,
          note: `${o.measurement.message}; holding ${desired} replicas`.slice(0, 300),
        });
    }
    const scalingReason =
      d.action === 'ScaleUp'
        ? R.ScaledUp
        : d.action === 'ScaleDown'
          ? R.ScaledDown
          : d.action === 'ScaleDownPending'
            ? R.ScaleDownStabilizing
            : d.action === 'HoldNoMetrics'
              ? o.measurement.ok
                ? R.MetricsQueried
                : o.measurement.reason
              : R.MetricsQueried;
    set(C.ScalingActive, d.action === 'HoldNoMetrics' ? 'False' : 'True', scalingReason, d.message);
    if (stableForAutoscale && current !== undefined && desired !== current) {
      lastScaleTime = formatTime(now);
      events.push({ type: 'Normal', reason: E.Scaled, note: d.message.slice(0, 300) });
    }
  } else {
    conds = removeCondition(removeCondition(conds, C.MetricsAvailable), C.ScalingActive);
    observedRequestRate = undefined;
  }

  // 3. The canary rollout. It runs only once a stable model serves: the first model is deployed directly.
  //    The stable track keeps its model until the rollout promotes (then it moves in this same plan).
  const prevStable = prev.stableModel ? o.models.find((m) => m.metadata.name === prev.stableModel) : undefined;
  let rollout: RolloutDecision | undefined;
  let model: NerModel | undefined;
  if (prevStable) {
    const canaryReady = trackReady(o.canaryDeployment, prev.canaryModel, canaryCount(prev.weights, desired));
    const action = nd.metadata.annotations?.[ROLLOUT_ACTION_ANNOTATION];
    rollout = stepRollout({
      nd,
      now,
      stable: prevStable,
      target: rolloutTarget(nd, o.models),
      canaryReady,
      ...(o.analysis ? { analysis: o.analysis } : {}),
      ...(action ? { action } : {}),
      ...(o.routingProblem ? { routingProblem: o.routingProblem } : {}),
    });
    events.push(...rollout.events);
    model = o.models.find((m) => m.metadata.name === rollout?.status.stableModel) ?? prevStable;
  } else {
    model = resolution.model ?? fallback;
  }

  // 4. Children. The stable track stays fully scaled during a rollout (an abort is instant).
  const image = nd.spec.image ?? o.image;
  const storage = o.storage ? { storage: o.storage } : {};
  const mode = rollout?.mode ?? 'Stable';
  const weights = rollout?.status.weights ?? { stable: 100, canary: 0 };
  const gateway = nd.spec.trafficRouting.type === 'gatewayAPI';
  const canaryModel = rollout?.canaryModel ? o.models.find((m) => m.metadata.name === rollout?.canaryModel) : undefined;
  const stableServing = trackReady(o.deployment, model?.metadata.name, desired);
  // After a promotion the candidate's pods keep serving until the stable track runs the new model.
  const finishing =
    mode === 'Stable' &&
    !!o.canaryDeployment &&
    o.canaryDeployment.metadata?.labels?.['nerops.io/model'] === model?.metadata.name &&
    !stableServing;
  const shadowUrl = `http://${trackServiceName(nd, 'canary')}.${nd.metadata.namespace}.svc:${nd.spec.server.port}`;
  const apply: KubernetesObject[] = [];
  const prune: PruneRef[] = [];
  let canaryDesired = 0;
  if (model) {
    apply.push(
      desiredDeployment({
        nd,
        model,
        replicas: desired,
        image,
        ...storage,
        ...(mode === 'Shadow' && nd.spec.shadow ? { shadow: { url: shadowUrl, percent: nd.spec.shadow.percent } } : {}),
      }),
      desiredService(nd, mode === 'Shadow' ? { onlyTrack: 'stable' } : {}),
      desiredPdb(nd),
    );
    if (gateway) apply.push(desiredService(nd, { track: 'stable' }));
    if (canaryModel && mode !== 'Stable') {
      canaryDesired = mode === 'Aborted' ? 0 : canaryCount(weights, desired);
      apply.push(
        desiredDeployment({ nd, model: canaryModel, replicas: canaryDesired, image, track: 'canary', ...storage }),
        desiredService(nd, { track: 'canary' }),
      );
    } else if (finishing) {
      canaryDesired = o.canaryDeployment?.spec?.replicas ?? 0;
    } else if (o.canaryDeployment) {
      prune.push(
        { kind: 'Deployment', name: deploymentName(nd, 'canary') },
        ...(gateway ? [] : [{ kind: 'Service' as const, name: trackServiceName(nd, 'canary') }]),
      );
    }
    if (gateway && !apply.some((x) => x.kind === 'Service' && x.metadata?.name === trackServiceName(nd, 'canary')))
      apply.push(desiredService(nd, { track: 'canary' }));
  }

  // 5. Serving state from the real Deployment.
  const dep = o.deployment;
  const ready = dep?.status?.readyReplicas ?? 0;
  const updated = dep?.status?.updatedReplicas ?? 0;
  const servingModel = dep?.metadata?.labels?.['nerops.io/model'];
  const available = deploymentCondition(dep, 'Available')?.status === 'True' && ready > 0;
  const stalled = deploymentCondition(dep, 'Progressing')?.status === 'False';
  const rolledOut =
    !!dep &&
    (dep.status?.observedGeneration ?? 0) >= (dep.metadata?.generation ?? 0) &&
    updated >= desired &&
    ready >= desired &&
    servingModel === model?.metadata.name &&
    dep.spec?.replicas === desired;
  if (!model) {
    set(C.Ready, 'False', resolution.reason, resolution.message);
    set(C.Progressing, 'False', resolution.reason, resolution.message);
    set(C.Degraded, resolution.reason === R.ModelNotReady ? 'False' : 'True', resolution.reason, resolution.message);
  } else {
    set(
      C.Ready,
      available ? 'True' : 'False',
      available ? R.DeploymentAvailable : R.DeploymentProgressing,
      `${ready}/${desired} replicas ready`,
    );
    if (rollout?.progressing && (rollout.progressing.status === 'True' || rolledOut))
      set(C.Progressing, rollout.progressing.status, rollout.progressing.reason, rollout.progressing.message);
    else
      set(
        C.Progressing,
        rolledOut ? 'False' : 'True',
        rolledOut ? R.DeploymentAvailable : R.DeploymentProgressing,
        rolledOut
          ? `${model.metadata.name} rolled out`
          : `rolling out ${model.metadata.name}: ${ready}/${desired} ready, ${updated} updated`,
      );
    if (stalled)
      set(
        C.Degraded,
        'True',
        R.DeploymentUnavailable,
        deploymentCondition(dep, 'Progressing')?.message ?? 'the Deployment stopped progressing',
      );
    else if (mode === 'Aborted')
      set(C.Degraded, 'True', R.RolloutAborted, rollout?.progressing?.message ?? 'rollout aborted');
    else if (rollout?.progressing?.reason === R.UnsupportedRouting)
      set(C.Degraded, 'True', R.UnsupportedRouting, rollout.progressing.message);
    else if (!resolution.model && (!rollout || resolution.reason !== R.ModelNotReady))
      set(C.Degraded, 'True', resolution.reason, `${resolution.message}; still serving ${model.metadata.name}`);
    else set(C.Degraded, 'False', R.AsExpected, '');
  }
  if (rollout?.paused) set(C.Paused, rollout.paused.status, rollout.paused.reason, rollout.paused.message);
  else conds = removeCondition(conds, C.Paused);
  if (rollout?.candidateRejected)
    set(
      C.CandidateRejected,
      rollout.candidateRejected.status,
      rollout.candidateRejected.reason,
      rollout.candidateRejected.message,
    );
  else conds = removeCondition(conds, C.CandidateRejected);
  const isTrue = (t: string) => findCondition(conds, t)?.status === 'True';
  const derived = isTrue(C.Degraded)
    ? 'Degraded'
    : isTrue(C.Progressing)
      ? 'Progressing'
      : isTrue(C.Ready)
        ? 'Healthy'
        : 'Progressing';
  // A rollout's own phase wins over the serving phase, except a broken stable track (Degraded).
  const phase = rollout?.phase && (derived !== 'Degraded' || rollout.phase === 'RolledBack') ? rollout.phase : derived;

  if (model && prev.stableModel !== model.metadata.name && !rollout) {
    events.push({
      type: 'Normal',
      reason: E.ModelDeployed,
      note: `serving ${model.metadata.name} (${model.spec.version}) on the stable track`,
    });
  }
  if (rollout?.requeueAfterMs !== undefined)
    requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, rollout.requeueAfterMs);
  if (finishing) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, 2000);

  const canaryDep = o.canaryDeployment;
  const canaryReadyCount = canaryDep ? (canaryDep.status?.readyReplicas ?? 0) : 0;
  const status: NerDeploymentStatus = {
    ...prev,
    ...(rollout ? rollout.status : {}),
    observedGeneration: gen,
    phase,
    ...(model ? { stableModel: model.metadata.name } : {}),
    replicas: {
      desired: model ? desired + canaryDesired : 0,
      ready: ready + canaryReadyCount,
      stable: { desired: model ? desired : 0, ready },
      ...(canaryDep || canaryDesired ? { canary: { desired: canaryDesired, ready: canaryReadyCount } } : {}),
    },
    serviceName: nd.metadata.name,
    weights,
    message:
      findCondition(conds, C.Degraded)?.status === 'True'
        ? (findCondition(conds, C.Degraded)?.message ?? '')
        : (findCondition(conds, C.Progressing)?.message ?? ''),
    conditions: conds,
  };
  // Rollout fields come from the decision alone: a field it cleared must not survive from the old status.
  for (const k of ROLLOUT_FIELDS) {
    if (!rollout && (k === 'history' || k === 'rejectedModel' || k === 'abortReason')) continue;
    const v = rollout?.status[k];
    if (v === undefined) delete status[k];
    else (status as Record<string, unknown>)[k] = v;
  }
  if (!rollout) status.weights = weights;
  if (observedRequestRate !== undefined) status.observedRequestRate = observedRequestRate;
  else delete status.observedRequestRate;
  if (lastScaleTime !== undefined) status.lastScaleTime = lastScaleTime;
  const routeWeights = mode === 'Canary' && canaryReadyCount > 0 ? weights : { stable: 100, canary: 0 };
  return {
    apply,
    prune,
    status,
    events,
    history,
    routeWeights,
    ...(rollout ? { rollout } : {}),
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
  };
}

export { deploymentName };
