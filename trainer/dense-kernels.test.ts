import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../engine/seeded-random.js';
import { CHUNK_TOKENS } from './dense-kernels.js';
import { DenseBranch, type DenseShape } from './dense.js';

/**
 * The token-by-token JavaScript loops the kernels replaced, kept here as the reference: the kernels must
 * give the same numbers to the last bit (training is reproducible, and its digests were made with these).
 */
function referenceForward(
  shape: DenseShape,
  p: Float64Array,
  ids: Int32Array,
  n: number,
  table: Float32Array,
  out: Float64Array,
  hidden: Float64Array,
  mask?: Float64Array,
): void {
  const { window: Wn, dim: D, hidden: H, labels: L } = shape;
  const IN = Wn * D;
  const [b1, w2] = [IN * H, IN * H + H];
  const b2 = w2 + H * L;
  const x = new Float64Array(IN);
  for (let k = 0; k < n; k++) {
    for (let q = 0; q < Wn; q++)
      for (let d = 0; d < D; d++) x[q * D + d] = table[(ids[k * Wn + q] as number) * D + d] as number;
    for (let h = 0; h < H; h++) {
      const row = h * IN;
      let [a0, a1, a2, a3] = [0, 0, 0, 0];
      let i = 0;
      for (; i + 3 < IN; i += 4) {
        a0 += (x[i] as number) * (p[row + i] as number);
        a1 += (x[i + 1] as number) * (p[row + i + 1] as number);
        a2 += (x[i + 2] as number) * (p[row + i + 2] as number);
        a3 += (x[i + 3] as number) * (p[row + i + 3] as number);
      }
      for (; i < IN; i++) a0 += (x[i] as number) * (p[row + i] as number);
      const v = a0 + a1 + a2 + a3 + (p[b1 + h] as number);
      hidden[k * H + h] = v > 0 ? (mask ? v * (mask[k * H + h] as number) : v) : 0;
    }
    for (let y = 0; y < L; y++) {
      let acc = p[b2 + y] as number;
      for (let h = 0; h < H; h++) acc += (hidden[k * H + h] as number) * (p[w2 + h * L + y] as number);
      out[k * L + y] = (out[k * L + y] as number) + acc;
    }
  }
}

function referenceBackward(
  shape: DenseShape,
  p: Float64Array,
  ids: Int32Array,
  n: number,
  table: Float32Array,
  hidden: Float64Array,
  grad: Float64Array,
  lr: number,
  mask: Float64Array | undefined,
  skipBelow: number,
): void {
  const { window: Wn, dim: D, hidden: H, labels: L } = shape;
  const IN = Wn * D;
  const [b1, w2] = [IN * H, IN * H + H];
  const b2 = w2 + H * L;
  const x = new Float64Array(IN);
  const dh = new Float64Array(H);
  for (let k = 0; k < n; k++) {
    let max = 0;
    for (let y = 0; y < L; y++) max = Math.max(max, Math.abs(grad[k * L + y] as number));
    if (skipBelow > 0 && max < skipBelow) continue;
    for (let h = 0; h < H; h++) {
      if ((hidden[k * H + h] as number) <= 0) {
        dh[h] = 0;
        continue;
      }
      let acc = 0;
      for (let y = 0; y < L; y++) acc += (p[w2 + h * L + y] as number) * (grad[k * L + y] as number);
      dh[h] = mask ? acc * (mask[k * H + h] as number) : acc;
    }
    for (let h = 0; h < H; h++) {
      const a = hidden[k * H + h] as number;
      if (a === 0) continue;
      for (let y = 0; y < L; y++)
        p[w2 + h * L + y] = (p[w2 + h * L + y] as number) + lr * a * (grad[k * L + y] as number);
    }
    for (let y = 0; y < L; y++) p[b2 + y] = (p[b2 + y] as number) + lr * (grad[k * L + y] as number);
    for (let q = 0; q < Wn; q++)
      for (let d = 0; d < D; d++) x[q * D + d] = table[(ids[k * Wn + q] as number) * D + d] as number;
    for (let h = 0; h < H; h++) {
      const g = dh[h] as number;
      if (g === 0) continue;
      p[b1 + h] = (p[b1 + h] as number) + lr * g;
      for (let i = 0; i < IN; i++) p[h * IN + i] = (p[h * IN + i] as number) + lr * g * (x[i] as number);
    }
  }
}

describe('dense-kernels.wasm', () => {
  it('is what dense-kernels.wat assembles to (`npm run build:kernels` after editing the source)', () => {
    const script = fileURLToPath(new URL('../scripts/build-kernels.mjs', import.meta.url));
    // Throws, with the script's message, when the check fails.
    expect(
      execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    ).toBe('');
  });
});

describe('DenseBranch on the WebAssembly kernels', () => {
  // Input widths that are not multiples of 4 or 2 exercise the kernels' remainders; more tokens than
  // CHUNK_TOKENS exercise the chunking.
  it.each([
    { window: 3, dim: 7, hidden: 5, labels: 4 },
    { window: 5, dim: 203, hidden: 64, labels: 9 },
    { window: 1, dim: 2, hidden: 3, labels: 3 },
  ])('gives the JavaScript loops’ results bit for bit: %o', (shape) => {
    const random = seededRandom(11);
    const rows = 50;
    const n = CHUNK_TOKENS * 2 + 37;
    const table = Float32Array.from({ length: rows * shape.dim }, () => random() * 2 - 1);
    const ids = Int32Array.from({ length: n * shape.window }, () => Math.floor(random() * rows));
    const mask = Float64Array.from({ length: n * shape.hidden }, () => (random() < 0.2 ? 0 : 1.25));
    const grad = Float64Array.from({ length: n * shape.labels }, () =>
      random() < 0.3 ? random() * 1e-4 : random() * 2 - 1,
    );
    for (const withMask of [false, true]) {
      const branch = DenseBranch.init(shape, 5);
      branch.b1.forEach((_, h) => (branch.b1[h] = random() - 0.5));
      const reference = Float64Array.from(branch.params);
      const [out, expectedOut] = [
        new Float64Array(n * shape.labels).fill(0.5),
        new Float64Array(n * shape.labels).fill(0.5),
      ];
      const [hidden, expectedHidden] = [new Float64Array(n * shape.hidden), new Float64Array(n * shape.hidden)];
      const m = withMask ? mask : undefined;
      branch.forward(ids, n, table, out, hidden, m);
      referenceForward(shape, reference, ids, n, table, expectedOut, expectedHidden, m);
      expect(out).toEqual(expectedOut);
      expect(hidden).toEqual(expectedHidden);
      // Two steps, the second after the first changed every layer; tokens with tiny gradients skipped.
      for (const lr of [0.02, 0.013]) {
        branch.backward(ids, n, table, hidden, grad, lr, m, 1e-3);
        referenceBackward(shape, reference, ids, n, table, expectedHidden, grad, lr, m, 1e-3);
        expect(branch.params).toEqual(reference);
      }
      expect(branch.params.some((v, k) => v !== DenseBranch.init(shape, 5).params[k])).toBe(true);
    }
  });
});
