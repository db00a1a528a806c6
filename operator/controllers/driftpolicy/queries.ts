/**
 * PromQL for drift: the stable track of the target NerDeployment, summed across its pods (counters are
 * `increase()`d per series first, then summed — never an average of per-pod values), over `spec.window`.
 * Pure string building, plus {@link gatherMeasurements}, which runs the queries through an injected
 * {@link MetricsQuerier} and turns every failure into a reason instead of an exception.
 */
import { ServerMetric } from '../../../contracts/metrics.js';
import type { DriftPolicySpec, DriftSignal } from '../../api/driftpolicy.js';
import { DriftPolicyReason as R } from '../../api/driftpolicy-constants.js';
import type { BaselineProfileStatus } from '../../api/nermodel.js';
import { labelMatchers, PrometheusError, type MetricsQuerier } from '../../prometheus/client.js';
import type { Gathered, WindowMeasurements } from './evaluate.js';
import { bucketsFromCumulative } from './statistics.js';

/** Which pods: the target NerDeployment's stable track in its namespace, serving `model`. */
export interface QueryTarget {
  namespace: string;
  deployment: string;
  /**
   * The serving model (NerModel name, the servers' `model` label). Filtering on it matters right after a
   * promotion: for one window the stable track's series include the previous model's pods, whose outputs
   * must not be compared with the new model's baseline.
   */
  model?: string | undefined;
}

/** A duration such as `15m` as PromQL accepts it (our DurationSchema is a subset of PromQL's syntax). */
export function promqlDuration(window: string): string {
  return window.replace(/\s+/g, '');
}

function selector(t: QueryTarget, extra: Record<string, string> = {}): string {
  return labelMatchers({
    namespace: t.namespace,
    deployment: t.deployment,
    track: 'stable',
    ...(t.model ? { model: t.model } : {}),
    ...extra,
  });
}

/** Every built-in query of one evaluation. */
export function driftQueries(t: QueryTarget, window: string) {
  const w = promqlDuration(window);
  const sel = selector(t);
  return {
    documents: `sum(increase(${ServerMetric.documents}${sel}[${w}]))`,
    requests: `sum(increase(${ServerMetric.requests}${sel}[${w}]))`,
    entitiesByLabel: `sum by (label) (increase(${ServerMetric.entities}${sel}[${w}]))`,
    confidenceBuckets: `sum by (le) (increase(${ServerMetric.entityConfidence}_bucket${sel}[${w}]))`,
    documentLengthBuckets: `sum by (le) (increase(${ServerMetric.documentLength}_bucket${sel}[${w}]))`,
    tokens: `sum(increase(${ServerMetric.tokens}${sel}[${w}]))`,
    unknownTokens: `sum(increase(${ServerMetric.unknownTokens}${sel}[${w}]))`,
    // Every asserted entity adds 1 to exactly one of negated="true"/"false": the two sums are the share's parts.
    negatedEntities: `sum(increase(${ServerMetric.entityAssertions}${selector(t, { attribute: 'negated', value: 'true' })}[${w}]))`,
    assertedEntities: `sum(increase(${ServerMetric.entityAssertions}${selector(t, { attribute: 'negated' })}[${w}]))`,
  };
}

/**
 * Feedback outcomes (tp, fp, fn) of the stable track's model over `window`: a `groundTruthF1` signal's
 * inputs (docs/feedback.md). Summed per outcome across pods, like every counter here.
 */
export function groundTruthQuery(t: QueryTarget, window: string): string {
  return `sum by (outcome) (increase(${ServerMetric.feedbackEntities}${selector(t)}[${promqlDuration(window)}]))`;
}

/**
 * A `promql` signal's query with `$namespace` and `$deployment` substituted (as bare values: the user
 * writes the quotes, e.g. `{namespace="$namespace"}`). `$window` is substituted too, for convenience.
 */
export function customQuery(signal: Pick<DriftSignal, 'query'>, t: QueryTarget, window: string): string {
  return (signal.query ?? '')
    .replace(/\$namespace\b/g, t.namespace)
    .replace(/\$deployment\b/g, t.deployment)
    .replace(/\$window\b/g, promqlDuration(window));
}

