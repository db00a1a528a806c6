/**
 * Evaluation in chunks gives exactly the scores of one call over the whole dataset, for a model whose tags
 * look back across the sentences of a document (short-form reuse), read as a stream or as an array.
 */
import { mkdtempSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../engine/bundle/bundle.js';
import { engineFor } from '../engine/bundle/load.js';
import { formatConll, readConll, type LabeledSentence } from '../engine/corpus/conll.js';
import { streamConll } from '../engine/corpus/conll-stream.js';
import type { NerEngine } from '../engine/types.js';
import { trainSmallBundle, type TrainedBundle } from '../testing/fixtures.js';
import { documentContext, evaluateEngine } from './evaluate.js';
import { generateNotes } from './synthetic.js';

let bundle: TrainedBundle;
let engine: NerEngine;
let context: number;
let work: string;
let file: string;

/** A definition ("chronic kidney disease ( CKD )") and later uses of its short form, several sentences on. */
function abbreviationDocument(d: number): LabeledSentence[] {
  const definition = {
    tokens: ['History', 'of', 'chronic', 'kidney', 'disease', '(', 'CKD', ')', '.'],
    labels: ['O', 'O', 'B-DISEASE', 'I-DISEASE', 'I-DISEASE', 'O', 'O', 'O', 'O'],
  };
  const use = { tokens: ['CKD', 'is', 'stable', '.'], labels: ['B-DISEASE', 'O', 'O', 'O'] };
  const filler = generateNotes({ count: 3, seed: 500 + d }).map((n) => ({ tokens: n.tokens, labels: n.labels }));
  return [definition, ...filler, use, use].map((s) => ({ ...s, line: 0, document: d }));
}

beforeAll(async () => {
  bundle = await trainSmallBundle({
    seed: 3,
    epochs: 2,
    count: 150,
    train: { features: { abbreviations: true, shortFormContext: 4 } },
  });
  const verified = await verifyBundle(bundle.dir, bundle.digest);
  context = documentContext(verified.manifest);
  engine = await engineFor(verified);
  work = mkdtempSync(join(tmpdir(), 'nerops-evaluate-'));
  file = join(work, 'eval.conll');
  const sentences: LabeledSentence[] = [];
  for (let d = 1; d <= 12; d++) {
    sentences.push(...abbreviationDocument(d));
    for (const n of generateNotes({ count: 4, seed: 900 + d })) sentences.push({ ...n, line: 0, document: d });
  }
  await writeFile(file, formatConll(sentences));
}, 120_000);

afterAll(async () => {
  await engine?.close();
  await bundle?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('evaluateEngine in chunks', () => {
  it('gives the scores of one call, streamed or not, whatever the chunk size', async () => {
    expect(context).toBe(4);
    const sentences = await readConll(file);
    const whole = await evaluateEngine(engine, sentences);
    expect(whole.micro.support).toBeGreaterThan(0);
    for (const chunkTokens of [1, 23, 200, 100_000]) {
      expect(await evaluateEngine(engine, streamConll(file), { context, chunkTokens })).toEqual(whole);
      expect(await evaluateEngine(engine, sentences, { context, chunkTokens })).toEqual(whole);
    }
    const independent = await evaluateEngine(engine, sentences, { independentSentences: true });
    expect(
      await evaluateEngine(engine, streamConll(file), { context, chunkTokens: 23, independentSentences: true }),
    ).toEqual(independent);
  });

  it('gives each chunk the look-back its model has: a model that reads the 4 sentences before', async () => {
    // A stand-in whose tags depend on the sentences before, like short-form reuse: a token seen in one of
    // the previous `window` sentences of its document is tagged B-DISEASE.
    const window = 4;
    const lookBack: Pick<NerEngine, 'tagTokens'> = {
      tagTokens: async (batch, options = {}) =>
        batch.map((tokens, k) =>
          tokens.map((t) => {
            for (let j = Math.max(0, k - window); j < k; j++)
              if (options.document && options.documents?.[j] === options.documents?.[k] && batch[j]?.includes(t))
                return 'B-DISEASE';
            return 'O';
          }),
        ),
    };
    const sentences = await readConll(file);
    const whole = await evaluateEngine(lookBack, sentences);
    expect(whole.micro.predicted).toBeGreaterThan(0);
    expect(await evaluateEngine(lookBack, streamConll(file), { context: window, chunkTokens: 17 })).toEqual(whole);
    // Without the context, chunk starts lose what they look back at: the context is what keeps scores equal.
    expect(await evaluateEngine(lookBack, streamConll(file), { context: 0, chunkTokens: 17 })).not.toEqual(whole);
  });
});
