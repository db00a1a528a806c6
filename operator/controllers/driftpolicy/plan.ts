/**
 * The DriftPolicy state machine, as one pure function of what the reconcile observed (policy, target,
 * serving model, owned Jobs and the finished ones' termination messages, this reconcile's evaluation if
 * one was due, the dataset version) and the clock. It returns the Job or NerModel to create, the new
 * status, the Events and when to look again; the reconcile only does the I/O.
 *
 * Whether a retraining starts is decided by a chain of pure checks (cert-manager's policy chain): each
 * check returns a {@link Violation} or undefined, and the first violation is the `Retraining` condition's
 * reason. Triggers, by precedence: Manual (`nerops.io/retrain` annotation changed) > Dataset (version or
 * digest changed) > Schedule (cron) > Drift (state Warning with `onWarning: Retrain`, or Critical with
 * `onCritical: Retrain`). Manual requests skip the cooldown (a human asked) but nothing else.
 */
import type { V1Job } from '@kubernetes/client-node';
import { LABELS } from '../../api/group.js';
import { parseDuration } from '../../api/common.js';
import {
  APPROVE_ANNOTATION,
  DriftPolicyConditionType as C,
  DriftPolicyEventReason as E,
  DriftPolicyReason as R,
  RETRAIN_ANNOTATION,
} from '../../api/driftpolicy-constants.js';
import {
  MAX_RETRAINING_HISTORY,
  type ActiveJob,
  type DriftPolicy,
  type DriftPolicyStatus,
  type DriftState,
  type RetrainingRecord,
  type RetrainTrigger,
} from '../../api/driftpolicy.js';
import type { NerModel } from '../../api/nermodel.js';
import type { EventSpec } from '../../runtime/client.js';
import { formatTime, setCondition, type Condition } from '../../runtime/conditions.js';
import type { ModelStorageDefaults } from '../common.js';
import { jobFinished } from '../nermodel/status.js';
import { lastCronTimeBetween, nextCronTime, parseCron } from './cron.js';
import {
  desiredRetrainedModel,
  desiredRetrainJob,
  outputPrefixFor,
  retrainJobName,
  RUN_ID_LABEL,
  runIdFor,
  TRIGGER_ANNOTATION,
} from './desired.js';
import type { EvaluationOutcome } from './evaluate.js';
import { decodeRetrainResult, type RetrainResult } from './retrain-result.js';

/** Annotation on retraining Jobs: the NerModel the run started from. */
export const BASE_MODEL_ANNOTATION = 'nerops.io/base-model';

/** The terminated container of a finished Job's pod. */
export interface TerminatedContainer {
  exitCode: number;
  message?: string;
}

export interface PolicyObserved {
  policy: DriftPolicy;
  now: Date;
  image: string;
  /**
   * Operator model storage defaults (`--default-model-*`): `uri` is the output prefix of policies without
   * `spec.retraining.outputUri`; credentials / CA go to the default Job for an http(s) base model.
   */
  storage?: ModelStorageDefaults;
  /** False when the target NerDeployment does not exist. */
  targetFound: boolean;
  /** The serving (stable) model of the target, when known. */
  servingModel: NerModel | undefined;
  /** NerModels of the namespace (to find a run's base model). */
  models: readonly NerModel[];
  /** Retraining Jobs owned by this policy. */
  jobs: readonly V1Job[];
  /** Terminated retrain containers of finished, not yet recorded Jobs, by Job name. */
  terminated: Readonly<Record<string, TerminatedContainer | undefined>>;
  /** This reconcile's evaluation; undefined when none was due (the last one stands). */
  evaluation: EvaluationOutcome | undefined;
  /** Current dataset version/digest (spec.retraining.datasetVersion or the referenced ConfigMap key). */
  datasetVersion: string | undefined;
}

/** A run that finished in this reconcile (for the operator's counters). */
export interface FinishedRun {
  runId: string;
  result: 'succeeded' | 'failed';
}

