/**
 * Short-form reuse end to end: a real bundle trained with it, served through ONNX Runtime in two passes.
 *
 * The corpus is built so that only the feature can decide: a document defines a short form either for a
 * disease ("Patients with Zorvik Lamar Quendol syndrome ( ZLQS ) were studied") or for a gene ("The Zorvik
 * Lamar Quendol synthase ( ZLQS ) was measured"), and later sentences use it in the same words either way
 * ("We found ZLQS in 12 cases"), labelled a disease only when its long form is one. The short forms are
 * made-up strings, new in almost every document, so nothing about the token itself says which it is.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConll } from '../../engine/corpus/conll.js';
import { loadEngine } from '../../engine/bundle/load.js';
import type { NerEngine } from '../../engine/types.js';
import { evaluateEngine } from '../../trainer/evaluate.js';
import { trainBundle } from '../../trainer/train.js';

const SYLLABLES = [
  'zor',
  'vik',
  'la',
  'mar',
  'quen',
  'dol',
  'bri',
  'tash',
  'po',
  'nev',
  'ka',
  'rui',
  'sel',
  'fim',
  'go',
  'tra',
];

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Doc {
  sentences: { tokens: string[]; labels: string[] }[];
  shortForm: string;
  disease: boolean;
}

/** One document: a definition, then two sentences that reuse the short form. */
function makeDoc(next: () => number, disease: boolean): Doc {
  // Any initial, so that short forms (three random letters and S) almost never repeat between documents.
  const word = () =>
    String.fromCharCode(65 + Math.floor(next() * 26)) +
    Array.from({ length: 2 }, () => SYLLABLES[Math.floor(next() * SYLLABLES.length)] as string).join('');
  const [a, b, c] = [word(), word(), word()];
  const head = disease ? 'syndrome' : 'synthase'; // one initial: the short form's letters must not tell them apart
  const shortForm = `${a[0]}${b[0]}${c[0]}S`;
  const tag = (t: string) => (disease ? t : 'O');
  const definition = disease
    ? {
        tokens: ['Patients', 'with', a, b, c, head, '(', shortForm, ')', 'were', 'studied', '.'],
        labels: ['O', 'O', 'B-DISEASE', 'I-DISEASE', 'I-DISEASE', 'I-DISEASE', 'O', 'B-DISEASE', 'O', 'O', 'O', 'O'],
      }
    : {
        tokens: ['The', a, b, c, head, '(', shortForm, ')', 'was', 'measured', '.'],
        labels: ['O', 'O', 'O', 'O', 'O', 'O', 'O', 'O', 'O', 'O', 'O'],
      };
  const count = String(2 + Math.floor(next() * 40));
  return {
    shortForm,
    disease,
    sentences: [
      definition,
      {
        tokens: ['We', 'found', shortForm, 'in', count, 'cases', '.'],
        labels: ['O', 'O', tag('B-DISEASE'), 'O', 'O', 'O', 'O'],
      },
      {
        tokens: ['Levels', 'of', shortForm, 'were', 'stable', '.'],
        labels: ['O', 'O', tag('B-DISEASE'), 'O', 'O', 'O'],
      },
    ],
  };
}

function docs(seed: number, count: number): Doc[] {
  const next = random(seed);
  return Array.from({ length: count }, (_, i) => makeDoc(next, i % 2 === 0));
}

const conll = (ds: Doc[]) =>
  ds
    .flatMap((d) => d.sentences.map((s) => s.tokens.map((t, i) => `${t}\t${s.labels[i]}`).join('\n') + '\n\n'))
    .join('');

let dir: string;
let engine: NerEngine;
let test: Doc[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-short-forms-'));
  await writeFile(join(dir, 'train.conll'), conll(docs(1, 240)));
  test = docs(2, 20);
  await writeFile(join(dir, 'dev.conll'), conll(test));
  await trainBundle({
    corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
    features: { abbreviations: true, shortFormContext: 3 },
    members: { epochs: 8, seed: 1 },
    export: { outDir: join(dir, 'model') },
  });
  engine = await loadEngine(join(dir, 'model'));
});

