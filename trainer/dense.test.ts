import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { DenseBranch } from './dense.js';
import { crfEmissionModel } from '../engine/runtimes/onnx-model.js';
import { EmbeddingVocabulary, embeddingTable } from '../engine/features/embedding-vocabulary.js';
import { createSession } from '../engine/runtimes/crf-engine.js';

const shape = { window: 3, dim: 4, hidden: 5, labels: 3 };
const rows = 6;
const table = Float32Array.from({ length: rows * shape.dim }, (_, i) => Math.sin(i * 0.7) * 0.8);
const ids = Int32Array.from([0, 1, 2, 1, 2, 3, 2, 3, 5]); // 3 tokens × window 3
const n = 3;

function objective(d: DenseBranch, g: Float64Array): number {
  const out = new Float64Array(n * shape.labels);
  d.forward(ids, n, table, out, new Float64Array(n * shape.hidden));
  return out.reduce((s, v, i) => s + v * (g[i] as number), 0);
}

describe('DenseBranch', () => {
  it('backward matches finite differences of the forward pass', () => {
    const d = DenseBranch.init(shape, 3);
    // Biases away from zero so no ReLU sits at its kink.
    d.b1.set([0.3, -0.2, 0.25, 0.4, -0.35]);
    const g = Float64Array.from({ length: n * shape.labels }, (_, i) => Math.cos(i * 1.3));
    const hidden = new Float64Array(n * shape.hidden);
    d.forward(ids, n, table, new Float64Array(n * shape.labels), hidden);
    // One step with lr = 1 on a copy moves each parameter by exactly its (analytic) gradient... to first
    // order; with a tiny lr the step divided by lr is the gradient.
    const lr = 1e-7;
    const stepped = new DenseBranch(shape, Float64Array.from(d.params));
    stepped.backward(ids, n, table, hidden, g, lr);
    const eps = 1e-5;
    let checked = 0;
    for (let k = 0; k < d.params.length; k++) {
      const analytic = ((stepped.params[k] as number) - (d.params[k] as number)) / lr;
      const plus = new DenseBranch(shape, Float64Array.from(d.params));
      plus.params[k] = (plus.params[k] as number) + eps;
      const minus = new DenseBranch(shape, Float64Array.from(d.params));
      minus.params[k] = (minus.params[k] as number) - eps;
      const numeric = (objective(plus, g) - objective(minus, g)) / (2 * eps);
      expect(analytic).toBeCloseTo(numeric, 4);
      checked++;
    }
    expect(checked).toBe(DenseBranch.parameterCount(shape));
  });
});

describe('wide & deep ONNX graph', () => {
  it('computes the same emissions as the JS forward pass plus the sparse part', async () => {
    const d = DenseBranch.init(shape, 9);
    d.b1.set([0.1, 0.2, -0.1, 0.05, 0]);
    d.b2.set([0.5, -0.5, 0.25]);
    const slots = 2;
    const sparseRows = 5;
    const sparse = Float32Array.from({ length: sparseRows * shape.labels }, (_, i) => (i % 7) * 0.1 - 0.3);
    const features = Int32Array.from([0, 1, 2, 4, 3, 3]);
    const model = crfEmissionModel(sparse, sparseRows, shape.labels, slots, {
      table,
      tableRows: rows,
      tableCols: shape.dim,
      window: shape.window,
      hidden: shape.hidden,
      w1: d.w1ForExport(),
      b1: Float32Array.from(d.b1),
      w2: Float32Array.from(d.w2),
      b2: Float32Array.from(d.b2),
    });
    const session = await createSession(model);
    const result = await session.run({
      features: new ort.Tensor('int32', features, [n, slots]),
      window: new ort.Tensor('int32', ids, [n, shape.window]),
    });
    const got = (result.emissions as ort.Tensor).data as Float32Array;
    const expected = new Float64Array(n * shape.labels);
    // The JS pass computes in float64 from float32-rounded parameters, like the exported graph.
    const rounded = new DenseBranch(shape, Float64Array.from(Float32Array.from(d.params)));
    rounded.forward(ids, n, table, expected, new Float64Array(n * shape.hidden));
    for (let k = 0; k < n; k++) {
      for (let s = 0; s < slots; s++) {
        for (let y = 0; y < shape.labels; y++)
          expected[k * shape.labels + y] =
            (expected[k * shape.labels + y] as number) +
            (sparse[(features[k * slots + s] as number) * shape.labels + y] as number);
      }
    }
    for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i] as number, 5);
    await session.release();
  });
});

describe('EmbeddingVocabulary', () => {
  it('maps normalised tokens to rows and pads windows with BOS/EOS', () => {
    const v = EmbeddingVocabulary.parse(EmbeddingVocabulary.format(['the', 'asthma', '00']));
    const out = new Int32Array(3 * 3);
    v.windowIds(['The', 'ASTHMA', 'zyx'], 3, out);
    expect(Array.from(out)).toEqual([v.bos, 0, 1, 0, 1, v.unk, 1, v.unk, v.eos]);
    const digits = new Int32Array(1);
    v.windowIds(['42'], 1, digits);
    expect(Array.from(digits)).toEqual([2]);
  });

  it('builds a table with indicator columns for UNK, BOS and EOS', () => {
    const t = embeddingTable(Float32Array.from([1, 2, 3, 4]), 2, 2);
    expect(Array.from(t)).toEqual([1, 2, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
  });
});
