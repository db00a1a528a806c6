import { describe, expect, it } from 'vitest';
import { DEFAULT_ASSERTION } from '../../engine/assertions/types.js';
import type { GoldEntity } from '../../trainer/synthetic.js';
import { AssertionTally } from './assertion-tally.js';

const plain = { ...DEFAULT_ASSERTION };
const negated = { ...plain, negated: true };
const relative = { ...plain, experiencer: 'other' as const };
const g = (start: number, assertion = plain, label: GoldEntity['label'] = 'DISEASE'): GoldEntity => ({
  label,
  start,
  end: start + 4,
  assertion,
});

describe('AssertionTally', () => {
  it('counts per kind what was sent, found at the exact span and type, and reported as that kind', () => {
    const t = new AssertionTally();
    t.record(
      [g(0, negated), g(10, negated), g(20, relative), g(30), g(40, negated, 'TREATMENT')],
      [
        { ...g(0), assertion: negated }, // negated, reported negated
        { ...g(10), assertion: plain }, // negated, reported affirmed
        { ...g(20), assertion: relative },
        { ...g(30), assertion: negated }, // affirmed, wrongly reported negated
        { ...g(40), label: 'DISEASE', assertion: negated }, // wrong type: not found
        { ...g(50), assertion: negated }, // not in the gold at all
      ],
    );
    expect(t.notes).toBe(1);
    expect(t.gold).toBe(5);
    expect(t.found).toBe(4);
    expect(t.kinds.negated).toEqual({ sent: 3, found: 2, reported: 1, spurious: 1 });
    expect(t.kinds["a relative's"]).toEqual({ sent: 1, found: 1, reported: 1, spurious: 0 });
    expect(t.kinds.uncertain).toEqual({ sent: 0, found: 0, reported: 0, spurious: 0 });
    expect(t.served).toMatchObject({ entities: 6, negated: 4, "a relative's": 1 });
    expect(t.lines()[0]).toBe(
      'negated       sent     3 · found     2 · reported as negated 1/2 · 1 others wrongly reported as negated',
    );
  });

  it('counts nothing as reported when the answers carry no assertion', () => {
    const t = new AssertionTally();
    t.record([g(0, negated)], [{ label: 'DISEASE', start: 0, end: 4 }]);
    expect(t.kinds.negated).toEqual({ sent: 1, found: 1, reported: 0, spurious: 0 });
  });
});