afterAll(async () => {
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('short-form reuse', () => {
  it('records feature version 4 and its context in the manifest', async () => {
    const manifest = JSON.parse(await readFile(join(dir, 'model', 'ner-model.json'), 'utf8'));
    expect(manifest.crf.features).toMatchObject({ featureVersion: 4, abbreviations: true, shortFormContext: 3 });
  });

  it('tags a reused short form by what its long form was tagged, across the sentences of a document', async () => {
    const sentences = test.flatMap((d) => d.sentences.map((s) => s.tokens));
    const tagged = await engine.tagTokens(sentences, { document: true });
    const alone = await engine.tagTokens(sentences);
    let k = 0;
    for (const d of test) {
      const [, found, levels] = [tagged[k], tagged[k + 1], tagged[k + 2]];
      expect(found?.[2], `${d.shortForm} in "We found …"`).toBe(d.disease ? 'B-DISEASE' : 'O');
      expect(levels?.[2], `${d.shortForm} in "Levels of …"`).toBe(d.disease ? 'B-DISEASE' : 'O');
      k += 3;
    }
    // Sentence by sentence the reuses carry nothing: a short form never seen before reads as O either way.
    expect(test.map((_, i) => alone[3 * i + 1]?.[2])).toEqual(test.map(() => 'O'));
  });

  it('is evaluated on a CoNLL file read as documents, unless asked to take the sentences alone', async () => {
    const labelled = test.flatMap((d) => d.sentences.map((s) => ({ ...s, line: 0 })));
    const asDocuments = await evaluateEngine(engine, labelled);
    const alone = await evaluateEngine(engine, labelled, { independentSentences: true });
    // Two reuses of each of the 10 disease documents are found only with the context.
    expect(asDocuments.micro.correct - alone.micro.correct).toBe(20);
    expect(asDocuments.micro.support).toBe(alone.micro.support);
  });

  it('does not carry a definition across a -DOCSTART- line of a CoNLL file', async () => {
    // The dev documents with a marker before each, and once more with a marker between each definition
    // and its reuses: there the reuses are in another document and must read as if tagged alone.
    const file = (cut: boolean) =>
      test
        .map(
          (d) =>
            `-DOCSTART-\tO\n\n${conll([{ ...d, sentences: d.sentences.slice(0, 1) }])}${cut ? '-DOCSTART-\tO\n\n' : ''}${conll([{ ...d, sentences: d.sentences.slice(1) }])}`,
        )
        .join('');
    await writeFile(join(dir, 'whole.conll'), file(false));
    await writeFile(join(dir, 'cut.conll'), file(true));
    const whole = await readConll(join(dir, 'whole.conll'));
    const cut = await readConll(join(dir, 'cut.conll'));
    expect(cut.map((s) => s.document)).toEqual(test.flatMap((_, i) => [2 * i + 1, 2 * i + 2, 2 * i + 2]));
    const alone = await evaluateEngine(engine, whole, { independentSentences: true });
    expect((await evaluateEngine(engine, whole)).micro.correct - alone.micro.correct).toBe(20);
    expect((await evaluateEngine(engine, cut)).micro).toEqual(alone.micro);
  });

  it('sees a note’s own definitions when the whole note is one text', async () => {
    const [disease, gene] = [test[0] as Doc, test[1] as Doc];
    const note = (d: Doc) => d.sentences.map((s) => s.tokens.join(' ')).join(' ');
    const [a, b] = await engine.extractBatch([note(disease), note(gene)]);
    const texts = (r: typeof a) => r?.entities.map((e) => e.text) ?? [];
    expect(texts(a).filter((t) => t === disease.shortForm)).toHaveLength(3);
    expect(texts(b)).toEqual([]);
    // The same note, tagged alone, gives the same answer as inside the batch.
    expect((await engine.extract(note(disease))).entities).toEqual(a?.entities);
  });

  it('refuses a context without abbreviation features, or one that is not a whole number of sentences, before reading the corpus', async () => {
    const base = { corpus: { trainFile: join(dir, 'absent.conll') }, export: { outDir: join(dir, 'never') } };
    await expect(trainBundle({ ...base, features: { shortFormContext: 3 } })).rejects.toThrow(
      'shortFormContext needs the abbreviation features (abbreviations: true)',
    );
    await expect(trainBundle({ ...base, features: { abbreviations: true, shortFormContext: -1 } })).rejects.toThrow(
      'shortFormContext must be a whole number of sentences ≥ 0, got -1',
    );
    await expect(trainBundle({ ...base, features: { abbreviations: true, shortFormContext: 2.5 } })).rejects.toThrow(
      'got 2.5',
    );
  });

  it('is refused by a runtime when the manifest claims it below feature version 4', async () => {
    const copy = join(dir, 'old-version');
    const { cp } = await import('node:fs/promises');
    await cp(join(dir, 'model'), copy, { recursive: true });
    const manifest = JSON.parse(await readFile(join(copy, 'ner-model.json'), 'utf8'));
    manifest.crf.features.featureVersion = 3;
    await writeFile(join(copy, 'ner-model.json'), JSON.stringify(manifest));
    await expect(loadEngine(copy)).rejects.toThrow('short-form reuse needs feature version 4, the manifest says 3');
  });
});
