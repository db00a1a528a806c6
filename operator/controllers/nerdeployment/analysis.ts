/**
 * Canary analysis, as pure functions: the PromQL that measures the candidate track over one analysis
 * interval, and the three-valued decision over those measurements.
 *
 * - **Pass**: enough samples and every threshold holds.
 * - **Fail**: enough samples and a threshold is crossed (error rate, p95 latency, shadow agreement).
 * - **Inconclusive**: Prometheus unreachable or refusing the query, no series, or fewer than
 *   `minSampleCount` requests: the rollout holds; an inconclusive analysis never promotes.
 *
 * In the shadow phase the candidate sees only requests mirrored by the stable pods, so the evidence is what the
 * stable pods measured: every mirrored request either became a comparison or a shadow error (4xx — e.g. a
 * candidate refusing the shadow token —, 5xx, timeout, unreadable answer). The error rate is errors over both,
 * and a phase without `minSampleCount` comparisons is Inconclusive whatever the thresholds: a candidate whose
 * answers were never compared has proven nothing.
 *
 * Every query aggregates across pods (`sum` of counter rates, `histogram_quantile` over summed buckets):
 * per-pod gauges are never averaged.
 */
import type { AnalysisOutcome, AnalysisResult, NerDeployment } from '../../api/nerdeployment.js';
import { labelMatchers } from '../../prometheus/client.js';
import { ServerMetric } from '../../../contracts/metrics.js';

/** The PromQL of one analysis. */
export interface AnalysisQueries {
  /** Candidate requests in the window. */
  samples: string;
  /** Candidate 5xx responses in the window. */
  errors: string;
  /** Candidate p95 latency in seconds, from the summed histogram buckets. */
  p95Seconds: string;
  /** Shadow comparisons (on the stable pods, which mirror to the candidate) in the window. */
  shadowSamples: string;
  /** Mean entity agreement of those comparisons (sum / count of the histogram, summed over pods). */
  shadowAgreement: string;
  /** Mirrored requests that produced no comparison (any shadow error reason), on the stable pods. */
  shadowErrors: string;
}

/** PromQL for the analysis of `nd`'s candidate over the last `windowSeconds`. */
export function analysisQueries(nd: NerDeployment, windowSeconds: number): AnalysisQueries {
  const base = { namespace: nd.metadata.namespace ?? '', deployment: nd.metadata.name ?? '' };
  const canary = labelMatchers({ ...base, track: 'canary' });
  const stable = labelMatchers({ ...base, track: 'stable' });
  const errSel = canary.replace(/}$/, ',code=~"5.."}');
  const w = `[${windowSeconds}s]`;
  return {
    samples: `sum(increase(${ServerMetric.requests}${canary}${w}))`,
    errors: `sum(increase(${ServerMetric.requests}${errSel}${w})) or vector(0)`,
    p95Seconds: `histogram_quantile(0.95, sum by (le) (rate(${ServerMetric.requestDuration}_bucket${canary}${w})))`,
    shadowSamples: `sum(increase(${ServerMetric.shadowAgreement}_count${stable}${w}))`,
    shadowAgreement: `sum(rate(${ServerMetric.shadowAgreement}_sum${stable}${w})) / sum(rate(${ServerMetric.shadowAgreement}_count${stable}${w}))`,
    shadowErrors: `sum(increase(${ServerMetric.shadowErrors}${stable}${w})) or vector(0)`,
  };
}

/** What Prometheus said, or why it could not be asked. Undefined fields: no series. */
export type Measurements =
  | {
      ok: true;
      samples?: number;
      errors?: number;
      p95Seconds?: number;
      shadowSamples?: number;
      shadowAgreement?: number;
      shadowErrors?: number;
    }
  | { ok: false; reason: string; message: string };

export interface AnalysisThresholdInput {
  maxErrorRate: number;
  maxP95LatencyMs: number;
  minShadowAgreement?: number | undefined;
  minSampleCount: number;
}

export interface AnalysisDecision {
  outcome: AnalysisOutcome;
  /** The status record (time and step added by the caller). */
  result: Omit<AnalysisResult, 'time' | 'stepIndex'>;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const finite = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);

/**
 * Decide one analysis. `shadow` is true in the shadow phase: samples are the mirrored requests (comparisons plus
 * shadow errors), and at least `minSampleCount` comparisons are needed for anything but a Fail; the agreement is
 * checked against `minShadowAgreement` when it is set.
 */
