/**
 * Assertion rules in real bundles: `ner-ops train --assertion-rules` pins a hospital's rule file (merged with
 * the shipped rules it extends) in the bundle, the loaded engine offers it, and the tagger built from it
 * judges the entities the model finds. A bundle trained without rules is as before: format version 1, no
 * rules.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../contracts/bundle-manifest.js';
import {
  ASSERTIONS_FILE,
  createAssertionTagger,
  defaultAssertionRules,
  parseAssertionRules,
  withAssertions,
} from '../../engine/assertions/index.js';
import { loadEngine } from '../../engine/bundle/load.js';
import { generateNotes, writeConll } from '../../trainer/synthetic.js';
import { trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../dist/cli/ner-ops.js');

let dir: string;
let plain: TrainedBundle;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-assertions-'));
  plain = await trainSmallBundle({ seed: 11 });
});
afterAll(async () => {
  await plain?.remove();
  await rm(dir, { recursive: true, force: true });
});

describe('assertion rules in a bundle', () => {
  it('ner-ops train --assertion-rules pins the merged rules, and the engine offers them', async () => {
    await writeConll(join(dir, 'train.conll'), generateNotes({ count: 300, seed: 5 }));
    const rulesFile = join(dir, 'hospital.yaml');
    await writeFile(
      rulesFile,
      'language: en\nextends: en\nrules:\n  - category: negation\n    direction: forward\n    terms: [nil by history]\n',
    );
    const out = join(dir, 'bundle');
    await run(process.execPath, [
      CLI,
      'train',
      '--train',
      join(dir, 'train.conll'),
      '--out',
      out,
      '--epochs',
      '3',
      '--select',
      'off',
      '--assertion-rules',
      rulesFile,
      '--quiet',
    ]);

    const manifest = JSON.parse(await readFile(join(out, MANIFEST_FILE), 'utf8')) as Record<string, unknown>;
    expect(manifest.formatVersion).toBe(2);
    expect(manifest.assertions).toEqual({ language: 'en', file: ASSERTIONS_FILE });
    const pinned = await readFile(join(out, ASSERTIONS_FILE), 'utf8');
    expect(pinned).not.toMatch(/^extends:/m);

    const engine = await loadEngine(out);
    try {
      const rules = engine.assertionRules;
      expect(rules).toEqual(parseAssertionRules(pinned, ASSERTIONS_FILE));
      expect(rules!.rules.flatMap((r) => r.terms)).toEqual(expect.arrayContaining(['nil by history', 'denies']));
      const tagger = createAssertionTagger(rules!);
      const text = 'No evidence of asthma on exam. Patient has hypertension.';
      const { entities } = await engine.extract(text);
      const judged = withAssertions(tagger, text, entities);
      const byText = new Map(judged.map((e) => [e.text, e.assertion.negated]));
      expect(byText.get('asthma')).toBe(true);
      expect(byText.get('hypertension')).toBe(false);
    } finally {
      await engine.close();
    }
  });

  it('a bundle trained without rules has none and keeps format version 1', async () => {
    const manifest = JSON.parse(await readFile(join(plain.dir, MANIFEST_FILE), 'utf8')) as Record<string, unknown>;
    expect(manifest.formatVersion).toBe(1);
    expect(manifest).not.toHaveProperty('assertions');
    const engine = await loadEngine(plain.dir);
    try {
      expect(engine.assertionRules).toBeUndefined();
    } finally {
      await engine.close();
    }
  });

  it('ner-ops train refuses a bad rule file with its file and line before training', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'language: en\nrules:\n  - category: negation\n    terms: [no]\n');
    const err = await run(process.execPath, [
      CLI,
      'train',
      '--train',
      join(dir, 'missing.conll'),
      '--out',
      join(dir, 'x'),
      '--assertion-rules',
      bad,
    ]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/train: .*bad\.yaml:3: rules\[0\]\.direction: is required/);
  });

  it('the shipped rules are found by the built CLI (copied beside the compiled module)', async () => {
    const gold = join(dir, 'gold.tsv');
    await writeFile(gold, 'Report\tConcept\tSentence\tNegation\n1\tfeber\tIngen FEBER.\tNegated\n');
    const { stdout } = await run(process.execPath, [
      CLI,
      'assertions',
      'evaluate',
      '--data',
      gold,
      '--language',
      'nb',
      '--json',
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ n: 1, accuracy: 1 });
    expect(defaultAssertionRules('nb').language).toBe('nb');
  });
});
