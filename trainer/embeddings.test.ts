import { describe, expect, it } from 'vitest';
import {
  learnEmbeddings,
  orthonormalizeColumns,
  ppmiMatrix,
  randomizedSvd,
  symmetricEigen,
  type SparseMatrix,
} from './embeddings.js';

/** Dense row-major matrix → CSR. */
function sparse(rows: number, cols: number, dense: number[]): SparseMatrix {
  const rowPtr = new Int32Array(rows + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = dense[i * cols + j] as number;
      if (v !== 0) {
        colIdx.push(j);
        values.push(v);
      }
    }
    rowPtr[i + 1] = colIdx.length;
  }
  return { rows, cols, rowPtr, colIdx: Int32Array.from(colIdx), values: Float64Array.from(values) };
}

describe('symmetricEigen', () => {
  it('diagonalises a 2×2 matrix with known eigenpairs', () => {
    // [[2,1],[1,2]]: eigenvalues 3 (vector (1,1)/√2) and 1 (vector (1,-1)/√2).
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(values[0]).toBeCloseTo(3, 10);
    expect(values[1]).toBeCloseTo(1, 10);
    expect(Math.abs(vectors[0] as number)).toBeCloseTo(Math.SQRT1_2, 10);
    expect((vectors[0] as number) * (vectors[2] as number)).toBeCloseTo(0.5, 10); // same sign: (1,1)
  });
});

describe('orthonormalizeColumns', () => {
  it('gives orthonormal columns spanning the same space', () => {
    const m = 5;
    const k = 3;
    const q = Float64Array.from({ length: m * k }, (_, i) => Math.sin(i * 1.7) + (i % 3));
    orthonormalizeColumns(q, m, k);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += (q[i * k + a] as number) * (q[i * k + b] as number);
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
      }
    }
  });
});

describe('randomizedSvd', () => {
  it('recovers a known decomposition A = U·diag(s)·Vᵀ', () => {
    // U: 4×2 orthonormal, V: 3×2 orthonormal, s = (5, 2).
    const r = Math.SQRT1_2;
    const U = [
      [0.5, 0.5],
      [0.5, -0.5],
      [0.5, 0.5],
      [0.5, -0.5],
    ];
    const V = [
      [r, 0],
      [0, 1],
      [r, 0],
    ];
    const s = [5, 2];
    const dense: number[] = [];
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 3; j++) dense.push(s[0]! * U[i]![0]! * V[j]![0]! + s[1]! * U[i]![1]! * V[j]![1]!);
    const out = randomizedSvd(sparse(4, 3, dense), 2, 1, 2, 5);
    expect(out.s[0]).toBeCloseTo(5, 8);
    expect(out.s[1]).toBeCloseTo(2, 8);
    for (let j = 0; j < 2; j++) {
      let dot = 0;
      for (let i = 0; i < 4; i++) dot += (out.u[i * 2 + j] as number) * U[i]![j]!;
      expect(Math.abs(dot)).toBeCloseTo(1, 8);
    }
  });

  it('is deterministic for a seed', () => {
    const a = sparse(
      6,
      6,
      Array.from({ length: 36 }, (_, i) => ((i * 7) % 5 === 0 ? 0 : (i % 4) + 1)),
    );
    expect(randomizedSvd(a, 3, 2, 2, 9)).toEqual(randomizedSvd(a, 3, 2, 2, 9));
  });
});

describe('ppmiMatrix', () => {
  it('computes positive PMI from window co-occurrences', () => {
    // One sentence "a b": a–b co-occur once each way. Total 2, P(a,b)=1/2, P(a)=1/2, P_α(b)=1/2 → PMI log 2.
    const m = ppmiMatrix(
      [['a', 'b']],
      new Map([
        ['a', 0],
        ['b', 1],
      ]),
      1,
      1,
    );
    expect(Array.from(m.rowPtr)).toEqual([0, 1, 2]);
    expect(Array.from(m.colIdx)).toEqual([1, 0]);
    expect(m.values[0]).toBeCloseTo(Math.log(2), 12);
  });
});

describe('learnEmbeddings', () => {
  it('gives words in similar contexts similar unit vectors, deterministically', () => {
    const sentences: string[][] = [];
    for (let i = 0; i < 60; i++) {
      sentences.push(['patient', 'has', i % 2 ? 'asthma' : 'diabetes', 'today']);
      sentences.push(['given', i % 2 ? 'aspirin' : 'insulin', 'daily', 'now']);
    }
    const e = learnEmbeddings(sentences, { dim: 4, minCount: 1 });
    const vec = (w: string) => {
      const i = e.words.indexOf(w);
      return Array.from(e.vectors.subarray(i * 4, i * 4 + 4));
    };
    const cos = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    expect(cos(vec('asthma'), vec('asthma'))).toBeCloseTo(1, 5);
    expect(cos(vec('asthma'), vec('diabetes'))).toBeGreaterThan(cos(vec('asthma'), vec('insulin')));
    expect(learnEmbeddings(sentences, { dim: 4, minCount: 1 })).toEqual(e);
  });
});
