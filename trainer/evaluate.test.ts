import { describe, expect, it } from 'vitest';
import { spansFromBio } from '../engine/decoding/bio.js';
import { evaluateSequences } from './evaluate.js';

describe('spansFromBio', () => {
  it('groups B-/I- runs and splits on type changes', () => {
    expect(spansFromBio(['B-D', 'I-D', 'O', 'B-T', 'B-T', 'I-T', 'I-D'])).toEqual([
      { type: 'D', start: 0, end: 2 },
      { type: 'T', start: 3, end: 4 },
      { type: 'T', start: 4, end: 6 },
      { type: 'D', start: 6, end: 7 },
    ]);
  });
  it('drops a stray I- in strict mode only', () => {
    expect(spansFromBio(['O', 'I-D', 'I-D'], true)).toEqual([]);
    expect(spansFromBio(['O', 'I-D', 'I-D'], false)).toEqual([{ type: 'D', start: 1, end: 3 }]);
  });
});

describe('evaluateSequences', () => {
  it('scores exact spans, micro and per type (hand-computed)', () => {
    // Gold: D[0,2) T[3,4) D[5,6)   Predicted: D[0,2) (correct) T[3,5) (wrong end) D[5,6) (correct) T[7,8) (spurious)
    const gold = [['B-D', 'I-D', 'O', 'B-T', 'O', 'B-D', 'O', 'O']];
    const pred = [['B-D', 'I-D', 'O', 'B-T', 'I-T', 'B-D', 'O', 'B-T']];
    const r = evaluateSequences(gold, pred);
    expect(r.micro.correct).toBe(2);
    expect(r.micro.predicted).toBe(4);
    expect(r.micro.support).toBe(3);
    expect(r.micro.precision).toBeCloseTo(0.5);
    expect(r.micro.recall).toBeCloseTo(2 / 3);
    expect(r.micro.f1).toBeCloseTo((2 * 0.5 * (2 / 3)) / (0.5 + 2 / 3));
    expect(r.perType.D).toMatchObject({ precision: 1, recall: 1, f1: 1, support: 2 });
    expect(r.perType.T).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 1, predicted: 2 });
    expect(r.tokens).toBe(8);
  });

  it('treats a wrong type as both a false positive and a false negative', () => {
    const r = evaluateSequences([['B-D']], [['B-T']]);
    expect(r.micro).toMatchObject({ correct: 0, predicted: 1, support: 1, f1: 0 });
  });

  it('returns zeros, not NaN, when nothing is predicted or present', () => {
    const r = evaluateSequences([['O', 'O']], [['O', 'O']]);
    expect(r.micro).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });

  it('refuses mismatched lengths', () => {
    expect(() => evaluateSequences([['O']], [['O', 'O']])).toThrow('sentence 1 has 1 gold labels but 2 predicted');
  });
});