export interface PolicyPlan {
  createJob?: V1Job;
  /** NerModels to create from succeeded runs (server-side apply; idempotent by name). */
  createModels: NerModel[];
  status: DriftPolicyStatus;
  events: EventSpec[];
  requeueAfterMs?: number;
  finished: FinishedRun[];
}

/** Why no retraining starts now. */
export interface Violation {
  reason: string;
  message: string;
  /** When the check may pass by itself (cooldown, backoff), for the requeue. */
  retryAt?: number;
}

/** A pending retraining that the checks gate. */
export interface Candidate {
  trigger: RetrainTrigger;
  /** Why (for messages), e.g. "drift: label-distribution=0.31". */
  why: string;
}

/** Everything a check may look at. */
export interface CheckInput {
  policy: DriftPolicy;
  /** Where the run would write (spec.retraining.outputUri or the operator default); undefined: nowhere. */
  outputPrefix: string | undefined;
  status: DriftPolicyStatus;
  candidate: Candidate;
  running: number;
  servingModel: NerModel | undefined;
  nowMs: number;
}

export type Check = (i: CheckInput) => Violation | undefined;

/** First retry of a failed run after 5 min, doubling, at most 6 h (on top of the cooldown). */
export function failureBackoffMs(failures: number): number {
  return Math.min(6 * 3_600_000, 5 * 60_000 * 2 ** Math.max(0, failures - 1));
}

/** Why no Job can start without an output location (Ready condition, Retraining condition, Event). */
export const OUTPUT_UNCONFIGURED_MESSAGE =
  'spec.retraining.outputUri is not set and the operator has no --default-model-uri';

/** The default chain, in order; the first violation wins. Approval is handled after it (it parks a run, it does not refuse it). */
export const DEFAULT_CHECKS: readonly Check[] = [
  function suspended({ policy }) {
    return policy.spec.suspend
      ? { reason: R.Suspended, message: 'spec.suspend is true: no retraining Jobs are started' }
      : undefined;
  },
  function output({ outputPrefix }) {
    return outputPrefix === undefined
      ? { reason: R.OutputUnconfigured, message: OUTPUT_UNCONFIGURED_MESSAGE }
      : undefined;
  },
  function concurrency({ policy, running }) {
    return running >= policy.spec.maxConcurrentRuns
      ? {
          reason: R.JobRunning,
          message: `${running} retraining Job(s) running (maxConcurrentRuns ${policy.spec.maxConcurrentRuns})`,
        }
      : undefined;
  },
  function baseModel({ servingModel }) {
    return servingModel
      ? undefined
      : { reason: R.TargetNotFound, message: 'the target NerDeployment serves no model to retrain from' };
  },
  function backoff({ status, nowMs, candidate }) {
    const failures = status.consecutiveFailures ?? 0;
    if (failures === 0 || candidate.trigger === 'Manual') return undefined;
    const lastFailed = [...(status.history ?? [])].reverse().find((h) => h.outcome === 'Failed');
    const at = Date.parse(lastFailed?.completionTime ?? '') + failureBackoffMs(failures);
    return Number.isFinite(at) && nowMs < at
      ? {
          reason: R.JobFailed,
          message: `${failures} consecutive retraining failure(s): backing off until ${formatTime(new Date(at))}`,
          retryAt: at,
        }
      : undefined;
  },
  function cooldown({ policy, status, nowMs, candidate }) {
    if (candidate.trigger === 'Manual' || !status.lastRetrainTime) return undefined;
    const at = Date.parse(status.lastRetrainTime) + parseDuration(policy.spec.cooldown);
    return Number.isFinite(at) && nowMs < at
      ? {
          reason: R.CoolingDown,
          message: `cooldown ${policy.spec.cooldown} after the retraining at ${status.lastRetrainTime} (until ${formatTime(new Date(at))})`,
          retryAt: at,
        }
      : undefined;
  },
];

/** Run the chain: the first violation, or undefined when the run may start. */
export function firstViolation(input: CheckInput, checks: readonly Check[] = DEFAULT_CHECKS): Violation | undefined {
  for (const check of checks) {
    const v = check(input);
    if (v) return v;
  }
  return undefined;
}

