/**
 * Word clusters from unlabeled text, the classic semi-supervised boost for linear NER models
 * (Turian et al. 2010; Ratinov & Roth 2009): words that occur in similar contexts share cluster
 * features, so a disease word never seen in the labeled data still looks like its neighbours.
 *
 * Method (chosen because it is fast in plain JS and deterministic):
 *   1. count each word's neighbours at offsets -2, -1, +1, +2 among the most frequent context words;
 *   2. weight counts by positive PMI and L2-normalise the sparse rows;
 *   3. hierarchical k-means (spherical, k-means++ seeding) with a fixed branching factor, so each word
 *      gets cluster ids at several granularities that nest like Brown-cluster path prefixes.
 *
 * Why hand-written: no maintained npm package does distributional word clustering; this is ~150 lines.
 */
import { WordClusters } from '../engine/features/clusters.js';
import { seededRandom } from '../engine/seeded-random.js';
import { normalizeCorpus } from './embeddings.js';

export interface ClusterOptions {
  minCount: number;
  contextWords: number;
  branching: number;
  /** Depths reported as features, e.g. [2, 3, 4] with branching 8 → 64, 512, 4096 clusters. */
  levels: number[];
  iterations: number;
  seed: number;
}

export const DEFAULT_CLUSTER_OPTIONS: ClusterOptions = {
  minCount: 2,
  contextWords: 2000,
  branching: 8,
  levels: [2, 3, 4],
  iterations: 8,
  seed: 7,
};

const OFFSETS = [-2, -1, 1, 2];

