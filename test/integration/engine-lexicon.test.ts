/**
 * External lexicons end to end (`ner-ops train --lexicon`): a real bundle trained with one and served
 * through ONNX Runtime, on a corpus where only the lexicon can tell the classes apart.
 *
 * Made-up disease names (some of two words) and made-up food names fill the same sentence templates, so
 * context says nothing about which is which, and their spellings are random letters, so neither do
 * affixes. Half of each class never occurs in the labeled data; the lexicon lists every name, diseases
 * under DISEASE and foods under FOOD, as a hospital's lists would.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, verifyBundle } from '../../engine/bundle/bundle.js';
import { formatConll, type LabeledSentence } from '../../engine/corpus/conll.js';
import { LEXICON_WORDS_FEATURE_VERSION } from '../../engine/features/features.js';
import { LEXICON_FILE } from '../../engine/features/lexicon.js';
import { loadEngine } from '../../engine/bundle/load.js';
import { seededRandom } from '../../engine/seeded-random.js';
import { inheritedLexicon } from '../../trainer/retrain-job.js';
import { trainBundle, type TrainOptions } from '../../trainer/train.js';
import { bundleF1, madeUpCorpus } from './made-up-corpus.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../dist/cli/ner-ops.js');
const random = seededRandom(2027);

const { word: madeUpWord, sentences } = madeUpCorpus(random);
/** Names of one or two made-up words. */
const names = (n: number) =>
  Array.from({ length: n }, (_, k) => (k % 3 === 0 ? [madeUpWord(), madeUpWord()] : [madeUpWord()]));
// Many seen names, most labeled once: as in real text, the training set's own gazetteer (jackknifed)
// vouches for few of them, and the model has to learn what the lexicon's types are worth.
const diseases = { seen: names(300), unseen: names(18) };
const foods = { seen: names(300), unseen: names(18) };

/** Every name, in the user's format: a comment, upper-case spellings (matching ignores case), CRLF lines. */
function lexiconFile(): string {
  const lines = ['# ward lists'];
  for (const n of [...diseases.seen, ...diseases.unseen]) lines.push(`DISEASE\t${n.join(' ').toUpperCase()}`);
  for (const n of [...foods.seen, ...foods.unseen]) lines.push(`FOOD\t${n.join(' ')}`);
  return lines.join('\r\n') + '\r\n';
}

let dir: string;
let options: TrainOptions;
let test: LabeledSentence[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-lexicon-'));
  await writeFile(join(dir, 'train.conll'), formatConll(sentences(diseases.seen, foods.seen, 480)));
  await writeFile(join(dir, 'lists.tsv'), lexiconFile());
  test = sentences(diseases.unseen, foods.unseen, 120);
  options = {
    corpus: { trainFile: join(dir, 'train.conll') },
    features: { lexiconFiles: [join(dir, 'lists.tsv')] },
    members: { epochs: 8, seed: 3 },
    export: { outDir: join(dir, 'with-lexicon'), name: 'lexicon' },
  };
  await trainBundle(options);
}, 120_000);

