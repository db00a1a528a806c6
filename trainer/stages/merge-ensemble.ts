/**
 * The fitted members of an ensemble, merged into the one model a bundle ships.
 */
import { DenseBranch } from '../dense.js';
import type { CrfWeights } from '../crf-sgd.js';

/**
 * Average K models into one: sparse weights and transitions average linearly; the MLPs of the members
 * that have one are stacked side by side (hidden layers concatenated, output weights and biases divided
 * by K), so the single graph computes exactly the mean of the K models' emissions. A member without an
 * MLP (a linear CRF) contributes zero dense output, which the stacking expresses by leaving it out.
 */
export function mergeEnsemble(models: readonly CrfWeights[]): CrfWeights {
  const K = models.length;
  const first = models[0] as CrfWeights;
  if (K === 1) return first;
  const emission = new Float32Array(first.emission.length);
  for (const m of models)
    for (let k = 0; k < emission.length; k++) emission[k] = (emission[k] as number) + (m.emission[k] as number) / K;
  const avg = (pick: (m: CrfWeights) => Float64Array) => {
    const out = new Float64Array(pick(first).length);
    for (const m of models) pick(m).forEach((v, k) => (out[k] = (out[k] as number) + v / K));
    return out;
  };
  const transitions = {
    trans: avg((m) => m.transitions.trans),
    start: avg((m) => m.transitions.start),
    end: avg((m) => m.transitions.end),
  };
  const withDense = models.flatMap((m) => (m.dense ? [m.dense] : []));
  const firstDense = withDense[0];
  if (!firstDense) return { emission, transitions };
  const shape = firstDense.shape;
  const { hidden: H, labels: L } = shape;
  const inDim = firstDense.inDim;
  const merged = new DenseBranch({ ...shape, hidden: H * withDense.length });
  withDense.forEach((d, k) => {
    if (d.shape.hidden !== H || d.inDim !== inDim) throw new Error('ensemble members have different dense shapes');
    merged.w1.set(d.w1, k * H * inDim);
    for (let h = 0; h < H; h++) merged.b1[k * H + h] = d.b1[h] as number;
    for (let h = 0; h < H; h++)
      for (let y = 0; y < L; y++) merged.w2[(k * H + h) * L + y] = (d.w2[h * L + y] as number) / K;
    for (let y = 0; y < L; y++) merged.b2[y] = (merged.b2[y] as number) + (d.b2[y] as number) / K;
  });
  return { emission, transitions, dense: merged };
}
