/**
 * The NerModel state machine, as one pure function: from the model, its validation Jobs and the finished
 * Job's termination message, compute the Job to create (if any), the new status, the Events and when to
 * look again. Pending → Validating → Ready | Rejected (terminal: the spec is immutable, the artifact is
 * bad) | Failed (transient: retried with a new Job after an exponential back-off, never in a hot loop).
 */
import type { V1Job } from '@kubernetes/client-node';
import type { NerModel, NerModelPhase, NerModelStatus } from '../../api/nermodel.js';
import { NerModelConditionType as C, NerModelEventReason, NerModelReason as R } from '../../api/nermodel-constants.js';
import type { EventSpec } from '../../runtime/client.js';
import type { ModelStorageDefaults } from '../common.js';
import { formatTime, setCondition, type Condition } from '../../runtime/conditions.js';
import { desiredValidationJob, validationJobName } from './desired.js';
import { decodeValidationResult, VALIDATE_EXIT, ValidationReason, type ValidationResult } from './validation-result.js';

/** What the reconcile observed about the finished validation pod. */
export interface TerminatedContainer {
  exitCode: number;
  /** Termination message (our JSON, or a log tail with FallbackToLogsOnError). */
  message?: string;
}

export interface ModelObserved {
  model: NerModel;
  /** Validation Jobs of this model (label nerops.io/validates). */
  jobs: readonly V1Job[];
  /** The terminated validate container of the current Job's pod, when the Job finished and the pod still exists. */
  terminated?: TerminatedContainer;
  now: Date;
  image: string;
  /** Operator defaults for http(s) sources without their own credentials / CA refs. */
  storage?: ModelStorageDefaults;
}

export interface ModelPlan {
  /** Validation Job to create (absent: none needed or it exists). */
  createJob?: V1Job;
  status: NerModelStatus;
  /** Recorded after the status write succeeds. */
  events: EventSpec[];
  requeueAfterMs?: number;
  /** Name of the current Job, when one is relevant; the reconcile reads its pod once it has finished. */
  currentJob?: string;
}

/** First retry after 30 s, doubling, at most hourly. */
export function retryDelayMs(failedAttempts: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.max(0, failedAttempts - 1));
}

/** Finished state of a Job from its conditions (or counters). */
export function jobFinished(job: V1Job): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if (c.status !== 'True') continue;
    if (c.type === 'Complete' || c.type === 'SuccessCriteriaMet') return 'Complete';
    if (c.type === 'Failed' || c.type === 'FailureTarget') return 'Failed';
  }
  return undefined;
}

type Outcome = { phase: 'Ready' | 'Rejected' | 'Failed'; reason: string; message: string; result?: ValidationResult };

/** Validation reasons → NerModel reasons. */
const REASONS: Record<string, string> = {
  [ValidationReason.Validated]: R.ValidationSucceeded,
  [ValidationReason.DigestMismatch]: R.DigestMismatch,
  [ValidationReason.InvalidBundle]: R.InvalidArtifact,
  [ValidationReason.CorruptModel]: R.InvalidArtifact,
  [ValidationReason.SmokeTestFailed]: R.InvalidArtifact,
  [ValidationReason.BelowMinimumMetrics]: R.BelowMinMetrics,
  [ValidationReason.SourceUnreachable]: R.FetchFailed,
  [ValidationReason.DatasetUnavailable]: R.DatasetUnavailable,
  [ValidationReason.InternalError]: R.ValidationJobFailed,
};

