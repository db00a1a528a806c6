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
   * Why: on BeHealthy the plain model misses three entities for every false positive it makes.
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
  const L = opts.labels.length;
  const S = opts.slots;
  const pad = opts.buckets;
  const W = new Float64Array((opts.buckets + 1) * L);
  const raw: Transitions = { trans: new Float64Array(L * L), start: new Float64Array(L), end: new Float64Array(L) };
  const allowed = bioConstraints(opts.labels);
  const avgW = new Float64Array(W.length);
  const avgT: Transitions = { trans: new Float64Array(L * L), start: new Float64Array(L), end: new Float64Array(L) };
  let averaged = 0;
  const denseOpts = opts.dense;
  const dense = denseOpts ? DenseBranch.init(denseOpts.shape, denseOpts.seed) : undefined;
  const avgDense = dense ? new Float64Array(dense.params.length) : undefined;
  const dropRandom = seededRandom((opts.seed ^ 0x5bd1e995) >>> 0);
  const missedCost = opts.missedEntityCost ?? 0;
  const outside = opts.labels.indexOf('O');
  if (missedCost < 0 || !Number.isFinite(missedCost))
    throw new Error(`missedEntityCost must be a finite number ≥ 0, got ${missedCost}`);

  const N = data.length;
  const lambda = (2 * opts.c2) / N;
  const random = seededRandom(opts.seed);
  const order = Array.from({ length: N }, (_, i) => i);
  let maxLen = 1;
  for (const s of data) maxLen = Math.max(maxLen, s.gold.length);
  const em = new Float64Array(maxLen * L);
  const grad = new Float64Array(maxLen * L);
  const H = denseOpts?.shape.hidden ?? 0;
  const hidden = new Float64Array(maxLen * H);
  const mask = denseOpts && denseOpts.dropout > 0 ? new Float64Array(maxLen * H) : undefined;
  let scale = 1;
  let step = 0;
  const expTrans = new Float64Array(L * L);
  const pairA = new Float64Array(L);
  const pairB = new Float64Array(L);

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage().user;
    // Fisher-Yates with the seeded generator: deterministic order per (seed, epoch).
    for (let i = N - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const tmp = order[i] as number;
      order[i] = order[j] as number;
      order[j] = tmp;
    }
    let loss = 0;
    for (const idx of order) {
      const { features, gold, window: windowIds } = data[idx] as EncodedSentence;
      const n = gold.length;
      if (n === 0) continue;
      const lr = opts.eta0 / (1 + opts.eta0 * lambda * step);
      step++;
      scale *= 1 - lr * lambda;
      if (scale < 1e-9) {
        for (let k = 0; k < W.length; k++) W[k] = (W[k] as number) * scale;
        scale = 1;
      }
      // L2 decay on transitions directly (they are few).
      const decay = 1 - lr * lambda;
      for (let k = 0; k < L * L; k++) raw.trans[k] = (raw.trans[k] as number) * decay;
      for (let k = 0; k < L; k++) {
        raw.start[k] = (raw.start[k] as number) * decay;
        raw.end[k] = (raw.end[k] as number) * decay;
      }

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
          for (let k = 0; k < n * H; k++) mask[k] = dropRandom() < keep ? 1 / keep : 0;
        }
        dense.forward(windowIds as Int32Array, n, denseOpts.table, em, hidden, mask);
      }
      // Cost augmentation: the gold path's score is unchanged, so logZ - goldScore stays the loss.
      if (missedCost > 0 && outside >= 0) {
        for (let k = 0; k < n; k++)
          if (gold[k] !== outside) em[k * L + outside] = (em[k * L + outside] as number) + missedCost;
      }
      const t = constrainedTransitions(raw, opts.labels);
      const lat = forwardBackward(em, 0, n, L, t);

      // Gold path score for the loss (progress display only).
      let goldScore = (t.start[gold[0] as number] as number) + (t.end[gold[n - 1] as number] as number);
      for (let k = 0; k < n; k++) {
        goldScore += em[k * L + (gold[k] as number)] as number;
        if (k > 0) goldScore += t.trans[(gold[k - 1] as number) * L + (gold[k] as number)] as number;
      }
      loss += lat.logZ - goldScore;

      const step2 = lr / scale;
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
          hidden,
          grad,
          lrDense,
          mask,
          denseOpts.skipBelow ?? 0,
        );
      }
      // Transition gradients: observed minus expected pair marginals.
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
    if (!Number.isFinite(loss)) {
      throw new Error(
        `training diverged in epoch ${epoch + 1} (non-finite loss): lower the learning rate${opts.dense ? ' of the dense branch (--dense-lr)' : ''}`,
      );
    }
    if (epoch >= opts.averageFrom) {
      for (let k = 0; k < W.length; k++) avgW[k] = (avgW[k] as number) + (W[k] as number) * scale;
      for (let k = 0; k < L * L; k++) avgT.trans[k] = (avgT.trans[k] as number) + (raw.trans[k] as number);
      for (let k = 0; k < L; k++) {
        avgT.start[k] = (avgT.start[k] as number) + (raw.start[k] as number);
        avgT.end[k] = (avgT.end[k] as number) + (raw.end[k] as number);
      }
      if (dense && avgDense)
        for (let k = 0; k < avgDense.length; k++) avgDense[k] = (avgDense[k] as number) + (dense.params[k] as number);
      averaged++;
    }
    if (opts.onEpoch) {
      opts.onEpoch(epoch, snapshot(), {
        loss,
        seconds: (performance.now() - t0) / 1000,
        cpuSeconds: (process.cpuUsage().user - cpu0) / 1e6,
      });
    }
  }
  return snapshot();

  function snapshot(): CrfWeights {
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
