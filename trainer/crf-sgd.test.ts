import { describe, expect, it } from 'vitest';
import { decodeWithWeights, trainCrfSgd, type EncodedSentence } from './crf-sgd.js';

// Labels O, B-E, I-E. Feature 0 is the ambiguous word, feature 1 an always-O word; bucket 2 is padding.
const labels = ['O', 'B-E', 'I-E'];
const ambiguous = (gold: number): EncodedSentence => ({
  features: Int32Array.from([1, 0]),
  gold: Int32Array.from([0, gold]),
});

/**
 * The ambiguous word is an entity in 4 sentences of 10: a likelihood-trained model tags it O (it learns
 * P(entity) ≈ 0.4). With cost c the optimum d = score(B) − score(O) solves 0.4·σ(c − d) = 0.6·σ(d), which
 * is positive once 0.4·σ(c) > 0.3, i.e. c > 1.1: cost 2 must flip the decision.
 */
const data: EncodedSentence[] = [
  ...Array.from({ length: 4 }, () => ambiguous(1)),
  ...Array.from({ length: 6 }, () => ambiguous(0)),
];

function train(missedEntityCost?: number) {
  return trainCrfSgd(data, {
    labels,
    buckets: 2,
    slots: 1,
    epochs: 30,
    averageFrom: 10,
    c2: 0.01,
    eta0: 0.1,
    seed: 3,
    ...(missedEntityCost === undefined ? {} : { missedEntityCost }),
  });
}

describe('softmax-margin recall cost', () => {
  it('changes nothing at cost 0', () => {
    expect(train(0).emission).toEqual(train().emission);
  });

  it('turns a minority entity reading into the decision once missing it costs enough', () => {
    const probe = [ambiguous(0)];
    expect(decodeWithWeights(probe, train(0), labels, 1)[0]).toEqual(['O', 'O']);
    expect(decodeWithWeights(probe, train(2), labels, 1)[0]).toEqual(['O', 'B-E']);
  });

  it('refuses a negative cost', () => {
    expect(() => train(-1)).toThrow(/missedEntityCost must be a finite number ≥ 0/);
  });
});
