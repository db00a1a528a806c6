import { describe, expect, it } from 'vitest';
import { assertionAgreement, scoreEntities, totalCounts } from './score.js';

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

describe('assertionAgreement', () => {
  const plain = { negated: false, certainty: 'certain', temporality: 'current', experiencer: 'patient' } as const;

  it('compares the verified attributes of the entities found at the verified span and type', () => {
    const gold = [
      { label: 'DISEASE', start: 0, end: 5, assertion: { negated: true, experiencer: 'patient' as const } },
      { label: 'DISEASE', start: 10, end: 15, assertion: { ...plain, certainty: 'uncertain' as const } },
      { label: 'TREATMENT', start: 20, end: 25, assertion: { negated: true } }, // missed: nothing to compare
      { label: 'DISEASE', start: 30, end: 35 }, // nothing verified
    ];
    const predicted = [
      { label: 'DISEASE', start: 0, end: 5, assertion: { ...plain, negated: true } },
      { label: 'DISEASE', start: 10, end: 15, assertion: plain },
      { label: 'DISEASE', start: 30, end: 35, assertion: { ...plain, negated: true } },
      { label: 'TREATMENT', start: 40, end: 45, assertion: { ...plain, negated: true } }, // spurious
    ];
    expect(assertionAgreement(gold, predicted)).toEqual({
      negated: { agree: 2, disagree: 0 },
      certainty: { agree: 0, disagree: 1 },
      temporality: { agree: 1, disagree: 0 },
      experiencer: { agree: 2, disagree: 0 },
    });
  });

  it('compares nothing when the model has no assertion stage', () => {
    const span = { label: 'DISEASE', start: 0, end: 5 };
    expect(assertionAgreement([{ ...span, assertion: plain }], [span])).toEqual({
      negated: { agree: 0, disagree: 0 },
      certainty: { agree: 0, disagree: 0 },
      temporality: { agree: 0, disagree: 0 },
      experiencer: { agree: 0, disagree: 0 },
    });
  });
});