/** Which built-in measurements the signals need (a policy with only promql signals queries just those). */
function needs(signals: readonly DriftSignal[]) {
  const types = new Set(signals.map((s) => s.type));
  return {
    labels: types.has('labelDistribution'),
    confidence: types.has('confidence'),
    length: types.has('documentLength'),
    unknown: types.has('unknownTokenRate'),
    negated: types.has('negatedShare'),
  };
}

/**
 * Run the queries of one evaluation. Prometheus errors (unreachable, refused query) become
 * `{ ok: false, reason: PrometheusUnreachable }`; empty results are not errors (they are no data, and the
 * document count then decides InsufficientData).
 */
export async function gatherMeasurements(
  prometheus: MetricsQuerier | undefined,
  spec: Pick<DriftPolicySpec, 'signals' | 'window'>,
  t: QueryTarget,
  baseline: BaselineProfileStatus | undefined,
): Promise<Gathered> {
  if (!prometheus)
    return {
      ok: false,
      reason: R.PrometheusUnreachable,
      message: 'no Prometheus is configured (ner-ops operator --prometheus-url)',
    };
  const q = driftQueries(t, spec.window);
  const need = needs(spec.signals);
  try {
    const [documents, requests] = await Promise.all([prometheus.query(q.documents), prometheus.query(q.requests)]);
    const m: WindowMeasurements = { documents: documents.value, requests: requests.value };
    if (need.labels) {
      const r = await prometheus.query(q.entitiesByLabel);
      m.labelCounts = Object.fromEntries(
        r.samples
          .filter((s) => s.labels.label !== undefined && Number.isFinite(s.value))
          .map((s) => [s.labels.label as string, Math.max(0, s.value)]),
      );
    }
    if (need.confidence && baseline) {
      const r = await prometheus.query(q.confidenceBuckets);
      m.confidence = r.samples.length
        ? bucketsFromCumulative(
            r.samples.map((s) => ({ le: s.labels.le ?? '', value: s.value })),
            baseline.confidence.bounds,
          )
        : undefined;
    }
    if (need.length && baseline) {
      const r = await prometheus.query(q.documentLengthBuckets);
      m.documentLength = r.samples.length
        ? bucketsFromCumulative(
            r.samples.map((s) => ({ le: s.labels.le ?? '', value: s.value })),
            baseline.documentLength.bounds,
          )
        : undefined;
    }
    if (need.unknown) {
      const [tokens, unknown] = await Promise.all([prometheus.query(q.tokens), prometheus.query(q.unknownTokens)]);
      m.tokens = tokens.value;
      m.unknownTokens = unknown.value;
    }
    if (need.negated) {
      const [negated, asserted] = await Promise.all([
        prometheus.query(q.negatedEntities),
        prometheus.query(q.assertedEntities),
      ]);
      m.negatedEntities = negated.value;
      m.assertedEntities = asserted.value;
    }
    const custom: Record<string, number | undefined> = {};
    for (const s of spec.signals)
      if (s.type === 'promql') custom[s.name] = (await prometheus.query(customQuery(s, t, spec.window))).value;
    m.custom = custom;
    const groundTruth: Record<string, { tp: number; fp: number; fn: number }> = {};
    for (const s of spec.signals) {
      if (s.type !== 'groundTruthF1') continue;
      const r = await prometheus.query(groundTruthQuery(t, s.window ?? spec.window));
      const of = (outcome: string) => Math.max(0, r.samples.find((x) => x.labels.outcome === outcome)?.value ?? 0);
      groundTruth[s.name] = { tp: of('tp'), fp: of('fp'), fn: of('fn') };
    }
    m.groundTruth = groundTruth;
    return { ok: true, measurements: m };
  } catch (err) {
    const message =
      err instanceof PrometheusError ? err.message : `querying Prometheus failed: ${(err as Error).message}`;
    return { ok: false, reason: R.PrometheusUnreachable, message: message.slice(0, 500) };
  }
}
