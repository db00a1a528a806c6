/**
 * The feedback F1 gate of the canary analysis (`spec.rollout.analysis.feedbackF1`): the candidate's live entity
 * F1 on the corrections people post (`POST /v1/feedback`, docs/feedback.md) must not be below the stable model's
 * by more than `maxDrop`. Feedback requests spread over both tracks like any request, so each track's pods
 * score their own model against the same kind of notes.
 *
 * Its outcome is a {@link MetricResult} named {@link FEEDBACK_F1_METRIC} that joins the custom metrics
 * (custom-analysis.ts `combineAnalysis`: the worse outcome wins), three-valued like them:
 * - either track with fewer than `minGoldEntities` gold entities (TP + FN) in the window: Inconclusive, never a
 *   pass (an F1 over a few dozen entities is noise, docs/feedback.md "Live F1");
 * - candidate F1 < stable F1 - maxDrop: Fail; otherwise Pass.
 * Each track is selected by its model too, so the candidate's counts are its own even right after a promotion.
 */
import {
  FEEDBACK_F1_METRIC,
  type FeedbackF1Gate,
  type MetricResult,
  type NerDeployment,
} from '../../api/nerdeployment.js';
import { ServerMetric } from '../../../contracts/metrics.js';
import { labelMatchers, PrometheusError, type MetricsQuerier } from '../../prometheus/client.js';

/** Feedback outcomes of one track over the window. */
export interface OutcomeCounts {
  tp: number;
  fp: number;
  fn: number;
}

/** Per-outcome feedback counts of one track's model over `window`, summed across its pods. */
export function trackOutcomesQuery(
  nd: NerDeployment,
  track: 'stable' | 'canary',
  model: string,
  window: string,
): string {
  const sel = labelMatchers({
    namespace: nd.metadata.namespace ?? '',
    deployment: nd.metadata.name ?? '',
    track,
    model,
  });
  return `sum by (outcome) (increase(${ServerMetric.feedbackEntities}${sel}[${window.replace(/\s+/g, '')}]))`;
}

/** Entity F1 = 2·TP / (2·TP + FP + FN); undefined without any entity. */
export function entityF1(c: OutcomeCounts): number | undefined {
  const d = 2 * c.tp + c.fp + c.fn;
  return d > 0 ? (2 * c.tp) / d : undefined;
}

const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** Decide the gate over both tracks' counts (undefined: not measured, with why). Pure. */
export function decideFeedbackGate(
  gate: Pick<FeedbackF1Gate, 'maxDrop' | 'minGoldEntities'>,
  counts: { ok: true; candidate: OutcomeCounts; stable: OutcomeCounts } | { ok: false; message: string },
): MetricResult {
  const result = (outcome: MetricResult['outcome'], message: string, value?: number): MetricResult => ({
    name: FEEDBACK_F1_METRIC,
    outcome,
    ...(value !== undefined ? { value: r4(value) } : {}),
    message: message.slice(0, 256),
  });
  if (!counts.ok) return result('Inconclusive', counts.message);
  const gold = (c: OutcomeCounts) => Math.round(c.tp + c.fn);
  const [cg, sg] = [gold(counts.candidate), gold(counts.stable)];
  if (cg < gate.minGoldEntities || sg < gate.minGoldEntities)
    return result(
      'Inconclusive',
      `too few gold entities: candidate ${cg}, stable ${sg} < minGoldEntities ${gate.minGoldEntities}`,
    );
  const cf = entityF1(counts.candidate) ?? 0;
  const sf = entityF1(counts.stable) ?? 0;
  const drop = sf - cf;
  const measured = `candidate F1 ${r4(cf)} vs stable ${r4(sf)} (gold entities ${cg} / ${sg})`;
  if (drop > gate.maxDrop) return result('Fail', `${measured}: drop ${r4(drop)} > maxDrop ${gate.maxDrop}`, cf - sf);
  return result('Pass', `${measured}: drop ${r4(Math.max(0, drop))} <= maxDrop ${gate.maxDrop}`, cf - sf);
}

function countsOf(samples: readonly { labels: Record<string, string | undefined>; value: number }[]): OutcomeCounts {
  const of = (o: string) => {
    const v = samples.find((s) => s.labels.outcome === o)?.value;
    return v !== undefined && Number.isFinite(v) ? Math.max(0, v) : 0;
  };
  return { tp: of('tp'), fp: of('fp'), fn: of('fn') };
}

/**
 * Measure and decide the gate for `nd`'s candidate, or nothing when the spec has no gate. Prometheus failing is
 * Inconclusive, never an exception.
 */
export async function measureFeedbackGate(
  prometheus: MetricsQuerier | undefined,
  nd: NerDeployment,
): Promise<MetricResult[]> {
  const gate = nd.spec.rollout.analysis?.feedbackF1;
  if (!gate) return [];
  const candidate = nd.status?.canaryModel;
  const stable = nd.status?.stableModel;
  if (!prometheus) return [decideFeedbackGate(gate, { ok: false, message: 'no Prometheus is configured' })];
  if (!candidate || !stable)
    return [decideFeedbackGate(gate, { ok: false, message: 'no candidate and stable model to compare' })];
  try {
    const [c, s] = await Promise.all([
      prometheus.query(trackOutcomesQuery(nd, 'canary', candidate, gate.window)),
      prometheus.query(trackOutcomesQuery(nd, 'stable', stable, gate.window)),
    ]);
    return [decideFeedbackGate(gate, { ok: true, candidate: countsOf(c.samples), stable: countsOf(s.samples) })];
  } catch (err) {
    const message = err instanceof PrometheusError ? `${err.reason}: ${err.message}` : (err as Error).message;
    return [decideFeedbackGate(gate, { ok: false, message: message.slice(0, 200) })];
  }
}
