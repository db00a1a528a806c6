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

/**
 * Which transitions the tag scheme allows. BIO: I-X only after B-X or I-X; a sentence never starts with
 * I-X. BIOES (the label set has S-/E- labels): I-X and E-X only after B-X or I-X; O, B-Y and S-Y only
 * after O, E-X or S-X; a sentence starts with O, B or S and ends with O, E or S.
 */
export function bioConstraints(labels: readonly string[]): { trans: Uint8Array; start: Uint8Array; end: Uint8Array } {
  const L = labels.length;
  const trans = new Uint8Array(L * L);
  const start = new Uint8Array(L);
  const end = new Uint8Array(L);
  const bioes = labels.some((l) => l.startsWith('S-') || l.startsWith('E-'));
  const prefix = (l: string) => (l === 'O' ? 'O' : l.slice(0, 2));
  for (let j = 0; j < L; j++) {
    const to = labels[j] as string;
    const toPrefix = prefix(to);
    const continues = toPrefix === 'I-' || toPrefix === 'E-';
    start[j] = continues ? 0 : 1;
    end[j] = bioes && (toPrefix === 'B-' || toPrefix === 'I-') ? 0 : 1;
    for (let i = 0; i < L; i++) {
      const from = labels[i] as string;
      const fromPrefix = prefix(from);
      let ok: boolean;
      if (continues) ok = (fromPrefix === 'B-' || fromPrefix === 'I-') && from.slice(2) === to.slice(2);
      else ok = !bioes || fromPrefix === 'O' || fromPrefix === 'E-' || fromPrefix === 'S-';
      trans[i * L + j] = ok ? 1 : 0;
    }
  }
  return { trans, start, end };
}

/** Apply the tag-scheme constraints to learned scores: disallowed moves become -Infinity. */
export function constrainedTransitions(t: Transitions, labels: readonly string[]): Transitions {
  const c = bioConstraints(labels);
  const trans = Float64Array.from(t.trans, (v, k) => (c.trans[k] ? v : -Infinity));
  const start = Float64Array.from(t.start, (v, k) => (c.start[k] ? v : -Infinity));
  const end = Float64Array.from(t.end, (v, k) => (c.end[k] ? v : -Infinity));
  return { trans, start, end };
}

/**
 * Most likely label sequence for tokens [offset, offset+n) of `emissions` (row stride L).
 * Writes label indices into `out[0..n)`. Allocates two small scratch arrays per call.
 */
