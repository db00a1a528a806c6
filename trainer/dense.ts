/**
 * The "deep" half of the wide & deep emission model: a one-hidden-layer ReLU MLP over the concatenated,
 * fixed, pre-trained embeddings of a ±w token window. Its outputs are added to the sparse linear CRF
 * emissions and both are trained jointly on the CRF log-likelihood (crf-sgd.ts).
 *
 * Parameters live in one Float64Array (W1 | b1 | W2 | b2) so averaging and ensembling are plain loops.
 * Layout: W1 is stored transposed, [hidden][window·dim], so the forward pass is contiguous dot
 * products (`w1ForExport` gives the ONNX MatMul layout); W2 is [hidden][labels].
 */
import { seededRandom } from './crf-sgd.js';

export interface DenseShape {
  /** Tokens in the window (2w+1). */
  window: number;
  dim: number;
  hidden: number;
  labels: number;
}

export class DenseBranch {
  readonly shape: DenseShape;
  readonly params: Float64Array;
  readonly inDim: number;
  readonly #w1: number;
  readonly #b1: number;
  readonly #w2: number;
  readonly #b2: number;
  readonly #x: Float64Array;
  readonly #dh: Float64Array;

  constructor(shape: DenseShape, params?: Float64Array) {
    this.shape = shape;
    const { window, dim, hidden: H, labels: L } = shape;
    this.inDim = window * dim;
    this.#w1 = 0;
    this.#b1 = this.inDim * H;
    this.#w2 = this.#b1 + H;
    this.#b2 = this.#w2 + H * L;
    const size = this.#b2 + L;
    if (params && params.length !== size) throw new Error(`dense parameters: expected ${size} values, got ${params.length}`);
    this.params = params ?? new Float64Array(size);
    this.#x = new Float64Array(this.inDim);
    this.#dh = new Float64Array(H);
  }

  static parameterCount(shape: DenseShape): number {
    return shape.window * shape.dim * shape.hidden + shape.hidden + shape.hidden * shape.labels + shape.labels;
  }

