/**
 * Bounded work per engine call: the CRF runtime scores at most `maxTokensPerRun` tokens per ONNX Runtime
 * run and processes a batch in groups of documents. Forcing a tiny cap must change no result, for the
 * plain linear model, the wide-and-deep (dense) model and a model with short-form reuse, on batches
 * mixing short notes, a long note and an empty one.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../engine/bundle/load.js';
import type { NerEngine } from '../../engine/types.js';
import { generateNotes, writeConll } from '../../trainer/synthetic.js';
import { trainBundle, type TrainOptions } from '../../trainer/train.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-chunking-'));
  await writeConll(join(dir, 'train.conll'), generateNotes({ count: 300, seed: 31 }));
  await writeConll(join(dir, 'dev.conll'), generateNotes({ count: 60, seed: 32 }));
  await writeFile(
    join(dir, 'unlabeled.txt'),
    generateNotes({ count: 200, seed: 33 })
      .map((n) => n.text)
      .join('\n') + '\n',
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const notes = generateNotes({ count: 240, seed: 34 }).map((n) => n.text);
const longNote = notes.slice(0, 200).join(' ');
const texts = [
  notes[200]!,
  longNote,
  '',
  notes[201]!,
  'CHF. Pt with congestive heart failure (CHF), CHF stable.',
  ...notes.slice(202, 230),
];

const variants: { name: string; features: TrainOptions['features']; members?: TrainOptions['members'] }[] = [
  { name: 'linear', features: {} },
  { name: 'wide and deep', features: { dense: { embeddingDim: 8 } }, members: { mlp: { hidden: 4 } } },
  { name: 'short-form reuse', features: { abbreviations: true, shortFormContext: 3 } },
];

describe.each(variants)('$name crf bundle', ({ name, features, members }) => {
  let chunked: NerEngine;
  let whole: NerEngine;

  beforeAll(async () => {
    const outDir = join(dir, name.replace(/\W+/g, '-'));
    await trainBundle({
      corpus: {
        trainFile: join(dir, 'train.conll'),
        devFile: join(dir, 'dev.conll'),
        unlabeledFiles: [join(dir, 'unlabeled.txt')],
      },
      features,
      members: { epochs: 3, seed: 5, ...members },
      export: { outDir, name: 'chunking' },
    });
    chunked = await loadEngine(outDir, { maxTokensPerRun: 7 });
    whole = await loadEngine(outDir, { maxTokensPerRun: 1_000_000 });
  });

  afterAll(async () => {
    await chunked?.close();
    await whole?.close();
  });

  it('extracts the same entities, scores and stats in runs of 7 tokens as in one run', async () => {
    const expected = await whole.extractBatch(texts);
    expect(expected[1]!.stats.tokens).toBeGreaterThan(1000);
    expect(expected.some((r) => r.entities.length > 0)).toBe(true);
    expect(await chunked.extractBatch(texts)).toEqual(expected);
    // One document at a time agrees with the batch too.
    expect(await Promise.all(texts.map((t) => chunked.extract(t)))).toEqual(expected);
  });

  it('tags pre-tokenised sentences the same, as notes and as one document', async () => {
    const sentences = generateNotes({ count: 120, seed: 35 }).map((n) => n.tokens);
    sentences.push(generateNotes({ count: 60, seed: 36 }).flatMap((n) => n.tokens));
    for (const options of [{}, { document: true }]) {
      expect(await chunked.tagTokens(sentences, options)).toEqual(await whole.tagTokens(sentences, options));
    }
  });
});

it('refuses a cap that is not a positive integer', async () => {
  await trainBundle({
    corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
    members: { epochs: 1, seed: 5 },
    export: { outDir: join(dir, 'cap'), name: 'cap' },
  });
  await expect(loadEngine(join(dir, 'cap'), { maxTokensPerRun: 0 })).rejects.toThrow(
    'maxTokensPerRun must be a positive integer, got 0',
  );
});