/** The same training options, writing the bundle to `outDir`. */
const into = (outDir: string, more: Partial<TrainOptions> = {}): TrainOptions => ({
  ...options,
  export: { ...options.export, outDir },
  ...more,
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const f1OnUnseenNames = (bundle: string) => bundleF1(bundle, test);

describe('training with an external lexicon', () => {
  it('tags names it never saw labeled by the lexicon type they are listed under; without it it cannot', async () => {
    expect(await f1OnUnseenNames(options.export.outDir)).toBeGreaterThan(0.9);
    const without = join(dir, 'without-lexicon');
    await trainBundle(into(without, { features: { ...options.features, lexiconFiles: undefined } }));
    expect(await f1OnUnseenNames(without)).toBeLessThan(0.65);
  });

  it('ships the tokenised lexicon, records where it came from, and needs feature version 6', async () => {
    const bundle = await verifyBundle(options.export.outDir);
    const { manifest } = bundle;
    expect(manifest.crf?.features).toMatchObject({ lexicon: true, featureVersion: LEXICON_WORDS_FEATURE_VERSION });
    expect(manifest.training?.['lexicon']).toEqual({
      files: [{ file: 'lists.tsv', sha256: sha256(await readFile(join(dir, 'lists.tsv'))), phrases: 636, skipped: 0 }],
      phrases: 636,
      types: ['DISEASE', 'FOOD'],
    });
    const shipped = (await readFile(join(options.export.outDir, LEXICON_FILE), 'utf8')).split('\n');
    const twoWords = diseases.unseen[0] as string[];
    expect(shipped).toContain(`DISEASE\t${twoWords.join(' ')}`);
    // A retraining Job keeps the base model's lexicon.
    expect(inheritedLexicon(bundle)).toEqual({
      text: await readFile(join(options.export.outDir, LEXICON_FILE), 'utf8'),
      phrases: 636,
    });
  });

  it('refuses a bundle whose lexicon was changed after training', async () => {
    const tampered = join(dir, 'tampered');
    await trainBundle(into(tampered));
    const path = join(tampered, LEXICON_FILE);
    await writeFile(path, (await readFile(path, 'utf8')).replace(/^FOOD/m, 'DISEASE'));
    await expect(loadEngine(tampered)).rejects.toThrow(/lexicon\.tsv.*(digest|sha256)/i);
  });

  it('refuses a manifest that claims lexicon features below feature version 5, the slots of another version, or no file', async () => {
    type Editable = { crf: { features: { featureVersion: number; slots: number } }; files: Record<string, string> };
    const edited = async (name: string, edit: (manifest: Editable) => void) => {
      const dir2 = join(dir, name);
      await trainBundle(into(dir2));
      const path = join(dir2, 'ner-model.json');
      const manifest = JSON.parse(await readFile(path, 'utf8')) as Editable;
      edit(manifest);
      await writeFile(path, JSON.stringify(manifest));
      return dir2;
    };
    const version4 = await edited('version-4', (m) => (m.crf.features.featureVersion = 4));
    await expect(loadEngine(version4)).rejects.toThrow('lexicon features need feature version 5, the manifest says 4');
    // Version 5 had 3 lexicon slots where 6 has 7: read with the wrong layout the model would score garbage.
    const version5 = await edited('version-5', (m) => (m.crf.features.featureVersion = 5));
    const slots = (await verifyBundle(version5)).manifest.crf?.features.slots as number;
    await expect(loadEngine(version5)).rejects.toThrow(
      `the manifest says ${slots} feature slots per token, but feature version 5 with its feature groups has ${slots - 4}`,
    );
    const missing = await edited('missing', (m) => delete m.files[LEXICON_FILE]);
    await expect(loadEngine(missing)).rejects.toThrow('features use a lexicon but lexicon.tsv is not in the bundle');
  });

  it('the CLI reports a bad lexicon as an input error with the file and line, never echoing a phrase', async () => {
    const bad = join(dir, 'bad.tsv');
    await writeFile(bad, 'DISEASE\tgout\nJane Doe asthma\n');
    const base = ['train', '--train', options.corpus.trainFile, '--out', join(dir, 'cli'), '--quiet'];
    const failure = run('node', [CLI, ...base, '--lexicon', bad]);
    await expect(failure).rejects.toMatchObject({
      code: 1,
      stderr: `ner-ops: train: ${bad}:2: expected 'TYPE<TAB>phrase', found 1 tab-separated columns\n`,
    });
    await expect(run('node', [CLI, ...base, '--lexicon', join(dir, 'none.tsv')])).rejects.toMatchObject({
      code: 1,
      stderr: `ner-ops: train: ${join(dir, 'none.tsv')}: lexicon file not found or not readable\n`,
    });
    await writeFile(join(dir, 'latin1.tsv'), Buffer.from([0x44, 0x09, 0xe9, 0x0a]));
    await expect(run('node', [CLI, ...base, '--lexicon', join(dir, 'latin1.tsv')])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('latin1.tsv: the lexicon is not UTF-8 text'),
    });
  });
});
