import { describe, expect, it } from 'vitest';
import { DenseBranch } from './dense.js';
import { mergeEnsemble } from './train.js';
import type { CrfWeights } from './crf-sgd.js';

const shape = { window: 3, dim: 2, hidden: 4, labels: 3 };
const table = Float32Array.from({ length: 5 * shape.dim }, (_, i) => Math.cos(i));
const ids = Int32Array.from([0, 1, 2, 3, 4, 0]);

function model(seed: number): CrfWeights {
  const dense = DenseBranch.init(shape, seed);
  dense.b1.set([0.2, -0.1, 0.3, 0.05]);
  dense.b2.set([seed * 0.1, -0.2, 0.3]);
  const t = (k: number) => Float64Array.from({ length: k }, (_, i) => Math.sin(i + seed));
  return { emission: Float32Array.from({ length: 6 }, (_, i) => i * seed * 0.01), transitions: { trans: t(9), start: t(3), end: t(3) }, dense };
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
    for (const m of members) denseOut(m.dense as DenseBranch).forEach((v, i) => (want[i] = (want[i] as number) + v / 3));
    const got = denseOut(merged.dense as DenseBranch);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i] as number, 12);
    expect(merged.emission[5]).toBeCloseTo((5 * 0.01 * (1 + 2 + 3)) / 3, 6);
    expect(merged.transitions.start[1]).toBeCloseTo((Math.sin(2) + Math.sin(3) + Math.sin(4)) / 3, 12);
  });
});
