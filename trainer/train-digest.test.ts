/**
 * Byte-identity guard: small seeded training runs must keep producing exactly these bundle digests
 * (the sha256 of ner-model.json, which pins every other file). A refactor of the trainer or the engine
 * that changes a single byte of a bundle fails here. The digests were recorded from the code before the
 * trainer was split into stages; change them only for a deliberate change to what a bundle holds.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../engine/bundle/bundle.js';
import { generateNotes, writeConll } from './synthetic.js';
import { trainBundle } from './train.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-digest-'));
  await writeConll(join(dir, 'train.conll'), generateNotes({ count: 120, seed: 31 }));
  await writeConll(join(dir, 'dev.conll'), generateNotes({ count: 30, seed: 32 }));
  const unlabeled = generateNotes({ count: 120, seed: 33 });
  await writeFile(join(dir, 'unlabeled.txt'), unlabeled.map((n) => n.text).join('\n') + '\n');
  await writeFile(
    join(dir, 'lexicon.tsv'),
    'DISEASE\thypertension\nDISEASE\tatrial fibrillation\nTREATMENT\tmetformin\n',
  );
  // Pretrained vectors: a few words of the text, with fixed values.
  const words = ['hypertension', 'metformin', 'patient', 'with', 'the'];
  await writeFile(
    join(dir, 'vectors.txt'),
    words.map((w, i) => `${w} ${[0.1 * i, -0.2, 0.05 * i, 0.3].join(' ')}`).join('\n') + '\n',
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trained bundle digests', () => {
  it('a linear CRF with subwords, abbreviations, short-form reuse and a lexicon', async () => {
    const r = await trainBundle({
      corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
      features: { lexiconFiles: [join(dir, 'lexicon.tsv')], subwords: true, abbreviations: true },
      members: { epochs: 3, seed: 4 },
      export: { outDir: join(dir, 'linear'), name: 'linear' },
    });
    const { manifest } = await verifyBundle(r.outDir);
    expect(manifest.crf?.features).toMatchObject({
      subwords: true,
      abbreviations: true,
      lexicon: true,
      gazetteer: true,
    });
    expect(manifest.crf?.features.shortFormContext).toBeGreaterThan(0);
    expect(r.digest).toBe('58e51d345b8741572da175513bbff5feec98b352c791ffa0b2fd4390c6fb8ea1');
  });

  it('wide & deep beside a linear member, with learned clusters and pretrained vectors', async () => {
    const r = await trainBundle({
      corpus: {
        trainFile: join(dir, 'train.conll'),
        devFile: join(dir, 'dev.conll'),
        unlabeledFiles: [join(dir, 'unlabeled.txt')],
      },
      features: {
        learnClusters: true,
        dense: { pretrainedVectorsFile: join(dir, 'vectors.txt'), embeddingDim: 8 },
      },
      members: { epochs: 2, linearEpochs: 2, ensemble: 2, mlp: { hidden: 4 }, seed: 6 },
      export: { outDir: join(dir, 'dense'), name: 'dense' },
    });
    const { manifest } = await verifyBundle(r.outDir);
    expect(manifest.crf?.features.clusters).toBe(true);
    expect(manifest.training).toMatchObject({ linearMembers: { count: 1 }, pretrainedVectors: { words: 5 } });
    expect(r.digest).toBe('43e101011ab75512c3faea3d746e73305fdf9a767b6825a0894fda46aaa30f44');
  });

  it('a BIO linear CRF without a dev file or gazetteer', async () => {
    const r = await trainBundle({
      corpus: { trainFile: join(dir, 'train.conll'), tagScheme: 'bio' },
      features: { gazetteer: false },
      members: { epochs: 2, seed: 8 },
      export: { outDir: join(dir, 'bio'), version: '2.0.0' },
    });
    expect(r.digest).toBe('ceaadfd2329bcf480818d794fb994e64c6ede48d1f876fbe173401ce48de5f9a');
  });
});
