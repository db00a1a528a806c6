import { describe, expect, it } from 'vitest';
import { DenseBranch } from './dense.js';
import { mergeEnsemble } from './stages/merge-ensemble.js';
import type { CrfWeights } from './crf-sgd.js';

const shape = { window: 3, dim: 2, hidden: 4, labels: 3 };
const table = Float32Array.from({ length: 5 * shape.dim }, (_, i) => Math.cos(i));
const ids = Int32Array.from([0, 1, 2, 3, 4, 0]);

function model(seed: number): CrfWeights {
  const dense = DenseBranch.init(shape, seed);
  dense.b1.set([0.2, -0.1, 0.3, 0.05]);
  dense.b2.set([seed * 0.1, -0.2, 0.3]);
  const t = (k: number) => Float64Array.from({ length: k }, (_, i) => Math.sin(i + seed));
  return {
    emission: Float32Array.from({ length: 6 }, (_, i) => i * seed * 0.01),
    transitions: { trans: t(9), start: t(3), end: t(3) },
    dense,
  };
}

function denseOut(d: DenseBranch): Float64Array {
  const out = new Float64Array(2 * shape.labels);
  d.forward(ids, 2, table, out, new Float64Array(2 * d.shape.hidden));
  return out;
}

describe('mergeEnsemble', () => {
  it('folds K models into one whose emissions are exactly their mean', () => {
    const members = [model(1), model(2), model(3)];
    const merged = mergeEnsemble(members);
    expect(merged.dense?.shape.hidden).toBe(12);
    const want = new Float64Array(2 * shape.labels);
    for (const m of members)
      denseOut(m.dense as DenseBranch).forEach((v, i) => (want[i] = (want[i] as number) + v / 3));
    const got = denseOut(merged.dense as DenseBranch);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i] as number, 12);
    expect(merged.emission[5]).toBeCloseTo((5 * 0.01 * (1 + 2 + 3)) / 3, 6);
    expect(merged.transitions.start[1]).toBeCloseTo((Math.sin(2) + Math.sin(3) + Math.sin(4)) / 3, 12);
  });

  it('averages a linear member in as a zero dense output', () => {
    const wide = model(1);
    const linear: CrfWeights = {
      emission: Float32Array.from({ length: 6 }, (_, i) => i),
      transitions: model(2).transitions,
    };
    const merged = mergeEnsemble([wide, linear]);
    expect(merged.dense?.shape.hidden).toBe(shape.hidden);
    const want = denseOut(wide.dense as DenseBranch).map((v) => v / 2);
    const got = denseOut(merged.dense as DenseBranch);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i] as number, 12);
    expect(merged.emission[5]).toBeCloseTo((5 * 0.01 + 5) / 2, 6);
  });

  it('merges linear members alone into a linear model', () => {
    const a: CrfWeights = { emission: Float32Array.from([1, 2]), transitions: model(1).transitions };
    const b: CrfWeights = { emission: Float32Array.from([3, 4]), transitions: model(2).transitions };
    const merged = mergeEnsemble([a, b]);
    expect(merged.dense).toBeUndefined();
    expect(Array.from(merged.emission)).toEqual([2, 3]);
  });
});
