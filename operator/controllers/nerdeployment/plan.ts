/**
 * The NerDeployment plan, as one pure function of what gather.ts observed. Three planners each own their
 * part of the status:
 *
 * - autoscaling (plan-autoscaling.ts): the stable track's replicas, the request rate, MetricsAvailable and
 *   ScalingActive;
 * - rollout (plan-rollout.ts): the canary step machine's fields, Paused and CandidateRejected, and the
 *   one-shot action annotation;
 * - serving (plan-serving.ts): the children, replicas, Ready, Progressing and Degraded.
 *
 * This module resolves the model, runs the three, and composes the status, the HTTPRoute weights and the
 * requeue; apply.ts carries the plan out.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { NerDeploymentPhase, NerDeploymentStatus, Weights } from '../../api/nerdeployment.js';
import {
  NerDeploymentConditionType as C,
  NerDeploymentEventReason as E,
  NerDeploymentReason as R,
} from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import type { EventSpec } from '../../runtime/client.js';
import { findCondition, type Condition } from '../../runtime/conditions.js';
import { imageRefusal } from '../image-policy.js';
import { STRICTEST_TENANT_POLICY } from '../pod-policy.js';
import type { Recommendation } from './autoscale.js';
import { applyConditionChanges, setTo } from './condition-changes.js';
import { isReady, resolveModel } from './model-resolution.js';
import { planAutoscaling } from './plan-autoscaling.js';
import { planRollout, type RolloutPart } from './plan-rollout.js';
import { planServing, type PruneRef } from './plan-serving.js';
import type { RolloutDecision } from './rollout.js';
import type { DeploymentObserved } from './observed.js';
import { weightedRules, type HttpRouteRule } from './routing.js';

export type { PruneRef } from './plan-serving.js';
export type { DeploymentObserved } from './observed.js';

/** The weighted rules to write into the user's HTTPRoute (optimistic concurrency on its resourceVersion). */
export interface RoutePatch {
  name: string;
  resourceVersion: string | undefined;
  rules: HttpRouteRule[];
}

export interface DeploymentPlan {
  /** Objects to server-side apply, in order. Empty when no model can be served yet. */
  apply: KubernetesObject[];
  /** Children to delete (the candidate's Deployment and Service once a promotion has finished). */
  prune: PruneRef[];
  /** The rollout decision (whether the annotation action was consumed, ...). */
  rollout?: RolloutDecision;
  /** Weights for a weighted router: the rollout's, but none on the candidate before one of its pods is ready. */
  routeWeights: Weights;
  /** The HTTPRoute weights to set (gatewayAPI routing, when they differ from the route's). */
  routePatch?: RoutePatch;
  status: NerDeploymentStatus;
  events: EventSpec[];
  /** Remove the one-shot nerops.io/rollout-action annotation, after the status write. */
  clearRolloutAction: boolean;
  /** Remove the approval annotations after the status write (the approval is recorded in it, or ignored). */
  clearApproval?: boolean;
  /** Events recorded once the approval annotations are removed (an ignored approval changes no status). */
  approvalEvents?: EventSpec[];
  requeueAfterMs?: number;
  history: Recommendation[];
}

/**
 * The phase, from the conditions and the rollout's own phase: a rollback is always reported; otherwise a
 * broken stable track (Degraded) comes first, then the rollout's phase, then the serving conditions.
 */
export function phaseOf(conds: readonly Condition[], rolloutPhase: RolloutDecision['phase']): NerDeploymentPhase {
  const isTrue = (t: string) => findCondition(conds, t)?.status === 'True';
  if (rolloutPhase === 'RolledBack') return rolloutPhase;
  if (isTrue(C.Degraded)) return 'Degraded';
  if (rolloutPhase) return rolloutPhase;
  if (isTrue(C.Progressing)) return 'Progressing';
  return isTrue(C.Ready) ? 'Healthy' : 'Progressing';
}

function routePatchOf(o: DeploymentObserved, weights: Weights): RoutePatch | undefined {
  if (!o.route || o.routingProblem) return undefined;
  const rules = weightedRules(o.nd, o.route, weights);
  const name = o.nd.spec.trafficRouting.gatewayAPI?.httpRouteName ?? o.route.metadata?.name ?? '';
  return rules ? { name, resourceVersion: o.route.metadata?.resourceVersion, rules } : undefined;
}

function earliest(...ms: (number | undefined)[]): number | undefined {
  const defined = ms.filter((x): x is number => x !== undefined);
  return defined.length ? Math.min(...defined) : undefined;
}

