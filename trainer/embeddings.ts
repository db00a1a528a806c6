/**
 * Dense word embeddings from unlabeled text: positive PMI over a symmetric ±window co-occurrence
 * matrix, factorised by a randomized truncated SVD (Halko, Martinsson & Tropp 2011) with power
 * iterations, embedding = U·sqrt(S) with L2-normalised rows (Levy, Goldberg & Dagan 2015 found this
 * count-based recipe competitive with word2vec on similarity tasks, and it is deterministic and fast).
 *
 * Why hand-written: no maintained npm package does sparse randomized SVD; the maths is ~200 lines of
 * typed-array loops. Everything is seeded, so the same text gives bit-identical vectors.
 */
import { normalizeToken } from '../engine/features/normalize.js';
import { seededRandom } from '../engine/seeded-random.js';

export interface EmbeddingOptions {
  /** Vector dimension (number of singular vectors kept). */
  dim: number;
  /** Words occurring fewer times get no vector (they map to the unknown id at runtime). */
  minCount: number;
  /** Co-occurrence window: ±window tokens, within a sentence. */
  window: number;
  /** Context distribution smoothing exponent (0.75 as in word2vec's negative sampling). */
  contextSmoothing: number;
  /** Extra random columns for the range finder. */
  oversample: number;
  /** Power iterations (each a multiply by A·Aᵀ with re-orthonormalisation). */
  powerIterations: number;
  seed: number;
}

export const DEFAULT_EMBEDDING_OPTIONS: EmbeddingOptions = {
  dim: 100,
  minCount: 2,
  window: 2,
  contextSmoothing: 0.75,
  oversample: 12,
  powerIterations: 3,
  seed: 17,
};

export interface WordEmbeddings {
  /** Words in normalised form (engine/features/normalize.ts `normalizeToken`); row i of `vectors` is words[i]. */
  words: string[];
  dim: number;
  /** words.length × dim, row-major. */
  vectors: Float32Array;
}

/** Compressed sparse rows. */
export interface SparseMatrix {
  rows: number;
  cols: number;
  rowPtr: Int32Array;
  colIdx: Int32Array;
  values: Float64Array;
}

/** Y = A·X, X dense cols×k (row-major), Y rows×k. */
export function sparseTimesDense(a: SparseMatrix, x: Float64Array, k: number): Float64Array {
  const y = new Float64Array(a.rows * k);
  for (let i = 0; i < a.rows; i++) {
    const yo = i * k;
    for (let p = a.rowPtr[i] as number; p < (a.rowPtr[i + 1] as number); p++) {
      const v = a.values[p] as number;
      const xo = (a.colIdx[p] as number) * k;
      for (let j = 0; j < k; j++) y[yo + j] = (y[yo + j] as number) + v * (x[xo + j] as number);
    }
  }
  return y;
}

/** Y = Aᵀ·X, X dense rows×k (row-major), Y cols×k. */
export function sparseTransposeTimesDense(a: SparseMatrix, x: Float64Array, k: number): Float64Array {
  const y = new Float64Array(a.cols * k);
  for (let i = 0; i < a.rows; i++) {
    const xo = i * k;
    for (let p = a.rowPtr[i] as number; p < (a.rowPtr[i + 1] as number); p++) {
      const v = a.values[p] as number;
      const yo = (a.colIdx[p] as number) * k;
      for (let j = 0; j < k; j++) y[yo + j] = (y[yo + j] as number) + v * (x[xo + j] as number);
    }
  }
  return y;
}