  /** Glorot-uniform weights from a seeded generator, zero biases. */
  static init(shape: DenseShape, seed: number): DenseBranch {
    const d = new DenseBranch(shape);
    const random = seededRandom(seed);
    const { hidden: H, labels: L } = shape;
    const a1 = Math.sqrt(6 / (d.inDim + H));
    for (let k = 0; k < d.inDim * H; k++) d.params[d.#w1 + k] = (random() * 2 - 1) * a1;
    const a2 = Math.sqrt(6 / (H + L));
    for (let k = 0; k < H * L; k++) d.params[d.#w2 + k] = (random() * 2 - 1) * a2;
    return d;
  }

  get w1(): Float64Array {
    return this.params.subarray(this.#w1, this.#b1);
  }
  get b1(): Float64Array {
    return this.params.subarray(this.#b1, this.#w2);
  }
  get w2(): Float64Array {
    return this.params.subarray(this.#w2, this.#b2);
  }
  get b2(): Float64Array {
    return this.params.subarray(this.#b2);
  }

  /** Gather the concatenated window vectors of token k into `x` (inDim). */
  #gather(ids: Int32Array, k: number, table: Float32Array, x: Float64Array): void {
    const { window: Wn, dim: D } = this.shape;
    for (let q = 0; q < Wn; q++) {
      const e = (ids[k * Wn + q] as number) * D;
      const o = q * D;
      for (let d = 0; d < D; d++) x[o + d] = table[e + d] as number;
    }
  }

  /**
   * Forward pass for n tokens: `ids` holds n×window embedding row ids, `table` the embedding rows.
   * Adds the outputs into `out` (n×labels) and leaves post-ReLU (post-dropout) activations in
   * `hidden` (n×H) for the backward pass. `mask`, when given, multiplies the hidden units (dropout).
   */
  forward(ids: Int32Array, n: number, table: Float32Array, out: Float64Array, hidden: Float64Array, mask?: Float64Array): void {
    const { hidden: H, labels: L } = this.shape;
    const IN = this.inDim;
    const p = this.params;
    const b1 = this.#b1;
    const w2 = this.#w2;
    const b2 = this.#b2;
    const x = this.#x;
    for (let k = 0; k < n; k++) {
      this.#gather(ids, k, table, x);
      const ho = k * H;
      for (let h = 0; h < H; h++) {
        // W1 is stored transposed ([hidden][inDim]) so this is a contiguous dot product.
        const row = h * IN;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let i = 0;
        for (; i + 3 < IN; i += 4) {
          a0 += (x[i] as number) * (p[row + i] as number);
          a1 += (x[i + 1] as number) * (p[row + i + 1] as number);
          a2 += (x[i + 2] as number) * (p[row + i + 2] as number);
          a3 += (x[i + 3] as number) * (p[row + i + 3] as number);
        }
        for (; i < IN; i++) a0 += (x[i] as number) * (p[row + i] as number);
        const v = a0 + a1 + a2 + a3 + (p[b1 + h] as number);
        hidden[ho + h] = v > 0 ? (mask ? v * (mask[ho + h] as number) : v) : 0;
      }
      const oo = k * L;
      for (let y = 0; y < L; y++) {
        let acc = p[b2 + y] as number;
        for (let h = 0; h < H; h++) acc += (hidden[ho + h] as number) * (p[w2 + h * L + y] as number);
        out[oo + y] = (out[oo + y] as number) + acc;
      }
    }
  }

  /**
   * Gradient step: params += lr · ∂(Σ grad·out)/∂params, with `grad` n×labels (for the CRF: gold
   * indicator minus marginal, i.e. the ascent direction of the log-likelihood). Uses the activations
   * left by `forward` on the same ids (and the same dropout mask). Tokens whose largest |grad| is below
   * `skipBelow` are skipped.
   */
  backward(ids: Int32Array, n: number, table: Float32Array, hidden: Float64Array, grad: Float64Array, lr: number, mask?: Float64Array, skipBelow = 0): void {
    const { hidden: H, labels: L } = this.shape;
    const IN = this.inDim;
    const p = this.params;
    const b1 = this.#b1;
    const w2 = this.#w2;
    const b2 = this.#b2;
    const dh = this.#dh;
    const x = this.#x;
    for (let k = 0; k < n; k++) {
      const ho = k * H;
      const go = k * L;
      if (skipBelow > 0) {
        // Tokens the model already gets right with near-certainty carry (almost) no gradient: skipping
        // them saves most of the backward pass once the first epochs are done.
        let max = 0;
        for (let y = 0; y < L; y++) max = Math.max(max, Math.abs(grad[go + y] as number));
        if (max < skipBelow) continue;
      }
      // dh before updating W2 (the gradient is taken at the current point).
      for (let h = 0; h < H; h++) {
        if ((hidden[ho + h] as number) <= 0) {
          dh[h] = 0;
          continue;
        }
        let acc = 0;
        for (let y = 0; y < L; y++) acc += (p[w2 + h * L + y] as number) * (grad[go + y] as number);
        dh[h] = mask ? acc * (mask[ho + h] as number) : acc;
      }
      for (let h = 0; h < H; h++) {
        const a = hidden[ho + h] as number;
        if (a === 0) continue;
        const c = lr * a;
        for (let y = 0; y < L; y++) p[w2 + h * L + y] = (p[w2 + h * L + y] as number) + c * (grad[go + y] as number);
      }
      for (let y = 0; y < L; y++) p[b2 + y] = (p[b2 + y] as number) + lr * (grad[go + y] as number);
      this.#gather(ids, k, table, x);
      for (let h = 0; h < H; h++) {
        const g = dh[h] as number;
        if (g === 0) continue;
        p[b1 + h] = (p[b1 + h] as number) + lr * g;
        const c = lr * g;
        const row = h * IN;
        for (let i = 0; i < IN; i++) p[row + i] = (p[row + i] as number) + c * (x[i] as number);
      }
    }
  }

  /** W1 in ONNX MatMul layout [inDim][hidden] (training keeps it transposed). */
  w1ForExport(): Float32Array {
    const { hidden: H } = this.shape;
    const IN = this.inDim;
    const out = new Float32Array(IN * H);
    const w = this.w1;
    for (let h = 0; h < H; h++) for (let i = 0; i < IN; i++) out[i * H + h] = w[h * IN + i] as number;
    return out;
  }
}
