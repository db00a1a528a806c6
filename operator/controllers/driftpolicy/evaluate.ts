/**
 * One drift evaluation, as a pure function: from what Prometheus returned for the window (already turned
 * into plain numbers by the reconcile), the serving model's baseline and the previous evaluation, compute
 * every signal's value, level and consecutive-breach count, and the policy's drift state.
 *
 * State rules (first match wins):
 * 1. Prometheus could not be queried → `MetricsUnavailable` (never a retraining).
 * 2. Fewer than `minSamples` documents in the window → `InsufficientData`.
 * 3. A signal at or above `critical`, breaching for `consecutiveBreaches` evaluations → `Critical`.
 * 4. A signal at or above `warning`, breaching for `consecutiveBreaches` evaluations → `Warning`.
 * 5. Otherwise `Healthy`.
 *
 * Breach counts live in status (`lastEvaluation.signals[].breaches`), so hysteresis survives a restart.
 * They reset to 0 when the signal is back below warning, when the evaluation could not run (1, 2: a gap in
 * the data must not count towards a retraining), and when the serving model — the baseline — changed.
 */
import type { BaselineProfileStatus } from '../../api/nermodel.js';
import {
  DEFAULT_GROUND_TRUTH_MIN_SAMPLES,
  type DriftEvaluation,
  type DriftPolicySpec,
  type DriftSignal,
  type DriftState,
  type SignalResult,
} from '../../api/driftpolicy.js';
import { DriftPolicyReason as R } from '../../api/driftpolicy-constants.js';
import { jensenShannonDistance, psi, unknownTokenRateDelta } from './statistics.js';

/** What the queries measured over the window (sums across the stable pods). */
export interface WindowMeasurements {
  /** Documents processed (`nerops_documents_total`); the sample count for `minSamples`. */
  documents: number | undefined;
  /** Requests answered (`nerops_requests_total`), informative. */
  requests?: number | undefined;
  /** Entities per label. */
  labelCounts?: Record<string, number> | undefined;
  /** Per-bucket entity-confidence counts in the baseline's layout, or why they are unusable. */
  confidence?: { counts: number[] } | { error: string } | undefined;
  /** Per-bucket document-length counts in the baseline's layout, or why they are unusable. */
  documentLength?: { counts: number[] } | { error: string } | undefined;
  tokens?: number | undefined;
  unknownTokens?: number | undefined;
  /** Entities the assertion stage negated (`nerops_entity_assertions_total{attribute="negated",value="true"}`). */
  negatedEntities?: number | undefined;
  /** Entities the assertion stage judged (`attribute="negated"`, both values); 0 when the model has no stage. */
  assertedEntities?: number | undefined;
  /** Value of each `promql` signal by name (undefined = empty result). */
  custom?: Record<string, number | undefined>;
  /** Feedback entity counts of each `groundTruthF1` signal by name, over the signal's window. */
  groundTruth?: Record<string, { tp: number; fp: number; fn: number }>;
}

/** Outcome of gathering the measurements. */
export type Gathered =
  | { ok: true; measurements: WindowMeasurements }
  | {
      ok: false;
      /** PrometheusUnreachable, TargetNotFound, NoBaseline, ... */
      reason: string;
      message: string;
    };

export interface EvaluationInput {
  spec: Pick<DriftPolicySpec, 'signals' | 'minSamples' | 'consecutiveBreaches'>;
  /** Name of the serving (stable) model whose baseline is compared against. */
  model: string | undefined;
  baseline: BaselineProfileStatus | undefined;
  gathered: Gathered;
  previous: DriftEvaluation | undefined;
  now: Date;
}

export interface EvaluationOutcome {
  state: DriftState;
  /** Reason constant explaining the state. */
  reason: string;
  message: string;
  evaluation: DriftEvaluation;
}

