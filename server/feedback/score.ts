/**
 * Scoring a model's entities against the ones a person verified: exact span and type, per type, as
 * conlleval counts them. Pure; the route turns the counts into `nerops_feedback_entities_total`.
 */
import type { FeedbackOutcome } from '../../contracts/metrics.js';

export interface Span {
  label: string;
  start: number;
  end: number;
}

/** True positives, false positives and false negatives of one entity type. */
export type OutcomeCounts = Record<FeedbackOutcome, number>;

/** Per-type counts of `predicted` against `gold`; types present in neither are absent. */
export function scoreEntities(gold: readonly Span[], predicted: readonly Span[]): Record<string, OutcomeCounts> {
  const key = (s: Span) => `${s.label}\u0000${s.start}\u0000${s.end}`;
  const goldKeys = new Set(gold.map(key));
  const predictedKeys = new Set(predicted.map(key));
  const out: Record<string, OutcomeCounts> = {};
  const bump = (label: string, outcome: FeedbackOutcome) => {
    const c = (out[label] ??= { tp: 0, fp: 0, fn: 0 });
    c[outcome]++;
  };
  for (const p of predictedKeys) bump(p.split('\u0000')[0] as string, goldKeys.has(p) ? 'tp' : 'fp');
  for (const g of goldKeys) if (!predictedKeys.has(g)) bump(g.split('\u0000')[0] as string, 'fn');
  return out;
}

/** Sums over types. */
export function totalCounts(perLabel: Readonly<Record<string, OutcomeCounts>>): OutcomeCounts {
  const t: OutcomeCounts = { tp: 0, fp: 0, fn: 0 };
  for (const c of Object.values(perLabel)) {
    t.tp += c.tp;
    t.fp += c.fp;
    t.fn += c.fn;
  }
  return t;
}
