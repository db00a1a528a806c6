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
 * 8. at most one step per decision ("Step i/n completed"); after the last one: promote.
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
  NerDeploymentEventReason as E,
  NerDeploymentReason as R,
  RolloutAction,
} from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import type { EventSpec } from '../../runtime/client.js';
import { formatTime } from '../../runtime/conditions.js';
import type { AnalysisDecision } from './analysis.js';
import { candidateGate } from './gates.js';

/** Stable hash of a step list: a change restarts the rollout. */
export function stepsHash(steps: readonly RolloutStep[]): string {
  return createHash('sha256')
    .update(JSON.stringify(steps.map((s) => [s.weight, s.pauseSeconds])))
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
  /** Phase override (Progressing, Paused, RolledBack); undefined: derived from the serving conditions. */
  phase?: 'Progressing' | 'Paused' | 'RolledBack';
  events: EventSpec[];
  /** When the machine wants to look again (pause end, next analysis, waiting for pods). */
  requeueAfterMs?: number;
  /** True when a one-shot annotation action (resume, promote, abort) was consumed and must be removed. */
  consumeAction: boolean;
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

function historyWith(s: RolloutStatus, e: RolloutHistoryEntry): RolloutHistoryEntry[] {
  return [...(s.history ?? []), e].slice(-MAX_ROLLOUT_HISTORY);
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
  ] as const)
    delete out[k];
  return out;
}

