/**
 * The NerModel plan, as one pure function of what gather.ts observed: from the model, its validation Jobs
 * and the finished Job's termination message, compute the Job to create (if any), the new status, the
 * Events and when to look again. Pending → Validating → Ready | Rejected (terminal: the spec is immutable, the artifact is
 * bad) | Failed (transient: retried with a new Job after an exponential back-off, never in a hot loop).
 */
import { sanitizeMessage } from '../../../contracts/termination-message.js';
import type { V1Job } from '@kubernetes/client-node';
import type { NerModel, NerModelPhase, NerModelStatus } from '../../api/nermodel.js';
import { NerModelConditionType as C, NerModelEventReason, NerModelReason as R } from '../../api/nermodel-constants.js';
import type { EventSpec } from '../../runtime/client.js';
import type { ModelStorageDefaults } from '../model-storage.js';
import { formatTime, setCondition, type Condition } from '../../runtime/conditions.js';
import { desiredValidationJob, validationJobName } from './desired.js';
import { checkSourceCredentials, type CredentialsRefusal, type SecretMetadata } from '../credentials-origin.js';
import { credentialsTargetUri, withStorageDefaults } from '../model-storage.js';
import { jobFinished, lastLine, type TerminatedContainer } from '../job-result.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import { describeHolders, planProtection, type Protection } from './protection.js';
import {
  decodeValidationResult,
  VALIDATE_EXIT,
  ValidationReason,
  type ValidationResult,
} from '../../../contracts/validation-result.js';

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
  /** The annotations of the source's own credentials Secret (read before a Job is created; see gather.ts). */
  credentialsSecret?: SecretMetadata;
  /** The NerDeployments of the model's namespace (cache): who serves the model (deletion protection). */
  deployments?: readonly NerDeployment[];
}

/** How often a refused source is looked at again (the Secret is not watched: its annotation may be fixed). */
export const CREDENTIALS_RECHECK_MS = 60_000;

export interface ModelPlan {
  /** Validation Job to create (absent: none needed or it exists). */
  createJob?: V1Job;
  status: NerModelStatus;
  /** Recorded after the status write succeeds. */
  events: EventSpec[];
  requeueAfterMs?: number;
  /**
   * Change to the `nerops.io/in-use` finalizer (protection.ts): added before anything else is written,
   * removed after the status (the model may be gone the moment it is).
   */
  finalizer?: 'add' | 'remove';
}

/** First retry after 30 s, doubling, at most hourly. */
export function retryDelayMs(failedAttempts: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.max(0, failedAttempts - 1));
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
    if (result.outcome !== 'Ready')
      return { phase: result.outcome, reason, message: sanitizeMessage(result.message), result };
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
        message: sanitizeMessage(result.message),
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
    : `${jobReason?.reason ?? 'failed'}${jobReason?.message ? `: ${sanitizeMessage(jobReason.message)}` : ''}`;
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

/** The NerModel's status before this reconcile's decision: the last one, for the current generation. */
function baseStatus(model: NerModel): NerModelStatus {
  return {
    ...(model.status ?? {}),
    observedGeneration: model.metadata.generation,
    ...(model.spec.lineage ? { lineage: model.spec.lineage } : {}),
  };
}

/**
 * The validation Job this reconcile is about, or undefined when none is: the verdict on this generation is
 * final (Ready, Rejected), or a failed attempt's back-off is not over (`retryAt`: when it is). The
 * attempt number names the Job, so a retry is a new Job.
 */
export function currentValidation(model: NerModel, now: Date): { jobName?: string; attempt: number; retryAt?: number } {
  const gen = model.metadata.generation;
  const prev = model.status ?? {};
  const attempt = prev.failedAttempts ?? 0;
  // Terminal outcomes: the spec is immutable, so a verdict on this generation never changes.
  if ((prev.phase === 'Ready' || prev.phase === 'Rejected') && prev.observedGeneration === gen) return { attempt };
  if (prev.phase === 'Failed' && prev.observedGeneration === gen) {
    const retryAt = Date.parse(prev.validatedAt ?? '') + retryDelayMs(attempt);
    // Wait out the back-off in status terms, so an operator restart does not retry early.
    if (Number.isFinite(retryAt) && now.getTime() < retryAt) return { attempt, retryAt };
  }
  return { jobName: validationJobName(model, attempt), attempt };
}