function modelDeployed(o: DeploymentObserved, model: NerModel | undefined, rollout: RolloutPart): EventSpec[] {
  if (!model || o.nd.status?.stableModel === model.metadata.name || rollout.decision) return [];
  return [
    {
      type: 'Normal',
      reason: E.ModelDeployed,
      note: `serving ${model.metadata.name} (${model.spec.version}) on the stable track`,
    },
  ];
}

/**
 * The plan when spec.image is refused: nothing applied or deleted (children that already run are left as
 * they are: tearing down a serving model because of an edit would turn a refused change into an outage),
 * the rollout does not move, and the conditions say why; one Warning per refusal.
 */
function refusedImagePlan(o: DeploymentObserved, refusal: string): DeploymentPlan {
  const { nd, now } = o;
  const prev = nd.status ?? {};
  const message = `spec.image ${refusal}: no Deployment or pod is created or changed`.slice(0, 1024);
  const conditions = applyConditionChanges(
    prev.conditions,
    [
      setTo(C.Ready, 'False', R.ImageNotAllowed, message),
      setTo(C.Progressing, 'False', R.ImageNotAllowed, message),
      setTo(C.Degraded, 'True', R.ImageNotAllowed, message),
    ],
    nd.metadata.generation,
    now,
  );
  const prevReady = findCondition(prev.conditions ?? [], C.Ready);
  const fresh = prevReady?.reason !== R.ImageNotAllowed || prevReady.message !== message;
  return {
    apply: [],
    prune: [],
    status: { ...prev, observedGeneration: nd.metadata.generation, phase: 'Degraded', message, conditions },
    events: fresh ? [{ type: 'Warning', reason: E.ImageNotAllowed, note: message }] : [],
    history: [...o.history],
    routeWeights: prev.weights ?? { stable: 100, canary: 0 },
    clearRolloutAction: false,
  };
}

/** Build the plan. Pure. */
export function planDeployment(o: DeploymentObserved): DeploymentPlan {
  const { nd, now } = o;
  const prev = nd.status ?? {};
  const refusal =
    nd.spec.image === undefined
      ? undefined
      : imageRefusal(nd.spec.image, { ...(o.tenant ?? STRICTEST_TENANT_POLICY), ownImage: o.image });
  if (refusal) return refusedImagePlan(o, refusal);
  const resolution = resolveModel(nd, o.models);
  const fallback = resolution.model
    ? undefined
    : o.models.find((m) => m.metadata.name === prev.stableModel && isReady(m));
  const resolved = setTo(
    C.ModelResolved,
    resolution.model ? 'True' : 'False',
    resolution.reason,
    resolution.message + (fallback ? `; still serving ${fallback.metadata.name}` : ''),
  );
  const stableNow = o.models.find((m) => m.metadata.name === prev.stableModel) ?? resolution.model ?? fallback;
  const scaling = planAutoscaling(o, stableNow !== undefined);
  const rollout = planRollout(o, scaling.desired);
  const model = rollout.decision ? rollout.stable : (resolution.model ?? fallback);
  const serving = planServing(o, model, resolution, scaling.desired, rollout);
  const conditions = applyConditionChanges(
    prev.conditions,
    [resolved, ...scaling.conditions, ...serving.conditions, ...rollout.conditions],
    nd.metadata.generation,
    now,
  );
  const degraded = findCondition(conditions, C.Degraded);
  const status: NerDeploymentStatus = {
    observedGeneration: nd.metadata.generation,
    phase: phaseOf(conditions, rollout.decision?.phase),
    ...((model?.metadata.name ?? prev.stableModel) !== undefined
      ? { stableModel: model?.metadata.name ?? prev.stableModel }
      : {}),
    replicas: serving.replicas,
    serviceName: nd.metadata.name,
    message:
      degraded?.status === 'True'
        ? (degraded.message ?? '')
        : (findCondition(conditions, C.Progressing)?.message ?? ''),
    conditions,
    ...scaling.status,
    ...rollout.status,
  };
  const routeWeights =
    rollout.mode === 'Canary' && serving.canaryReady > 0 ? rollout.weights : { stable: 100, canary: 0 };
  const routePatch = routePatchOf(o, routeWeights);
  const requeueAfterMs = earliest(scaling.requeueAfterMs, rollout.requeueAfterMs, serving.requeueAfterMs);
  return {
    apply: serving.apply,
    prune: serving.prune,
    status,
    events: [...scaling.events, ...rollout.events, ...modelDeployed(o, model, rollout)],
    history: scaling.history,
    routeWeights,
    ...(routePatch ? { routePatch } : {}),
    clearRolloutAction: rollout.clearAction,
    ...(rollout.clearApproval ? { clearApproval: true, approvalEvents: rollout.approvalEvents } : {}),
    ...(rollout.decision ? { rollout: rollout.decision } : {}),
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
  };
}
