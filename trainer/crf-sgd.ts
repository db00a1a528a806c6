/**
 * Training a linear-chain CRF with hashed features by stochastic gradient descent on the conditional
 * log-likelihood with L2 regularisation (as in Bottou's crfsgd), plus parameter averaging over the
 * later epochs, which makes SGD's result as good as a batch optimiser's in a handful of epochs.
 *
 * Why hand-written: no maintained npm package trains a CRF, and the model must be exported as our own
 * ONNX graph anyway. The maths is the standard one; engine/decoding/crf.ts holds the inference half.
 *
 * Memory layout: weights are row-major [bucket][label]; row `pad` (= number of buckets) is the
 * padding row that unused feature slots point at, and it always stays zero.
 */
import {
  constrainedTransitions,
  forwardBackward,
  bioConstraints,
  viterbi,
  type Transitions,
} from '../engine/decoding/crf.js';
import { DenseBranch, type DenseShape } from './dense.js';
import { seededRandom } from '../engine/seeded-random.js';

export interface EncodedSentence {
  /** n×slots feature ids. */
  features: Int32Array;
  /** n gold label indices. */
  gold: Int32Array;
  /** n×window embedding row ids (only with a dense branch). */
  window?: Int32Array;
}

/** Options of the dense (MLP over pre-trained embeddings) branch trained jointly with the CRF. */
export interface DenseTrainOptions {
  shape: DenseShape;
  /** Embedding table, rows × shape.dim, fixed during training. */
  table: Float32Array;
  /** Learning rate of the MLP at epoch 0, decayed as lr / (1 + lrDecay·epoch). */
  lr: number;
  lrDecay: number;
  /** Probability of dropping a hidden unit during training (inverted dropout); 0 = none. */
  dropout: number;
  seed: number;
  /** Skip the MLP backward pass for tokens whose largest |gradient| is below this (0 = never). */
  skipBelow?: number;
}

export interface SgdOptions {
  labels: readonly string[];
  buckets: number;
  slots: number;
  epochs: number;
  /** Epoch (0-based) from which weights are averaged. */
  averageFrom: number;
  /** L2 coefficient on the whole-corpus objective, like crfsuite's c2. */
  c2: number;
  eta0: number;
  seed: number;
  dense?: DenseTrainOptions;
  /**
   * Softmax-margin training (Gimpel & Smith 2010) with a recall-oriented cost: while training, the O label's
   * score on every token whose gold label is an entity label is raised by this cost, so the model must
   * beat the paths that miss that entity by a margin. 0 (the default) is plain conditional likelihood.
   * Why: where the annotation misses mentions, a model trained on plain likelihood under-tags.
   */
  missedEntityCost?: number;
  /** Called after every epoch with the averaged model so far (for dev F1 and progress). */
  onEpoch?: (epoch: number, model: CrfWeights, stats: { loss: number; seconds: number; cpuSeconds: number }) => void;
}

export interface CrfWeights {
  /** (buckets+1)×L emission weights; the last row is the zero padding row. */
  emission: Float32Array;
  transitions: Transitions;
  /** The MLP branch whose outputs are added to the sparse emissions. */
  dense?: DenseBranch;
}

export function trainCrfSgd(data: readonly EncodedSentence[], opts: SgdOptions): CrfWeights {
  return new SgdTrainer(data, opts).run();
}

type Lattice = ReturnType<typeof forwardBackward>;

/**
 * One SGD run: the weights, the lazily applied L2 scale of the sparse weights, the running sums for
 * averaging, and scratch buffers sized for the longest sentence. Each sentence is one step: L2 decay,
 * emission scores, forward-backward, then the gradient steps on emissions (and the MLP) and transitions.
 */
class SgdTrainer {
  private readonly L: number;
  private readonly S: number;
  private readonly pad: number;
  private readonly W: Float64Array;
  private readonly raw: Transitions;
  private readonly allowed: ReturnType<typeof bioConstraints>;
  private readonly avgW: Float64Array;
  private readonly avgT: Transitions;
  private averaged = 0;
  private readonly denseOpts: DenseTrainOptions | undefined;
  private readonly dense: DenseBranch | undefined;
  private readonly avgDense: Float64Array | undefined;
  private readonly dropRandom: () => number;
  private readonly missedCost: number;
  private readonly outside: number;
  private readonly lambda: number;
  private readonly random: () => number;
  private readonly order: number[];
  private readonly em: Float64Array;
  private readonly grad: Float64Array;
  private readonly H: number;
  private readonly hidden: Float64Array;
  private readonly mask: Float64Array | undefined;
  private scale = 1;
  private step = 0;
  private readonly expTrans: Float64Array;
  private readonly pairA: Float64Array;
  private readonly pairB: Float64Array;

