/**
 * Custom analysis metrics (spec.rollout.analysis.metrics): user PromQL with placeholders the operator fills,
 * judged by success/failure conditions (condition-expr.ts), three-valued like the built-in analysis.
 *
 * Outcome of one metric, Argo Rollouts' rules:
 * - no sample, a NaN, or a condition naming a sample that is not there: Inconclusive (never a pass);
 * - failureCondition true: Fail; successCondition true: Pass;
 * - only successCondition and it is false: Fail; only failureCondition and it is false: Pass;
 * - both set and neither true: Inconclusive.
 * A condition that does not parse is Inconclusive with the syntax error: the rollout holds until it is fixed.
 */
import type { AnalysisMetric, MetricResult, NerDeployment } from '../../api/nerdeployment.js';
import type { AnalysisOutcome } from '../../api/nerdeployment.js';
import { PrometheusError, type MetricsQuerier } from '../../prometheus/client.js';
import type { AnalysisDecision } from './analysis.js';
import { ConditionSyntaxError, evaluateCondition, parseCondition } from './condition-expr.js';

/** What the placeholders stand for. */
export interface QueryContext {
  namespace: string;
  deployment: string;
  /** Always `canary`: the analysis judges the candidate. */
  track: string;
  /** The candidate NerModel's name. */
  model: string;
}

/**
 * Fill `{{namespace}}`, `{{deployment}}`, `{{track}}` and `{{model}}`. The values are Kubernetes names (DNS
 * labels/subdomains: no quote or backslash), so they are safe inside a PromQL string literal as they are.
 */
export function fillQuery(query: string, ctx: QueryContext): string {
  return query.replace(/\{\{\s*(namespace|deployment|track|model)\s*\}\}/g, (_, k: keyof QueryContext) => ctx[k]);
}

/** The query's samples as measured, or why it could not be asked. */
export type MetricSamples = { ok: true; values: number[] } | { ok: false; message: string };

function condition(src: string | undefined, values: number[]): boolean | undefined | ConditionSyntaxError {
  if (src === undefined) return undefined;
  try {
    return evaluateCondition(parseCondition(src), values);
  } catch (err) {
    if (err instanceof ConditionSyntaxError) return err;
    throw err;
  }
}

/** Decide one metric. Pure. */
export function decideMetric(metric: AnalysisMetric, samples: MetricSamples): MetricResult {
  const result = (outcome: AnalysisOutcome, message: string, value?: number): MetricResult => ({
    name: metric.name,
    outcome,
    ...(value !== undefined && Number.isFinite(value) ? { value: Math.round(value * 1e6) / 1e6 } : {}),
    message: message.slice(0, 256),
  });
  if (!samples.ok) return result('Inconclusive', samples.message);
  const values = samples.values;
  const first = values[0];
  if (first === undefined || Number.isNaN(first)) return result('Inconclusive', 'the query returned no data');
  const failed = condition(metric.failureCondition, values);
  const succeeded = condition(metric.successCondition, values);
  for (const [which, c] of [
    ['failureCondition', failed],
    ['successCondition', succeeded],
  ] as const)
    if (c instanceof ConditionSyntaxError) return result('Inconclusive', `${which}: ${c.message}`, first);
  const hasFail = metric.failureCondition !== undefined;
  const hasSuccess = metric.successCondition !== undefined;
  if ((hasFail && failed === undefined) || (hasSuccess && succeeded === undefined))
    return result('Inconclusive', 'a condition refers to a sample the query did not return', first);
  if (failed === true) return result('Fail', `failureCondition holds (result ${first})`, first);
  if (succeeded === true) return result('Pass', `successCondition holds (result ${first})`, first);
  if (hasSuccess && !hasFail) return result('Fail', `successCondition does not hold (result ${first})`, first);
  if (hasFail && !hasSuccess) return result('Pass', `failureCondition does not hold (result ${first})`, first);
  return result('Inconclusive', `neither condition holds (result ${first})`, first);
}

/** Run one metric's query; failures become an unavailable measurement, never an exception. */
export async function measureMetric(
  prometheus: MetricsQuerier | undefined,
  metric: AnalysisMetric,
  ctx: QueryContext,
): Promise<MetricResult> {
  if (!prometheus) return decideMetric(metric, { ok: false, message: 'no Prometheus is configured' });
  try {
    const r = await prometheus.query(fillQuery(metric.query, ctx));
    const values = r.samples.length ? r.samples.map((s) => s.value) : r.value !== undefined ? [r.value] : [];
    return decideMetric(metric, { ok: true, values });
  } catch (err) {
    const message = err instanceof PrometheusError ? `${err.reason}: ${err.message}` : (err as Error).message;
    return decideMetric(metric, { ok: false, message: message.slice(0, 200) });
  }
}

/** Measure every custom metric of `nd` for its candidate `model`. */
export async function measureCustomMetrics(
  prometheus: MetricsQuerier | undefined,
  nd: NerDeployment,
  model: string,
): Promise<MetricResult[]> {
  const metrics = nd.spec.rollout.analysis?.metrics ?? [];
  const ctx: QueryContext = {
    namespace: nd.metadata.namespace ?? '',
    deployment: nd.metadata.name ?? '',
    track: 'canary',
    model,
  };
  return Promise.all(metrics.map((m) => measureMetric(prometheus, m, ctx)));
}

const RANK: Record<AnalysisOutcome, number> = { Pass: 0, Inconclusive: 1, Fail: 2 };

/**
 * Join the custom metrics into the built-in decision: the worse outcome wins (Fail over Inconclusive over
 * Pass), so a custom metric can hold or fail a rollout but never pass one the thresholds did not.
 */
export function combineAnalysis(builtin: AnalysisDecision, metrics: readonly MetricResult[]): AnalysisDecision {
  if (!metrics.length) return builtin;
  const worst = metrics.reduce<MetricResult | undefined>(
    (w, m) => (w === undefined || RANK[m.outcome] > RANK[w.outcome] ? m : w),
    undefined,
  );
  const custom = worst && RANK[worst.outcome] > RANK[builtin.outcome] ? worst : undefined;
  const outcome = custom ? custom.outcome : builtin.outcome;
  const message = custom ? `metric ${custom.name}: ${custom.message ?? custom.outcome}` : builtin.result.message;
  return {
    outcome,
    result: {
      ...builtin.result,
      outcome,
      ...(message ? { message: message.slice(0, 1024) } : {}),
      metrics: [...metrics],
    },
  };
}