/** Orthonormalise the k columns of row-major m×k `q` in place (modified Gram-Schmidt, done twice). */
export function orthonormalizeColumns(q: Float64Array, m: number, k: number): void {
  const col = new Float64Array(m);
  const basis: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < m; i++) col[i] = q[i * k + j] as number;
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += (b[i] as number) * (col[i] as number);
        for (let i = 0; i < m; i++) col[i] = (col[i] as number) - dot * (b[i] as number);
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += (col[i] as number) ** 2;
    norm = Math.sqrt(norm);
    const saved = new Float64Array(m);
    // A (numerically) dependent column becomes zero: it contributes nothing downstream.
    if (norm > 1e-12) for (let i = 0; i < m; i++) saved[i] = (col[i] as number) / norm;
    basis.push(saved);
    for (let i = 0; i < m; i++) q[i * k + j] = saved[i] as number;
  }
}

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major) by cyclic Jacobi rotations.
 * Returns eigenvalues in descending order and the matching eigenvectors as columns of `vectors` (n×n).
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += (a[p * n + q] as number) ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p] as number;
        const aqq = a[q * n + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p] as number;
          const akq = a[k * n + q] as number;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k] as number;
          const aqk = a[q * n + k] as number;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p] as number;
          const vkq = v[k * n + q] as number;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (x, y) => (a[y * n + y] as number) - (a[x * n + x] as number) || x - y,
  );
  const values = Float64Array.from(order, (i) => a[i * n + i] as number);
  const vectors = new Float64Array(n * n);
  for (let j = 0; j < n; j++)
    for (let k = 0; k < n; k++) vectors[k * n + j] = v[k * n + (order[j] as number)] as number;
  return { values, vectors };
}

/**
 * Top-`rank` left singular vectors and singular values of a sparse matrix by randomized SVD.
 * `u` is rows×rank row-major; columns are ordered by decreasing singular value; signs are fixed so the
 * largest-magnitude entry of each column is positive (a deterministic convention).
 */
export function randomizedSvd(
  a: SparseMatrix,
  rank: number,
  oversample: number,
  powerIterations: number,
  seed: number,
): { u: Float64Array; s: Float64Array } {
  const l = Math.min(rank + oversample, a.rows, a.cols);
  const random = seededRandom(seed);
  const gaussian = () => {
    const u1 = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random());
  };
  const omega = Float64Array.from({ length: a.cols * l }, gaussian);
  let y = sparseTimesDense(a, omega, l);
  orthonormalizeColumns(y, a.rows, l);
  for (let it = 0; it < powerIterations; it++) {
    const z = sparseTransposeTimesDense(a, y, l);
    orthonormalizeColumns(z, a.cols, l);
    y = sparseTimesDense(a, z, l);
    orthonormalizeColumns(y, a.rows, l);
  }
  // B = Qᵀ·A (l×cols); its left singular vectors are the eigenvectors of B·Bᵀ = Qᵀ·A·Aᵀ·Q.
  const bt = sparseTransposeTimesDense(a, y, l); // Aᵀ·Q = Bᵀ, cols×l
  const bbt = new Float64Array(l * l);
  for (let r = 0; r < a.cols; r++) {
    const o = r * l;
    for (let i = 0; i < l; i++) {
      const bi = bt[o + i] as number;
      if (bi === 0) continue;
      for (let j = i; j < l; j++) bbt[i * l + j] = (bbt[i * l + j] as number) + bi * (bt[o + j] as number);
    }
  }
  for (let i = 0; i < l; i++) for (let j = 0; j < i; j++) bbt[i * l + j] = bbt[j * l + i] as number;
  const eig = symmetricEigen(bbt, l);
  const k = Math.min(rank, l);
  const s = Float64Array.from({ length: k }, (_, j) => Math.sqrt(Math.max(0, eig.values[j] as number)));
  const u = new Float64Array(a.rows * k);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < k; j++) {
      let acc = 0;
      for (let m = 0; m < l; m++) acc += (y[i * l + m] as number) * (eig.vectors[m * l + j] as number);
      u[i * k + j] = acc;
    }
  }
  for (let j = 0; j < k; j++) {
    let best = 0;
    for (let i = 0; i < a.rows; i++)
      if (Math.abs(u[i * k + j] as number) > Math.abs(best)) best = u[i * k + j] as number;
    if (best < 0) for (let i = 0; i < a.rows; i++) u[i * k + j] = -(u[i * k + j] as number);
  }
  return { u, s };
}