/** Level of a value against a signal's thresholds (for `groundTruthF1`, an F1, lower is worse). */
export function levelOf(
  value: number | undefined,
  signal: Pick<DriftSignal, 'warning' | 'critical'> & { type?: DriftSignal['type'] },
): 'Ok' | 'Warning' | 'Critical' | 'NoData' {
  if (value === undefined || !Number.isFinite(value)) return 'NoData';
  if (signal.type === 'groundTruthF1') {
    if (value <= signal.critical) return 'Critical';
    if (value <= signal.warning) return 'Warning';
    return 'Ok';
  }
  if (value >= signal.critical) return 'Critical';
  if (value >= signal.warning) return 'Warning';
  return 'Ok';
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Rounded for status (6 significant decimals are plenty and keep writes stable). */
function round6(x: number | undefined): number | undefined {
  return x === undefined ? undefined : Math.round(x * 1e6) / 1e6;
}

/** Value and sample count of one signal. */
export function signalValue(
  signal: DriftSignal,
  m: WindowMeasurements,
  baseline: BaselineProfileStatus,
): { value: number | undefined; samples: number | undefined; note?: string } {
  switch (signal.type) {
    case 'labelDistribution': {
      const counts = m.labelCounts ?? {};
      const total = sum(Object.values(counts));
      return {
        value: total > 0 ? jensenShannonDistance(baseline.labelDistribution, counts) : undefined,
        samples: total,
      };
    }
    case 'confidence':
    case 'documentLength': {
      const h = signal.type === 'confidence' ? m.confidence : m.documentLength;
      const base = signal.type === 'confidence' ? baseline.confidence : baseline.documentLength;
      if (!h) return { value: undefined, samples: 0 };
      if ('error' in h) return { value: undefined, samples: undefined, note: `${signal.name}: ${h.error}` };
      const total = sum(h.counts);
      return { value: total > 0 ? psi(base.counts, h.counts) : undefined, samples: total };
    }
    case 'unknownTokenRate':
      return {
        value: unknownTokenRateDelta(baseline.unknownTokenRate, m.tokens ?? 0, m.unknownTokens ?? 0),
        samples: m.tokens ?? 0,
      };
    case 'negatedShare':
      return negatedShareDelta(signal.baselineShare ?? 0, m.assertedEntities ?? 0, m.negatedEntities ?? 0);
    case 'promql':
      return { value: m.custom?.[signal.name], samples: m.documents };
    case 'groundTruthF1': {
      // Entity F1 = 2·TP / (2·TP + FP + FN); the samples are the gold entities (TP + FN) it rests on.
      const c = m.groundTruth?.[signal.name];
      if (!c) return { value: undefined, samples: 0 };
      const denominator = 2 * c.tp + c.fp + c.fn;
      return { value: denominator > 0 ? (2 * c.tp) / denominator : undefined, samples: c.tp + c.fn };
    }
  }
}

/**
 * |negated / asserted - baselineShare|, over the entities the assertion stage judged in the window. No asserted
 * entity (a model without the stage, or no entities) is no data, not a share of 0: a template change that
 * removes every finding must not read as "nothing negated".
 */
export function negatedShareDelta(
  baselineShare: number,
  asserted: number,
  negated: number,
): { value: number | undefined; samples: number } {
  if (!(asserted > 0)) return { value: undefined, samples: 0 };
  const share = Math.min(1, Math.max(0, negated / asserted));
  return { value: Math.abs(share - baselineShare), samples: asserted };
}

/** Every signal's level, with its breach count carried over from the last evaluation of the same model. */
function signalResults(
  input: EvaluationInput,
  m: WindowMeasurements,
  baseline: BaselineProfileStatus,
  notes: string[],
): SignalResult[] {
  const { previous } = input;
  const sameModel = previous?.model !== undefined && previous.model === input.model;
  const prevBreaches = (name: string) =>
    sameModel ? (previous?.signals.find((s) => s.name === name)?.breaches ?? 0) : 0;
  return input.spec.signals.map((s) => {
    const { value, samples, note } = signalValue(s, m, baseline);
    if (note) notes.push(note);
    // Too few gold entities decide nothing: InsufficientData, and the breach count starts over.
    const level: SignalResult['level'] =
      s.type === 'groundTruthF1' && (samples ?? 0) < (s.minSamples ?? DEFAULT_GROUND_TRUTH_MIN_SAMPLES)
        ? 'InsufficientData'
        : levelOf(value, s);
    const breaches = level === 'Warning' || level === 'Critical' ? prevBreaches(s.name) + 1 : 0;
    const v = round6(value);
    const n = round6(samples);
    return {
      name: s.name,
      ...(v !== undefined ? { value: v } : {}),
      warning: s.warning,
      critical: s.critical,
      ...(n !== undefined ? { samples: n } : {}),
      level,
      breaches,
    };
  });
}

/** The state from the confirmed breaches (a breach counts once it lasted `consecutiveBreaches` evaluations). */
function stateOf(
  signals: SignalResult[],
  consecutiveBreaches: number,
  documents: number,
): { state: DriftState; reason: string; message: string } {
  const confirmed = signals.filter((s) => (s.breaches ?? 0) >= consecutiveBreaches);
  const critical = confirmed.filter((s) => s.level === 'Critical');
  const warning = confirmed.filter((s) => s.level === 'Warning');
  // A groundTruthF1 signal breaches downwards; its thresholds are the larger of the two numbers.
  const describe = (list: SignalResult[], which: 'warning' | 'critical') =>
    list
      .map((s) => {
        const op = s.warning > s.critical ? '<=' : '>=';
        return `${s.name}=${s.value} (${op} ${s[which]} for ${s.breaches} evaluations)`;
      })
      .join(', ');
  if (critical.length > 0)
    return {
      state: 'Critical',
      reason: R.CriticalThresholdExceeded,
      message: `critical drift: ${describe(critical, 'critical')}`,
    };
  if (warning.length > 0)
    return { state: 'Warning', reason: R.WarningThresholdExceeded, message: `drift: ${describe(warning, 'warning')}` };
  const pending = signals.filter((s) => (s.breaches ?? 0) > 0);
  return {
    state: 'Healthy',
    reason: R.WithinThresholds,
    message: pending.length
      ? `within thresholds (breaching, not yet confirmed: ${pending.map((s) => `${s.name} ${s.breaches}/${consecutiveBreaches}`).join(', ')})`
      : `all ${signals.length} signals below warning over ${Math.floor(documents)} documents`,
  };
}

/** What drift is judged on; or, when it cannot be (no measurements, no baseline, too few documents), the outcome. */
function judgeable(
  input: EvaluationInput,
  base: { time: string; model?: string },
): EvaluationOutcome | { m: WindowMeasurements; baseline: BaselineProfileStatus } {
  const { spec, gathered } = input;
  const empty = (): SignalResult[] =>
    spec.signals.map((s) => ({ name: s.name, warning: s.warning, critical: s.critical, level: 'NoData', breaches: 0 }));
  if (!gathered.ok) {
    const state: DriftState = gathered.reason === R.NoBaseline ? 'InsufficientData' : 'MetricsUnavailable';
    return {
      state,
      reason: gathered.reason,
      message: gathered.message,
      evaluation: { ...base, signals: empty(), message: gathered.message.slice(0, 1024) },
    };
  }
  const documents = gathered.measurements.documents ?? 0;
  if (!input.baseline) {
    const message = `model ${input.model ?? '(none)'} has no baseline profile to compare against`;
    return {
      state: 'InsufficientData',
      reason: R.NoBaseline,
      message,
      evaluation: { ...base, samples: round6(documents), signals: empty(), message },
    };
  }
  if (documents < spec.minSamples) {
    const message = `${Math.floor(documents)} documents in the window, fewer than minSamples ${spec.minSamples}`;
    return {
      state: 'InsufficientData',
      reason: R.InsufficientData,
      message,
      evaluation: { ...base, samples: round6(documents), signals: empty(), message },
    };
  }
  return { m: gathered.measurements, baseline: input.baseline };
}

/** Evaluate every signal and derive the state (see the module comment for the rules). */
export function evaluateDrift(input: EvaluationInput): EvaluationOutcome {
  const time = input.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const base = { time, ...(input.model ? { model: input.model } : {}) };
  const judged = judgeable(input, base);
  if ('state' in judged) return judged;
  const { m, baseline } = judged;
  const documents = m.documents ?? 0;
  const notes: string[] = [];
  const signals = signalResults(input, m, baseline, notes);
  const { state, reason, message } = stateOf(signals, input.spec.consecutiveBreaches, documents);
  return {
    state,
    reason,
    message: notes.length ? `${message}; ${notes.join('; ')}` : message,
    evaluation: {
      ...base,
      samples: round6(documents) as number,
      signals,
      ...(notes.length ? { message: notes.join('; ').slice(0, 1024) } : {}),
    },
  };
}
