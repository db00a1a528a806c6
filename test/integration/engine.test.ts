/**
 * The engine end to end: train a real bundle on synthetic notes, load it through ONNX Runtime, extract
 * entities from raw text, verify digests, and run the CLI on it.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleVerificationError, bundleDigest, verifyBundle } from '../../engine/bundle/bundle.js';
import { loadEngine } from '../../engine/bundle/load.js';
import type { NerEngine } from '../../engine/types.js';
import { generateNotes, writeConll } from '../../trainer/synthetic.js';
import { trainBundle } from '../../trainer/train.js';
import { packageTokenClassificationBundle } from '../../trainer/package-transformer.js';
import { writeTinyTransformer } from '../fixtures/tiny-transformer.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../dist/cli/ner-ops.js');

let dir: string;
let bundle: string;
let engine: NerEngine;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-engine-'));
  await writeConll(join(dir, 'train.conll'), generateNotes({ count: 600, seed: 11 }));
  await writeConll(join(dir, 'dev.conll'), generateNotes({ count: 150, seed: 12 }));
  bundle = join(dir, 'model');
  await trainBundle({
    corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
    members: { epochs: 5, seed: 3 },
    export: { outDir: bundle, name: 'synthetic', version: '1.0.0' },
  });
  engine = await loadEngine(bundle);
});

afterAll(async () => {
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a trained crf bundle', () => {
  it('has every file pinned and a profile and metrics from held-out data', async () => {
    const v = await verifyBundle(bundle);
    expect(Object.keys(v.manifest.files).sort()).toEqual([
      'gazetteer.tsv',
      'metrics.json',
      'model.onnx',
      'profile.json',
      'vocab.txt',
    ]);
    const metrics = JSON.parse(await readFile(join(bundle, 'metrics.json'), 'utf8'));
    expect(metrics.heldOut.split).toBe('dev');
    expect(metrics.micro.f1).toBeGreaterThan(0.9);
    expect(engine.profile?.documents).toBe(150);
    expect(Object.keys(engine.profile?.labelDistribution ?? {})).toEqual(['DISEASE', 'TREATMENT']);
    expect(engine.info).toMatchObject({
      name: 'synthetic',
      version: '1.0.0',
      format: 'crf',
      entityTypes: ['DISEASE', 'TREATMENT'],
      digest: v.digest,
    });
  });

  it('extracts entities with exact offsets from unseen raw text, in batches', async () => {
    const texts = [
      'Admitted with community-acquired pneumonia, treated with ceftriaxone and discharged on day 4.',
      '',
      'Vitals stable, BP 128/82.',
    ];
    const [first, empty, none] = await engine.extractBatch(texts);
    expect(first?.entities.map((e) => [e.label, e.text])).toEqual([
      ['DISEASE', 'community-acquired pneumonia'],
      ['TREATMENT', 'ceftriaxone'],
    ]);
    for (const e of first?.entities ?? []) {
      expect(texts[0]?.slice(e.start, e.end)).toBe(e.text);
      expect(e.score).toBeGreaterThan(0.5);
      expect(e.score).toBeLessThanOrEqual(1);
    }
    expect(empty).toEqual({ entities: [], stats: { tokens: 0, unknownTokens: 0 } });
    expect(none?.entities).toEqual([]);
    expect(none?.stats.tokens).toBe(8);
  });

  it('gives the same answer for a document alone and inside a batch', async () => {
    const notes = generateNotes({ count: 20, seed: 99 }).map((n) => n.text);
    const batch = await engine.extractBatch(notes);
    for (let i = 0; i < notes.length; i++) expect(await engine.extract(notes[i] as string)).toEqual(batch[i]);
  });

  it('tags a file of a few hundred thousand sentences in one call', async () => {
    const sentences = Array.from({ length: 200_000 }, (_, i) => (i % 2 === 0 ? ['fever'] : ['xyz', 'fever']));
    const tagged = await engine.tagTokens(sentences);
    expect(tagged).toHaveLength(200_000);
    expect(tagged[1]).toHaveLength(2);
  });

  it('counts tokens outside the training vocabulary', async () => {
    const r = await engine.extract('Zyxomab for quorbitis');
    expect(r.stats).toEqual({ tokens: 3, unknownTokens: 2 });
  });

  it('is deterministic: same data and seed give the same digest', async () => {
    const again = join(dir, 'again');
    const result = await trainBundle({
      corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
      members: { epochs: 5, seed: 3 },
      export: { outDir: again, name: 'synthetic', version: '1.0.0' },
    });
    expect(result.digest).toBe(await bundleDigest(bundle));
    const other = await trainBundle({
      corpus: { trainFile: join(dir, 'train.conll') },
      members: { epochs: 5, seed: 4 },
      export: { outDir: join(dir, 'other'), name: 'synthetic', version: '1.0.0' },
    });
    expect(other.digest).not.toBe(result.digest);
  });
});

describe('bundle verification', () => {
  it('refuses a tampered file, a wrong digest, a missing file and a corrupt model', async () => {
    const copy = join(dir, 'tampered');
    await cp(bundle, copy, { recursive: true });
    await writeFile(join(copy, 'vocab.txt'), 'injected\n', { flag: 'a' });
    await expect(loadEngine(copy)).rejects.toThrow(
      /file vocab.txt was modified: sha256 [0-9a-f]{64} does not match the manifest's [0-9a-f]{64}/,
    );

    await expect(loadEngine(bundle, { expectedDigest: 'a'.repeat(64) })).rejects.toThrow(
      `digest mismatch: expected sha256 ${'a'.repeat(64)}`,
    );

    const missing = join(dir, 'missing');
    await cp(bundle, missing, { recursive: true });
    await rm(join(missing, 'model.onnx'));
    await expect(loadEngine(missing)).rejects.toThrow('file model.onnx listed in the manifest is missing');

    await expect(loadEngine(join(dir, 'nope'))).rejects.toThrow(BundleVerificationError);
    await expect(loadEngine(join(dir, 'nope'))).rejects.toThrow('no ner-model.json (not a model bundle)');
  });

  it('refuses a model.onnx that ONNX Runtime cannot load, even with a matching manifest', async () => {
    const corrupt = join(dir, 'corrupt');
    await cp(bundle, corrupt, { recursive: true });
    await writeFile(join(corrupt, 'model.onnx'), 'not a protobuf');
    const manifest = JSON.parse(await readFile(join(corrupt, 'ner-model.json'), 'utf8'));
    const { sha256 } = await import('../../engine/bundle/bundle.js');
    manifest.files['model.onnx'] = sha256('not a protobuf');
    await writeFile(join(corrupt, 'ner-model.json'), JSON.stringify(manifest));
    // Refused by the external-data scan (engine/bundle/load.ts) before ONNX Runtime sees it, or by the runtime.
    await expect(loadEngine(corrupt)).rejects.toThrow(
      /model\.onnx (cannot be loaded by ONNX Runtime|is not a well-formed ONNX model)/,
    );
  });
});

describe('token-classification bundles', () => {
  it('aligns subwords to words and aggregates BIO into entities with offsets', async () => {
    const tc = join(dir, 'transformer');
    await writeTinyTransformer(tc);
    const digest = await packageTokenClassificationBundle(tc, { name: 'tiny-bert', version: '2.0.0' });
    const model = await loadEngine(tc, { expectedDigest: digest });
    try {
      expect(model.info).toMatchObject({
        format: 'token-classification',
        entityTypes: ['DISEASE', 'DRUG'],
        name: 'tiny-bert',
      });
      const text = 'Patient has Diabetes type 2, takes Metformin and insulin glargine for fever.';
      const r = await model.extract(text);
      expect(r.entities.map((e) => [e.label, e.text, text.slice(e.start, e.end)])).toEqual([
        ['DISEASE', 'Diabetes type 2', 'Diabetes type 2'],
        ['DRUG', 'Metformin', 'Metformin'],
        ['DRUG', 'insulin glargine', 'insulin glargine'],
        ['DISEASE', 'fever', 'fever'],
      ]);
      for (const e of r.entities) expect(e.score).toBeGreaterThan(0.9);
      // "glargine" is not in the vocabulary as a whole word ("glar" exists only word-initially, "##gine" as a continuation): covered → known.
      expect(r.stats.tokens).toBe(14);
      // A long document is split into windows of the model's 16 positions and still fully tagged.
      const long = Array.from({ length: 12 }, () => 'fever and diabetes').join(' ');
      const lr = await model.extract(long);
      expect(lr.entities.filter((e) => e.label === 'DISEASE')).toHaveLength(24);
      expect(await model.tagTokens([['fever', 'xyz']])).toEqual([['B-DISEASE', 'O']]);
      // A file of sentences runs in chunks of windows; every sentence keeps its own tags, in order.
      const many = Array.from({ length: 150 }, (_, i) =>
        i % 3 === 0 ? ['fever', 'xyz'] : i % 3 === 1 ? ['xyz'] : ['Metformin', 'for', 'diabetes'],
      );
      const expected = many.map((s) =>
        s.length === 1 ? ['O'] : s[0] === 'fever' ? ['B-DISEASE', 'O'] : ['B-DRUG', 'O', 'B-DISEASE'],
      );
      expect(await model.tagTokens(many)).toEqual(expected);
    } finally {
      await model.close();
    }
  });

  it('refuses an export whose config has no id2label', async () => {
    const bad = join(dir, 'bad-transformer');
    await writeTinyTransformer(bad);
    await writeFile(join(bad, 'config.json'), '{"architectures": []}');
    await expect(packageTokenClassificationBundle(bad, { name: 'x', version: '1' })).rejects.toThrow(
      'config.json: no id2label mapping',
    );
  });
});

describe('ner-ops CLI on the bundle', () => {
  it('predicts, evaluates and reports bad input with file and line', async () => {
    const p = await run('node', [CLI, 'predict', '--model', bundle, 'Started metformin for hypertension.']);
    const out = JSON.parse(p.stdout);
    expect(out.entities.map((e: { text: string }) => e.text)).toEqual(['metformin', 'hypertension']);

    const e = await run('node', [CLI, 'evaluate', '--model', bundle, '--data', join(dir, 'dev.conll'), '--json']);
    const report = JSON.parse(e.stdout);
    expect(report.micro.f1).toBeGreaterThan(0.9);
    expect(report.perType.DISEASE.f1).toBeGreaterThan(0.9);
    expect(report.perType.TREATMENT.f1).toBeGreaterThan(0.9);
    expect(e.stderr).not.toContain('warning');

    // The .tar.gz that `serve` accepts predicts and evaluates the same.
    const archive = join(dir, 'bundle.tar.gz');
    await run('tar', ['-czf', archive, '-C', bundle, '.']);
    const fromArchive = await run('node', [CLI, 'predict', '--model', archive, 'Started metformin for hypertension.']);
    expect(JSON.parse(fromArchive.stdout).entities).toEqual(out.entities);
    const archiveReport = await run('node', [
      CLI,
      'evaluate',
      '--model',
      archive,
      '--data',
      join(dir, 'dev.conll'),
      '--json',
    ]);
    expect(JSON.parse(archiveReport.stdout).micro).toEqual(report.micro);

    // Data whose entity types the model does not know: scores of 0, and a warning that says why.
    await writeFile(join(dir, 'other-types.conll'), 'aspirin\tB-DRUG\ngiven\tO\n');
    const other = await run('node', [CLI, 'evaluate', '--model', bundle, '--data', join(dir, 'other-types.conll')]);
    expect(other.stderr).toContain("warning: the data's entity types (DRUG) and the model's");
    expect(other.stderr).toContain('share none');

    // An existing bundle is not overwritten without --force (checked before training starts).
    await expect(
      run('node', [CLI, 'train', '--train', join(dir, 'dev.conll'), '--out', bundle, '--quiet']),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('already holds a bundle; pass --force') });

    await writeFile(join(dir, 'bad.conll'), 'fever\tB-DISEASE\nonset\tO\n\nand\tO\nthen\tI-DISEASE\n');
    const bad = run('node', [CLI, 'train', '--train', join(dir, 'bad.conll'), '--out', join(dir, 'x')]);
    await expect(bad).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`bad.conll:5, column 2 (label): invalid BIO sequence`),
    });
    await expect(
      run('node', [CLI, 'train', '--train', join(dir, 'absent.conll'), '--out', join(dir, 'x')]),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('absent.conll: cannot read file: ENOENT'),
    });
    await expect(
      run('node', [
        CLI,
        'train',
        '--train',
        join(dir, 'dev.conll'),
        '--out',
        join(dir, 'x'),
        '--missed-entity-cost=-1',
      ]),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--missed-entity-cost must be ≥ 0, got '-1'"),
    });
    await expect(
      run('node', [
        CLI,
        'train',
        '--train',
        join(dir, 'dev.conll'),
        '--out',
        join(dir, 'x'),
        '--short-form-context',
        '5',
      ]),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--short-form-context needs --abbreviation-features'),
    });
    await expect(
      run('node', [
        CLI,
        'train',
        '--train',
        join(dir, 'dev.conll'),
        '--out',
        join(dir, 'x'),
        '--abbreviation-features',
        '--short-form-context',
        'many',
      ]),
    ).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        "--short-form-context must be a whole number of sentences ≥ 0 or 'off', got 'many'",
      ),
    });
  });
});
