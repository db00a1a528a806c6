import { describe, expect, it } from 'vitest';
import {
  bioConstraints,
  constrainedTransitions,
  forwardBackward,
  spanMarginal,
  spanMarginalBioes,
  tokenMarginals,
  viterbi,
  type Transitions,
} from './crf.js';
import { seededRandom } from '../seeded-random.js';

const LABELS = ['O', 'B-D', 'I-D', 'B-T', 'I-T'];
const L = LABELS.length;

function randomProblem(seed: number, n: number) {
  const r = seededRandom(seed);
  const em = Float64Array.from({ length: n * L }, () => r() * 4 - 2);
  const raw: Transitions = {
    trans: Float64Array.from({ length: L * L }, () => r() * 2 - 1),
    start: Float64Array.from({ length: L }, () => r() - 0.5),
    end: Float64Array.from({ length: L }, () => r() - 0.5),
  };
  return { em, t: constrainedTransitions(raw, LABELS) };
}

/** Every label sequence with its unnormalised log score (the brute-force reference). */
function enumerate(em: Float64Array, n: number, t: Transitions): { path: number[]; score: number }[] {
  const out: { path: number[]; score: number }[] = [];
  const rec = (path: number[]) => {
    if (path.length === n) {
      let s = (t.start[path[0]!] as number) + (t.end[path[n - 1]!] as number);
      for (let k = 0; k < n; k++)
        s += (em[k * L + path[k]!] as number) + (k > 0 ? (t.trans[path[k - 1]! * L + path[k]!] as number) : 0);
      out.push({ path: [...path], score: s });
      return;
    }
    for (let y = 0; y < L; y++) rec([...path, y]);
  };
  rec([]);
  return out;
}

describe('linear-chain CRF inference', () => {
  it('never allows I-X after O or another type, nor at the start', () => {
    const c = bioConstraints(LABELS);
    expect(c.start[2]).toBe(0);
    expect(c.trans[0 * L + 2]).toBe(0); // O → I-D
    expect(c.trans[3 * L + 2]).toBe(0); // B-T → I-D
    expect(c.trans[1 * L + 2]).toBe(1); // B-D → I-D
    expect(c.trans[2 * L + 2]).toBe(1); // I-D → I-D
  });

  it.each([1, 2, 3, 4, 5])('Viterbi, marginals and span probabilities match brute force (seed %i)', (seed) => {
    const n = 4;
    const { em, t } = randomProblem(seed, n);
    const all = enumerate(em, n, t).filter((p) => Number.isFinite(p.score));
    const best = all.reduce((a, b) => (b.score > a.score ? b : a));
    const path = new Int32Array(n);
    viterbi(em, 0, n, L, t, path);
    expect(Array.from(path)).toEqual(best.path);

    const logZ = Math.log(all.reduce((s, p) => s + Math.exp(p.score), 0));
    const lat = forwardBackward(em, 0, n, L, t);
    expect(lat.logZ).toBeCloseTo(logZ, 9);
    const marg = tokenMarginals(lat);
    for (let k = 0; k < n; k++) {
      let sum = 0;
      for (let y = 0; y < L; y++) {
        const expected = all.filter((p) => p.path[k] === y).reduce((s, p) => s + Math.exp(p.score - logZ), 0);
        expect(marg[k * L + y]).toBeCloseTo(expected, 9);
        sum += marg[k * L + y] as number;
      }
      expect(sum).toBeCloseTo(1, 9);
    }
    // P(entity D exactly over tokens [1,3)): B-D at 1, I-D at 2, and token 3 is not I-D.
    const expected = all
      .filter((p) => p.path[1] === 1 && p.path[2] === 2 && p.path[3] !== 2)
      .reduce((s, p) => s + Math.exp(p.score - logZ), 0);
    expect(spanMarginal(lat, em, 0, t, 1, 3, 1, 2)).toBeCloseTo(expected, 9);
    // A span reaching the end of the sentence.
    const expectedEnd = all
      .filter((p) => p.path[2] === 3 && p.path[3] === 4)
      .reduce((s, p) => s + Math.exp(p.score - logZ), 0);
    expect(spanMarginal(lat, em, 0, t, 2, 4, 3, 4)).toBeCloseTo(expectedEnd, 9);
  });

  it('decodes a sentence at an offset inside a batch', () => {
    const { em, t } = randomProblem(9, 6);
    const whole = new Int32Array(3);
    viterbi(em.subarray(3 * L), 0, 3, L, t, whole);
    const atOffset = new Int32Array(3);
    viterbi(em, 3, 3, L, t, atOffset);
    expect(Array.from(atOffset)).toEqual(Array.from(whole));
  });
});