/** True when an evaluation is due: never evaluated, generation changed, serving model changed, or `interval` elapsed. */
export function evaluationDue(policy: DriftPolicy, servingModel: string | undefined, now: Date): boolean {
  const last = policy.status?.lastEvaluation;
  if (!last) return true;
  if (policy.status?.observedGeneration !== policy.metadata.generation) return true;
  if (last.model !== servingModel) return true;
  return now.getTime() >= Date.parse(last.time) + parseDuration(policy.spec.interval);
}

/** ms until the next evaluation is due. */
function untilNextEvaluation(policy: DriftPolicy, last: string | undefined, nowMs: number): number {
  const at = Date.parse(last ?? '') + parseDuration(policy.spec.interval);
  return Number.isFinite(at) ? Math.max(1000, at - nowMs) : parseDuration(policy.spec.interval);
}

/** Finished Jobs of this policy that status has not recorded yet (their pods are worth a read). */
export function unrecordedFinishedJobs(policy: DriftPolicy, jobs: readonly V1Job[]): V1Job[] {
  const recorded = new Set((policy.status?.history ?? []).map((h) => h.jobName));
  return jobs.filter((j) => jobFinished(j) && !recorded.has(j.metadata?.name));
}

function lastLine(text: string | undefined): string {
  const lines = (text ?? '')
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

/** Classify a finished run: a result with a bundle, or a failure message. */
export function classifyRun(
  job: V1Job,
  terminated: TerminatedContainer | undefined,
): { ok: true; result: RetrainResult } | { ok: false; message: string } {
  const result = decodeRetrainResult(terminated?.message);
  const finished = jobFinished(job);
  if (finished === 'Complete') {
    if (result?.outcome === 'Succeeded' && result.digest && result.bundleUri) return { ok: true, result };
    return {
      ok: false,
      message: `Job ${job.metadata?.name} succeeded but left no usable result (bundleUri and digest) in its termination message`,
    };
  }
  if (result?.outcome === 'Failed')
    return { ok: false, message: `${result.reason ? `${result.reason}: ` : ''}${result.message ?? 'failed'}` };
  const cond = job.status?.conditions?.find(
    (c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True',
  );
  const tail = lastLine(terminated?.message);
  const why = terminated
    ? `exit code ${terminated.exitCode}${tail ? `: ${tail}` : ''}`
    : `${cond?.reason ?? 'failed'}${cond?.message ? `: ${cond.message}` : ''}`;
  return { ok: false, message: `Job ${job.metadata?.name} failed (${why})` };
}

function activeFromJob(job: V1Job): ActiveJob {
  const trigger = (job.metadata?.annotations?.[TRIGGER_ANNOTATION] ?? 'Drift') as RetrainTrigger;
  return {
    name: job.metadata?.name ?? '',
    runId: job.metadata?.labels?.[RUN_ID_LABEL] ?? '',
    trigger: ['Drift', 'Schedule', 'Dataset', 'Manual'].includes(trigger) ? trigger : 'Drift',
    startTime: job.metadata?.creationTimestamp
      ? formatTime(new Date(job.metadata.creationTimestamp))
      : formatTime(new Date(0)),
  };
}

/**
 * The conditions of a status. `notReady` (a spec or configuration problem) sets Ready=False in place of
 * the state's Ready, once, so its lastTransitionTime only moves on a real transition.
 */
function conditionsFor(
  prev: readonly Condition[] | undefined,
  s: DriftPolicyStatus,
  stateReason: string,
  stateMessage: string,
  retraining: { status: 'True' | 'False'; reason: string; message: string },
  gen: number | undefined,
  now: Date,
  notReady?: { reason: string; message: string },
): Condition[] {
  const set = (
    list: Condition[],
    type: string,
    status: 'True' | 'False' | 'Unknown',
    reason: string,
    message: string,
  ) =>
    setCondition(
      list,
      {
        type,
        status,
        reason,
        message: message.slice(0, 1024),
        ...(gen !== undefined ? { observedGeneration: gen } : {}),
      },
      now,
    );
  let c = [...(prev ?? [])];
  const state = s.state;
  const unavailable = state === 'MetricsUnavailable';
  if (notReady) c = set(c, C.Ready, 'False', notReady.reason, notReady.message);
  else
    c = set(
      c,
      C.Ready,
      unavailable ? 'False' : 'True',
      unavailable || state === 'InsufficientData' ? stateReason : R.AsExpected,
      stateMessage,
    );
  c = set(
    c,
    C.MetricsAvailable,
    unavailable ? 'False' : 'True',
    unavailable ? stateReason : R.MetricsQueried,
    unavailable ? stateMessage : 'drift metrics queried',
  );
  c = set(
    c,
    C.DriftDetected,
    state === 'Warning' || state === 'Critical' ? 'True' : 'False',
    stateReason,
    stateMessage,
  );
  c = set(c, C.CriticalDrift, state === 'Critical' ? 'True' : 'False', stateReason, stateMessage);
  c = set(c, C.Retraining, retraining.status, retraining.reason, retraining.message);
  c = set(c, C.Progressing, retraining.status, retraining.reason, retraining.message);
  const failures = s.consecutiveFailures ?? 0;
  const degraded = unavailable || failures > 0;
  c = set(
    c,
    C.Degraded,
    degraded ? 'True' : 'False',
    unavailable ? stateReason : failures > 0 ? R.JobFailed : R.AsExpected,
    unavailable ? stateMessage : failures > 0 ? `${failures} consecutive retraining failure(s)` : '',
  );
  return c;
}

const STATE_EVENTS: Partial<Record<DriftState, { type: 'Normal' | 'Warning'; reason: string }>> = {
  Warning: { type: 'Warning', reason: E.DriftWarning },
  Critical: { type: 'Warning', reason: E.DriftCritical },
  MetricsUnavailable: { type: 'Warning', reason: E.MetricsUnavailable },
};

/** Build the plan of one reconcile. */
export function planPolicy(o: PolicyObserved, checks: readonly Check[] = DEFAULT_CHECKS): PolicyPlan {
  const { policy, now } = o;
  const nowMs = now.getTime();
  const gen = policy.metadata.generation;
  const prev = policy.status ?? {};
  const status: DriftPolicyStatus = { ...prev, observedGeneration: gen };
  const events: EventSpec[] = [];
  const createModels: NerModel[] = [];
  const finished: FinishedRun[] = [];
  const wakeups: number[] = [];
  const outputPrefix = outputPrefixFor(policy, o.storage?.uri);

  // 1. Evaluation: a new one replaces the last; otherwise the last stands (breach counts included).
  let stateReason = prev.conditions?.find((c) => c.type === C.DriftDetected)?.reason ?? R.Reconciling;
  let stateMessage = prev.message ?? '';
  if (o.evaluation) {
    status.state = o.evaluation.state;
    status.lastEvaluation = o.evaluation.evaluation;
    stateReason = o.evaluation.reason;
    stateMessage = o.evaluation.message;
    status.message = o.evaluation.message.slice(0, 4096);
    if (o.evaluation.state !== prev.state) {
      const e = STATE_EVENTS[o.evaluation.state];
      if (e) events.push({ ...e, note: o.evaluation.message.slice(0, 300) });
      else if (o.evaluation.state === 'Healthy' && (prev.state === 'Warning' || prev.state === 'Critical'))
        events.push({ type: 'Normal', reason: E.DriftResolved, note: o.evaluation.message.slice(0, 300) });
    }
  }
  if (!o.targetFound) {
    status.state = 'MetricsUnavailable';
    stateReason = R.TargetNotFound;
    stateMessage = `NerDeployment ${policy.spec.targetRef.name} not found`;
    status.message = stateMessage;
  }
  wakeups.push(nowMs + untilNextEvaluation(policy, status.lastEvaluation?.time, nowMs));

  // 2. Finished runs: record each once (history is keyed by Job name), create the model of a success.
  const history = [...(prev.history ?? [])];
  const recorded = new Set(history.map((h) => h.jobName));
  for (const job of o.jobs) {
    const name = job.metadata?.name ?? '';
    if (!jobFinished(job) || recorded.has(name)) continue;
    const run = activeFromJob(job);
    const outcome = classifyRun(job, o.terminated[name]);
    const finishedAt =
      job.status?.completionTime ?? job.status?.conditions?.find((c) => c.status === 'True')?.lastTransitionTime;
    const completionTime = finishedAt ? formatTime(new Date(finishedAt)) : formatTime(now);
    const record: RetrainingRecord = {
      runId: run.runId,
      jobName: name,
      trigger: run.trigger,
      startTime: run.startTime,
      completionTime,
      outcome: 'Failed',
    };
    const baseName = job.metadata?.annotations?.[BASE_MODEL_ANNOTATION];
    const base = o.models.find((m) => m.metadata.name === baseName) ?? o.servingModel;
    if (outcome.ok && base) {
      const model = desiredRetrainedModel(
        policy,
        base,
        { runId: run.runId, jobName: name },
        outcome.result,
        o.storage?.uri,
      );
      createModels.push(model);
      const f1 = outcome.result.metrics?.new.micro.f1;
      const baseF1 = outcome.result.metrics?.base?.micro.f1;
      Object.assign(record, {
        outcome: 'Succeeded',
        model: model.metadata.name,
        ...(f1 !== undefined ? { f1: clamp01(f1) } : {}),
        ...(baseF1 !== undefined ? { baseF1: clamp01(baseF1) } : {}),
        message: `NerModel ${model.metadata.name} created${f1 !== undefined ? `: held-out F1 ${f1}${baseF1 !== undefined ? ` vs base ${baseF1}` : ''}` : ''}`,
      });
      status.consecutiveFailures = 0;
      finished.push({ runId: run.runId, result: 'succeeded' });
      events.push({ type: 'Normal', reason: E.RetrainingSucceeded, note: (record.message ?? '').slice(0, 300) });
    } else {
      record.message = (outcome.ok ? `base model ${baseName ?? '(unknown)'} no longer exists` : outcome.message).slice(
        0,
        1024,
      );
      status.consecutiveFailures = (status.consecutiveFailures ?? 0) + 1;
      finished.push({ runId: run.runId, result: 'failed' });
      events.push({
        type: 'Warning',
        reason: E.RetrainingFailed,
        note: `run ${run.runId}: ${record.message}`.slice(0, 300),
      });
    }
    history.push(record);
    recorded.add(name);
    if (status.activeJob?.name === name) delete status.activeJob;
  }
  if (history.length > 0) status.history = history.slice(-MAX_RETRAINING_HISTORY);

  // 3. Running Jobs are the truth: adopt one status does not know about (created just before a restart).
  const running = o.jobs.filter((j) => !jobFinished(j));
  if (
    status.activeJob &&
    !status.activeJob.awaitingApproval &&
    !running.some((j) => j.metadata?.name === status.activeJob?.name)
  ) {
    // Created by us but not (yet) in the cache, or deleted by hand: keep it while the cache catches up, briefly.
    const age = nowMs - Date.parse(status.activeJob.startTime);
    if (!(age < 60_000)) delete status.activeJob;
  }
  if (!status.activeJob && running[0]) status.activeJob = activeFromJob(running[0]);

  // 4. Triggers, by precedence.
  const annotations = policy.metadata.annotations ?? {};
  const manual = annotations[RETRAIN_ANNOTATION];
  let candidate: Candidate | undefined;
  let consumeManual = false;
  let consumeDataset = false;
  let scheduleFired: Date | undefined;
  if (manual !== undefined && manual !== prev.observedRetrainRequest) {
    candidate = { trigger: 'Manual', why: `manual request ${RETRAIN_ANNOTATION}=${manual}` };
    consumeManual = true;
  }
  if (o.datasetVersion !== undefined) {
    if (prev.observedDatasetVersion === undefined)
      status.observedDatasetVersion = o.datasetVersion; // first sight: the current model's data
    else if (o.datasetVersion !== prev.observedDatasetVersion && !candidate) {
      candidate = { trigger: 'Dataset', why: `dataset version ${prev.observedDatasetVersion} → ${o.datasetVersion}` };
      consumeDataset = true;
    }
  }
  const schedule = policy.spec.triggers.schedule;
  let scheduleError: string | undefined;
  if (schedule) {
    try {
      const cron = parseCron(schedule);
      const last = prev.lastScheduleTime ? new Date(prev.lastScheduleTime) : undefined;
      if (!last)
        status.lastScheduleTime = formatTime(now); // the schedule starts counting now
      else {
        scheduleFired = lastCronTimeBetween(cron, last, now);
        if (scheduleFired && !candidate)
          candidate = { trigger: 'Schedule', why: `schedule ${schedule} (${formatTime(scheduleFired)})` };
      }
      const next = nextCronTime(cron, now);
      if (next) wakeups.push(next.getTime());
    } catch (err) {
      scheduleError = (err as Error).message;
    }
  }
  const state = status.state;
  const driftWants =
    policy.spec.triggers.drift &&
    ((state === 'Warning' && policy.spec.onWarning === 'Retrain') ||
      (state === 'Critical' && policy.spec.onCritical === 'Retrain'));
  if (!candidate && driftWants)
    candidate = { trigger: 'Drift', why: `drift state ${state}: ${stateMessage}`.slice(0, 300) };
  // Drift is acted on only when it was freshly evaluated, so one breach episode starts one run per cooldown,
  // not one per reconcile triggered by unrelated events.

  // 5. A parked run (approval: Manual) starts when approved; a new candidate goes through the chain.
  let retraining: { status: 'True' | 'False'; reason: string; message: string };
  let createJob: V1Job | undefined;
  const pending = status.activeJob?.awaitingApproval ? status.activeJob : undefined;
  const start = (runId: string, trigger: RetrainTrigger, startTime: string, why: string) => {
    const base = o.servingModel as NerModel;
    const job = desiredRetrainJob({
      policy,
      runId,
      trigger,
      baseModel: base,
      image: o.image,
      ...(o.storage ? { storage: o.storage } : {}),
    });
    job.metadata!.annotations = { ...job.metadata!.annotations, [BASE_MODEL_ANNOTATION]: base.metadata.name ?? '' };
    job.metadata!.labels = { ...job.metadata!.labels, [LABELS.family]: base.spec.family };
    createJob = job;
    status.activeJob = { name: job.metadata?.name ?? '', runId, trigger, startTime };
    status.lastRetrainTime = formatTime(now);
    const message = `retraining Job ${job.metadata?.name} started (${why})`;
    events.push({ type: 'Normal', reason: E.RetrainingStarted, note: message.slice(0, 300) });
    retraining = { status: 'True', reason: R.JobRunning, message };
  };
  retraining = { status: 'False', reason: R.AsExpected, message: 'no retraining running' };
  const last = status.history?.[status.history.length - 1];
  if (last)
    retraining = {
      status: 'False',
      reason: last.outcome === 'Succeeded' ? R.JobSucceeded : R.JobFailed,
      message: last.message ?? `last run ${last.runId} ${last.outcome}`,
    };

  if (pending) {
    const approved = annotations[APPROVE_ANNOTATION] === pending.runId;
    const v = approved
      ? firstViolation(
          {
            policy,
            outputPrefix,
            status,
            candidate: { trigger: pending.trigger, why: 'approved' },
            running: running.length,
            servingModel: o.servingModel,
            nowMs,
          },
          checks.filter((c) => c.name !== 'cooldown' && c.name !== 'backoff'),
        )
      : undefined;
    if (approved && !v) start(pending.runId, pending.trigger, formatTime(now), `approved via ${APPROVE_ANNOTATION}`);
    else if (approved && v)
      retraining = { status: 'True', reason: v.reason, message: `approved run ${pending.runId} waits: ${v.message}` };
    else
      retraining = {
        status: 'True',
        reason: R.AwaitingApproval,
        message: `run ${pending.runId} (${pending.trigger}) waits for approval: kubectl annotate driftpolicy ${policy.metadata.name} ${APPROVE_ANNOTATION}=${pending.runId}`,
      };
  } else if (status.activeJob) {
    retraining = {
      status: 'True',
      reason: R.JobRunning,
      message: `retraining Job ${status.activeJob.name} is running (${status.activeJob.trigger})`,
    };
  } else if (candidate && (candidate.trigger !== 'Drift' || o.evaluation)) {
    const v = firstViolation(
      { policy, outputPrefix, status, candidate, running: running.length, servingModel: o.servingModel, nowMs },
      checks,
    );
    if (v) {
      retraining = { status: 'False', reason: v.reason, message: `${candidate.why}; not started: ${v.message}` };
      if (v.retryAt !== undefined) wakeups.push(v.retryAt);
      // Triggers other than drift stay pending (not consumed) until a run can start.
    } else {
      const runId = runIdFor(now, candidate.trigger);
      if (policy.spec.approval === 'Manual') {
        status.activeJob = {
          name: retrainJobName(policy, runId),
          runId,
          trigger: candidate.trigger,
          startTime: formatTime(now),
          awaitingApproval: true,
        };
        const message = `run ${runId} (${candidate.why}) waits for approval: kubectl annotate driftpolicy ${policy.metadata.name} ${APPROVE_ANNOTATION}=${runId}`;
        events.push({ type: 'Normal', reason: E.RetrainingAwaitingApproval, note: message.slice(0, 300) });
        retraining = { status: 'True', reason: R.AwaitingApproval, message };
        status.lastRetrainTime = formatTime(now);
      } else {
        start(runId, candidate.trigger, formatTime(now), candidate.why);
      }
      if (consumeManual) status.observedRetrainRequest = manual;
      if (consumeDataset || o.datasetVersion !== undefined) status.observedDatasetVersion = o.datasetVersion;
      if (scheduleFired || candidate.trigger === 'Schedule') status.lastScheduleTime = formatTime(now);
    }
  }
  // A schedule tick that passed while another run started is consumed too: one run per tick at most.
  if (scheduleFired && status.activeJob && !status.activeJob.awaitingApproval)
    status.lastScheduleTime = formatTime(now);
  if (manual !== undefined && consumeManual && status.activeJob) status.observedRetrainRequest = manual;

  if (scheduleError) {
    stateMessage = `${stateMessage}; spec.triggers.schedule: ${scheduleError}`;
  }
  // Spec and configuration problems make the policy not Ready whether or not a run is wanted right now;
  // evaluation goes on. The schedule error wins (the spec is wrong); a missing output location comes next.
  const notReady = scheduleError
    ? { reason: R.InvalidSpec, message: `spec.triggers.schedule: ${scheduleError}` }
    : outputPrefix === undefined
      ? { reason: R.OutputUnconfigured, message: OUTPUT_UNCONFIGURED_MESSAGE }
      : undefined;
  status.conditions = conditionsFor(prev.conditions, status, stateReason, stateMessage, retraining, gen, now, notReady);
  if (
    notReady?.reason === R.OutputUnconfigured &&
    prev.conditions?.find((c) => c.type === C.Ready)?.reason !== R.OutputUnconfigured
  ) {
    events.push({
      type: 'Warning',
      reason: E.OutputUnconfigured,
      note: `${OUTPUT_UNCONFIGURED_MESSAGE}: no retraining Job can start (drift is still evaluated)`,
    });
  }
  const wake = Math.min(...wakeups.filter((w) => Number.isFinite(w)));
  return {
    ...(createJob ? { createJob } : {}),
    createModels,
    status,
    events,
    finished,
    ...(Number.isFinite(wake) ? { requeueAfterMs: Math.max(1000, wake - nowMs) } : {}),
  };
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
