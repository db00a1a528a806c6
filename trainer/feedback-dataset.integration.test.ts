/**
 * The retraining Job on base + feedback: a real store written by the server's writer (engine/feedback/store.ts),
 * exported by the same code as `ner-ops feedback export`, merged into the dataset, and recorded in the result
 * as digests and counts.
 */
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../engine/bundle/bundle.js';
import { formatConll, type LabeledSentence } from '../engine/corpus/conll.js';
import { exportStore } from '../engine/feedback/export.js';
import { FeedbackStore } from '../engine/feedback/store.js';
import { trainSmallBundle, type TrainedBundle } from '../testing/fixtures.js';
import { appendDocuments } from './feedback-dataset.js';
import { readContract, RetrainError, runRetrain, type RetrainContract } from './retrain-job.js';
import { generateNotes, writeConll } from './synthetic.js';

let root: string;
let base: TrainedBundle;
let dataset: string;

/** A store holding `notes` as one document each, written like `ner-ops serve --feedback-store` writes. */
async function storeOf(dir: string, notes: readonly { tokens: string[]; labels: string[] }[]): Promise<string> {
  const store = await FeedbackStore.open({ root: dir, writer: 'ner-0.aaaaaaaa' });
  for (const n of notes) await store.append(formatConll([{ tokens: n.tokens, labels: n.labels, document: 1 }]));
  await store.close();
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nerops-retrain-feedback-'));
  base = await trainSmallBundle({ seed: 5, count: 120, epochs: 1, name: 'clinical', version: '1.0.0' });
  dataset = join(root, 'data.conll');
  await writeConll(dataset, generateNotes({ count: 100, seed: 31 }));
}, 120_000);
afterAll(async () => {
  await base?.remove();
  await rm(root, { recursive: true, force: true });
});

function contract(over: Partial<RetrainContract>): RetrainContract {
  return {
    baseModelUri: pathToFileURL(base.dir).href,
    baseModelDigest: base.digest,
    datasetUri: pathToFileURL(dataset).href,
    outputUri: pathToFileURL(join(root, 'out', over.runId ?? 'run')).href,
    runId: 'run',
    ...over,
  };
}

describe('retraining on base + feedback', () => {
  it('reads the optional store from the contract env', () => {
    const env = {
      NEROPS_BASE_MODEL_URI: 'file:///m',
      NEROPS_DATASET_URI: 'file:///d',
      NEROPS_OUTPUT_URI: 'file:///o',
      NEROPS_RUN_ID: 'r1',
    };
    expect(readContract(env).feedbackStoreUri).toBeUndefined();
    expect(readContract({ ...env, NEROPS_FEEDBACK_STORE_URI: 'pvc://data/fb' }).feedbackStoreUri).toBe('pvc://data/fb');
  });

  it('numbers feedback documents after the dataset’s', () => {
    const s = (document: number | undefined): LabeledSentence => ({
      tokens: ['a'],
      labels: ['O'],
      line: 1,
      ...(document !== undefined ? { document } : {}),
    });
    expect(appendDocuments([s(1), s(3)], [s(1), s(2)]).map((x) => x.document)).toEqual([1, 3, 5, 6]);
    expect(appendDocuments([s(undefined)], [s(undefined)]).map((x) => x.document)).toEqual([undefined, 1]);
  });

  it('trains and evaluates on the dataset plus the export, recording both digests and the document count', async () => {
    const notes = generateNotes({ count: 40, seed: 77, vocabulary: 'shifted' });
    // A retried post stores one note twice: the export keeps it once.
    const store = await storeOf(join(root, 'store'), [...notes, notes[0] as (typeof notes)[number]]);
    const logs: string[] = [];
    const r = await runRetrain(contract({ runId: 'merged', feedbackStoreUri: pathToFileURL(store).href }), {
      workDir: join(root, 'work-merged'),
      epochs: 1,
      log: (l) => logs.push(l),
    });
    // The same export `ner-ops feedback export` makes of this store (its defaults: holdout 0.2, seed 1).
    const cli = await exportStore(store, join(root, 'cli-export'), { holdout: 0.2, seed: 1 });
    expect(r).toMatchObject({
      outcome: 'Succeeded',
      datasetDigest: sha256(await readFile(dataset)),
      feedback: { digest: cli.digest, documents: cli.documents, heldOutDocuments: cli.devDocuments },
      // Held out: every 5th of the 100 dataset notes, plus the feedback's held-out documents.
      metrics: { sentences: 20 + cli.devDocuments },
    });
    // 41 posts, the retried one (and any identical synthetic note) kept once.
    expect(cli.duplicates).toBeGreaterThanOrEqual(1);
    expect(cli.documents).toBe(41 - cli.duplicates);
    expect(r.message).toContain(`on ${80 + cli.trainDocuments} sentences`);
    // Counts and digests only: no token of a stored note in the result or the log.
    const words = new Set(notes.flatMap((n) => n.tokens).filter((t) => t.length > 5));
    const outside = JSON.stringify(r) + logs.join('\n');
    expect([...words].filter((w) => outside.includes(w))).toEqual([]);
  }, 120_000);

  it('trains on the dataset alone while the store is empty', async () => {
    const r = await runRetrain(
      contract({ runId: 'empty', feedbackStoreUri: pathToFileURL(join(root, 'never-written')).href }),
      { workDir: join(root, 'work-empty'), epochs: 1 },
    );
    expect(r.outcome).toBe('Succeeded');
    expect(r.feedback).toBeUndefined();
    expect(r.metrics?.sentences).toBe(20);
  }, 120_000);

  it('refuses a store whose segment fails its digest, naming the segment and no content', async () => {
    const notes = generateNotes({ count: 5, seed: 78 });
    const store = await storeOf(join(root, 'corrupt'), notes);
    const [segment] = await readdir(join(store, 'segments'));
    const file = join(store, 'segments', segment as string);
    const bytes = await readFile(file);
    bytes[3] = bytes[3] === 0x41 ? 0x42 : 0x41;
    await rm(file);
    await appendFile(file, bytes);
    const err = await runRetrain(contract({ runId: 'corrupt', feedbackStoreUri: store }), {
      workDir: join(root, 'work-corrupt'),
      epochs: 1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetrainError);
    expect(err).toMatchObject({
      reason: 'InvalidDataset',
      message: `feedback store ${store}: refusing segments/${segment}: fails its sha256 digest`,
    });
  }, 120_000);
});
