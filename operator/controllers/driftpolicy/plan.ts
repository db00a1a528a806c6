/**
 * The DriftPolicy state machine, as one pure function of what the reconcile observed (policy, target,
 * serving model, owned Jobs and the finished ones' termination messages, this reconcile's evaluation if
 * one was due, the dataset version) and the clock. It returns the Job or NerModel to create, the new
 * status, the Events and when to look again; the reconcile only does the I/O.
 *
 * Whether a retraining starts is decided by a chain of pure checks (cert-manager's policy chain): each
 * check returns a {@link Violation} or undefined, and the first violation is the `Retraining` condition's
 * reason. Triggers, by precedence: Manual (`nerops.io/retrain` annotation changed) > Dataset (version or
 * digest changed) > Annotations (enough new feedback stored, annotations.ts) > Schedule (cron) > Drift (state
 * Warning with `onWarning: Retrain`, or Critical with `onCritical: Retrain`). Manual requests skip the cooldown (a human asked) but nothing else.
 */
import { sanitizeMessage } from '../../../contracts/termination-message.js';
import type { V1Job } from '@kubernetes/client-node';
import { LABELS } from '../../api/group.js';
import { parseDuration } from '../../api/shared-schemas.js';
import {
  APPROVE_ANNOTATION,
  APPROVED_BY_ANNOTATION,
  DriftPolicyConditionType as C,
  DriftPolicyEventReason as E,
  DriftPolicyReason as R,
  RETRAIN_ANNOTATION,
} from '../../api/driftpolicy-constants.js';
import {
  MAX_RETRAINING_HISTORY,
  RetrainTriggerSchema,
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
import type { ModelStorageDefaults } from '../model-storage.js';
import { describeViolations, STRICTEST_TENANT_POLICY, type TenantPolicy } from '../pod-policy.js';
import { templateViolations } from './template-policy.js';
import { jobFinished, lastLine, type TerminatedContainer } from '../job-result.js';
import { without } from '../check-chain.js';
import {
  DEFAULT_CHECKS,
  firstViolation,
  OUTPUT_UNCONFIGURED_MESSAGE,
  RunCheck,
  type Candidate,
  type Check,
  type CheckInput,
} from './run-checks.js';
import { lastCronTimeBetween, nextCronTime, parseCron } from './cron.js';
import {
  desiredRetrainedModel,
  desiredRetrainJob,
  outputPrefixFor,
  retrainJobName,
  RUN_ID_LABEL,
  runIdFor,
  FEEDBACK_STORE_ANNOTATION,
  TRIGGER_ANNOTATION,
} from './desired.js';
import { decideNewAnnotations, type AnnotationMeasurement } from './annotations.js';
import { evaluateDrift, type EvaluationOutcome, type Gathered } from './evaluate.js';
import { planRetention } from './retention.js';
import { bundleIsOurs, planBundleCleanup, withCleanupCondition, type BundleCleanupPlan } from './bundle-cleanup.js';
import type { DeleteBundlesResult } from '../../../contracts/bundle-cleanup.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import { decodeRetrainResult, type RetrainResult } from '../../../contracts/retraining-job.js';
import { readApproval } from '../../../contracts/user-actions.js';

/** Annotation on retraining Jobs: the NerModel the run started from. */
export const BASE_MODEL_ANNOTATION = 'nerops.io/base-model';

export interface PolicyObserved {
  policy: DriftPolicy;
  now: Date;
  image: string;
  /** What tenants' templates may run (allowed ServiceAccounts and registries); the strictest when unset. */
  tenant?: TenantPolicy;
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
  /** The target's feedback store (`spec.feedback.storeUri`), merged into runs when the policy includes feedback. */
  feedbackStoreUri?: string | undefined;
  /** This reconcile's count for the new-annotations trigger (annotations.ts); undefined when none was taken. */
  annotations?: AnnotationMeasurement | undefined;
}

/** What gather.ts read: the plan's input, with this reconcile's drift measurements instead of their evaluation. */
export interface PolicyGathered extends Omit<PolicyObserved, 'evaluation'> {
  /** The serving model's name (status.stableModel of the target, else its spec.model). */
  servingName: string | undefined;
  /** The measurements of this reconcile; undefined when no evaluation was due. */
  measured: Gathered | undefined;
  /** NerDeployments of the namespace: what retention must not delete (served or pinned models). */
  deployments?: readonly NerDeployment[];
  /** The policy's bundle cleanup Jobs (cache); bundle-cleanup.ts. */
  cleanupJobs?: readonly V1Job[];
  /** Results of completed cleanup Jobs whose models still wait, by Job name. */
  cleanupResults?: Readonly<Record<string, DeleteBundlesResult | undefined>>;
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
  /** This reconcile's evaluation, when one was due (for the log). */
  evaluation?: EvaluationOutcome;
  /** Retrained NerModels that spec.retention lets go (retention.ts), oldest first; deleted after the status. */
  deleteModels?: string[];
  /** Of deleteModels, those whose bundle is on the policy's pvc:// output: they get the bundle-cleanup finalizer first. */
  markBundles?: string[];
  /** The bundle cleanup of pruned models (bundle-cleanup.ts): its Job, and the finalizers released after the status. */
  cleanup?: BundleCleanupPlan;
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
    return {
      ok: false,
      message: sanitizeMessage(`${result.reason ? `${result.reason}: ` : ''}${result.message ?? 'failed'}`),
    };
  const cond = job.status?.conditions?.find(
    (c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True',
  );
  const tail = lastLine(terminated?.message);
  const why = terminated
    ? `exit code ${terminated.exitCode}${tail ? `: ${tail}` : ''}`
    : `${cond?.reason ?? 'failed'}${cond?.message ? `: ${sanitizeMessage(cond.message)}` : ''}`;
  return { ok: false, message: `Job ${job.metadata?.name} failed (${why})` };
}

function activeFromJob(job: V1Job): ActiveJob {
  const trigger = (job.metadata?.annotations?.[TRIGGER_ANNOTATION] ?? 'Drift') as RetrainTrigger;
  return {
    name: job.metadata?.name ?? '',
    runId: job.metadata?.labels?.[RUN_ID_LABEL] ?? '',
    trigger: RetrainTriggerSchema.options.includes(trigger) ? trigger : 'Drift',
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
  // The same condition a NerDeployment step shows while it waits for its approval (docs/operator.md, "Approvals").
  const awaiting = retraining.status === 'True' && retraining.reason === R.AwaitingApproval;
  c = set(
    c,
    C.AwaitingApproval,
    awaiting ? 'True' : 'False',
    awaiting ? R.AwaitingApproval : R.AsExpected,
    awaiting ? retraining.message : '',
  );
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

/** The plan as it is built, step by step. */
interface Draft {
  o: PolicyObserved;
  nowMs: number;
  status: DriftPolicyStatus;
  events: EventSpec[];
  createModels: NerModel[];
  finished: FinishedRun[];
  /** When to look again (the earliest wins). */
  wakeups: number[];
  /** The drift state's reason and message (conditions and the drift trigger's message). */
  stateReason: string;
  stateMessage: string;
  outputPrefix: string | undefined;
  /** Why the retraining template may not run (every refused field), undefined when it may. */
  templateRefusal: string | undefined;
  createJob?: V1Job;
  retraining: RetrainingIntent;
}

type RetrainingIntent = { status: 'True' | 'False'; reason: string; message: string };

/** 1. Evaluation: a new one replaces the last; otherwise the last stands (breach counts included). */
function recordEvaluation(d: Draft): void {
  const { o, status } = d;
  const prev = o.policy.status ?? {};
  if (o.evaluation) {
    status.state = o.evaluation.state;
    status.lastEvaluation = o.evaluation.evaluation;
    d.stateReason = o.evaluation.reason;
    d.stateMessage = o.evaluation.message;
    status.message = o.evaluation.message.slice(0, 4096);
    if (o.evaluation.state !== prev.state) {
      const e = STATE_EVENTS[o.evaluation.state];
      if (e) d.events.push({ ...e, note: o.evaluation.message.slice(0, 300) });
      else if (o.evaluation.state === 'Healthy' && (prev.state === 'Warning' || prev.state === 'Critical'))
        d.events.push({ type: 'Normal', reason: E.DriftResolved, note: o.evaluation.message.slice(0, 300) });
    }
  }
  if (!o.targetFound) {
    status.state = 'MetricsUnavailable';
    d.stateReason = R.TargetNotFound;
    d.stateMessage = `NerDeployment ${o.policy.spec.targetRef.name} not found`;
    status.message = d.stateMessage;
  }
  d.wakeups.push(d.nowMs + untilNextEvaluation(o.policy, status.lastEvaluation?.time, d.nowMs));
}

/** A succeeded run: the NerModel of its bundle, and the record's success fields. */
function recordSuccess(
  d: Draft,
  job: V1Job,
  run: ActiveJob,
  result: RetrainResult,
  base: NerModel,
): Partial<RetrainingRecord> {
  const { o } = d;
  const name = job.metadata?.name ?? '';
  const feedbackStoreUri = job.metadata?.annotations?.[FEEDBACK_STORE_ANNOTATION];
  const model = desiredRetrainedModel(
    o.policy,
    base,
    { runId: run.runId, jobName: name, feedbackStoreUri },
    result,
    o.storage?.uri,
  );
  d.createModels.push(model);
  const f1 = result.metrics?.new.micro.f1;
  const baseF1 = result.metrics?.base?.micro.f1;
  const feedback = result.feedback?.documents;
  const fields = {
    outcome: 'Succeeded' as const,
    model: model.metadata.name,
    ...(f1 !== undefined ? { f1: clamp01(f1) } : {}),
    ...(baseF1 !== undefined ? { baseF1: clamp01(baseF1) } : {}),
    ...(feedback !== undefined ? { feedbackDocuments: feedback } : {}),
    message: `NerModel ${model.metadata.name} created${f1 !== undefined ? `: held-out F1 ${f1}${baseF1 !== undefined ? ` vs base ${baseF1}` : ''}` : ''}${feedback !== undefined ? ` (dataset + ${feedback} feedback documents)` : ''}`,
  };
  d.status.consecutiveFailures = 0;
  d.finished.push({ runId: run.runId, result: 'succeeded' });
  d.events.push({ type: 'Normal', reason: E.RetrainingSucceeded, note: fields.message.slice(0, 300) });
  return fields;
}

/** One finished Job, recorded once: the record for history (a success also creates its NerModel). */
function recordFinishedRun(d: Draft, job: V1Job): RetrainingRecord {
  const { o } = d;
  const name = job.metadata?.name ?? '';
  const run = activeFromJob(job);
  const outcome = classifyRun(job, o.terminated[name]);
  const finishedAt =
    job.status?.completionTime ?? job.status?.conditions?.find((c) => c.status === 'True')?.lastTransitionTime;
  const completionTime = finishedAt ? formatTime(new Date(finishedAt)) : formatTime(o.now);
  // The approval of a Manual run lives in status.activeJob until the run is recorded here.
  const active = o.policy.status?.activeJob;
  const approval = active?.runId === run.runId ? active.approval : undefined;
  const record: RetrainingRecord = {
    runId: run.runId,
    jobName: name,
    trigger: run.trigger,
    startTime: run.startTime,
    completionTime,
    outcome: 'Failed',
    ...(approval ? { approval } : {}),
  };
  const baseName = job.metadata?.annotations?.[BASE_MODEL_ANNOTATION];
  const base = o.models.find((m) => m.metadata.name === baseName) ?? o.servingModel;
  if (outcome.ok && base) return Object.assign(record, recordSuccess(d, job, run, outcome.result, base));
  record.message = (outcome.ok ? `base model ${baseName ?? '(unknown)'} no longer exists` : outcome.message).slice(
    0,
    1024,
  );
  d.status.consecutiveFailures = (d.status.consecutiveFailures ?? 0) + 1;
  d.finished.push({ runId: run.runId, result: 'failed' });
  d.events.push({
    type: 'Warning',
    reason: E.RetrainingFailed,
    note: `run ${run.runId}: ${record.message}`.slice(0, 300),
  });
  return record;
}

/** 2. Finished runs: record each once (history is keyed by Job name), create the model of a success. */
function recordFinishedRuns(d: Draft): void {
  const { status } = d;
  const history = [...(d.o.policy.status?.history ?? [])];
  const recorded = new Set(history.map((h) => h.jobName));
  for (const job of d.o.jobs) {
    const name = job.metadata?.name ?? '';
    if (!jobFinished(job) || recorded.has(name)) continue;
    history.push(recordFinishedRun(d, job));
    recorded.add(name);
    if (status.activeJob?.name === name) delete status.activeJob;
  }
  if (history.length > 0) status.history = history.slice(-MAX_RETRAINING_HISTORY);
}

/** 3. Running Jobs are the truth: adopt one status does not know about (created just before a restart). */
function adoptRunningJob(d: Draft, running: readonly V1Job[]): void {
  const { status } = d;
  if (
    status.activeJob &&
    !status.activeJob.awaitingApproval &&
    !running.some((j) => j.metadata?.name === status.activeJob?.name)
  ) {
    // Created by us but not (yet) in the cache, or deleted by hand: keep it while the cache catches up, briefly.
    const age = d.nowMs - Date.parse(status.activeJob.startTime);
    if (!(age < 60_000)) delete status.activeJob;
  }
  if (!status.activeJob && running[0]) status.activeJob = activeFromJob(running[0]);
}

/** The trigger that wants a run now, and what starting it consumes. */
interface Trigger {
  candidate?: Candidate;
  manual: string | undefined;
  consumeManual: boolean;
  consumeDataset: boolean;
  scheduleFired?: Date;
  scheduleError?: string;
}

/** The schedule trigger: whether a tick passed since the last one (and when the next one is). */
function scheduleTrigger(d: Draft, t: Trigger): void {
  const schedule = d.o.policy.spec.triggers.schedule;
  if (!schedule) return;
  const prev = d.o.policy.status ?? {};
  try {
    const cron = parseCron(schedule);
    const last = prev.lastScheduleTime ? new Date(prev.lastScheduleTime) : undefined;
    if (!last)
      d.status.lastScheduleTime = formatTime(d.o.now); // the schedule starts counting now
    else {
      t.scheduleFired = lastCronTimeBetween(cron, last, d.o.now);
      if (t.scheduleFired && !t.candidate)
        t.candidate = { trigger: 'Schedule', why: `schedule ${schedule} (${formatTime(t.scheduleFired)})` };
    }
    const next = nextCronTime(cron, d.o.now);
    if (next) d.wakeups.push(next.getTime());
  } catch (err) {
    t.scheduleError = (err as Error).message;
  }
}

/** 4. Triggers, by precedence: Manual > Dataset > Annotations > Schedule > Drift. */
function pendingTrigger(d: Draft): Trigger {
  const { o, status } = d;
  const prev = o.policy.status ?? {};
  const manual = o.policy.metadata.annotations?.[RETRAIN_ANNOTATION];
  const t: Trigger = { manual, consumeManual: false, consumeDataset: false };
  if (manual !== undefined && manual !== prev.observedRetrainRequest) {
    t.candidate = { trigger: 'Manual', why: `manual request ${RETRAIN_ANNOTATION}=${manual}` };
    t.consumeManual = true;
  }
  if (o.datasetVersion !== undefined) {
    if (prev.observedDatasetVersion === undefined)
      status.observedDatasetVersion = o.datasetVersion; // first sight: the current model's data
    else if (o.datasetVersion !== prev.observedDatasetVersion && !t.candidate) {
      t.candidate = { trigger: 'Dataset', why: `dataset version ${prev.observedDatasetVersion} → ${o.datasetVersion}` };
      t.consumeDataset = true;
    }
  }
  const annotations = decideNewAnnotations(
    o.policy.spec.triggers.newAnnotations,
    prev.annotations,
    o.annotations,
    o.now,
  );
  if (annotations.count) status.annotations = annotations.count;
  else delete status.annotations;
  if (annotations.why && !t.candidate) t.candidate = { trigger: 'Annotations', why: annotations.why };
  scheduleTrigger(d, t);
  const state = status.state;
  const spec = o.policy.spec;
  const driftWants =
    spec.triggers.drift &&
    ((state === 'Warning' && spec.onWarning === 'Retrain') || (state === 'Critical' && spec.onCritical === 'Retrain'));
  if (!t.candidate && driftWants)
    t.candidate = { trigger: 'Drift', why: `drift state ${state}: ${d.stateMessage}`.slice(0, 300) };
  // Drift is acted on only when it was freshly evaluated, so one breach episode starts one run per cooldown,
  // not one per reconcile triggered by unrelated events.
  return t;
}

/** Create the run's Job (from the serving model) and record it as the active run. */
function startRun(d: Draft, runId: string, trigger: RetrainTrigger, startTime: string, why: string): void {
  const { o, status } = d;
  const base = o.servingModel as NerModel;
  const feedbackStoreUri = o.policy.spec.retraining.includeFeedback ? o.feedbackStoreUri : undefined;
  const job = desiredRetrainJob({
    policy: o.policy,
    runId,
    trigger,
    baseModel: base,
    image: o.image,
    ...(o.storage ? { storage: o.storage } : {}),
    ...(feedbackStoreUri ? { feedbackStoreUri } : {}),
  });
  job.metadata!.annotations = { ...job.metadata!.annotations, [BASE_MODEL_ANNOTATION]: base.metadata.name ?? '' };
  job.metadata!.labels = { ...job.metadata!.labels, [LABELS.family]: base.spec.family };
  d.createJob = job;
  status.activeJob = { name: job.metadata?.name ?? '', runId, trigger, startTime };
  status.lastRetrainTime = formatTime(o.now);
  // The run exports the whole store: new annotations count again from its start (one run per crossing).
  if (o.policy.spec.triggers.newAnnotations) status.annotations = { since: formatTime(o.now), documents: 0 };
  const message = `retraining Job ${job.metadata?.name} started (${why})`;
  d.events.push({ type: 'Normal', reason: E.RetrainingStarted, note: message.slice(0, 300) });
  d.retraining = { status: 'True', reason: R.JobRunning, message };
}

/** The Retraining condition when nothing starts: the last run's outcome, or idle. */
function lastRunIntent(status: DriftPolicyStatus): RetrainingIntent {
  const last = status.history?.[status.history.length - 1];
  if (!last) return { status: 'False', reason: R.AsExpected, message: 'no retraining running' };
  return {
    status: 'False',
    reason: last.outcome === 'Succeeded' ? R.JobSucceeded : R.JobFailed,
    message: last.message ?? `last run ${last.runId} ${last.outcome}`,
  };
}

function checkInput(d: Draft, candidate: Candidate, running: number): CheckInput {
  const { o } = d;
  const { policy } = o;
  return {
    policy,
    templateRefusal: d.templateRefusal,
    outputPrefix: d.outputPrefix,
    status: d.status,
    candidate,
    running,
    servingModel: o.servingModel,
    nowMs: d.nowMs,
  };
}

/** How to approve a parked run, for the condition and the Event. */
function approvalHint(policy: string, runId: string): string {
  return `kubectl ner approve ${policy} (annotations ${APPROVE_ANNOTATION}=${runId}, ${APPROVED_BY_ANNOTATION}=<you>)`;
}

/**
 * A parked run (approval: Manual) starts when approved, past the checks other than cooldown and back-off.
 * An approval names its run id and its approver (the chart's ValidatingAdmissionPolicy checks the approver is
 * the user who wrote it); the approver, time and comment go into status.activeJob, then into history.
 */
function resumeParkedRun(d: Draft, pending: ActiveJob, running: number, checks: readonly Check[]): void {
  const { o } = d;
  const approval = readApproval(o.policy.metadata.annotations);
  if (approval?.target !== pending.runId) {
    d.retraining = {
      status: 'True',
      reason: R.AwaitingApproval,
      message: `run ${pending.runId} (${pending.trigger}) waits for approval: ${approvalHint(o.policy.metadata.name ?? '', pending.runId)}`,
    };
    return;
  }
  const v = firstViolation(
    checkInput(d, { trigger: pending.trigger, why: 'approved' }, running),
    without(checks, RunCheck.Cooldown, RunCheck.Backoff),
  );
  if (!v) {
    d.events.push({
      type: 'Normal',
      reason: E.Approved,
      note: `run ${pending.runId} approved by ${approval.approver}${approval.comment ? `: ${approval.comment}` : ''}`.slice(
        0,
        300,
      ),
    });
    startRun(d, pending.runId, pending.trigger, formatTime(o.now), `approved by ${approval.approver}`);
    if (d.status.activeJob)
      d.status.activeJob.approval = {
        approver: approval.approver,
        target: approval.target,
        time: formatTime(o.now),
        ...(approval.comment ? { comment: approval.comment } : {}),
      };
  } else
    d.retraining = { status: 'True', reason: v.reason, message: `approved run ${pending.runId} waits: ${v.message}` };
}

/** Park a run that passed the checks until someone approves it (approval: Manual). */
function parkRun(d: Draft, runId: string, candidate: Candidate): void {
  const { o, status } = d;
  status.activeJob = {
    name: retrainJobName(o.policy, runId),
    runId,
    trigger: candidate.trigger,
    startTime: formatTime(o.now),
    awaitingApproval: true,
  };
  const message = `run ${runId} (${candidate.why}) waits for approval: ${approvalHint(o.policy.metadata.name ?? '', runId)}`;
  d.events.push({ type: 'Normal', reason: E.RetrainingAwaitingApproval, note: message.slice(0, 300) });
  d.retraining = { status: 'True', reason: R.AwaitingApproval, message };
  status.lastRetrainTime = formatTime(o.now);
}

/** A new candidate goes through the chain; when it passes it starts (or is parked for approval). */
function tryCandidate(d: Draft, t: Trigger, candidate: Candidate, running: number, checks: readonly Check[]): void {
  const { o, status } = d;
  const v = firstViolation(checkInput(d, candidate, running), checks);
  if (v) {
    d.retraining = { status: 'False', reason: v.reason, message: `${candidate.why}; not started: ${v.message}` };
    if (v.retryAt !== undefined) d.wakeups.push(v.retryAt);
    // Triggers other than drift stay pending (not consumed) until a run can start.
    return;
  }
  const runId = runIdFor(o.now, candidate.trigger);
  if (o.policy.spec.approval === 'Manual') parkRun(d, runId, candidate);
  else startRun(d, runId, candidate.trigger, formatTime(o.now), candidate.why);
  if (t.consumeManual) status.observedRetrainRequest = t.manual;
  if (t.consumeDataset || o.datasetVersion !== undefined) status.observedDatasetVersion = o.datasetVersion;
  if (t.scheduleFired || candidate.trigger === 'Schedule') status.lastScheduleTime = formatTime(o.now);
}

/** 5. A parked run starts when approved; a running one stands; a new candidate goes through the chain. */
function decideRun(d: Draft, t: Trigger, running: number, checks: readonly Check[]): void {
  const { status, o } = d;
  d.retraining = lastRunIntent(status);
  const pending = status.activeJob?.awaitingApproval ? status.activeJob : undefined;
  if (pending) resumeParkedRun(d, pending, running, checks);
  else if (status.activeJob)
    d.retraining = {
      status: 'True',
      reason: R.JobRunning,
      message: `retraining Job ${status.activeJob.name} is running (${status.activeJob.trigger})`,
    };
  else if (t.candidate && (t.candidate.trigger !== 'Drift' || o.evaluation))
    tryCandidate(d, t, t.candidate, running, checks);
  // A schedule tick that passed while another run started is consumed too: one run per tick at most.
  if (t.scheduleFired && status.activeJob && !status.activeJob.awaitingApproval)
    status.lastScheduleTime = formatTime(o.now);
  if (t.manual !== undefined && t.consumeManual && status.activeJob) status.observedRetrainRequest = t.manual;
}

/** 6. Conditions. Spec and configuration problems make the policy not Ready whether or not a run is wanted. */
function writeConditions(d: Draft, scheduleError: string | undefined): void {
  const { o, status } = d;
  const prev = o.policy.status ?? {};
  const stateMessage = scheduleError ? `${d.stateMessage}; spec.triggers.schedule: ${scheduleError}` : d.stateMessage;
  // Evaluation goes on. The schedule error wins (the spec is wrong); a refused template, then a missing
  // output location come next.
  const notReady = scheduleError
    ? { reason: R.InvalidSpec, message: `spec.triggers.schedule: ${scheduleError}` }
    : d.templateRefusal !== undefined
      ? { reason: R.TemplateRefused, message: d.templateRefusal }
      : d.outputPrefix === undefined
        ? { reason: R.OutputUnconfigured, message: OUTPUT_UNCONFIGURED_MESSAGE }
        : undefined;
  const gen = o.policy.metadata.generation;
  status.conditions = conditionsFor(
    prev.conditions,
    status,
    d.stateReason,
    stateMessage,
    d.retraining,
    gen,
    o.now,
    notReady,
  );
  const prevReady = prev.conditions?.find((c) => c.type === C.Ready);
  // One Warning per refusal: again only when the refused fields change (a new edit, a new configuration).
  if (
    notReady?.reason === R.TemplateRefused &&
    (prevReady?.reason !== R.TemplateRefused || prevReady.message !== notReady.message.slice(0, 1024))
  )
    d.events.push({ type: 'Warning', reason: E.TemplateRefused, note: notReady.message.slice(0, 1024) });
  if (
    notReady?.reason === R.OutputUnconfigured &&
    prev.conditions?.find((c) => c.type === C.Ready)?.reason !== R.OutputUnconfigured
  ) {
    d.events.push({
      type: 'Warning',
      reason: E.OutputUnconfigured,
      note: `${OUTPUT_UNCONFIGURED_MESSAGE}: no retraining Job can start (drift is still evaluated)`,
    });
  }
}

/** The refused fields of the policy's retraining template, as one message; undefined when it may run. */
function templateRefusalOf(o: PolicyObserved): string | undefined {
  const violations = templateViolations(o.policy, o.tenant ?? STRICTEST_TENANT_POLICY, o.image);
  if (violations.length === 0) return undefined;
  return `spec.retraining.template refused (no retraining Job is created): ${describeViolations(violations)}`;
}

/** Evaluate this reconcile's measurements (if any), then plan. */
export function planDriftPolicy(g: PolicyGathered): PolicyPlan {
  const { measured, servingName, deployments, cleanupJobs, cleanupResults, ...rest } = g;
  const evaluation = measured
    ? evaluateDrift({
        spec: g.policy.spec,
        model: servingName,
        baseline: g.servingModel?.status?.baseline,
        gathered: measured,
        previous: g.policy.status?.lastEvaluation,
        now: g.now,
      })
    : undefined;
  const plan = planPolicy({ ...rest, evaluation });
  // The models this reconcile creates count as the newest, so the last N are exact in the same reconcile.
  const { deleteModels } = planRetention({
    policy: g.policy,
    models: [
      ...g.models,
      ...plan.createModels.filter((c) => !g.models.some((m) => m.metadata.name === c.metadata.name)),
    ],
    deployments: deployments ?? [],
    jobs: g.jobs,
    servingName,
    baseModelAnnotation: BASE_MODEL_ANNOTATION,
  });
  const outputPrefix = outputPrefixFor(g.policy, g.storage?.uri);
  const markBundles = deleteModels.filter((n) => {
    const m = g.models.find((x) => x.metadata.name === n);
    return m !== undefined && bundleIsOurs(m, outputPrefix);
  });
  const cleanup = planBundleCleanup({
    policy: g.policy,
    outputPrefix,
    models: g.models,
    deployments: deployments ?? [],
    jobs: cleanupJobs ?? [],
    results: cleanupResults ?? {},
    image: g.image,
    templateAllowed: templateRefusalOf({ ...rest, evaluation }) === undefined,
    now: g.now,
  });
  plan.status.conditions = withCleanupCondition(plan.status.conditions, cleanup, g.policy.metadata.generation, g.now);
  return {
    ...plan,
    events: [...plan.events, ...cleanup.events],
    ...(evaluation ? { evaluation } : {}),
    ...(deleteModels.length ? { deleteModels } : {}),
    ...(markBundles.length ? { markBundles } : {}),
    ...(cleanup.createJob || cleanup.release.length ? { cleanup } : {}),
  };
}

/** Build the plan of one reconcile. */
export function planPolicy(o: PolicyObserved, checks: readonly Check[] = DEFAULT_CHECKS): PolicyPlan {
  const prev = o.policy.status ?? {};
  const d: Draft = {
    o,
    nowMs: o.now.getTime(),
    status: { ...prev, observedGeneration: o.policy.metadata.generation },
    events: [],
    createModels: [],
    finished: [],
    wakeups: [],
    stateReason: prev.conditions?.find((c) => c.type === C.DriftDetected)?.reason ?? R.Reconciling,
    stateMessage: prev.message ?? '',
    outputPrefix: outputPrefixFor(o.policy, o.storage?.uri),
    templateRefusal: templateRefusalOf(o),
    retraining: { status: 'False', reason: R.AsExpected, message: 'no retraining running' },
  };
  recordEvaluation(d);
  recordFinishedRuns(d);
  const running = o.jobs.filter((j) => !jobFinished(j));
  adoptRunningJob(d, running);
  const trigger = pendingTrigger(d);
  decideRun(d, trigger, running.length, checks);
  writeConditions(d, trigger.scheduleError);
  const wake = Math.min(...d.wakeups.filter((w) => Number.isFinite(w)));
  return {
    ...(d.createJob ? { createJob: d.createJob } : {}),
    createModels: d.createModels,
    status: d.status,
    events: d.events,
    finished: d.finished,
    ...(Number.isFinite(wake) ? { requeueAfterMs: Math.max(1000, wake - d.nowMs) } : {}),
  };
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