export function viterbi(
  emissions: ArrayLike<number>,
  offset: number,
  n: number,
  L: number,
  t: Transitions,
  out: Int32Array,
): void {
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

/**
 * Forward-backward in scaled probability space (Rabiner's scaling): the transition scores are
 * exponentiated once and every step is L² multiply-adds, normalised, with the log of the normaliser
 * carried along; only L exps and 2L logs per token instead of 2L² exps. alpha/beta come out as the usual
 * log-space scores (-Infinity where a label is impossible).
 */
export function forwardBackward(
  emissions: ArrayLike<number>,
  offset: number,
  n: number,
  L: number,
  t: Transitions,
): Lattice {
  const alpha = new Float64Array(n * L);
  const beta = new Float64Array(n * L);
  if (n === 0) return { n, L, alpha, beta, logZ: 0 };
  const T = new Float64Array(L * L);
  for (let k = 0; k < L * L; k++) T[k] = Math.exp(t.trans[k] as number);
  // e[k][j] = exp(emission - row max); rowMax[k] keeps the scale.
  const e = new Float64Array(n * L);
  const rowMax = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const row = (offset + k) * L;
    let m = -Infinity;
    for (let j = 0; j < L; j++) if ((emissions[row + j] as number) > m) m = emissions[row + j] as number;
    rowMax[k] = m;
    for (let j = 0; j < L; j++) e[k * L + j] = Math.exp((emissions[row + j] as number) - m);
  }
  const a = new Float64Array(L);
  const next = new Float64Array(L);
  // Forward: a_0 = exp(start + em_0 - M), then a_k[j] = e_k[j] · Σ_i a_{k-1}[i] T[i][j], each normalised.
  let m0 = -Infinity;
  for (let j = 0; j < L; j++) m0 = Math.max(m0, (t.start[j] as number) + (emissions[offset * L + j] as number));
  let sum = 0;
  for (let j = 0; j < L; j++)
    sum += a[j] = Math.exp((t.start[j] as number) + (emissions[offset * L + j] as number) - m0);
  let logScale = m0 + Math.log(sum);
  for (let j = 0; j < L; j++) {
    a[j] = (a[j] as number) / sum;
    alpha[j] = Math.log(a[j] as number) + logScale;
  }
  for (let k = 1; k < n; k++) {
    next.fill(0);
    for (let i = 0; i < L; i++) {
      const ai = a[i] as number;
      if (ai === 0) continue;
      const rowT = i * L;
      for (let j = 0; j < L; j++) next[j] = (next[j] as number) + ai * (T[rowT + j] as number);
    }
    sum = 0;
    for (let j = 0; j < L; j++) sum += next[j] = (next[j] as number) * (e[k * L + j] as number);
    logScale += (rowMax[k] as number) + Math.log(sum);
    for (let j = 0; j < L; j++) {
      a[j] = (next[j] as number) / sum;
      alpha[k * L + j] = Math.log(a[j] as number) + logScale;
    }
  }
  let mEnd = -Infinity;
  for (let i = 0; i < L; i++) mEnd = Math.max(mEnd, (alpha[(n - 1) * L + i] as number) + (t.end[i] as number));
  let zSum = 0;
  for (let i = 0; i < L; i++) zSum += Math.exp((alpha[(n - 1) * L + i] as number) + (t.end[i] as number) - mEnd);
  const logZ = mEnd + Math.log(zSum);
  // Backward: b_{n-1} = exp(end - M), then b_k[i] = Σ_j T[i][j] e_{k+1}[j] b_{k+1}[j], each normalised.
  const b = a;
  let me = -Infinity;
  for (let i = 0; i < L; i++) me = Math.max(me, t.end[i] as number);
  sum = 0;
  for (let i = 0; i < L; i++) sum += b[i] = Math.exp((t.end[i] as number) - me);
  let logScaleB = me + Math.log(sum);
  for (let i = 0; i < L; i++) {
    b[i] = (b[i] as number) / sum;
    beta[(n - 1) * L + i] = Math.log(b[i] as number) + logScaleB;
  }
  for (let k = n - 2; k >= 0; k--) {
    for (let j = 0; j < L; j++) next[j] = (b[j] as number) * (e[(k + 1) * L + j] as number);
    sum = 0;
    for (let i = 0; i < L; i++) {
      const rowT = i * L;
      let s = 0;
      for (let j = 0; j < L; j++) s += (T[rowT + j] as number) * (next[j] as number);
      b[i] = s;
      sum += s;
    }
    logScaleB += (rowMax[k + 1] as number) + Math.log(sum);
    for (let i = 0; i < L; i++) {
      b[i] = (b[i] as number) / sum;
      beta[k * L + i] = Math.log(b[i] as number) + logScaleB;
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
      tmp[j] =
        j === i
          ? -Infinity
          : (t.trans[prev * L + j] as number) +
            (emissions[(offset + e) * L + j] as number) +
            (lat.beta[e * L + j] as number);
    }
    logp += logSumExp(tmp, L);
  }
  const p = Math.exp(logp - lat.logZ);
  return p > 1 ? 1 : p;
}

/**
 * The same for a BIOES model: a one-token entity is S at s; a longer one is B at s, I on s+1..e-2 and E
 * at e-1 (E ends an entity by construction, so nothing about token e needs excluding).
 */
export function spanMarginalBioes(
  lat: Lattice,
  emissions: ArrayLike<number>,
  offset: number,
  t: Transitions,
  s: number,
  e: number,
  idx: { b: number; i: number; e: number; s: number },
): number {
  const { L } = lat;
  let logp: number;
  if (e - s === 1) {
    logp = (lat.alpha[s * L + idx.s] as number) + (lat.beta[s * L + idx.s] as number);
  } else {
    logp = lat.alpha[s * L + idx.b] as number;
    let prev = idx.b;
    for (let k = s + 1; k < e; k++) {
      const y = k === e - 1 ? idx.e : idx.i;
      logp += (t.trans[prev * L + y] as number) + (emissions[(offset + k) * L + y] as number);
      prev = y;
    }
    logp += lat.beta[(e - 1) * L + idx.e] as number;
  }
  const p = Math.exp(logp - lat.logZ);
  return p > 1 ? 1 : p;
}
