/**
 * Whether a retraining run may start now: a chain of pure, named checks (cert-manager's policy chain). Each
 * returns a {@link Violation} or undefined; the first violation is the `Retraining` condition's reason.
 * Manual requests skip the cooldown and back-off (a human asked) but nothing else; an approved run skips
 * them too (it passed them when it was parked).
 */
import { parseDuration } from '../../api/shared-schemas.js';
import { DriftPolicyReason as R } from '../../api/driftpolicy-constants.js';
import type { DriftPolicy, DriftPolicyStatus, RetrainTrigger } from '../../api/driftpolicy.js';
import type { NerModel } from '../../api/nermodel.js';
import { formatTime } from '../../runtime/conditions.js';
import { firstViolationOf, type NamedCheck, type Violation as ChainViolation } from '../check-chain.js';

/** Why no retraining starts now. */
export interface Violation extends ChainViolation {
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
  /** Why the policy's retraining template may not run (template-policy.ts), undefined when it may. */
  templateRefusal?: string | undefined;
  /** Where the run would write (spec.retraining.outputUri or the operator default); undefined: nowhere. */
  outputPrefix: string | undefined;
  status: DriftPolicyStatus;
  candidate: Candidate;
  running: number;
  servingModel: NerModel | undefined;
  nowMs: number;
}

export type Check = NamedCheck<CheckInput, Violation>;

/** Names of the checks, so a chain drops one by name ({@link without}). */
export const RunCheck = {
  Suspended: 'suspended',
  Template: 'template',
  Output: 'output',
  Concurrency: 'concurrency',
  BaseModel: 'baseModel',
  Backoff: 'backoff',
  Cooldown: 'cooldown',
} as const;

/** First retry of a failed run after 5 min, doubling, at most 6 h (on top of the cooldown). */
export function failureBackoffMs(failures: number): number {
  return Math.min(6 * 3_600_000, 5 * 60_000 * 2 ** Math.max(0, failures - 1));
}

/** Why no Job can start without an output location (Ready condition, Retraining condition, Event). */
export const OUTPUT_UNCONFIGURED_MESSAGE =
  'spec.retraining.outputUri is not set and the operator has no --default-model-uri';

/** The default chain, in order; the first violation wins. Approval is handled after it (it parks a run, it does not refuse it). */
export const DEFAULT_CHECKS: readonly Check[] = [
  {
    name: RunCheck.Suspended,
    check({ policy }) {
      return policy.spec.suspend
        ? { reason: R.Suspended, message: 'spec.suspend is true: no retraining Jobs are started' }
        : undefined;
    },
  },
  {
    name: RunCheck.Template,
    check({ templateRefusal }) {
      return templateRefusal === undefined ? undefined : { reason: R.TemplateRefused, message: templateRefusal };
    },
  },
  {
    name: RunCheck.Output,
    check({ outputPrefix }) {
      return outputPrefix === undefined
        ? { reason: R.OutputUnconfigured, message: OUTPUT_UNCONFIGURED_MESSAGE }
        : undefined;
    },
  },
  {
    name: RunCheck.Concurrency,
    check({ policy, running }) {
      return running >= policy.spec.maxConcurrentRuns
        ? {
            reason: R.JobRunning,
            message: `${running} retraining Job(s) running (maxConcurrentRuns ${policy.spec.maxConcurrentRuns})`,
          }
        : undefined;
    },
  },
  {
    name: RunCheck.BaseModel,
    check({ servingModel }) {
      return servingModel
        ? undefined
        : { reason: R.TargetNotFound, message: 'the target NerDeployment serves no model to retrain from' };
    },
  },
  {
    name: RunCheck.Backoff,
    check({ status, nowMs, candidate }) {
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
  },
  {
    name: RunCheck.Cooldown,
    check({ policy, status, nowMs, candidate }) {
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
  },
];

/** Run the chain: the first violation, or undefined when the run may start. */
export function firstViolation(input: CheckInput, checks: readonly Check[] = DEFAULT_CHECKS): Violation | undefined {
  return firstViolationOf(checks, input);
}