/** Decide the rollout. Pure: same input, same output. */
export function stepRollout(input: RolloutInput): RolloutDecision {
  const { nd, now, target } = input;
  const spec = nd.spec.rollout;
  const steps = spec.steps;
  const n = steps.length;
  const hash = stepsHash(steps);
  const prev: RolloutStatus = nd.status ?? {};
  let s: RolloutStatus = { ...prev };
  const events: EventSpec[] = [];
  const action = input.action;
  const base = { events, consumeAction: false };

  // 1. Nothing to roll out: the spec resolves to the stable model (or to nothing Ready).
  if (!target || !s.stableModel || target.metadata.name === s.stableModel) {
    if (s.canaryModel) {
      events.push({
        type: 'Normal',
        reason: E.RolloutSuperseded,
        note: `rollout of ${s.canaryModel} abandoned: the spec resolves to the stable model ${s.stableModel ?? ''} again`,
      });
      s.history = historyWith(s, {
        model: s.canaryModel,
        ...(s.stableModel ? { previousModel: s.stableModel } : {}),
        outcome: 'Superseded',
        endTime: ts(now),
        stepsCompleted: s.currentStepIndex ?? 0,
        message: 'the spec resolves to the stable model again',
      });
    }
    // Pinning the stable model again after a rollback acknowledges the rollback.
    if (target && target.metadata.name === s.stableModel) {
      delete s.rejectedModel;
      delete s.abortReason;
    }
    return {
      ...base,
      status: idle(s),
      mode: 'Stable',
      consumeAction: action !== undefined && action !== RolloutAction.Pause,
    };
  }
  const cand = target.metadata.name ?? '';

  // 2. The rolled-back candidate is not retried; a newer one supersedes the rollback.
  if (s.rejectedModel === cand && !s.canaryModel) {
    return {
      ...base,
      status: idle(s),
      mode: 'Aborted',
      canaryModel: cand,
      phase: 'RolledBack',
      progressing: {
        status: 'False',
        reason: R.RolloutAborted,
        message: `rolled back ${cand}: ${s.abortReason ?? ''}`.slice(0, 1024),
      },
      consumeAction: action !== undefined && action !== RolloutAction.Pause,
    };
  }

  // 3. Offline gate: no traffic until the candidate is Ready and passes the gates.
  const phase = target.status?.phase ?? 'Pending';
  const gate = candidateGate(nd, target, input.stable);
  if (gate) {
    const abandoned = s.canaryModel;
    if (abandoned)
      events.push({
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
          endTime: ts(now),
          stepsCompleted: s.currentStepIndex ?? 0,
          message: `superseded by ${cand}`,
        });
      s.history = historyWith(s, {
        model: cand,
        previousModel: s.stableModel,
        outcome: 'Rejected',
        endTime: ts(now),
        stepsCompleted: 0,
        message: gate.message.slice(0, 1024),
      });
      events.push({ type: 'Warning', reason: E.CandidateRejected, note: gate.message.slice(0, 1024) });
    }
    return {
      ...base,
      status: idle(s),
      mode: 'Stable',
      candidateRejected: { status: 'True', reason: gate.reason, message: gate.message },
      consumeAction: action !== undefined && action !== RolloutAction.Pause,
    };
  }
  if (phase !== 'Ready') {
    // Still validating: nothing to decide yet; a rollout of an older candidate is not worth continuing.
    if (s.canaryModel && s.canaryModel !== cand) {
      events.push({
        type: 'Normal',
        reason: E.RolloutSuperseded,
        note: `rollout of ${s.canaryModel} superseded by ${cand}`,
      });
      s.history = historyWith(s, {
        model: s.canaryModel,
        previousModel: s.stableModel,
        outcome: 'Superseded',
        endTime: ts(now),
        stepsCompleted: s.currentStepIndex ?? 0,
        message: `superseded by ${cand}`,
      });
    }
    return {
      ...base,
      status: idle(s),
      mode: 'Stable',
      candidateRejected: { status: 'False', reason: R.ModelNotReady, message: `candidate ${cand} is ${phase}` },
      progressing: {
        status: 'True',
        reason: R.ModelNotReady,
        message: `waiting for candidate ${cand} to become Ready (${phase})`,
      },
      phase: 'Progressing',
    };
  }
  const gatesOk: ConditionIntent = {
    status: 'False',
    reason: R.GatesPassed,
    message: `candidate ${cand} passed the gates${f1(target) !== undefined ? ` (F1 ${f1(target)})` : ''}`,
  };

  // The router cannot honour the spec: refuse to move traffic, say so (the stable track keeps serving).
  if (input.routingProblem) {
    return {
      ...base,
      status: idle(s),
      mode: 'Stable',
      candidateRejected: gatesOk,
      progressing: { status: 'False', reason: R.UnsupportedRouting, message: input.routingProblem },
      consumeAction: false,
      // The route is not watched (it is not ours): look again, so creating it is enough to proceed.
      requeueAfterMs: ROUTING_RETRY_MS,
    };
  }

  // 4. Start, supersede, or restart on a changed step list.
  const start = (why: string) => {
    s = idle(s);
    delete s.abortReason;
    s.canaryModel = cand;
    s.currentStepIndex = 0;
    s.stepsHash = hash;
    s.failedAnalyses = 0;
    s.weights = nd.spec.shadow
      ? { stable: 100, canary: 0 }
      : { stable: 100 - (steps[0]?.weight ?? 0), canary: steps[0]?.weight ?? 0 };
    events.push({
      type: 'Normal',
      reason: E.RolloutStarted,
      note: `${why}: ${s.stableModel} → ${cand}, ${nd.spec.shadow ? `shadow ${nd.spec.shadow.percent}% first, then ` : ''}${n} steps (${steps.map((x) => `${x.weight}%`).join(', ')})`,
    });
  };
  if (s.canaryModel !== cand) {
    if (s.canaryModel) {
      events.push({
        type: 'Normal',
        reason: E.RolloutSuperseded,
        note: `rollout of ${s.canaryModel} superseded by ${cand}`,
      });
      s.history = historyWith(s, {
        model: s.canaryModel,
        previousModel: s.stableModel,
        outcome: 'Superseded',
        endTime: ts(now),
        stepsCompleted: s.currentStepIndex ?? 0,
        message: `superseded by ${cand}`,
      });
    }
    start(
      s.rejectedModel && s.rejectedModel !== cand
        ? `rollout started (supersedes rolled-back ${s.rejectedModel})`
        : 'rollout started',
    );
    delete s.rejectedModel;
  } else if (s.stepsHash !== hash) {
    start('steps changed, rollout restarted');
  }

  const stable = s.stableModel ?? '';
  const abort = (reason: string): RolloutDecision => {
    const stepsCompleted = s.currentStepIndex ?? 0;
    s.history = historyWith(s, {
      model: cand,
      previousModel: stable,
      outcome: 'RolledBack',
      endTime: ts(now),
      stepsCompleted,
      message: reason.slice(0, 1024),
    });
    s.rejectedModel = cand;
    s.abortReason = reason.slice(0, 1024);
    const keepAnalysis = s.lastAnalysis;
    s = idle(s);
    if (keepAnalysis) s.lastAnalysis = keepAnalysis;
    events.push({
      type: 'Warning',
      reason: E.RolloutAborted,
      note: `rolled back ${cand}, all traffic on ${stable}: ${reason}`.slice(0, 1024),
    });
    return {
      ...base,
      status: s,
      mode: 'Aborted',
      canaryModel: cand,
      phase: 'RolledBack',
      candidateRejected: gatesOk,
      progressing: {
        status: 'False',
        reason: R.RolloutAborted,
        message: `rolled back ${cand}: ${reason}`.slice(0, 1024),
      },
      consumeAction: action !== undefined && action !== RolloutAction.Pause,
    };
  };
  /** `stepsCompleted`: steps whose pause and analysis passed (all of them, or fewer on a manual promote). */
  const promote = (why: string, stepsCompleted = s.currentStepIndex ?? 0): RolloutDecision => {
    s.history = historyWith(s, {
      model: cand,
      previousModel: stable,
      outcome: 'Promoted',
      endTime: ts(now),
      stepsCompleted,
      message: why,
    });
    s.stableModel = cand;
    s = idle(s);
    delete s.rejectedModel;
    delete s.abortReason;
    events.push({
      type: 'Normal',
      reason: E.RolloutPromoted,
      note: `${cand} promoted to stable (was ${stable}): ${why}`,
    });
    return {
      ...base,
      status: s,
      mode: 'Stable',
      candidateRejected: gatesOk,
      consumeAction: action !== undefined && action !== RolloutAction.Pause,
    };
  };

  // 5. Manual control.
  if (action === RolloutAction.Abort) return abort('aborted by user (nerops.io/rollout-action=abort)');
  if (action === RolloutAction.Promote) return promote('promoted by user (nerops.io/rollout-action=promote)');
  const userPaused = action === RolloutAction.Pause;
  const consumeAction = action !== undefined && !userPaused;
  if (action === RolloutAction.Resume && prev.paused)
    events.push({ type: 'Normal', reason: E.RolloutResumed, note: `rollout of ${cand} resumed by user` });
  if (userPaused && !prev.paused)
    events.push({ type: 'Normal', reason: E.RolloutPaused, note: `rollout of ${cand} paused by user` });

  const shadow = inShadow(s) && nd.spec.shadow !== undefined;
  // The shadow spec was removed during the shadow phase: go straight to step 0.
  if (inShadow(s) && !shadow) s.weights = { stable: 100 - (steps[0]?.weight ?? 0), canary: steps[0]?.weight ?? 0 };
  const idx = s.currentStepIndex ?? 0;
  const step = steps[Math.min(idx, n - 1)] as RolloutStep;
  const where = shadow ? 'shadow phase' : stepLabel(idx, n);
  const progressing = (message: string): ConditionIntent => ({
    status: 'True',
    reason: shadow ? R.ShadowInProgress : R.RolloutInProgress,
    message,
  });

  // 6. Traffic at this step is in effect only once the candidate's pods are ready: the pause starts then.
  if (!s.pauseStartTime) {
    if (!input.canaryReady) {
      return {
        ...base,
        consumeAction,
        status: { ...s, paused: userPaused },
        mode: shadow ? 'Shadow' : 'Canary',
        canaryModel: cand,
        candidateRejected: gatesOk,
        progressing: progressing(`${where}: waiting for ${cand} pods to become ready`),
        paused: userPaused
          ? { status: 'True', reason: R.PausedByUser, message: 'paused by user' }
          : { status: 'False', reason: R.RolloutInProgress, message: '' },
        phase: userPaused ? 'Paused' : 'Progressing',
        requeueAfterMs: WAIT_FOR_PODS_MS,
      };
    }
    s.pauseStartTime = ts(now);
    delete s.lastAnalysis;
  }

  // 7. The analysis of this reconcile (taken only when due; stale ones never reach here twice because
  //    status.lastAnalysis moves the next due time).
  let inconclusive =
    prev.paused === true &&
    !userPaused &&
    prev.lastAnalysis?.outcome === 'Inconclusive' &&
    s.canaryModel === prev.canaryModel;
  if (input.analysis && s.canaryModel === prev.canaryModel && s.stepsHash === prev.stepsHash && prev.pauseStartTime) {
    const a = input.analysis;
    const rec: AnalysisResult = { time: ts(now), stepIndex: shadow ? -1 : idx, ...a.result };
    s.lastAnalysis = rec;
    if (a.outcome === 'Fail') {
      const failed = (s.failedAnalyses ?? 0) + 1;
      s.failedAnalyses = failed;
      events.push({
        type: 'Warning',
        reason: E.AnalysisFailed,
        note: `${where}: analysis failed (${failed}/${spec.failureLimit + 1}): ${a.result.message ?? ''}`.slice(
          0,
          1024,
        ),
      });
      if (failed > spec.failureLimit)
        return abort(`${failed} failed analyses > failureLimit ${spec.failureLimit}; last: ${a.result.message ?? ''}`);
      inconclusive = false;
    } else if (a.outcome === 'Inconclusive') {
      if (!inconclusive)
        events.push({
          type: 'Normal',
          reason: E.AnalysisInconclusive,
          note: `${where}: analysis inconclusive, holding: ${a.result.message ?? ''}`.slice(0, 1024),
        });
      inconclusive = true;
    } else {
      inconclusive = false;
    }
  }

  // 8. Step completion: the pause is over and the latest analysis of this step passed.
  const nowMs = now.getTime();
  const pauseStart = ms(s.pauseStartTime) ?? nowMs;
  const pauseMs = (shadow ? (nd.spec.shadow?.durationSeconds ?? 0) : step.pauseSeconds) * 1000;
  const lastOk =
    s.lastAnalysis?.outcome === 'Pass' &&
    (ms(s.lastAnalysis.time) ?? 0) >= pauseStart &&
    s.lastAnalysis.stepIndex === (shadow ? -1 : idx);
  if (!userPaused && !inconclusive && lastOk && nowMs >= pauseStart + pauseMs) {
    if (shadow) {
      s.weights = { stable: 100 - (steps[0]?.weight ?? 0), canary: steps[0]?.weight ?? 0 };
      events.push({
        type: 'Normal',
        reason: E.StepCompleted,
        note: `shadow phase completed: ${s.lastAnalysis?.message ?? ''}`.slice(0, 1024),
      });
    } else {
      events.push({
        type: 'Normal',
        reason: E.StepCompleted,
        note: `Step ${idx + 1}/${n} completed (${step.weight}%)`,
      });
      if (idx + 1 >= n) return promote(`all ${n} steps completed`, n);
      s.currentStepIndex = idx + 1;
      const w = (steps[idx + 1] as RolloutStep).weight;
      s.weights = { stable: 100 - w, canary: w };
    }
    delete s.pauseStartTime;
    s.paused = false;
    return {
      ...base,
      consumeAction,
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
    };
  }

  // Still in the step: look again at the next analysis or at the end of the pause, whichever is first.
  s.paused = userPaused || inconclusive;
  const tmp = { ...nd, status: { ...prev, ...s } } as NerDeployment;
  const due = nextAnalysisMs(tmp) ?? nowMs + spec.analysisIntervalSeconds * 1000;
  const wake = Math.max(1000, Math.min(due, pauseStart + pauseMs > nowMs ? pauseStart + pauseMs : due) - nowMs);
  const weights: Weights = s.weights ?? { stable: 100, canary: 0 };
  const detail = shadow
    ? `mirroring ${nd.spec.shadow?.percent}% of stable requests to ${cand}`
    : `${weights.canary}% to ${cand}`;
  const paused: ConditionIntent = userPaused
    ? { status: 'True', reason: R.PausedByUser, message: `paused by user at ${where}` }
    : inconclusive
      ? {
          status: 'True',
          reason: R.AnalysisInconclusive,
          message: `holding at ${where}: ${s.lastAnalysis?.message ?? 'analysis inconclusive'}`.slice(0, 1024),
        }
      : { status: 'False', reason: R.RolloutInProgress, message: '' };
  return {
    ...base,
    consumeAction,
    status: s,
    mode: shadow ? 'Shadow' : 'Canary',
    canaryModel: cand,
    candidateRejected: gatesOk,
    progressing: progressing(`${where}: ${detail}${s.failedAnalyses ? `, ${s.failedAnalyses} failed analyses` : ''}`),
    paused,
    phase: paused.status === 'True' ? 'Paused' : 'Progressing',
    requeueAfterMs: wake,
  };
}

/** Candidate replicas under the replica-ratio router: round(weight × stable), at least one. */
export function canaryReplicas(weightPercent: number, stableReplicas: number): number {
  return Math.max(1, Math.round((weightPercent / 100) * stableReplicas));
}