describe('BIOES chains', () => {
  const BL = ['O', 'B-D', 'I-D', 'E-D', 'S-D'];
  const N = BL.length;

  it('allows only well-formed BIOES sequences', () => {
    const c = bioConstraints(BL);
    expect(Array.from(c.start)).toEqual([1, 1, 0, 0, 1]);
    expect(Array.from(c.end)).toEqual([1, 0, 0, 1, 1]);
    expect(c.trans[0 * N + 3]).toBe(0); // O → E-D
    expect(c.trans[1 * N + 0]).toBe(0); // B-D → O
    expect(c.trans[1 * N + 3]).toBe(1); // B-D → E-D
    expect(c.trans[3 * N + 4]).toBe(1); // E-D → S-D
    expect(c.trans[4 * N + 2]).toBe(0); // S-D → I-D
    expect(c.trans[2 * N + 1]).toBe(0); // I-D → B-D
  });

  it.each([1, 2, 3])('span marginals match brute force (seed %i)', (seed) => {
    const n = 4;
    const r = seededRandom(seed);
    const em = Float64Array.from({ length: n * N }, () => r() * 4 - 2);
    const raw: Transitions = {
      trans: Float64Array.from({ length: N * N }, () => r() * 2 - 1),
      start: Float64Array.from({ length: N }, () => r() - 0.5),
      end: Float64Array.from({ length: N }, () => r() - 0.5),
    };
    const t = constrainedTransitions(raw, BL);
    const all: { path: number[]; score: number }[] = [];
    const rec = (path: number[]) => {
      if (path.length === n) {
        let s = (t.start[path[0]!] as number) + (t.end[path[n - 1]!] as number);
        for (let k = 0; k < n; k++)
          s += (em[k * N + path[k]!] as number) + (k > 0 ? (t.trans[path[k - 1]! * N + path[k]!] as number) : 0);
        if (Number.isFinite(s)) all.push({ path: [...path], score: s });
        return;
      }
      for (let y = 0; y < N; y++) rec([...path, y]);
    };
    rec([]);
    const lat = forwardBackward(em, 0, n, N, t);
    const logZ = Math.log(all.reduce((s, p) => s + Math.exp(p.score), 0));
    expect(lat.logZ).toBeCloseTo(logZ, 9);
    const idx = { b: 1, i: 2, e: 3, s: 4 };
    const prob = (f: (p: number[]) => boolean) =>
      all.filter((p) => f(p.path)).reduce((s, p) => s + Math.exp(p.score - logZ), 0);
    expect(spanMarginalBioes(lat, em, 0, t, 1, 2, idx)).toBeCloseTo(
      prob((p) => p[1] === 4),
      9,
    );
    expect(spanMarginalBioes(lat, em, 0, t, 0, 3, idx)).toBeCloseTo(
      prob((p) => p[0] === 1 && p[1] === 2 && p[2] === 3),
      9,
    );
    expect(spanMarginalBioes(lat, em, 0, t, 2, 4, idx)).toBeCloseTo(
      prob((p) => p[2] === 1 && p[3] === 3),
      9,
    );
    const path = new Int32Array(n);
    viterbi(em, 0, n, N, t, path);
    expect(Array.from(path)).toEqual(all.reduce((a, b) => (b.score > a.score ? b : a)).path);
  });
});