function lastLine(text: string | undefined): string {
  const lines = (text ?? '')
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

/** Checks of a Ready result against the spec: entity types, minimum metrics. First violation wins. */
function checkAgainstSpec(model: NerModel, result: ValidationResult): Outcome | undefined {
  const want = [...model.spec.entityTypes].sort();
  const got = [...(result.entityTypes ?? [])].sort();
  if (JSON.stringify(want) !== JSON.stringify(got)) {
    return {
      phase: 'Rejected',
      reason: R.EntityTypesMismatch,
      message: `the bundle declares entity types [${got.join(', ')}] but spec.entityTypes is [${want.join(', ')}]`,
    };
  }
  const min = model.spec.evaluation?.minMetrics;
  if (min) {
    const micro = result.metrics?.source === 'evaluation' ? result.metrics.micro : undefined;
    if (!micro)
      return {
        phase: 'Rejected',
        reason: R.BelowMinMetrics,
        message: 'spec.evaluation.minMetrics is set but the evaluation produced no metrics',
      };
    for (const k of ['precision', 'recall', 'f1'] as const) {
      const floor = min[k];
      if (floor !== undefined && micro[k] < floor)
        return {
          phase: 'Rejected',
          reason: R.BelowMinMetrics,
          message: `micro ${k} ${micro[k]} is below spec.evaluation.minMetrics.${k} ${floor}`,
        };
    }
  }
  return undefined;
}

/** Classify a finished Job. */
export function classify(model: NerModel, job: V1Job, terminated: TerminatedContainer | undefined): Outcome {
  const result = decodeValidationResult(terminated?.message);
  if (result) {
    const reason = REASONS[result.reason] ?? R.ValidationJobFailed;
    if (result.outcome !== 'Ready') return { phase: result.outcome, reason, message: result.message, result };
    if (result.digest !== model.spec.source.digest) {
      return {
        phase: 'Rejected',
        reason: R.DigestMismatch,
        message: `the validation verified digest ${result.digest ?? '(none)'} instead of ${model.spec.source.digest}`,
      };
    }
    return (
      checkAgainstSpec(model, result) ?? {
        phase: 'Ready',
        reason: R.ValidationSucceeded,
        message: result.message,
        result,
      }
    );
  }
  const tail = lastLine(terminated?.message);
  if (terminated?.exitCode === VALIDATE_EXIT.rejected)
    return { phase: 'Rejected', reason: R.InvalidArtifact, message: tail || 'validation rejected the artifact' };
  if (terminated?.exitCode === VALIDATE_EXIT.failed)
    return { phase: 'Failed', reason: R.FetchFailed, message: tail || 'validation could not fetch the artifact' };
  if (jobFinished(job) === 'Complete')
    return {
      phase: 'Failed',
      reason: R.InvalidValidationResult,
      message: 'the validation Job succeeded but left no readable result in its termination message',
    };
  const jobReason = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  const why = terminated
    ? `exit code ${terminated.exitCode}${tail ? `: ${tail}` : ''}`
    : `${jobReason?.reason ?? 'failed'}${jobReason?.message ? `: ${jobReason.message}` : ''}`;
  return {
    phase: 'Failed',
    reason: R.ValidationJobFailed,
    message: `validation Job ${job.metadata?.name} failed (${why})`,
  };
}

function conditionsFor(
  prev: readonly Condition[] | undefined,
  phase: NerModelPhase,
  reason: string,
  message: string,
  gen: number | undefined,
  now: Date,
): Condition[] {
  const set = (
    list: Condition[] | readonly Condition[] | undefined,
    type: string,
    status: 'True' | 'False' | 'Unknown',
    r: string,
    m: string,
  ) =>
    setCondition(
      list,
      { type, status, reason: r, message: m, ...(gen !== undefined ? { observedGeneration: gen } : {}) },
      now,
    );
  let c = [...(prev ?? [])];
  switch (phase) {
    case 'Pending':
    case 'Validating':
      c = set(c, C.Ready, 'False', reason, message);
      c = set(c, C.Progressing, 'True', reason, message);
      c = set(c, C.Degraded, 'False', R.AsExpected, '');
      c = set(c, C.Validated, 'Unknown', reason, message);
      break;
    case 'Ready':
      c = set(c, C.Ready, 'True', reason, message);
      c = set(c, C.Progressing, 'False', reason, message);
      c = set(c, C.Degraded, 'False', R.AsExpected, '');
      c = set(c, C.Validated, 'True', reason, message);
      break;
    case 'Rejected':
    case 'Failed':
      c = set(c, C.Ready, 'False', reason, message);
      c = set(c, C.Progressing, 'False', reason, message);
      c = set(c, C.Degraded, 'True', reason, message);
      c = set(c, C.Validated, 'False', reason, message);
      break;
  }
  return c;
}

/** Build the NerModel's plan for this reconcile. */
export function planModel(o: ModelObserved): ModelPlan {
  const { model, now } = o;
  const gen = model.metadata.generation;
  const prev = model.status ?? {};
  const base: NerModelStatus = {
    ...prev,
    observedGeneration: gen,
    ...(model.spec.lineage ? { lineage: model.spec.lineage } : {}),
  };
  const nowMs = now.getTime();

  // Terminal outcomes: the spec is immutable, so a verdict on this generation never changes.
  if ((prev.phase === 'Ready' || prev.phase === 'Rejected') && prev.observedGeneration === gen)
    return { status: base, events: [] };

  const failedAttempts = prev.phase === 'Failed' ? (prev.failedAttempts ?? 0) : (prev.failedAttempts ?? 0);
  if (prev.phase === 'Failed' && prev.observedGeneration === gen) {
    const retryAt = Date.parse(prev.validatedAt ?? '') + retryDelayMs(failedAttempts);
    // Wait out the back-off in status terms, so an operator restart does not retry early.
    if (Number.isFinite(retryAt) && nowMs < retryAt)
      return { status: base, events: [], requeueAfterMs: retryAt - nowMs };
  }

  const attempt = failedAttempts;
  const jobName = validationJobName(model, attempt);
  const job = o.jobs.find((j) => j.metadata?.name === jobName);
  const events: EventSpec[] = [];

  if (!job) {
    const message = `validating bundle ${model.spec.source.digest.slice(0, 12)} with Job ${jobName}${attempt > 0 ? ` (attempt ${attempt + 1})` : ''}`;
    events.push({ type: 'Normal', reason: NerModelEventReason.ValidationStarted, note: message });
    return {
      createJob: desiredValidationJob(model, { image: o.image, attempt, ...(o.storage ? { storage: o.storage } : {}) }),
      status: {
        ...base,
        phase: 'Validating',
        validationJob: jobName,
        message,
        conditions: conditionsFor(prev.conditions, 'Validating', R.ValidationPending, message, gen, now),
      },
      events,
      currentJob: jobName,
    };
  }

  const finished = jobFinished(job);
  if (!finished) {
    const message = `validation Job ${jobName} is running`;
    return {
      status: {
        ...base,
        phase: 'Validating',
        validationJob: jobName,
        message,
        conditions: conditionsFor(prev.conditions, 'Validating', R.ValidationRunning, message, gen, now),
      },
      events,
      currentJob: jobName,
    };
  }

  const outcome = classify(model, job, o.terminated);
  const finishedAt =
    job.status?.completionTime ??
    job.status?.conditions?.find((c) => c.status === 'True' && (c.type === 'Failed' || c.type === 'Complete'))
      ?.lastTransitionTime;
  const validatedAt = finishedAt ? formatTime(new Date(finishedAt)) : formatTime(now);
  const conditions = conditionsFor(prev.conditions, outcome.phase, outcome.reason, outcome.message, gen, now);
  const status: NerModelStatus = {
    ...base,
    phase: outcome.phase,
    validationJob: jobName,
    validatedAt,
    message: outcome.message,
    conditions,
  };
  const r = outcome.result;
  if (r?.digest) status.verifiedDigest = r.digest;
  if (r?.sizeBytes !== undefined) status.sizeBytes = r.sizeBytes;
  if (r?.entityTypes) status.entityTypes = r.entityTypes;
  if (r?.metrics)
    status.metrics = {
      micro: r.metrics.micro,
      source: r.metrics.source,
      ...(r.metrics.perType ? { perType: r.metrics.perType } : {}),
      ...(r.metrics.sentences !== undefined ? { sentences: r.metrics.sentences } : {}),
    };
  if (r?.profile?.confidence && r.profile.documentLength) {
    status.baseline = {
      profileVersion: 1,
      ...r.profile,
      confidence: r.profile.confidence,
      documentLength: r.profile.documentLength,
    };
  }
  let requeueAfterMs: number | undefined;
  if (outcome.phase === 'Ready') {
    events.push({ type: 'Normal', reason: NerModelEventReason.ModelReady, note: outcome.message.slice(0, 200) });
  } else if (outcome.phase === 'Rejected') {
    events.push({
      type: 'Warning',
      reason: NerModelEventReason.ModelRejected,
      note: `${outcome.reason}: ${outcome.message}`.slice(0, 300),
    });
  } else {
    status.failedAttempts = attempt + 1;
    const delay = retryDelayMs(attempt + 1);
    requeueAfterMs = Math.max(1000, Date.parse(validatedAt) + delay - nowMs);
    status.message = `${outcome.message}; retrying in ${Math.round(delay / 1000)}s`;
    events.push({
      type: 'Warning',
      reason: NerModelEventReason.ValidationFailed,
      note: `${outcome.reason}: ${status.message}`.slice(0, 300),
    });
  }
  return { status, events, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}), currentJob: jobName };
}
