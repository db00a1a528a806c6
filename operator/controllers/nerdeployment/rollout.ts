/**
 * The canary step machine, as one pure function with an injected clock ({@link stepRollout}).
 *
 * Everything it needs to resume lives in the NerDeployment's status (`canaryModel`, `currentStepIndex`,
 * `stepsHash`, `weights`, `pauseStartTime`, `failedAnalyses`, `lastAnalysis`, `rejectedModel`,
 * `abortReason`, `history`), so an operator restarted at any moment continues at the same step, and
 * analyses are neither skipped nor repeated (the next one is due `analysisIntervalSeconds` after the
 * last one recorded in status).
 *
 * Order of one decision (each stage may stop the decision early, with a comment saying why):
 * 1. no candidate (the spec resolves to the stable model) → idle; a running rollout is abandoned;
 * 2. the candidate is the rolled-back one → stay rolled back (a newer candidate supersedes it);
 * 3. offline gate: the candidate must be Ready and pass `spec.gates` → else CandidateRejected, no traffic;
 * 4. a different candidate than the running one → supersede, start again; a changed step list → restart;
 * 5. manual actions (abort, promote now, pause);
 * 6. wait for the candidate's pods at the step's weight, then start the step's pause;
 * 7. record the analysis taken this reconcile: Fail counts towards failureLimit (past it: abort),
 *    Inconclusive holds (never promotes), Pass allows the step to complete once its pause is over;
 * 8. at most one step per decision ("Step i/n completed"); after the last one: promote. A step with
 *    `approval.required` completes only once approved for this candidate and step (AwaitingApproval until then).
 *
 * Approvals (the `nerops.io/approve` + `nerops.io/approved-by` annotations, whose approver the chart's
 * ValidatingAdmissionPolicy vouches for) are taken while a rollout runs: one naming this candidate, its digest
 * and a step still ahead that needs approval is recorded in `status.approvals` (and in the rollout's history
 * entry when it ends); any other is ignored. Either way the annotations are removed once seen, so an approval
 * is used at most once and never carries over to a restarted rollout.
 *
 * The shadow phase (when `spec.shadow` is set) precedes step 0: the candidate runs with weight 0 while the
 * stable pods mirror `shadow.percent` % of their requests to it. It is recognisable from status alone: a
 * rollout runs (`canaryModel` set) with `weights.canary` 0.
 */
import { createHash } from 'node:crypto';
import type {
  AnalysisResult,
  NerDeployment,
  NerDeploymentStatus,
  RolloutHistoryEntry,
  RolloutStep,
  Weights,
} from '../../api/nerdeployment.js';
import { MAX_ROLLOUT_HISTORY } from '../../api/nerdeployment.js';
import {
  NerDeploymentConditionType as C,
  NerDeploymentEventReason as E,
  NerDeploymentReason as R,
  RolloutAction,
} from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import type { ApprovalRecord } from '../../api/approval.js';
import {
  APPROVE_ANNOTATION,
  APPROVED_BY_ANNOTATION,
  rolloutApprovalTarget,
  type ApprovalAnnotations,
} from '../../../contracts/user-actions.js';
import type { EventSpec } from '../../runtime/client.js';
import { formatTime } from '../../runtime/conditions.js';
import type { AnalysisDecision } from './analysis.js';
import { candidateGate } from './gates.js';

/**
 * Stable hash of a step list: a change restarts the rollout. A step's approval counts only when required, so
 * the hash of a step list written before approvals existed is unchanged (no restart on upgrade).
 */
export function stepsHash(steps: readonly RolloutStep[]): string {
  return createHash('sha256')
    .update(
      JSON.stringify(
        steps.map((s) => (s.approval?.required ? [s.weight, s.pauseSeconds, 'approval'] : [s.weight, s.pauseSeconds])),
      ),
    )
    .digest('hex')
    .slice(0, 16);
}

/** The rollout fields of status this machine owns. */
export type RolloutStatus = Pick<
  NerDeploymentStatus,
  | 'stableModel'
  | 'canaryModel'
  | 'currentStepIndex'
  | 'stepsHash'
  | 'pauseStartTime'
  | 'paused'
  | 'failedAnalyses'
  | 'abortReason'
  | 'rejectedModel'
  | 'weights'
  | 'lastAnalysis'
  | 'history'
  | 'approvals'
>;