/** Learn clusters from sentences of raw tokens. */
export function learnClusters(
  sentences: Iterable<readonly string[]>,
  options: Partial<ClusterOptions> = {},
): WordClusters {
  const o = { ...DEFAULT_CLUSTER_OPTIONS, ...options };
  const { normalized, freq } = normalizeCorpus(sentences);
  // Sort by frequency then lexicographically so ids are deterministic.
  const byFreq = [...freq.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const vocab = byFreq.filter(([, c]) => c >= o.minCount).map(([w]) => w);
  const wordId = new Map(vocab.map((w, i) => [w, i]));
  const ctxVocab = byFreq.slice(0, o.contextWords).map(([w]) => w);
  const ctxId = new Map(ctxVocab.map((w, i) => [w, i]));
  const C = ctxVocab.length * OFFSETS.length + 2; // + sentence boundary markers

  const counts = contextCounts(normalized, wordId, ctxId, vocab.length, C);
  // Sparse, L2-normalised PPMI rows. (A random projection to a few dozen dense dimensions was tried
  // first: its distortion is as large as the cosine similarities between related words, so the
  // clusters came out random. k-means on the sparse rows is both exact and cheap.)
  const X = ppmiRows(counts);
  const paths = clusterPaths(X, C, o, seededRandom(o.seed));
  const entries: [string, number[]][] = vocab.map((w, i) => {
    const p = paths[i] as number[];
    return [w, o.levels.map((depth) => p.slice(0, depth).reduce((acc, x) => acc * o.branching + x, 0))];
  });
  return new WordClusters(entries);
}

/** Co-occurrence counts of each word with its context words at each offset: sparse, one Map per word. */
interface ContextCounts {
  cooc: Map<number, number>[];
  ctxTotals: Float64Array;
  total: number;
}

function contextCounts(
  normalized: readonly (readonly string[])[],
  wordId: ReadonlyMap<string, number>,
  ctxId: ReadonlyMap<string, number>,
  V: number,
  C: number,
): ContextCounts {
  const cooc: Map<number, number>[] = Array.from({ length: V }, () => new Map());
  const ctxTotals = new Float64Array(C);
  let total = 0;
  for (const n of normalized) {
    for (let i = 0; i < n.length; i++) {
      const w = wordId.get(n[i] as string);
      if (w === undefined) continue;
      const m = cooc[w] as Map<number, number>;
      for (let k = 0; k < OFFSETS.length; k++) {
        const j = i + (OFFSETS[k] as number);
        let c: number | undefined;
        if (j < 0) c = C - 2;
        else if (j >= n.length) c = C - 1;
        else {
          const id = ctxId.get(n[j] as string);
          if (id !== undefined) c = id * OFFSETS.length + k;
        }
        if (c === undefined) continue;
        m.set(c, (m.get(c) ?? 0) + 1);
        ctxTotals[c] = (ctxTotals[c] as number) + 1;
        total++;
      }
    }
  }
  return { cooc, ctxTotals, total };
}

function ppmiRows({ cooc, ctxTotals, total }: ContextCounts): SparseRow[] {
  const wordTotals = cooc.map((m) => {
    let s = 0;
    for (const v of m.values()) s += v;
    return s;
  });
  return cooc.map((m, w) => {
    const idx: number[] = [];
    const val: number[] = [];
    let norm = 0;
    for (const c of [...m.keys()].sort((a, b) => a - b)) {
      const pmi = Math.log(((m.get(c) as number) * total) / ((wordTotals[w] as number) * (ctxTotals[c] as number)));
      if (pmi <= 0) continue;
      idx.push(c);
      val.push(pmi);
      norm += pmi * pmi;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    return { idx: Int32Array.from(idx), val: Float32Array.from(val, (v) => v * inv) };
  });
}

/** Hierarchical spherical k-means: each word's path of branch indices, from the root down. */
function clusterPaths(X: SparseRow[], C: number, o: ClusterOptions, random: () => number): number[][] {
  const V = X.length;
  const maxDepth = Math.max(...o.levels);
  const paths: number[][] = Array.from({ length: V }, () => []);
  const split = (members: number[], depth: number) => {
    if (depth >= maxDepth) return;
    const assign =
      members.length <= o.branching
        ? members.map((_, i) => i)
        : kmeans(X, C, members, o.branching, o.iterations, random);
    const groups: number[][] = Array.from({ length: o.branching }, () => []);
    members.forEach((w, i) => (groups[assign[i] as number] as number[]).push(w));
    groups.forEach((g, gi) => {
      for (const w of g) (paths[w] as number[]).push(gi);
      if (g.length > 1) split(g, depth + 1);
      else for (const w of g) while ((paths[w] as number[]).length < maxDepth) (paths[w] as number[]).push(0);
    });
  };
  split(
    Array.from({ length: V }, (_, i) => i),
    0,
  );
  return paths;
}

interface SparseRow {
  idx: Int32Array;
  val: Float32Array;
}

function normalizeDense(x: Float64Array, row: number, dims: number): void {
  let s = 0;
  for (let d = 0; d < dims; d++) s += (x[row + d] as number) ** 2;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let d = 0; d < dims; d++) x[row + d] = (x[row + d] as number) * inv;
}

function dot(r: SparseRow, centers: Float64Array, base: number): number {
  let s = 0;
  for (let k = 0; k < r.idx.length; k++) s += (r.val[k] as number) * (centers[base + (r.idx[k] as number)] as number);
  return s;
}

function sparseDot(a: SparseRow, b: SparseRow): number {
  let s = 0;
  let i = 0;
  let j = 0;
  while (i < a.idx.length && j < b.idx.length) {
    const x = a.idx[i] as number;
    const y = b.idx[j] as number;
    if (x === y) s += (a.val[i++] as number) * (b.val[j++] as number);
    else if (x < y) i++;
    else j++;
  }
  return s;
}

/** Spherical k-means over the rows `members` of X (sparse, unit length); returns each member's cluster. */
function kmeans(
  X: SparseRow[],
  dims: number,
  members: number[],
  k: number,
  iterations: number,
  random: () => number,
): Int32Array {
  const m = members.length;
  // k-means++ seeding on cosine distance.
  const seeds: number[] = [members[Math.floor(random() * m)] as number];
  const dist = new Float64Array(m).fill(Infinity);
  for (let c = 1; c < k; c++) {
    const last = X[seeds[c - 1] as number] as SparseRow;
    let sum = 0;
    for (let i = 0; i < m; i++) {
      const d = 1 - sparseDot(X[members[i] as number] as SparseRow, last);
      if (d < (dist[i] as number)) dist[i] = d;
      sum += Math.max(0, dist[i] as number);
    }
    let r = random() * sum;
    let pick = m - 1;
    for (let i = 0; i < m; i++) {
      r -= Math.max(0, dist[i] as number);
      if (r <= 0) {
        pick = i;
        break;
      }
    }
    seeds.push(members[pick] as number);
  }
  const centers = new Float64Array(k * dims);
  seeds.forEach((w, c) => {
    const r = X[w] as SparseRow;
    for (let t = 0; t < r.idx.length; t++) centers[c * dims + (r.idx[t] as number)] = r.val[t] as number;
  });
  const assign = new Int32Array(m);
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < m; i++) {
      const r = X[members[i] as number] as SparseRow;
      let best = -Infinity;
      let arg = 0;
      for (let c = 0; c < k; c++) {
        const s = dot(r, centers, c * dims);
        if (s > best) {
          best = s;
          arg = c;
        }
      }
      assign[i] = arg;
    }
    centers.fill(0);
    for (let i = 0; i < m; i++) {
      const r = X[members[i] as number] as SparseRow;
      const base = (assign[i] as number) * dims;
      for (let t = 0; t < r.idx.length; t++)
        centers[base + (r.idx[t] as number)] = (centers[base + (r.idx[t] as number)] as number) + (r.val[t] as number);
    }
    for (let c = 0; c < k; c++) normalizeDense(centers, c * dims, dims);
  }
  return assign;
}
