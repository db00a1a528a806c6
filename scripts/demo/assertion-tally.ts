/**
 * What the demo knows about its notes against what the served models said (pure). The demo sends synthetic
 * notes whose findings it knows to be negated, a relative's, uncertain or historical (trainer/synthetic.ts,
 * `assertions: true`); for every answer it records, per kind, how many such findings it sent, how many the
 * model found at their exact span and type, and how many of those the answer reported with that attribute —
 * and how many found findings without it the answer reported with it anyway.
 */
import type { Assertion } from '../../engine/assertions/types.js';
import type { GoldEntity } from '../../trainer/synthetic.js';

/** An entity of an answer, as `/v1/extract` returns it. */
export interface ServedEntity {
  label: string;
  start: number;
  end: number;
  assertion?: Assertion;
}

/** The kinds of finding the summary counts, each an attribute value that is not the default. */
export const KINDS = {
  negated: (a: Assertion) => a.negated,
  "a relative's": (a: Assertion) => a.experiencer === 'other',
  uncertain: (a: Assertion) => a.certainty === 'uncertain',
  hypothetical: (a: Assertion) => a.certainty === 'hypothetical',
  historical: (a: Assertion) => a.temporality === 'historical',
} as const;
export type Kind = keyof typeof KINDS;

export interface KindCounts {
  /** Gold findings of this kind in the answered notes. */
  sent: number;
  /** Of those, found by the model at the exact span and type. */
  found: number;
  /** Of those found, reported with this attribute. */
  reported: number;
  /** Found findings not of this kind that the answer reported as this kind anyway. */
  spurious: number;
}

export class AssertionTally {
  readonly kinds = Object.fromEntries(
    Object.keys(KINDS).map((k) => [k, { sent: 0, found: 0, reported: 0, spurious: 0 }]),
  ) as Record<Kind, KindCounts>;
  notes = 0;
  gold = 0;
  /** Gold findings the model found at the exact span and type. */
  found = 0;
  /** Entities in the answers, and how many of them each kind's attribute marked (what the metrics count). */
  readonly served = {
    entities: 0,
    ...(Object.fromEntries(Object.keys(KINDS).map((k) => [k, 0])) as Record<Kind, number>),
  };

  /** One answered note: its gold findings and the answer's entities. */
  record(gold: readonly GoldEntity[], served: readonly ServedEntity[]): void {
    this.notes++;
    this.gold += gold.length;
    const key = (e: { label: string; start: number; end: number }) => `${e.label}:${e.start}:${e.end}`;
    const byKey = new Map(served.map((e) => [key(e), e.assertion]));
    for (const e of served) {
      this.served.entities++;
      for (const [kind, is] of Object.entries(KINDS) as [Kind, (a: Assertion) => boolean][])
        if (e.assertion && is(e.assertion)) this.served[kind]++;
    }
    for (const g of gold) {
      const found = byKey.get(key(g));
      if (byKey.has(key(g))) this.found++;
      for (const [kind, is] of Object.entries(KINDS) as [Kind, (a: Assertion) => boolean][]) {
        const c = this.kinds[kind];
        const reported = found !== undefined && is(found);
        if (is(g.assertion)) {
          c.sent++;
          if (byKey.has(key(g))) c.found++;
          if (reported) c.reported++;
        } else if (reported) c.spurious++;
      }
    }
  }

  /** The summary's lines, one per kind. */
  lines(): string[] {
    return (Object.entries(this.kinds) as [Kind, KindCounts][]).map(
      ([kind, c]) =>
        `${kind.padEnd(13)} sent ${String(c.sent).padStart(5)} · found ${String(c.found).padStart(5)} · reported as ${kind} ${c.reported}/${c.found}${c.spurious ? ` · ${c.spurious} others wrongly reported as ${kind}` : ' · none wrongly'}`,
    );
  }
}