/** Positive PMI word×context matrix over a symmetric window; words and contexts share one vocabulary. */
export function ppmiMatrix(
  sentences: readonly (readonly string[])[],
  vocab: ReadonlyMap<string, number>,
  window: number,
  smoothing: number,
): SparseMatrix {
  const V = vocab.size;
  const rowsMaps: Map<number, number>[] = Array.from({ length: V }, () => new Map());
  for (const s of sentences) {
    const ids = s.map((w) => vocab.get(w) ?? -1);
    for (let i = 0; i < ids.length; i++) {
      const w = ids[i] as number;
      if (w < 0) continue;
      const row = rowsMaps[w] as Map<number, number>;
      for (let o = -window; o <= window; o++) {
        if (o === 0) continue;
        const c = ids[i + o];
        if (c === undefined || c < 0) continue;
        row.set(c, (row.get(c) ?? 0) + 1);
      }
    }
  }
  const rowTotals = new Float64Array(V);
  const colTotals = new Float64Array(V);
  let total = 0;
  let nnz = 0;
  for (let w = 0; w < V; w++) {
    for (const [c, n] of rowsMaps[w] as Map<number, number>) {
      rowTotals[w] = (rowTotals[w] as number) + n;
      colTotals[c] = (colTotals[c] as number) + n;
      total += n;
      nnz++;
    }
  }
  let smoothedTotal = 0;
  const colSmoothed = Float64Array.from(colTotals, (n) => n ** smoothing);
  for (const v of colSmoothed) smoothedTotal += v;
  const rowPtr = new Int32Array(V + 1);
  const colIdx = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let p = 0;
  for (let w = 0; w < V; w++) {
    const entries = [...(rowsMaps[w] as Map<number, number>).entries()].sort((x, y) => x[0] - y[0]);
    for (const [c, n] of entries) {
      // PMI = log( P(w,c) / (P(w) · P_α(c)) ) with the smoothed context distribution P_α.
      const pmi = Math.log(
        n / total / (((rowTotals[w] as number) / total) * ((colSmoothed[c] as number) / smoothedTotal)),
      );
      if (pmi > 0) {
        colIdx[p] = c;
        values[p] = pmi;
        p++;
      }
    }
    rowPtr[w + 1] = p;
  }
  return { rows: V, cols: V, rowPtr, colIdx: colIdx.slice(0, p), values: values.slice(0, p) };
}

/** Sentences in the runtime's normalised word form, and each word's frequency. */
export function normalizeCorpus(sentences: Iterable<readonly string[]>): {
  normalized: string[][];
  freq: Map<string, number>;
} {
  const normalized: string[][] = [];
  const freq = new Map<string, number>();
  for (const s of sentences) {
    const n = s.map(normalizeToken);
    normalized.push(n);
    for (const w of n) freq.set(w, (freq.get(w) ?? 0) + 1);
  }
  return { normalized, freq };
}

/** Learn embeddings from sentences of raw tokens (normalised here like the runtime does). */
export function learnEmbeddings(
  sentences: Iterable<readonly string[]>,
  options: Partial<EmbeddingOptions> = {},
): WordEmbeddings {
  const o = { ...DEFAULT_EMBEDDING_OPTIONS, ...options };
  const { normalized, freq } = normalizeCorpus(sentences);
  const words = [...freq.entries()]
    .filter(([, c]) => c >= o.minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w]) => w);
  const vocab = new Map(words.map((w, i) => [w, i]));
  const a = ppmiMatrix(normalized, vocab, o.window, o.contextSmoothing);
  const { u, s } = randomizedSvd(a, o.dim, o.oversample, o.powerIterations, o.seed);
  const k = s.length;
  const vectors = new Float32Array(words.length * o.dim);
  for (let i = 0; i < words.length; i++) {
    let norm = 0;
    for (let j = 0; j < k; j++) norm += ((u[i * k + j] as number) * Math.sqrt(s[j] as number)) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < k; j++) vectors[i * o.dim + j] = ((u[i * k + j] as number) * Math.sqrt(s[j] as number)) / norm;
  }
  return { words, dim: o.dim, vectors };
}
