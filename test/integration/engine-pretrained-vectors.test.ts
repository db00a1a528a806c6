/**
 * Pretrained word vectors end to end (`ner-ops train --embeddings`): a real bundle trained with them and
 * served through ONNX Runtime, on a corpus where only the vectors can tell the classes apart.
 *
 * Made-up disease words and made-up food words fill the same sentence templates, so context says nothing
 * about which is which, and their spellings are random letters, so neither do affixes. Half of each class
 * never occurs in the labeled data, only in the unlabeled text (so the learned vectors see them, in the same
 * contexts as everything else) and in the pretrained vectors file, where diseases point one way and foods
 * another, as real vectors trained on a large corpus would place them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, verifyBundle } from '../../engine/bundle/bundle.js';
import { formatConll, type LabeledSentence } from '../../engine/corpus/conll.js';
import { seededRandom } from '../../engine/seeded-random.js';
import type { DenseInputOptions } from '../../trainer/stages/dense-input.js';
import { trainBundle, type TrainOptions } from '../../trainer/train.js';
import { TEMPLATES, bundleF1, madeUpCorpus } from './made-up-corpus.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../dist/cli/ner-ops.js');
const random = seededRandom(2026);
const DIM = 8;

const { word: madeUpWord, sentences: nameSentences } = madeUpCorpus(random);
const words = (n: number) => Array.from({ length: n }, madeUpWord);
const diseases = { seen: words(20), unseen: words(20) };
const foods = { seen: words(20), unseen: words(20) };
const sentences = (diseaseWords: string[], foodWords: string[], count: number) =>
  nameSentences(
    diseaseWords.map((w) => [w]),
    foodWords.map((w) => [w]),
    count,
  );

/** Diseases near one axis, foods near another, everything else anywhere. */
function vectorsFile(): string {
  const line = (word: string, axis: number | undefined) =>
    `${word} ${Array.from({ length: DIM }, (_, k) => ((k === axis ? 1 : 0) + (random() - 0.5) * 0.4).toFixed(4)).join(' ')}`;
  const context = [...new Set(TEMPLATES.flat())].filter((w) => w !== '#');
  return (
    [
      ...[...diseases.seen, ...diseases.unseen].map((w) => line(w, 0)),
      ...[...foods.seen, ...foods.unseen].map((w) => line(w, 1)),
      ...context.map((w) => line(w, undefined)),
      line('unrelated', 2),
    ].join('\n') + '\n'
  );
}

let dir: string;
let options: TrainOptions;
let test: LabeledSentence[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-vectors-'));
  await writeFile(join(dir, 'train.conll'), formatConll(sentences(diseases.seen, foods.seen, 480)));
  // Every made-up word in every template: the learned vectors see all of them in identical contexts.
  const everyWord = [...diseases.seen, ...diseases.unseen, ...foods.seen, ...foods.unseen];
  const unlabeled = everyWord.flatMap((w) => TEMPLATES.map((t) => t.map((x) => (x === '#' ? w : x)).join(' ')));
  await writeFile(join(dir, 'unlabeled.txt'), unlabeled.join('\n') + '\n');
  await writeFile(join(dir, 'vectors.txt'), vectorsFile());
  test = sentences(diseases.unseen, foods.unseen, 120);
  options = {
    corpus: { trainFile: join(dir, 'train.conll'), unlabeledFiles: [join(dir, 'unlabeled.txt')] },
    features: { dense: { pretrainedVectorsFile: join(dir, 'vectors.txt'), embeddingDim: DIM } },
    members: { epochs: 8, seed: 3, linearMembers: 0, mlp: { hidden: 8 } },
    export: { outDir: join(dir, 'with-vectors'), name: 'vectors' },
  };
  await trainBundle(options);
}, 120_000);

/** The same training options with other dense-branch input, writing the bundle to `outDir`. */
const withDense = (outDir: string, dense: DenseInputOptions): TrainOptions => ({
  ...options,
  features: { ...options.features, dense: { ...options.features?.dense, ...dense } },
  export: { ...options.export, outDir },
});
const withVectors = (outDir: string, pretrainedVectorsFile: string | undefined) =>
  withDense(outDir, { pretrainedVectorsFile });

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const f1OnUnseenWords = (bundle: string) => bundleF1(bundle, test);

describe('training with pretrained word vectors', () => {
  it('tags words it never saw labeled by where their pretrained vectors point; without them it cannot', async () => {
    expect(await f1OnUnseenWords(options.export.outDir)).toBeGreaterThan(0.85);
    const without = join(dir, 'without-vectors');
    await trainBundle(withVectors(without, undefined));
    expect(await f1OnUnseenWords(without)).toBeLessThan(0.65);
  });

  it('records the vectors in the manifest and appends them to the learned ones', async () => {
    const { manifest } = await verifyBundle(options.export.outDir);
    // Every made-up word and context word occurs in the text; "unrelated" does not and is left out.
    expect(manifest.training?.['pretrainedVectors']).toEqual({
      file: 'vectors.txt',
      sha256: sha256(await readFile(join(dir, 'vectors.txt'))),
      dim: DIM,
      words: 80 + 15,
    });
    expect(manifest.crf?.dense).toMatchObject({ embeddingDim: 2 * DIM });
    const vocabulary = (await readFile(join(options.export.outDir, 'embedding-vocab.txt'), 'utf8')).split('\n');
    for (const w of [...diseases.unseen, ...foods.unseen]) expect(vocabulary).toContain(w);
    expect(vocabulary).not.toContain('unrelated');
  });

  it('refuses unusable vectors before training, with the file and line', async () => {
    const bad = join(dir, 'bad.txt');
    await writeFile(bad, 'the 1 0 0\npatient 1 0\n');
    await expect(trainBundle(withVectors(join(dir, 'bad'), bad))).rejects.toThrow(
      `${bad}:2: 2 values, expected 3 like the lines before`,
    );
    await expect(trainBundle(withVectors(join(dir, 'none'), join(dir, 'none.txt')))).rejects.toThrow(
      /none\.txt: pretrained vectors file not found/,
    );
    await expect(trainBundle(withDense(join(dir, 'linear'), { enabled: false }))).rejects.toThrow(
      /cannot be used without it/,
    );
  });

  it('the CLI reports them as input errors, not crashes', async () => {
    const base = ['train', '--train', options.corpus.trainFile, '--out', join(dir, 'cli'), '--quiet'];
    await expect(run('node', [CLI, ...base, '--embeddings', join(dir, 'none.txt')])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /^ner-ops: train: .*none\.txt: pretrained vectors file not found or not readable\n$/,
      ),
    });
    await expect(
      run('node', [
        CLI,
        ...base,
        '--embeddings',
        options.features?.dense?.pretrainedVectorsFile as string,
        '--no-dense',
      ]),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--embeddings feeds the MLP branch; it cannot be used with --no-dense'),
    });
  });
});