/**
 * The source's token may not go where the spec sends it: no Job, Pending with the refusal as Ready=False and
 * Degraded=True, one Warning Event, and a look again later (the Secret may be annotated meanwhile).
 */
function refuseCredentials(o: ModelObserved, refusal: CredentialsRefusal): ModelPlan {
  const { model, now } = o;
  const gen = model.metadata.generation;
  const set = (list: readonly Condition[] | undefined, type: string, status: 'True' | 'False' | 'Unknown') =>
    setCondition(
      list,
      {
        type,
        status,
        reason: refusal.reason,
        message: refusal.message,
        ...(gen !== undefined ? { observedGeneration: gen } : {}),
      },
      now,
    );
  let conditions = set(model.status?.conditions, C.Ready, 'False');
  conditions = set(conditions, C.Progressing, 'False');
  conditions = set(conditions, C.Degraded, 'True');
  conditions = set(conditions, C.Validated, 'Unknown');
  return {
    status: { ...baseStatus(model), phase: 'Pending', message: refusal.message, conditions },
    events: [{ type: 'Warning', reason: refusal.reason, note: refusal.message }],
    requeueAfterMs: CREDENTIALS_RECHECK_MS,
  };
}

/** No Job yet for this attempt: create it, unless the source's token may not go to its URI. */
function startValidation(o: ModelObserved, jobName: string, attempt: number): ModelPlan {
  const { model } = o;
  const refusal = checkSourceCredentials({
    uri: credentialsTargetUri(withStorageDefaults(model.spec.source, o.storage)),
    secret: model.spec.source.credentialsSecretRef
      ? (o.credentialsSecret ?? { name: model.spec.source.credentialsSecretRef.name, missing: true })
      : undefined,
    allowInsecureHttp: model.spec.source.allowInsecureHttp,
  });
  if (refusal) return refuseCredentials(o, refusal);
  const message = `validating bundle ${model.spec.source.digest.slice(0, 12)} with Job ${jobName}${attempt > 0 ? ` (attempt ${attempt + 1})` : ''}`;
  return {
    createJob: desiredValidationJob(model, { image: o.image, attempt, ...(o.storage ? { storage: o.storage } : {}) }),
    status: validating(o, jobName, R.ValidationPending, message),
    events: [{ type: 'Normal', reason: NerModelEventReason.ValidationStarted, note: message }],
  };
}

function validating(o: ModelObserved, jobName: string, reason: string, message: string): NerModelStatus {
  const { model, now } = o;
  return {
    ...baseStatus(model),
    phase: 'Validating',
    validationJob: jobName,
    message,
    conditions: conditionsFor(model.status?.conditions, 'Validating', reason, message, model.metadata.generation, now),
  };
}

/** The status fields a validation result carries (digest, size, entity types, metrics, drift baseline). */
function resultFields(r: ValidationResult | undefined): Partial<NerModelStatus> {
  const out: Partial<NerModelStatus> = {};
  if (r?.digest) out.verifiedDigest = r.digest;
  if (r?.sizeBytes !== undefined) out.sizeBytes = r.sizeBytes;
  if (r?.entityTypes) out.entityTypes = r.entityTypes;
  if (r?.metrics)
    out.metrics = {
      micro: r.metrics.micro,
      source: r.metrics.source,
      ...(r.metrics.perType ? { perType: r.metrics.perType } : {}),
      ...(r.metrics.sentences !== undefined ? { sentences: r.metrics.sentences } : {}),
    };
  if (r?.profile?.confidence && r.profile.documentLength) {
    out.baseline = {
      profileVersion: 1,
      ...r.profile,
      confidence: r.profile.confidence,
      documentLength: r.profile.documentLength,
    };
  }
  return out;
}

