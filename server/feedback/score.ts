/**
 * Scoring a model's entities against the ones a person verified: exact span and type, per type, as
 * conlleval counts them. Pure; the route turns the counts into `nerops_feedback_entities_total`.
 */
import type { AssertionAttribute, FeedbackAssertionOutcome, FeedbackOutcome } from '../../contracts/metrics.js';
import type { Assertion } from '../../engine/assertions/types.js';

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

/** Agreements and disagreements of one assertion attribute. */
export type AgreementCounts = Record<FeedbackAssertionOutcome, number>;

const ATTRIBUTES: readonly AssertionAttribute[] = ['negated', 'certainty', 'temporality', 'experiencer'];

/**
 * Per assertion attribute, how often the model's value is the verified one, over the entities the model found
 * at the verified span and type (its true positives; a missed or spurious entity has nothing to agree on). A
 * gold entity's attribute that the person left out, or a model entity without an assertion, is not compared.
 * Every attribute is present, with zeros when nothing was compared.
 */
export function assertionAgreement(
  gold: readonly (Span & { assertion?: Partial<Assertion> | undefined })[],
  predicted: readonly (Span & { assertion?: Assertion | undefined })[],
): Record<AssertionAttribute, AgreementCounts> {
  const out = Object.fromEntries(ATTRIBUTES.map((a) => [a, { agree: 0, disagree: 0 }])) as Record<
    AssertionAttribute,
    AgreementCounts
  >;
  const key = (s: Span) => `${s.label}\u0000${s.start}\u0000${s.end}`;
  const model = new Map(predicted.map((p) => [key(p), p.assertion]));
  for (const g of gold) {
    const found = model.get(key(g));
    if (!g.assertion || !found) continue;
    for (const a of ATTRIBUTES) {
      const verified = g.assertion[a];
      if (verified === undefined) continue;
      out[a][verified === found[a] ? 'agree' : 'disagree']++;
    }
  }
  return out;
}
