/**
 * The "deep" half of the wide & deep emission model: a one-hidden-layer ReLU MLP over the concatenated,
 * fixed, pre-trained embeddings of a ±w token window. Its outputs are added to the sparse linear CRF
 * emissions and both are trained jointly on the CRF log-likelihood (crf-sgd.ts).
 *
 * Parameters live in one Float64Array (W1 | b1 | W2 | b2) so averaging and ensembling are plain loops;
 * it is a view into the memory of the WebAssembly kernels that run the first layer (dense-kernels.ts).
 * Layout: W1 is stored transposed, [hidden][window·dim], so the forward pass is contiguous dot
 * products (`w1ForExport` gives the ONNX MatMul layout); W2 is [hidden][labels].
 */
import { seededRandom } from '../engine/seeded-random.js';
import { CHUNK_TOKENS, DenseKernels } from './dense-kernels.js';

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
  readonly #kernels: DenseKernels;
  /** Scratch: the indices of the (up to CHUNK_TOKENS) tokens whose first-layer steps are pending. */
  readonly #active = new Int32Array(CHUNK_TOKENS);

  /** `params`, when given, is copied (into the kernels' memory). */
  constructor(shape: DenseShape, params?: Float64Array) {
    this.shape = shape;
    const { window, dim, hidden: H, labels: L } = shape;
    this.inDim = window * dim;
    this.#w1 = 0;
    this.#b1 = this.inDim * H;
    this.#w2 = this.#b1 + H;
    this.#b2 = this.#w2 + H * L;
    const size = this.#b2 + L;
    if (params && params.length !== size)
      throw new Error(`dense parameters: expected ${size} values, got ${params.length}`);
    this.#kernels = new DenseKernels(size, this.inDim, H);
    this.params = this.#kernels.params;
    if (params) this.params.set(params);
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

  /** Gather the concatenated window vectors of token k into the kernels' input row j. */
  #gather(ids: Int32Array, k: number, table: Float32Array, j: number): void {
    const { window: Wn, dim: D } = this.shape;
    const x = this.#kernels.x;
    const at = j * this.inDim;
    for (let q = 0; q < Wn; q++) {
      const e = (ids[k * Wn + q] as number) * D;
      const o = at + q * D;
      for (let d = 0; d < D; d++) x[o + d] = table[e + d] as number;
    }
  }

  /**
   * Forward pass for n tokens: `ids` holds n×window embedding row ids, `table` the embedding rows.
   * Adds the outputs into `out` (n×labels) and leaves post-ReLU (post-dropout) activations in
   * `hidden` (n×H) for the backward pass. `mask`, when given, multiplies the hidden units (dropout).
   *
   * The first layer runs in the SIMD kernel, row by row of W1 over up to CHUNK_TOKENS tokens at a time,
   * so W1 (inDim×H doubles, about half a megabyte) passes through the cache once per chunk rather than
   * once per token.
   */
  forward(
    ids: Int32Array,
    n: number,
    table: Float32Array,
    out: Float64Array,
    hidden: Float64Array,
    mask?: Float64Array,
  ): void {
    const { hidden: H, labels: L } = this.shape;
    const p = this.params;
    const w2 = this.#w2;
    const b2 = this.#b2;
    const kernels = this.#kernels;
    const pre = kernels.pre;
    for (let from = 0; from < n; from += CHUNK_TOKENS) {
      const m = Math.min(CHUNK_TOKENS, n - from);
      for (let j = 0; j < m; j++) this.#gather(ids, from + j, table, j);
      kernels.firstLayer(m, this.#w1, this.#b1);
      for (let j = 0; j < m * H; j++) {
        const v = pre[j] as number;
        const at = from * H + j;
        hidden[at] = v > 0 ? (mask ? v * (mask[at] as number) : v) : 0;
      }
    }
    for (let k = 0; k < n; k++) {
      const ho = k * H;
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
   *
   * Token by token, as plain per-token SGD: the hidden gradient from the output weights as they stand,
   * then the output layer's and b1's steps. W1's rank-one steps (lr·dh ⊗ x per token) read nothing that
   * those steps change, so they are applied afterwards by the SIMD kernel, CHUNK_TOKENS tokens at a time,
   * row by row over the tokens in order: each weight receives the same additions in the same order as
   * token by token.
   */
  backward(
    ids: Int32Array,
    n: number,
    table: Float32Array,
    hidden: Float64Array,
    grad: Float64Array,
    lr: number,
    mask?: Float64Array,
    skipBelow = 0,
  ): void {
    const { hidden: H, labels: L } = this.shape;
    const p = this.params;
    const b1 = this.#b1;
    const w2 = this.#w2;
    const b2 = this.#b2;
    const dh = this.#kernels.dh;
    const active = this.#active;
    let count = 0;
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
      const dho = count * H;
      for (let h = 0; h < H; h++) {
        if ((hidden[ho + h] as number) <= 0) {
          dh[dho + h] = 0;
          continue;
        }
        let acc = 0;
        for (let y = 0; y < L; y++) acc += (p[w2 + h * L + y] as number) * (grad[go + y] as number);
        dh[dho + h] = mask ? acc * (mask[ho + h] as number) : acc;
      }
      for (let h = 0; h < H; h++) {
        const a = hidden[ho + h] as number;
        if (a === 0) continue;
        const c = lr * a;
        for (let y = 0; y < L; y++) p[w2 + h * L + y] = (p[w2 + h * L + y] as number) + c * (grad[go + y] as number);
      }
      for (let y = 0; y < L; y++) p[b2 + y] = (p[b2 + y] as number) + lr * (grad[go + y] as number);
      for (let h = 0; h < H; h++) {
        const g = dh[dho + h] as number;
        if (g !== 0) p[b1 + h] = (p[b1 + h] as number) + lr * g;
      }
      active[count++] = k;
      if (count === CHUNK_TOKENS) {
        this.#rankOneSteps(ids, table, count, lr);
        count = 0;
      }
    }
    if (count > 0) this.#rankOneSteps(ids, table, count, lr);
  }

  /** W1's steps for the `count` tokens in `#active` (their hidden gradients are in the kernels' dh). */
  #rankOneSteps(ids: Int32Array, table: Float32Array, count: number, lr: number): void {
    for (let j = 0; j < count; j++) this.#gather(ids, this.#active[j] as number, table, j);
    this.#kernels.rankOneSteps(count, this.#w1, lr);
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
