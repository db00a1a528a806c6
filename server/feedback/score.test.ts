import { describe, expect, it } from 'vitest';
import { scoreEntities, totalCounts } from './score.js';

describe('scoreEntities', () => {
  it('counts exact span and type matches per type', () => {
    const gold = [
      { label: 'DISEASE', start: 0, end: 5 },
      { label: 'DISEASE', start: 10, end: 15 },
      { label: 'TREATMENT', start: 20, end: 25 },
    ];
    const predicted = [
      { label: 'DISEASE', start: 0, end: 5 }, // tp
      { label: 'DISEASE', start: 10, end: 14 }, // fp (boundary) + the gold one is fn
      { label: 'DISEASE', start: 20, end: 25 }, // fp (type) + TREATMENT fn
    ];
    const s = scoreEntities(gold, predicted);
    expect(s).toEqual({ DISEASE: { tp: 1, fp: 2, fn: 1 }, TREATMENT: { tp: 0, fp: 0, fn: 1 } });
    expect(totalCounts(s)).toEqual({ tp: 1, fp: 2, fn: 2 });
  });

  it('is empty when neither side has entities', () => {
    expect(scoreEntities([], [])).toEqual({});
  });
});
