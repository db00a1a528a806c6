/**
 * Linear-chain CRF inference over precomputed emission scores: Viterbi, forward-backward and exact
 * span marginals. Pure functions over flat typed arrays (row-major [token][label]) so the same code
 * serves the runtime (emissions from ONNX Runtime) and the trainer (emissions from its own weights).
 *
 * Transition scores include the BIO constraints as -Infinity (see `constrainedTransitions`), so the
 * decoder can never produce I-X after O or after another type.
 */

/** Transition parameters of a chain with L labels. */
export interface Transitions {
  /** L×L, from label i (row) to label j (column). */
  trans: Float64Array;
  /** Score of starting a sentence with label j. */
  start: Float64Array;
  /** Score of ending a sentence with label i. */
  end: Float64Array;
}

/** Which transitions BIO allows: I-X only after B-X or I-X; a sentence never starts with I-X. */
export function bioConstraints(labels: readonly string[]): { trans: Uint8Array; start: Uint8Array } {
  const L = labels.length;
  const trans = new Uint8Array(L * L);
  const start = new Uint8Array(L);
  for (let j = 0; j < L; j++) {
    const to = labels[j] as string;
    const isInside = to.startsWith('I-');
    start[j] = isInside ? 0 : 1;
    for (let i = 0; i < L; i++) {
      const from = labels[i] as string;
      trans[i * L + j] = !isInside || from === `B-${to.slice(2)}` || from === to ? 1 : 0;
    }
  }
  return { trans, start };
}

/** Apply BIO constraints to learned scores: disallowed moves become -Infinity. */
export function constrainedTransitions(t: Transitions, labels: readonly string[]): Transitions {
  const c = bioConstraints(labels);
  const trans = Float64Array.from(t.trans, (v, k) => (c.trans[k] ? v : -Infinity));
  const start = Float64Array.from(t.start, (v, k) => (c.start[k] ? v : -Infinity));
  return { trans, start, end: Float64Array.from(t.end) };
}

/**
 * Most likely label sequence for tokens [offset, offset+n) of `emissions` (row stride L).
 * Writes label indices into `out[0..n)`. Allocates two small scratch arrays per call.
 */
export function viterbi(emissions: ArrayLike<number>, offset: number, n: number, L: number, t: Transitions, out: Int32Array): void {
  if (n === 0) return;
  let score = new Float64Array(L);
  let next = new Float64Array(L);
  const back = new Int32Array(n * L);
  for (let j = 0; j < L; j++) score[j] = (t.start[j] as number) + (emissions[offset * L + j] as number);
  for (let k = 1; k < n; k++) {
    const row = (offset + k) * L;
    for (let j = 0; j < L; j++) {
      let best = -Infinity;
      let arg = 0;
      for (let i = 0; i < L; i++) {
        const s = (score[i] as number) + (t.trans[i * L + j] as number);
        if (s > best) {
          best = s;
          arg = i;
        }
      }
      next[j] = best + (emissions[row + j] as number);
      back[k * L + j] = arg;
    }
    const tmp = score;
    score = next;
    next = tmp;
  }
  let best = -Infinity;
  let arg = 0;
  for (let j = 0; j < L; j++) {
    const s = (score[j] as number) + (t.end[j] as number);
    if (s > best) {
      best = s;
      arg = j;
    }
  }
  out[n - 1] = arg;
  for (let k = n - 1; k > 0; k--) {
    arg = back[k * L + arg] as number;
    out[k - 1] = arg;
  }
}

function logSumExp(values: Float64Array, len: number): number {
  let max = -Infinity;
  for (let i = 0; i < len; i++) if ((values[i] as number) > max) max = values[i] as number;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < len; i++) sum += Math.exp((values[i] as number) - max);
  return max + Math.log(sum);
}

/** Forward and backward log-scores of one sentence: alpha/beta are n×L, logZ the log partition. */
export interface Lattice {
  n: number;
  L: number;
  alpha: Float64Array;
  beta: Float64Array;
  logZ: number;
}

export function forwardBackward(emissions: ArrayLike<number>, offset: number, n: number, L: number, t: Transitions): Lattice {
  const alpha = new Float64Array(n * L);
  const beta = new Float64Array(n * L);
  const tmp = new Float64Array(L);
  for (let j = 0; j < L; j++) alpha[j] = (t.start[j] as number) + (emissions[offset * L + j] as number);
  for (let k = 1; k < n; k++) {
    const row = (offset + k) * L;
    for (let j = 0; j < L; j++) {
      for (let i = 0; i < L; i++) tmp[i] = (alpha[(k - 1) * L + i] as number) + (t.trans[i * L + j] as number);
      alpha[k * L + j] = logSumExp(tmp, L) + (emissions[row + j] as number);
    }
  }
  for (let i = 0; i < L; i++) {
    beta[(n - 1) * L + i] = t.end[i] as number;
    tmp[i] = (alpha[(n - 1) * L + i] as number) + (t.end[i] as number);
  }
  const logZ = logSumExp(tmp, L);
  for (let k = n - 2; k >= 0; k--) {
    const row = (offset + k + 1) * L;
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) tmp[j] = (t.trans[i * L + j] as number) + (emissions[row + j] as number) + (beta[(k + 1) * L + j] as number);
      beta[k * L + i] = logSumExp(tmp, L);
    }
  }
  return { n, L, alpha, beta, logZ };
}

/** P(y_k = j | x) for every token and label (n×L). */
export function tokenMarginals(lat: Lattice): Float64Array {
  const p = new Float64Array(lat.n * lat.L);
  for (let k = 0; k < p.length; k++) p[k] = Math.exp((lat.alpha[k] as number) + (lat.beta[k] as number) - lat.logZ);
  return p;
}

/**
 * Exact probability that tokens [s, e) carry exactly this entity: label `b` at s, `i` on s+1..e-1, and
 * the entity does not continue past e (the next label is not `i`). This is the entity's confidence.
 */
export function spanMarginal(
  lat: Lattice,
  emissions: ArrayLike<number>,
  offset: number,
  t: Transitions,
  s: number,
  e: number,
  b: number,
  i: number,
): number {
  const { L, n } = lat;
  let logp = lat.alpha[s * L + b] as number;
  let prev = b;
  for (let k = s + 1; k < e; k++) {
    logp += (t.trans[prev * L + i] as number) + (emissions[(offset + k) * L + i] as number);
    prev = i;
  }
  if (e === n) {
    logp += t.end[prev] as number;
  } else {
    const tmp = new Float64Array(L);
    for (let j = 0; j < L; j++) {
      tmp[j] = j === i ? -Infinity : (t.trans[prev * L + j] as number) + (emissions[(offset + e) * L + j] as number) + (lat.beta[e * L + j] as number);
    }
    logp += logSumExp(tmp, L);
  }
  const p = Math.exp(logp - lat.logZ);
  return p > 1 ? 1 : p;
}