export function decideAnalysis(m: Measurements, t: AnalysisThresholdInput, shadow: boolean): AnalysisDecision {
  if (!m.ok)
    return {
      outcome: 'Inconclusive',
      result: { outcome: 'Inconclusive', message: `${m.reason}: ${m.message}`.slice(0, 1024) },
    };
  const comparisons = finite(m.shadowSamples) ? round(m.shadowSamples, 0) : 0;
  const shadowErrors = finite(m.shadowErrors) ? round(Math.max(0, m.shadowErrors), 0) : undefined;
  const samples = shadow ? comparisons + (shadowErrors ?? 0) : finite(m.samples) ? round(m.samples, 0) : 0;
  const errors = shadow ? (shadowErrors ?? 0) : m.errors;
  const errorRate =
    samples > 0 && finite(errors) ? round(Math.min(1, Math.max(0, errors) / Math.max(samples, 1e-9)), 4) : undefined;
  const p95LatencyMs = finite(m.p95Seconds) ? round(m.p95Seconds * 1000, 2) : undefined;
  const needAgreement = shadow && t.minShadowAgreement !== undefined;
  const shadowAgreement = finite(m.shadowAgreement) ? round(m.shadowAgreement, 4) : undefined;
  const measured = {
    samples,
    ...(errorRate !== undefined ? { errorRate } : {}),
    ...(p95LatencyMs !== undefined ? { p95LatencyMs } : {}),
    ...(shadow && shadowAgreement !== undefined ? { shadowAgreement } : {}),
  };
  const inconclusive = (message: string): AnalysisDecision => ({
    outcome: 'Inconclusive',
    result: { outcome: 'Inconclusive', ...measured, message },
  });
  const what = shadow ? 'mirrored requests' : 'candidate requests';

  // Too little data is never a pass: a candidate that serves nothing has proven nothing.
  if (samples < t.minSampleCount || samples === 0)
    return inconclusive(`too few samples: ${samples} ${what} < minSampleCount ${t.minSampleCount}`);
  const failures: string[] = [];
  if (errorRate !== undefined && errorRate > t.maxErrorRate)
    failures.push(`${shadow ? 'shadow error rate' : 'error rate'} ${errorRate} > maxErrorRate ${t.maxErrorRate}`);
  if (p95LatencyMs !== undefined && p95LatencyMs > t.maxP95LatencyMs)
    failures.push(`p95 latency ${p95LatencyMs} ms > maxP95LatencyMs ${t.maxP95LatencyMs}`);
  if (
    needAgreement &&
    shadowAgreement !== undefined &&
    comparisons >= t.minSampleCount &&
    shadowAgreement < (t.minShadowAgreement ?? 0)
  ) {
    failures.push(`shadow agreement ${shadowAgreement} < minShadowAgreement ${t.minShadowAgreement}`);
  }
  // A crossed threshold fails even when another measurement is missing: the evidence is already there.
  if (failures.length)
    return {
      outcome: 'Fail',
      result: { outcome: 'Fail', ...measured, message: `${failures.join('; ')} (${samples} ${what})` },
    };
  if (errorRate === undefined) return inconclusive('no error-rate data for the candidate');
  if (p95LatencyMs === undefined) return inconclusive('no latency histogram data for the candidate');
  if (shadow && (comparisons < t.minSampleCount || (needAgreement && shadowAgreement === undefined)))
    return inconclusive(`too few shadow comparisons: ${comparisons} < minSampleCount ${t.minSampleCount}`);
  const parts = [`error rate ${errorRate} <= ${t.maxErrorRate}`, `p95 ${p95LatencyMs} ms <= ${t.maxP95LatencyMs} ms`];
  if (needAgreement) parts.push(`shadow agreement ${shadowAgreement} >= ${t.minShadowAgreement}`);
  return {
    outcome: 'Pass',
    result: { outcome: 'Pass', ...measured, message: `${parts.join(', ')} (${samples} ${what})` },
  };
}

/** One line of measurements for Events and the abort reason. */
export function describeAnalysis(
  r: Pick<AnalysisResult, 'samples' | 'errorRate' | 'p95LatencyMs' | 'shadowAgreement' | 'message'>,
): string {
  return (
    r.message ?? `samples ${r.samples ?? 0}, error rate ${r.errorRate ?? 'n/a'}, p95 ${r.p95LatencyMs ?? 'n/a'} ms`
  );
}
