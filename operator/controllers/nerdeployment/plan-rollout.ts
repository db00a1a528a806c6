/**
 * The rollout part of the NerDeployment plan: the canary step machine's decision (rollout.ts) for this
 * reconcile, the status fields it owns (canaryModel, steps, weights, analyses, history, ...), the Paused and
 * CandidateRejected and AwaitingApproval conditions, and whether the one-shot rollout-action annotation and the
 * approval annotations are consumed.
 * A rollout runs only once a stable model serves: the first model is deployed directly.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { NerDeploymentStatus, Weights } from '../../api/nerdeployment.js';
import { NerDeploymentConditionType as C, ROLLOUT_ACTION_ANNOTATION } from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import { readApproval } from '../../../contracts/user-actions.js';
import type { EventSpec } from '../../runtime/client.js';
import { removed, setTo, type ConditionChange } from './condition-changes.js';
import { rolloutTarget } from './model-resolution.js';
import type { DeploymentObserved } from './observed.js';
import {
  canaryReplicas,
  stepRollout,
  type ConditionIntent,
  type RolloutDecision,
  type TrafficMode,
} from './rollout.js';

/** The status fields the rollout owns. */
export type RolloutFields = Pick<
  NerDeploymentStatus,
  | 'canaryModel'
  | 'currentStepIndex'
  | 'stepsHash'
  | 'pauseStartTime'
  | 'paused'
  | 'failedAnalyses'
  | 'abortReason'
  | 'rejectedModel'
  | 'lastAnalysis'
  | 'history'
  | 'weights'
  | 'approvals'
>;

const ROLLOUT_FIELD_NAMES = [
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
  'approvals',
] as const satisfies readonly (keyof RolloutFields)[];

export interface RolloutPart {
  /** The step machine's decision; undefined while no stable model serves. */
  decision?: RolloutDecision;
  /** The model the stable track serves after this decision (it moves on a promotion); undefined: not decided here. */
  stable?: NerModel;
  mode: TrafficMode;
  weights: Weights;
  /** The candidate whose Deployment should exist (running, or at zero when aborted). */
  canaryModel?: NerModel;
  status: RolloutFields;
  conditions: ConditionChange[];
  events: EventSpec[];
  requeueAfterMs?: number;
  /** Remove the one-shot nerops.io/rollout-action annotation (its effect is in this status). */
  clearAction: boolean;
  /** Remove the approval annotations (recorded in this status, or ignored). */
  clearApproval: boolean;
  /** Events to record once the approval annotations are removed (an ignored approval). */
  approvalEvents: EventSpec[];
}

/** True when a track's Deployment runs `model` with every one of `replicas` replicas updated and ready. */
export function trackReady(d: V1Deployment | undefined, model: string | undefined, replicas: number): boolean {
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
export function canaryCount(weights: { canary: number } | undefined, stable: number): number {
  return (weights?.canary ?? 0) === 0 ? 1 : canaryReplicas(weights?.canary ?? 0, stable);
}

function intent(type: string, i: ConditionIntent | undefined): ConditionChange {
  return i ? setTo(type, i.status, i.reason, i.message) : removed(type);
}

/** No stable model yet: no rollout; what a past rollout left to remember (history, rejection) stays. */
function noRollout(prev: NerDeploymentStatus): RolloutPart {
  return {
    mode: 'Stable',
    weights: { stable: 100, canary: 0 },
    status: {
      ...(prev.history !== undefined ? { history: prev.history } : {}),
      ...(prev.rejectedModel !== undefined ? { rejectedModel: prev.rejectedModel } : {}),
      ...(prev.abortReason !== undefined ? { abortReason: prev.abortReason } : {}),
      weights: { stable: 100, canary: 0 },
    },
    conditions: [removed(C.Paused), removed(C.CandidateRejected), removed(C.AwaitingApproval)],
    events: [],
    clearAction: false,
    clearApproval: false,
    approvalEvents: [],
  };
}

/** Plan the rollout; `stableReplicas`: the stable track's replicas (the candidate's count follows them). */
export function planRollout(o: DeploymentObserved, stableReplicas: number): RolloutPart {
  const { nd, now } = o;
  const prev = nd.status ?? {};
  const prevStable = prev.stableModel ? o.models.find((m) => m.metadata.name === prev.stableModel) : undefined;
  if (!prevStable) return noRollout(prev);
  const action = nd.metadata.annotations?.[ROLLOUT_ACTION_ANNOTATION];
  const approval = readApproval(nd.metadata.annotations);
  const decision = stepRollout({
    nd,
    now,
    stable: prevStable,
    target: rolloutTarget(nd, o.models),
    canaryReady: trackReady(o.canaryDeployment, prev.canaryModel, canaryCount(prev.weights, stableReplicas)),
    ...(o.analysis ? { analysis: o.analysis } : {}),
    ...(action ? { action } : {}),
    ...(o.routingProblem ? { routingProblem: o.routingProblem } : {}),
    ...(approval ? { approval } : {}),
  });
  // Rollout fields come from the decision alone: a field it cleared must not survive from the old status.
  const status: RolloutFields = {};
  for (const k of ROLLOUT_FIELD_NAMES)
    if (decision.status[k] !== undefined) (status as Record<string, unknown>)[k] = decision.status[k];
  const canaryModel = decision.canaryModel ? o.models.find((m) => m.metadata.name === decision.canaryModel) : undefined;
  return {
    decision,
    stable: o.models.find((m) => m.metadata.name === decision.status.stableModel) ?? prevStable,
    mode: decision.mode,
    weights: decision.status.weights ?? { stable: 100, canary: 0 },
    ...(canaryModel ? { canaryModel } : {}),
    status,
    conditions: [
      intent(C.Paused, decision.paused),
      intent(C.CandidateRejected, decision.candidateRejected),
      intent(C.AwaitingApproval, decision.awaitingApproval),
    ],
    events: decision.events,
    ...(decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {}),
    clearAction: decision.consumeAction && action !== undefined,
    clearApproval: decision.consumeApproval,
    approvalEvents: decision.approvalEvents,
  };
}