/** The Job finished: record the verdict; a failure schedules the next attempt after its back-off. */
function recordOutcome(o: ModelObserved, job: V1Job, jobName: string, attempt: number): ModelPlan {
  const { model, now } = o;
  const outcome = classify(model, job, o.terminated);
  const finishedAt =
    job.status?.completionTime ??
    job.status?.conditions?.find((c) => c.status === 'True' && (c.type === 'Failed' || c.type === 'Complete'))
      ?.lastTransitionTime;
  const validatedAt = finishedAt ? formatTime(new Date(finishedAt)) : formatTime(now);
  const gen = model.metadata.generation;
  const status: NerModelStatus = {
    ...baseStatus(model),
    phase: outcome.phase,
    validationJob: jobName,
    validatedAt,
    message: outcome.message,
    conditions: conditionsFor(model.status?.conditions, outcome.phase, outcome.reason, outcome.message, gen, now),
    ...resultFields(outcome.result),
  };
  if (outcome.phase === 'Ready')
    return {
      status,
      events: [{ type: 'Normal', reason: NerModelEventReason.ModelReady, note: outcome.message.slice(0, 200) }],
    };
  if (outcome.phase === 'Rejected')
    return {
      status,
      events: [
        {
          type: 'Warning',
          reason: NerModelEventReason.ModelRejected,
          note: `${outcome.reason}: ${outcome.message}`.slice(0, 300),
        },
      ],
    };
  status.failedAttempts = attempt + 1;
  const delay = retryDelayMs(attempt + 1);
  status.message = `${outcome.message}; retrying in ${Math.round(delay / 1000)}s`;
  return {
    status,
    events: [
      {
        type: 'Warning',
        reason: NerModelEventReason.ValidationFailed,
        note: `${outcome.reason}: ${status.message}`.slice(0, 300),
      },
    ],
    requeueAfterMs: Math.max(1000, Date.parse(validatedAt) + delay - now.getTime()),
  };
}

/**
 * A model being deleted: no validation starts. While NerDeployments serve it, DeletionBlocked=True (reason
 * InUse) and a Warning Event name them; once none does, the finalizer goes and so does the model.
 */
function planDeletion(o: ModelObserved, protection: Protection): ModelPlan {
  const { model, now } = o;
  const status = baseStatus(model);
  const change = protection.finalizer ? { finalizer: protection.finalizer } : {};
  if (!protection.blocked) return { status, events: [], ...change };
  const message = `deletion waits: served by NerDeployment ${describeHolders(protection.holders)}`;
  const gen = model.metadata.generation;
  status.conditions = setCondition(
    model.status?.conditions,
    {
      type: C.DeletionBlocked,
      status: 'True',
      reason: R.InUse,
      message,
      ...(gen !== undefined ? { observedGeneration: gen } : {}),
    },
    now,
  );
  return {
    status,
    events: [{ type: 'Warning', reason: NerModelEventReason.DeletionBlocked, note: message.slice(0, 300) }],
    ...change,
  };
}

/** Build the NerModel's plan for this reconcile: deletion protection, then validation. */
export function planModel(o: ModelObserved): ModelPlan {
  const protection = planProtection(o.model, o.deployments ?? []);
  if (o.model.metadata.deletionTimestamp) return planDeletion(o, protection);
  const plan = planValidation(o);
  return protection.finalizer ? { ...plan, finalizer: protection.finalizer } : plan;
}

/** The validation part of the plan: Job, verdict, retries. */
function planValidation(o: ModelObserved): ModelPlan {
  const { jobName, attempt, retryAt } = currentValidation(o.model, o.now);
  if (!jobName) {
    const wait = retryAt !== undefined ? { requeueAfterMs: retryAt - o.now.getTime() } : {};
    return { status: baseStatus(o.model), events: [], ...wait };
  }
  const job = o.jobs.find((j) => j.metadata?.name === jobName);
  if (!job) return startValidation(o, jobName, attempt);
  if (!jobFinished(job))
    return {
      status: validating(o, jobName, R.ValidationRunning, `validation Job ${jobName} is running`),
      events: [],
    };
  return recordOutcome(o, job, jobName, attempt);
}