  constructor(
    private readonly data: readonly EncodedSentence[],
    private readonly opts: SgdOptions,
  ) {
    const L = (this.L = opts.labels.length);
    this.S = opts.slots;
    this.pad = opts.buckets;
    this.W = new Float64Array((opts.buckets + 1) * L);
    this.raw = { trans: new Float64Array(L * L), start: new Float64Array(L), end: new Float64Array(L) };
    this.allowed = bioConstraints(opts.labels);
    this.avgW = new Float64Array(this.W.length);
    this.avgT = { trans: new Float64Array(L * L), start: new Float64Array(L), end: new Float64Array(L) };
    const denseOpts = (this.denseOpts = opts.dense);
    this.dense = denseOpts ? DenseBranch.init(denseOpts.shape, denseOpts.seed) : undefined;
    this.avgDense = this.dense ? new Float64Array(this.dense.params.length) : undefined;
    this.dropRandom = seededRandom((opts.seed ^ 0x5bd1e995) >>> 0);
    const missedCost = (this.missedCost = opts.missedEntityCost ?? 0);
    this.outside = opts.labels.indexOf('O');
    if (missedCost < 0 || !Number.isFinite(missedCost))
      throw new Error(`missedEntityCost must be a finite number ≥ 0, got ${missedCost}`);

    const N = data.length;
    this.lambda = (2 * opts.c2) / N;
    this.random = seededRandom(opts.seed);
    this.order = Array.from({ length: N }, (_, i) => i);
    let maxLen = 1;
    for (const s of data) maxLen = Math.max(maxLen, s.gold.length);
    this.em = new Float64Array(maxLen * L);
    this.grad = new Float64Array(maxLen * L);
    const H = (this.H = denseOpts?.shape.hidden ?? 0);
    this.hidden = new Float64Array(maxLen * H);
    this.mask = denseOpts && denseOpts.dropout > 0 ? new Float64Array(maxLen * H) : undefined;
    this.expTrans = new Float64Array(L * L);
    this.pairA = new Float64Array(L);
    this.pairB = new Float64Array(L);
  }

