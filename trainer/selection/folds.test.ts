import { describe, expect, it } from 'vitest';
import { FOLD_BLOCK, foldBlockLength, foldCorpus, foldOf } from './folds.js';
import type { Corpus } from '../stages/corpus.js';

const sentences = (n: number, document?: (k: number) => number) =>
  Array.from({ length: n }, (_, k) => ({
    line: 1 + 3 * k,
    tokens: [`w${k}`, 'x'],
    labels: ['B-D', 'O'],
    ...(document ? { document: document(k) } : {}),
  }));

describe('held-out folds of the training set', () => {
  it('deal blocks of sentences round-robin, so every fold spans the file', () => {
    const folds = foldOf(sentences(9 * FOLD_BLOCK), 3);
    expect(folds.slice(0, FOLD_BLOCK).every((f) => f === 0)).toBe(true);
    expect(folds[FOLD_BLOCK - 1]).toBe(0);
    expect(folds[FOLD_BLOCK]).toBe(1);
    expect(folds[2 * FOLD_BLOCK]).toBe(2);
    expect(folds[3 * FOLD_BLOCK]).toBe(0);
    expect(folds[9 * FOLD_BLOCK - 1]).toBe(2);
  });

  it('shorten the blocks of a small training set so every fold still gets three', () => {
    expect(foldBlockLength(30, 3)).toBe(3);
    expect(foldBlockLength(5, 3)).toBe(1);
    expect(foldBlockLength(100_000, 3)).toBe(FOLD_BLOCK);
    const folds = foldOf(sentences(60), 3);
    const perFold = [0, 1, 2].map((f) => folds.filter((x) => x === f).length);
    expect(perFold).toEqual([24, 18, 18]);
  });

  it('keep a marked document whole', () => {
    const folds = foldOf(
      sentences(9, (k) => Math.floor(k / 3)),
      3,
    );
    expect(folds).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
  });

  it('hold a fold out as dev, train on the rest, each block its own document, the dev file forgotten', () => {
    const trainBio = sentences(9 * FOLD_BLOCK);
    const corpus = {
      trainFile: 't',
      trainSha256: 'x',
      devFile: 'd',
      devSha256: 'y',
      unlabeledFiles: [],
      trainBio,
      train: trainBio,
      tagScheme: 'bio',
      labels: ['O', 'B-D', 'I-D'],
      tokens: 2 * trainBio.length,
      unlabeled: [],
    } as Corpus;
    const held = foldCorpus(corpus, 3, 1);
    const heldBlocks = [1, 4, 7].flatMap((b) => trainBio.slice(b * FOLD_BLOCK, (b + 1) * FOLD_BLOCK));
    expect(held.dev?.map((s) => s.tokens[0])).toEqual(heldBlocks.map((s) => s.tokens[0]));
    expect(held.train).toHaveLength(6 * FOLD_BLOCK);
    expect(held.tokens).toBe(12 * FOLD_BLOCK);
    expect(held.devFile).toBeUndefined();
    expect(new Set(held.trainBio.map((s) => s.document))).toEqual(new Set([0, 2, 3, 5, 6, 8]));
  });
});