/** What the children must look like for the decided rollout state. */
export type TrafficMode =
  /** No rollout: the stable track serves everything. */
  | 'Stable'
  /** Shadow phase: the candidate runs, receives only mirrored requests. */
  | 'Shadow'
  /** A step: the candidate receives `weights.canary` % of the traffic. */
  | 'Canary'
  /** Rolled back: the candidate Deployment is kept at zero replicas for inspection. */
  | 'Aborted';

/** A condition the machine wants set (status True/False) or removed (undefined). */
export interface ConditionIntent {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface RolloutInput {
  nd: NerDeployment;
  now: Date;
  /** The stable NerModel object (status.stableModel), if it still exists. */
  stable: NerModel | undefined;
  /** What the spec resolves to now: the pinned model, or the newest Ready model of the family. */
  target: NerModel | undefined;
  /** True when the candidate track has every replica it was asked for ready (traffic is in effect). */
  canaryReady: boolean;
  /** The analysis taken in this reconcile (only when {@link analysisDue} said so). */
  analysis?: AnalysisDecision;
  /** The value of the `nerops.io/rollout-action` annotation, if any. */
  action?: string;
  /** Why the traffic router cannot honour the spec (refused: no traffic moves). */
  routingProblem?: string;
  /** The approval written on the NerDeployment (annotations), if any. */
  approval?: ApprovalAnnotations;
}

export interface RolloutDecision {
  status: RolloutStatus;
  mode: TrafficMode;
  /** Name of the candidate NerModel whose Deployment should exist (running, or at zero when aborted). */
  canaryModel?: string;
  /** Progressing / Paused / CandidateRejected intents; undefined: leave to stable serving. */
  progressing?: ConditionIntent;
  paused?: ConditionIntent;
  candidateRejected?: ConditionIntent;
  /** AwaitingApproval: True while the step waits for its approval; undefined: removed. */
  awaitingApproval?: ConditionIntent;
  /** Phase override (Progressing, Paused, RolledBack); undefined: derived from the serving conditions. */
  phase?: 'Progressing' | 'Paused' | 'RolledBack';
  events: EventSpec[];
  /** When the machine wants to look again (pause end, next analysis, waiting for pods). */
  requeueAfterMs?: number;
  /** True when a one-shot annotation action (resume, promote, abort) was consumed and must be removed. */
  consumeAction: boolean;
  /** True when the approval annotations were seen by a running rollout (recorded or ignored): remove them. */
  consumeApproval: boolean;
  /** Events about an approval that changes nothing in status (ignored): recorded once the annotations are removed. */
  approvalEvents: EventSpec[];
}

/** How often a refused router is re-checked (e.g. until the HTTPRoute exists). */
export const ROUTING_RETRY_MS = 5_000;

/** Shorter than any analysis interval: how often to look while waiting for candidate pods. */
export const WAIT_FOR_PODS_MS = 2_000;

const ts = (d: Date) => formatTime(d);
const ms = (t: string | undefined) => (t ? new Date(t).getTime() : undefined);

function f1(m: NerModel | undefined): number | undefined {
  return m?.status?.metrics?.micro.f1;
}

/** True while a rollout is in its shadow phase (from status alone). */
export function inShadow(s: RolloutStatus): boolean {
  return s.canaryModel !== undefined && (s.weights?.canary ?? 0) === 0;
}

/**
 * When the next analysis of the running rollout is due (epoch ms), or undefined when none runs: one
 * interval after the later of the step's pause start and the last analysis of this step.
 */
export function nextAnalysisMs(nd: NerDeployment): number | undefined {
  const s = nd.status ?? {};
  const start = ms(s.pauseStartTime);
  if (s.canaryModel === undefined || start === undefined) return undefined;
  const last = ms(s.lastAnalysis?.time);
  const from = last !== undefined && last >= start ? last : start;
  return from + nd.spec.rollout.analysisIntervalSeconds * 1000;
}

/** True when the reconcile should query Prometheus for an analysis now. */
export function analysisDue(nd: NerDeployment, now: Date): boolean {
  const due = nextAnalysisMs(nd);
  return due !== undefined && now.getTime() >= due;
}

/** History with `e` appended; the running rollout's approvals go into its own entry. */
function historyWith(s: RolloutStatus, e: RolloutHistoryEntry): RolloutHistoryEntry[] {
  const approvals = e.model === s.canaryModel && s.approvals?.length ? { approvals: s.approvals } : {};
  return [...(s.history ?? []), { ...e, ...approvals }].slice(-MAX_ROLLOUT_HISTORY);
}

function stepLabel(i: number, n: number): string {
  return `step ${i + 1}/${n}`;
}

/** Clears the per-rollout fields (keeps stable, rejected model, abort reason and history). */
function idle(s: RolloutStatus): RolloutStatus {
  const out: RolloutStatus = { ...s, weights: { stable: 100, canary: 0 } };
  for (const k of [
    'canaryModel',
    'currentStepIndex',
    'stepsHash',
    'pauseStartTime',
    'failedAnalyses',
    'lastAnalysis',
    'paused',
    'approvals',
  ] as const)
    delete out[k];
  return out;
}

/** One decision as it is made: the input, the status being decided and the Events so far. */
interface Machine {
  input: RolloutInput;
  nd: NerDeployment;
  now: Date;
  steps: readonly RolloutStep[];
  hash: string;
  /** Status before this decision. */
  prev: RolloutStatus;
  /** Status being decided (stages replace it, e.g. with {@link idle}). */
  s: RolloutStatus;
  events: EventSpec[];
  action: string | undefined;
  /** The candidate's name (once there is one). */
  cand: string;
  /** The candidate's digest (spec.source.digest), which approvals are bound to. */
  digest: string;
  /** The approval annotations were seen by the running rollout and are to be removed. */
  consumeApproval: boolean;
  /** Events of an ignored approval (see {@link RolloutDecision.approvalEvents}). */
  approvalEvents: EventSpec[];
  /** The candidate is being retried by a user (`rollout-action=retry`). */
  retried: boolean;
}

/** True when a one-shot annotation action (resume, promote, abort; not pause) was given. */
function oneShot(m: Machine): boolean {
  return m.action !== undefined && m.action !== RolloutAction.Pause;
}

function decision(
  m: Machine,
  d: Omit<RolloutDecision, 'events' | 'consumeAction' | 'consumeApproval' | 'approvalEvents'> & {
    consumeAction?: boolean;
  },
) {
  return {
    events: m.events,
    consumeAction: false,
    consumeApproval: m.consumeApproval,
    approvalEvents: m.approvalEvents,
    ...d,
  } as RolloutDecision;
}

/** The running rollout gives way: an Event, and a Superseded entry in history. */
function supersedeRunning(m: Machine, note: string, message: string, previous = m.s.stableModel): void {
  const s = m.s;
  if (!s.canaryModel) return;
  m.events.push({ type: 'Normal', reason: E.RolloutSuperseded, note });
  s.history = historyWith(s, {
    model: s.canaryModel,
    ...(previous !== undefined ? { previousModel: previous } : {}),
    outcome: 'Superseded',
    endTime: ts(m.now),
    stepsCompleted: s.currentStepIndex ?? 0,
    message,
  });
}

/** 1. Nothing to roll out: the spec resolves to the stable model (or to nothing Ready). */
function nothingToRollOut(m: Machine): RolloutDecision {
  const { s } = m;
  const target = m.input.target;
  supersedeRunning(
    m,
    `rollout of ${s.canaryModel} abandoned: the spec resolves to the stable model ${s.stableModel ?? ''} again`,
    'the spec resolves to the stable model again',
    s.stableModel ? s.stableModel : undefined,
  );
  // Pinning the stable model again after a rollback acknowledges the rollback.
  if (target && target.metadata.name === s.stableModel) {
    delete s.rejectedModel;
    delete s.abortReason;
  }
  return decision(m, { status: idle(s), mode: 'Stable', consumeAction: oneShot(m) });
}

/** 2. The rolled-back candidate is not retried; a newer one supersedes the rollback. */
function stayRolledBack(m: Machine): RolloutDecision {
  return decision(m, {
    status: idle(m.s),
    mode: 'Aborted',
    canaryModel: m.cand,
    phase: 'RolledBack',
    progressing: {
      status: 'False',
      reason: R.RolloutAborted,
      message: `rolled back ${m.cand}: ${m.s.abortReason ?? ''}`.slice(0, 1024),
    },
    consumeAction: oneShot(m),
  });
}

/**
 * 2b. Retry (`rollout-action=retry`): forget the rollback of this candidate, so the rollout starts again from
 * its first step (or shadow phase) once it passes the offline gate again; its earlier history entry stays.
 */
function retry(m: Machine): void {
  delete m.s.rejectedModel;
  delete m.s.abortReason;
  m.retried = true;
  m.events.push({ type: 'Normal', reason: E.RolloutRetried, note: `rollout of rolled-back ${m.cand} retried by user` });
}

/** 3a. The candidate fails the offline gate: no traffic, recorded once in history. */
function rejectCandidate(m: Machine, gate: { reason: string; message: string }): RolloutDecision {
  const { s, cand } = m;
  const abandoned = s.canaryModel;
  if (abandoned)
    m.events.push({
      type: 'Normal',
      reason: E.RolloutSuperseded,
      note: `rollout of ${abandoned} superseded by ${cand}`,
    });
  const already = s.history?.at(-1);
  if (!(already?.model === cand && already.outcome === 'Rejected')) {
    if (abandoned)
      s.history = historyWith(s, {
        model: abandoned,
        previousModel: s.stableModel,
        outcome: 'Superseded',
        endTime: ts(m.now),
        stepsCompleted: s.currentStepIndex ?? 0,
        message: `superseded by ${cand}`,
      });
    s.history = historyWith(s, {
      model: cand,
      previousModel: s.stableModel,
      outcome: 'Rejected',
      endTime: ts(m.now),
      stepsCompleted: 0,
      message: gate.message.slice(0, 1024),
    });
    m.events.push({ type: 'Warning', reason: E.CandidateRejected, note: gate.message.slice(0, 1024) });
  }
  return decision(m, {
    status: idle(s),
    mode: 'Stable',
    candidateRejected: { status: 'True', reason: gate.reason, message: gate.message },
    consumeAction: oneShot(m),
  });
}

/** 3b. Still validating: nothing to decide yet; a rollout of an older candidate is not worth continuing. */
function waitForCandidate(m: Machine, phase: string): RolloutDecision {
  const { s, cand } = m;
  if (s.canaryModel && s.canaryModel !== cand)
    supersedeRunning(m, `rollout of ${s.canaryModel} superseded by ${cand}`, `superseded by ${cand}`);
  return decision(m, {
    status: idle(s),
    mode: 'Stable',
    candidateRejected: { status: 'False', reason: R.ModelNotReady, message: `candidate ${cand} is ${phase}` },
    progressing: {
      status: 'True',
      reason: R.ModelNotReady,
      message: `waiting for candidate ${cand} to become Ready (${phase})`,
    },
    phase: 'Progressing',
  });
}

/** The router cannot honour the spec: refuse to move traffic, say so (the stable track keeps serving). */
function refuseRouting(m: Machine, problem: string, gatesOk: ConditionIntent): RolloutDecision {
  return decision(m, {
    status: idle(m.s),
    mode: 'Stable',
    candidateRejected: gatesOk,
    progressing: { status: 'False', reason: R.UnsupportedRouting, message: problem },
    // The route is not watched (it is not ours): look again, so creating it is enough to proceed.
    requeueAfterMs: ROUTING_RETRY_MS,
  });
}

function firstStepWeights(m: Machine): Weights {
  const w = m.steps[0]?.weight ?? 0;
  return { stable: 100 - w, canary: w };
}

/** Start the rollout of the candidate from its first step (or the shadow phase). */
function start(m: Machine, why: string): void {
  const { nd, steps, cand } = m;
  const s = idle(m.s);
  m.s = s;
  delete s.abortReason;
  s.canaryModel = cand;
  s.currentStepIndex = 0;
  s.stepsHash = m.hash;
  s.failedAnalyses = 0;
  s.weights = nd.spec.shadow ? { stable: 100, canary: 0 } : firstStepWeights(m);
  m.events.push({
    type: 'Normal',
    reason: E.RolloutStarted,
    note: `${why}: ${s.stableModel} → ${cand}, ${nd.spec.shadow ? `shadow ${nd.spec.shadow.percent}% first, then ` : ''}${steps.length} steps (${steps.map((x) => `${x.weight}%`).join(', ')})`,
  });
}

/** 4. Start, supersede, or restart on a changed step list. */
function startOrRestart(m: Machine): void {
  const { cand } = m;
  if (m.s.canaryModel !== cand) {
    supersedeRunning(m, `rollout of ${m.s.canaryModel} superseded by ${cand}`, `superseded by ${cand}`);
    const rejected = m.s.rejectedModel;
    start(
      m,
      m.retried
        ? 'rollout retried by user (nerops.io/rollout-action=retry)'
        : rejected && rejected !== cand
          ? `rollout started (supersedes rolled-back ${rejected})`
          : 'rollout started',
    );
    delete m.s.rejectedModel;
  } else if (m.s.stepsHash !== m.hash) {
    start(m, 'steps changed, rollout restarted');
  }
}

/** Roll back: all traffic on the stable model, the candidate remembered as rejected. */
function abort(m: Machine, reason: string, gatesOk: ConditionIntent): RolloutDecision {
  const { cand } = m;
  const stable = m.s.stableModel ?? '';
  m.s.history = historyWith(m.s, {
    model: cand,
    previousModel: stable,
    outcome: 'RolledBack',
    endTime: ts(m.now),
    stepsCompleted: m.s.currentStepIndex ?? 0,
    message: reason.slice(0, 1024),
  });
  m.s.rejectedModel = cand;
  m.s.abortReason = reason.slice(0, 1024);
  const keepAnalysis = m.s.lastAnalysis;
  m.s = idle(m.s);
  if (keepAnalysis) m.s.lastAnalysis = keepAnalysis;
  m.events.push({
    type: 'Warning',
    reason: E.RolloutAborted,
    note: `rolled back ${cand}, all traffic on ${stable}: ${reason}`.slice(0, 1024),
  });
  return decision(m, {
    status: m.s,
    mode: 'Aborted',
    canaryModel: cand,
    phase: 'RolledBack',
    candidateRejected: gatesOk,
    progressing: {
      status: 'False',
      reason: R.RolloutAborted,
      message: `rolled back ${cand}: ${reason}`.slice(0, 1024),
    },
    consumeAction: oneShot(m),
  });
}

/** Promote: the candidate becomes stable. `stepsCompleted`: all steps, or fewer on a manual promote. */
function promote(m: Machine, why: string, gatesOk: ConditionIntent, stepsCompleted = m.s.currentStepIndex ?? 0) {
  const { cand } = m;
  const stable = m.s.stableModel ?? '';
  m.s.history = historyWith(m.s, {
    model: cand,
    previousModel: stable,
    outcome: 'Promoted',
    endTime: ts(m.now),
    stepsCompleted,
    message: why,
  });
  m.s.stableModel = cand;
  m.s = idle(m.s);
  delete m.s.rejectedModel;
  delete m.s.abortReason;
  m.events.push({
    type: 'Normal',
    reason: E.RolloutPromoted,
    note: `${cand} promoted to stable (was ${stable}): ${why}`,
  });
  return decision(m, { status: m.s, mode: 'Stable', candidateRejected: gatesOk, consumeAction: oneShot(m) });
}

/** Where the rollout stands, for messages and the step-completion rule. */
interface Position {
  shadow: boolean;
  idx: number;
  step: RolloutStep;
  where: string;
  userPaused: boolean;
}

function positionOf(m: Machine): Position {
  const shadow = inShadow(m.s) && m.nd.spec.shadow !== undefined;
  // The shadow spec was removed during the shadow phase: go straight to step 0.
  if (inShadow(m.s) && !shadow) m.s.weights = firstStepWeights(m);
  const idx = m.s.currentStepIndex ?? 0;
  const n = m.steps.length;
  return {
    shadow,
    idx,
    step: m.steps[Math.min(idx, n - 1)] as RolloutStep,
    where: shadow ? 'shadow phase' : stepLabel(idx, n),
    userPaused: m.action === RolloutAction.Pause,
  };
}

/** 6. Traffic at this step is in effect only once the candidate's pods are ready: until then, wait. */
function waitForPods(m: Machine, p: Position, gatesOk: ConditionIntent): RolloutDecision {
  return decision(m, {
    consumeAction: oneShot(m),
    status: { ...m.s, paused: p.userPaused },
    mode: p.shadow ? 'Shadow' : 'Canary',
    canaryModel: m.cand,
    candidateRejected: gatesOk,
    progressing: {
      status: 'True',
      reason: p.shadow ? R.ShadowInProgress : R.RolloutInProgress,
      message: `${p.where}: waiting for ${m.cand} pods to become ready`,
    },
    paused: p.userPaused
      ? { status: 'True', reason: R.PausedByUser, message: 'paused by user' }
      : { status: 'False', reason: R.RolloutInProgress, message: '' },
    phase: p.userPaused ? 'Paused' : 'Progressing',
    requeueAfterMs: WAIT_FOR_PODS_MS,
  });
}

/**
 * 7. Record the analysis of this reconcile (taken only when due; stale ones never reach here twice because
 * status.lastAnalysis moves the next due time). Returns whether the rollout holds on an inconclusive
 * analysis, or the abort decision once failures exceed the limit.
 */
function recordAnalysis(m: Machine, p: Position, gatesOk: ConditionIntent): boolean | RolloutDecision {
  const { s, prev } = m;
  const limit = m.nd.spec.rollout.failureLimit;
  let inconclusive =
    prev.paused === true &&
    !p.userPaused &&
    prev.lastAnalysis?.outcome === 'Inconclusive' &&
    s.canaryModel === prev.canaryModel;
  const a = m.input.analysis;
  if (!a || s.canaryModel !== prev.canaryModel || s.stepsHash !== prev.stepsHash || !prev.pauseStartTime)
    return inconclusive;
  const rec: AnalysisResult = { time: ts(m.now), stepIndex: p.shadow ? -1 : p.idx, ...a.result };
  s.lastAnalysis = rec;
  if (a.outcome === 'Fail') {
    const failed = (s.failedAnalyses ?? 0) + 1;
    s.failedAnalyses = failed;
    m.events.push({
      type: 'Warning',
      reason: E.AnalysisFailed,
      note: `${p.where}: analysis failed (${failed}/${limit + 1}): ${a.result.message ?? ''}`.slice(0, 1024),
    });
    if (failed > limit)
      return abort(m, `${failed} failed analyses > failureLimit ${limit}; last: ${a.result.message ?? ''}`, gatesOk);
    inconclusive = false;
  } else if (a.outcome === 'Inconclusive') {
    if (!inconclusive)
      m.events.push({
        type: 'Normal',
        reason: E.AnalysisInconclusive,
        note: `${p.where}: analysis inconclusive, holding: ${a.result.message ?? ''}`.slice(0, 1024),
      });
    inconclusive = true;
  } else {
    inconclusive = false;
  }
  return inconclusive;
}

/** 8. The step is complete: move to the next one (at most one per decision), or promote after the last. */
function completeStep(m: Machine, p: Position, gatesOk: ConditionIntent): RolloutDecision {
  const { s, steps, cand } = m;
  const n = steps.length;
  if (p.shadow) {
    s.weights = firstStepWeights(m);
    m.events.push({
      type: 'Normal',
      reason: E.StepCompleted,
      note: `shadow phase completed: ${s.lastAnalysis?.message ?? ''}`.slice(0, 1024),
    });
  } else {
    m.events.push({
      type: 'Normal',
      reason: E.StepCompleted,
      note: `Step ${p.idx + 1}/${n} completed (${p.step.weight}%)`,
    });
    if (p.idx + 1 >= n) return promote(m, `all ${n} steps completed`, gatesOk, n);
    s.currentStepIndex = p.idx + 1;
    const w = (steps[p.idx + 1] as RolloutStep).weight;
    s.weights = { stable: 100 - w, canary: w };
  }
  delete s.pauseStartTime;
  s.paused = false;
  return decision(m, {
    consumeAction: oneShot(m),
    status: s,
    mode: 'Canary',
    canaryModel: cand,
    candidateRejected: gatesOk,
    progressing: {
      status: 'True',
      reason: R.RolloutInProgress,
      message: `${stepLabel(s.currentStepIndex ?? 0, n)}: ${s.weights?.canary}% to ${cand}`,
    },
    paused: { status: 'False', reason: R.RolloutInProgress, message: '' },
    phase: 'Progressing',
    requeueAfterMs: WAIT_FOR_PODS_MS,
  });
}

/** The Paused intent while holding in a step: a user's pause first, then a wanted approval, then analysis. */
function pausedIntent(m: Machine, p: Position, inconclusive: boolean, waiting: ConditionIntent | undefined) {
  if (p.userPaused) return { status: 'True', reason: R.PausedByUser, message: `paused by user at ${p.where}` } as const;
  if (waiting) return waiting;
  if (inconclusive)
    return {
      status: 'True',
      reason: R.AnalysisInconclusive,
      message: `holding at ${p.where}: ${m.s.lastAnalysis?.message ?? 'analysis inconclusive'}`.slice(0, 1024),
    } as const;
  return { status: 'False', reason: R.RolloutInProgress, message: '' } as const;
}

/** True when the previous status already said this step waits for approval (the Event is for the transition). */
function awaitingBefore(m: Machine, message: string): boolean {
  const c = m.nd.status?.conditions?.find((x) => x.type === C.AwaitingApproval);
  return c?.status === 'True' && c.message === message;
}

/**
 * Still in the step: look again at the next analysis or at the end of the pause, whichever is first.
 * `awaiting`: the step is done but for its approval (analyses go on: a failing candidate is still rolled back).
 */
function holdStep(
  m: Machine,
  p: Position,
  inconclusive: boolean,
  pauseEnd: number,
  gatesOk: ConditionIntent,
  awaiting: boolean,
) {
  const { s, nd, cand } = m;
  const nowMs = m.now.getTime();
  s.paused = p.userPaused || inconclusive;
  const tmp = { ...nd, status: { ...m.prev, ...s } } as NerDeployment;
  const due = nextAnalysisMs(tmp) ?? nowMs + nd.spec.rollout.analysisIntervalSeconds * 1000;
  const wake = Math.max(1000, Math.min(due, pauseEnd > nowMs ? pauseEnd : due) - nowMs);
  const weights: Weights = s.weights ?? { stable: 100, canary: 0 };
  const detail = p.shadow
    ? `mirroring ${nd.spec.shadow?.percent}% of stable requests to ${cand}`
    : `${weights.canary}% to ${cand}`;
  const waiting = awaiting ? awaitingIntent(m, p) : undefined;
  if (waiting && !awaitingBefore(m, waiting.message))
    m.events.push({ type: 'Normal', reason: E.ApprovalRequired, note: waiting.message });
  const paused = pausedIntent(m, p, inconclusive, waiting);
  return decision(m, {
    ...(waiting ? { awaitingApproval: waiting } : {}),
    consumeAction: oneShot(m),
    status: s,
    mode: p.shadow ? 'Shadow' : 'Canary',
    canaryModel: cand,
    candidateRejected: gatesOk,
    progressing: {
      status: 'True',
      reason: p.shadow ? R.ShadowInProgress : R.RolloutInProgress,
      message: `${p.where}: ${detail}${s.failedAnalyses ? `, ${s.failedAnalyses} failed analyses` : ''}`,
    },
    paused,
    phase: paused.status === 'True' ? 'Paused' : 'Progressing',
    requeueAfterMs: wake,
  });
}

/** The approval target of step `idx` of this rollout. */
function targetOf(m: Machine, idx: number): string {
  return rolloutApprovalTarget(m.cand, m.digest, idx);
}

/** True when step `idx` of this rollout has its approval in status. */
function approved(m: Machine, idx: number): boolean {
  return (m.s.approvals ?? []).some((a) => a.stepIndex === idx && a.target === targetOf(m, idx));
}

/**
 * 5b. An approval written on the object: recorded when it names this candidate, its digest and a step from
 * the current one on that needs approval; ignored otherwise (wrong candidate, old digest, a step passed or
 * not needing approval). Seen either way: the annotations go, so an approval is used at most once.
 */
function takeApproval(m: Machine, p: Position): void {
  const a = m.input.approval;
  if (!a) return;
  m.consumeApproval = true;
  const first = p.shadow ? 0 : p.idx;
  const idx = m.steps.findIndex((st, i) => i >= first && st.approval?.required === true && targetOf(m, i) === a.target);
  if (idx < 0) {
    m.approvalEvents.push({
      type: 'Warning',
      reason: E.ApprovalIgnored,
      note: `approval by ${a.approver} ignored: it does not name a step of ${m.cand} that waits for approval (expected ${targetOf(m, first)})`.slice(
        0,
        1024,
      ),
    });
    return;
  }
  if (approved(m, idx)) return;
  const rec: ApprovalRecord = {
    approver: a.approver,
    target: a.target,
    stepIndex: idx,
    time: ts(m.now),
    ...(a.comment ? { comment: a.comment } : {}),
  };
  m.s.approvals = [...(m.s.approvals ?? []), rec];
  m.events.push({
    type: 'Normal',
    reason: E.Approved,
    note: `${stepLabel(idx, m.steps.length)} of ${m.cand} approved by ${a.approver}${a.comment ? `: ${a.comment}` : ''}`.slice(
      0,
      1024,
    ),
  });
}

/** The AwaitingApproval intent of a step that is done but for its approval. */
function awaitingIntent(m: Machine, p: Position): ConditionIntent {
  return {
    status: 'True',
    reason: R.ApprovalRequired,
    message:
      `${p.where} of ${m.cand} (${m.digest}) waits for approval: kubectl ner approve ${m.nd.metadata.name} (annotations ${APPROVE_ANNOTATION}=${targetOf(m, p.idx)}, ${APPROVED_BY_ANNOTATION}=<you>)`.slice(
        0,
        1024,
      ),
  };
}

/** 5.-8. A Ready candidate that passed the gates: manual actions, the step's pause and analyses, the next step. */
function runRollout(m: Machine, gatesOk: ConditionIntent): RolloutDecision {
  // 5. Manual control.
  if (m.action === RolloutAction.Abort) return abort(m, 'aborted by user (nerops.io/rollout-action=abort)', gatesOk);
  if (m.action === RolloutAction.Promote)
    return promote(m, 'promoted by user (nerops.io/rollout-action=promote)', gatesOk);
  const p = positionOf(m);
  takeApproval(m, p);
  if (m.action === RolloutAction.Resume && m.prev.paused)
    m.events.push({ type: 'Normal', reason: E.RolloutResumed, note: `rollout of ${m.cand} resumed by user` });
  if (p.userPaused && !m.prev.paused)
    m.events.push({ type: 'Normal', reason: E.RolloutPaused, note: `rollout of ${m.cand} paused by user` });
  // 6. The pause starts once the candidate's pods are ready.
  if (!m.s.pauseStartTime) {
    if (!m.input.canaryReady) return waitForPods(m, p, gatesOk);
    m.s.pauseStartTime = ts(m.now);
    delete m.s.lastAnalysis;
  }
  // 7. This reconcile's analysis.
  const inconclusive = recordAnalysis(m, p, gatesOk);
  if (typeof inconclusive !== 'boolean') return inconclusive;
  // 8. Step completion: the pause is over and the latest analysis of this step passed.
  const s = m.s;
  const nowMs = m.now.getTime();
  const pauseStart = ms(s.pauseStartTime) ?? nowMs;
  const pauseMs = (p.shadow ? (m.nd.spec.shadow?.durationSeconds ?? 0) : p.step.pauseSeconds) * 1000;
  const lastOk =
    s.lastAnalysis?.outcome === 'Pass' &&
    (ms(s.lastAnalysis.time) ?? 0) >= pauseStart &&
    s.lastAnalysis.stepIndex === (p.shadow ? -1 : p.idx);
  const done = !p.userPaused && !inconclusive && lastOk && nowMs >= pauseStart + pauseMs;
  // A step that needs approval completes only with it (the shadow phase has none).
  const awaiting = done && !p.shadow && p.step.approval?.required === true && !approved(m, p.idx);
  if (done && !awaiting) return completeStep(m, p, gatesOk);
  return holdStep(m, p, inconclusive, pauseStart + pauseMs, gatesOk, awaiting);
}

/** Decide the rollout. Pure: same input, same output. */
export function stepRollout(input: RolloutInput): RolloutDecision {
  const { nd, target } = input;
  const steps = nd.spec.rollout.steps;
  const prev: RolloutStatus = nd.status ?? {};
  const m: Machine = {
    input,
    nd,
    now: input.now,
    steps,
    hash: stepsHash(steps),
    prev,
    s: { ...prev },
    events: [],
    action: input.action,
    cand: target?.metadata.name ?? '',
    digest: target?.spec.source.digest ?? '',
    consumeApproval: false,
    approvalEvents: [],
    retried: false,
  };
  // 1. Nothing to roll out.
  if (!target || !m.s.stableModel || target.metadata.name === m.s.stableModel) return nothingToRollOut(m);
  // 2. The rolled-back candidate: it stays rolled back unless a user asks to retry it.
  if (m.s.rejectedModel === m.cand && !m.s.canaryModel) {
    if (m.action !== RolloutAction.Retry) return stayRolledBack(m);
    retry(m);
  }
  // 3. Offline gate: no traffic until the candidate is Ready and passes the gates.
  const gate = candidateGate(nd, target, input.stable);
  if (gate) return rejectCandidate(m, gate);
  const phase = target.status?.phase ?? 'Pending';
  if (phase !== 'Ready') return waitForCandidate(m, phase);
  const score = f1(target);
  const gatesOk: ConditionIntent = {
    status: 'False',
    reason: R.GatesPassed,
    message: `candidate ${m.cand} passed the gates${score !== undefined ? ` (F1 ${score})` : ''}`,
  };
  if (input.routingProblem) return refuseRouting(m, input.routingProblem, gatesOk);
  // 4. Start, supersede, or restart.
  startOrRestart(m);
  return runRollout(m, gatesOk);
}

/** Candidate replicas under the replica-ratio router: round(weight × stable), at least one. */
export function canaryReplicas(weightPercent: number, stableReplicas: number): number {
  return Math.max(1, Math.round((weightPercent / 100) * stableReplicas));
}