  run(): CrfWeights {
    const opts = this.opts;
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage().user;
      this.shuffle();
      let loss = 0;
      for (const idx of this.order) {
        const sentence = this.data[idx] as EncodedSentence;
        if (sentence.gold.length === 0) continue;
        loss += this.trainOn(sentence, epoch);
      }
      if (!Number.isFinite(loss)) {
        throw new Error(
          `training diverged in epoch ${epoch + 1} (non-finite loss): lower the learning rate${opts.dense ? ' of the dense branch (--dense-lr)' : ''}`,
        );
      }
      if (epoch >= opts.averageFrom) this.accumulateAverage();
      if (opts.onEpoch) {
        opts.onEpoch(epoch, this.snapshot(), {
          loss,
          seconds: (performance.now() - t0) / 1000,
          cpuSeconds: (process.cpuUsage().user - cpu0) / 1e6,
        });
      }
    }
    return this.snapshot();
  }

  /** Fisher-Yates with the seeded generator: deterministic order per (seed, epoch). */
  private shuffle(): void {
    const order = this.order;
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const tmp = order[i] as number;
      order[i] = order[j] as number;
      order[j] = tmp;
    }
  }

  /** One SGD step on one (non-empty) sentence; returns its loss. */
  private trainOn(sentence: EncodedSentence, epoch: number): number {
    const { L, em } = this;
    const { gold } = sentence;
    const n = gold.length;
    const lr = this.opts.eta0 / (1 + this.opts.eta0 * this.lambda * this.step);
    this.step++;
    this.decay(lr);
    this.emissionScores(sentence, n);
    const t = constrainedTransitions(this.raw, this.opts.labels);
    const lat = forwardBackward(em, 0, n, L, t);

    // Gold path score for the loss (progress display only).
    let goldScore = (t.start[gold[0] as number] as number) + (t.end[gold[n - 1] as number] as number);
    for (let k = 0; k < n; k++) {
      goldScore += em[k * L + (gold[k] as number)] as number;
      if (k > 0) goldScore += t.trans[(gold[k - 1] as number) * L + (gold[k] as number)] as number;
    }
    this.emissionStep(sentence, n, lat, lr, epoch);
    this.transitionStep(gold, n, lat, t, lr);
    return lat.logZ - goldScore;
  }

  /** L2 decay: folded into the sparse weights' scale (applied when it gets small), on transitions directly (they are few). */
  private decay(lr: number): void {
    const { L, W, raw } = this;
    this.scale *= 1 - lr * this.lambda;
    if (this.scale < 1e-9) {
      for (let k = 0; k < W.length; k++) W[k] = (W[k] as number) * this.scale;
      this.scale = 1;
    }
    const decay = 1 - lr * this.lambda;
    for (let k = 0; k < L * L; k++) raw.trans[k] = (raw.trans[k] as number) * decay;
    for (let k = 0; k < L; k++) {
      raw.start[k] = (raw.start[k] as number) * decay;
      raw.end[k] = (raw.end[k] as number) * decay;
    }
  }

  /** The sentence's emission scores into `em`: sparse weights, the MLP's outputs, and the recall cost. */
  private emissionScores(sentence: EncodedSentence, n: number): void {
    const { L, S, W, em, scale, dense, denseOpts, mask } = this;
    const { features, gold, window: windowIds } = sentence;
    em.fill(0, 0, n * L);
    for (let k = 0; k < n; k++) {
      const row = k * L;
      for (let s = 0; s < S; s++) {
        const base = (features[k * S + s] as number) * L;
        for (let y = 0; y < L; y++) em[row + y] = (em[row + y] as number) + (W[base + y] as number);
      }
      for (let y = 0; y < L; y++) em[row + y] = (em[row + y] as number) * scale;
    }
    if (dense && denseOpts) {
      if (mask) {
        const keep = 1 - denseOpts.dropout;
        for (let k = 0; k < n * this.H; k++) mask[k] = this.dropRandom() < keep ? 1 / keep : 0;
      }
      dense.forward(windowIds as Int32Array, n, denseOpts.table, em, this.hidden, mask);
    }
    // Cost augmentation: the gold path's score is unchanged, so logZ - goldScore stays the loss.
    const { missedCost, outside } = this;
    if (missedCost > 0 && outside >= 0) {
      for (let k = 0; k < n; k++)
        if (gold[k] !== outside) em[k * L + outside] = (em[k * L + outside] as number) + missedCost;
    }
  }

  /** Gradient step on the sparse emission weights (and the MLP): observed minus expected label marginals. */
  private emissionStep(sentence: EncodedSentence, n: number, lat: Lattice, lr: number, epoch: number): void {
    const { L, S, W, pad, grad, dense, denseOpts } = this;
    const { features, gold, window: windowIds } = sentence;
    const step2 = lr / this.scale;
    for (let k = 0; k < n; k++) {
      const g = gold[k] as number;
      for (let y = 0; y < L; y++) {
        const p = Math.exp((lat.alpha[k * L + y] as number) + (lat.beta[k * L + y] as number) - lat.logZ);
        const gr = (y === g ? 1 : 0) - p;
        grad[k * L + y] = gr;
        if (gr > -1e-7 && gr < 1e-7) continue;
        const delta = step2 * gr;
        for (let s = 0; s < S; s++) {
          const f = features[k * S + s] as number;
          if (f === pad) continue;
          W[f * L + y] = (W[f * L + y] as number) + delta;
        }
      }
    }
    if (dense && denseOpts) {
      const lrDense = denseOpts.lr / (1 + denseOpts.lrDecay * epoch);
      dense.backward(
        windowIds as Int32Array,
        n,
        denseOpts.table,
        this.hidden,
        grad,
        lrDense,
        this.mask,
        denseOpts.skipBelow ?? 0,
      );
    }
  }

  /** Gradient step on the transitions: observed minus expected pair marginals. */
  private transitionStep(gold: Int32Array, n: number, lat: Lattice, t: Transitions, lr: number): void {
    const { L, raw, em, allowed, expTrans, pairA, pairB } = this;
    for (let y = 0; y < L; y++) {
      const p0 = Math.exp((lat.alpha[y] as number) + (lat.beta[y] as number) - lat.logZ);
      raw.start[y] = (raw.start[y] as number) + lr * ((gold[0] === y ? 1 : 0) - p0);
      const last = (n - 1) * L + y;
      const pn = Math.exp((lat.alpha[last] as number) + (lat.beta[last] as number) - lat.logZ);
      raw.end[y] = (raw.end[y] as number) + lr * ((gold[n - 1] === y ? 1 : 0) - pn);
    }
    // Pair marginal p(i→j at k) = exp(α[k-1][i] + trans[i][j] + em[k][j] + β[k][j] - logZ), factored as
    // A[i]·T[i][j]·B[j] so a token costs 2L exps instead of L² (A is shifted by its max so nothing overflows).
    for (let k = 0; k < L * L; k++) expTrans[k] = allowed.trans[k] ? Math.exp(t.trans[k] as number) : 0;
    for (let k = 1; k < n; k++) {
      let m = -Infinity;
      for (let i = 0; i < L; i++) m = Math.max(m, lat.alpha[(k - 1) * L + i] as number);
      for (let i = 0; i < L; i++) pairA[i] = Math.exp((lat.alpha[(k - 1) * L + i] as number) - m);
      for (let j = 0; j < L; j++)
        pairB[j] = Math.exp((em[k * L + j] as number) + (lat.beta[k * L + j] as number) - lat.logZ + m);
      for (let i = 0; i < L; i++) {
        const a = pairA[i] as number;
        for (let j = 0; j < L; j++) {
          if (!allowed.trans[i * L + j]) continue;
          const p = a * (expTrans[i * L + j] as number) * (pairB[j] as number);
          raw.trans[i * L + j] = (raw.trans[i * L + j] as number) - lr * p;
        }
      }
      const gi = gold[k - 1] as number;
      const gj = gold[k] as number;
      raw.trans[gi * L + gj] = (raw.trans[gi * L + gj] as number) + lr;
    }
  }

  private accumulateAverage(): void {
    const { L, W, avgW, avgT, raw, dense, avgDense, scale } = this;
    for (let k = 0; k < W.length; k++) avgW[k] = (avgW[k] as number) + (W[k] as number) * scale;
    for (let k = 0; k < L * L; k++) avgT.trans[k] = (avgT.trans[k] as number) + (raw.trans[k] as number);
    for (let k = 0; k < L; k++) {
      avgT.start[k] = (avgT.start[k] as number) + (raw.start[k] as number);
      avgT.end[k] = (avgT.end[k] as number) + (raw.end[k] as number);
    }
    if (dense && avgDense)
      for (let k = 0; k < avgDense.length; k++) avgDense[k] = (avgDense[k] as number) + (dense.params[k] as number);
    this.averaged++;
  }

  /** The model so far: the averaged weights once averaging has begun, else the current ones. */
  private snapshot(): CrfWeights {
    const { W, raw, dense, avgW, avgT, avgDense, averaged, scale } = this;
    if (averaged === 0) {
      return {
        emission: Float32Array.from(W, (v) => v * scale),
        transitions: {
          trans: Float64Array.from(raw.trans),
          start: Float64Array.from(raw.start),
          end: Float64Array.from(raw.end),
        },
        ...(dense ? { dense: new DenseBranch(dense.shape, Float64Array.from(dense.params)) } : {}),
      };
    }
    const emission = new Float32Array(W.length);
    for (let k = 0; k < W.length; k++) emission[k] = (avgW[k] as number) / averaged;
    return {
      emission,
      transitions: {
        trans: Float64Array.from(avgT.trans, (v) => v / averaged),
        start: Float64Array.from(avgT.start, (v) => v / averaged),
        end: Float64Array.from(avgT.end, (v) => v / averaged),
      },
      ...(dense && avgDense
        ? {
            dense: new DenseBranch(
              dense.shape,
              Float64Array.from(avgDense, (v) => v / averaged),
            ),
          }
        : {}),
    };
  }
}

/** Decode pre-featurised sentences with given weights, in JS (used for dev scores during training). */
export function decodeWithWeights(
  data: readonly EncodedSentence[],
  model: CrfWeights,
  labels: readonly string[],
  slots: number,
  table?: Float32Array,
): string[][] {
  const L = labels.length;
  const t = constrainedTransitions(model.transitions, labels);
  const out: string[][] = [];
  for (const { features, gold, window } of data) {
    const n = gold.length;
    const em = new Float64Array(n * L);
    if (model.dense && table && window)
      model.dense.forward(window, n, table, em, new Float64Array(n * model.dense.shape.hidden));
    for (let k = 0; k < n; k++) {
      for (let s = 0; s < slots; s++) {
        const base = (features[k * slots + s] as number) * L;
        for (let y = 0; y < L; y++) em[k * L + y] = (em[k * L + y] as number) + (model.emission[base + y] as number);
      }
    }
    const path = new Int32Array(n);
    viterbi(em, 0, n, L, t, path);
    out.push(Array.from(path, (y) => labels[y] as string));
  }
  return out;
}
