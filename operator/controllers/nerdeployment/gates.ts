/**
 * The model gates (`spec.gates`) as one chain of named checks, shared by the two places that ask:
 *
 * - the serve gate ({@link gateViolation}): which Ready model of a family may be served at all;
 * - the candidate gate ({@link candidateGate}): whether a rollout may send the candidate any traffic.
 *
 * Both run the same chain; the serve gate leaves out the candidate's phase (it only sees Ready models).
 */
import type { NerDeployment } from '../../api/nerdeployment.js';
import { NerDeploymentReason as R } from '../../api/nerdeployment-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import { firstViolationOf, without, type NamedCheck, type Violation } from '../check-chain.js';

export interface GateInput {
  nd: NerDeployment;
  candidate: NerModel;
  /** The model served now (the regression baseline), if any. */
  stable: NerModel | undefined;
  /** Who asks: the wording of the messages differs (a rollout names the candidate and the stable F1). */
  role: 'serve' | 'candidate';
}

/** Names of the gate checks, in chain order. */
export const Gate = {
  CandidatePhase: 'candidatePhase',
  MeasuredF1: 'measuredF1',
  MinF1: 'minF1',
  MaxRegression: 'maxRegression',
} as const;

function f1(m: NerModel | undefined): number | undefined {
  return m?.status?.metrics?.micro.f1;
}

function gatesSet(nd: NerDeployment): boolean {
  const g = nd.spec.gates;
  return !!g && (g.minF1 !== undefined || g.maxRegression !== undefined);
}

function subject(i: GateInput): string {
  return i.role === 'candidate' ? `candidate ${i.candidate.metadata.name}` : `${i.candidate.metadata.name}`;
}

export const GATES: readonly NamedCheck<GateInput>[] = [
  {
    name: Gate.CandidatePhase,
    check({ candidate }) {
      const phase = candidate.status?.phase ?? 'Pending';
      if (phase !== 'Rejected' && phase !== 'Failed') return undefined;
      const why = candidate.status?.message ? `: ${candidate.status.message}` : '';
      return { reason: R.ModelNotReady, message: `candidate ${candidate.metadata.name} is ${phase}${why}` };
    },
  },
  {
    name: Gate.MeasuredF1,
    check(i) {
      if (!gatesSet(i.nd) || f1(i.candidate) !== undefined) return undefined;
      return { reason: R.MissingMetrics, message: `${subject(i)} has no measured F1 to check the gates against` };
    },
  },
  {
    name: Gate.MinF1,
    check(i) {
      const min = i.nd.spec.gates?.minF1;
      const score = f1(i.candidate);
      if (min === undefined || score === undefined || score >= min) return undefined;
      return { reason: R.BelowMinF1, message: `${subject(i)} F1 ${score} is below gates.minF1 ${min}` };
    },
  },
  {
    name: Gate.MaxRegression,
    check(i) {
      const max = i.nd.spec.gates?.maxRegression;
      const score = f1(i.candidate);
      const base = f1(i.stable);
      if (max === undefined || score === undefined || base === undefined) return undefined;
      if (i.stable?.metadata.name === i.candidate.metadata.name || !(base - score > max)) return undefined;
      const against = i.role === 'candidate' ? `stable ${i.stable?.metadata.name} F1 ${base}` : i.stable?.metadata.name;
      return {
        reason: R.RegressionTooLarge,
        message: `${subject(i)} F1 ${score} regresses ${(base - score).toFixed(4)} against ${against} (gates.maxRegression ${max})`,
      };
    },
  },
];

/** Why a Ready model may not be served (undefined: it passes). */
export function gateViolation(
  nd: NerDeployment,
  candidate: NerModel,
  stable: NerModel | undefined,
): Violation | undefined {
  return firstViolationOf(without(GATES, Gate.CandidatePhase), { nd, candidate, stable, role: 'serve' });
}

/** Why a rollout's candidate may get no traffic (undefined: it passes). Numbers in the message. */
export function candidateGate(
  nd: NerDeployment,
  candidate: NerModel,
  stable: NerModel | undefined,
): Violation | undefined {
  return firstViolationOf(GATES, { nd, candidate, stable, role: 'candidate' });
}
