import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ASSERTIONS_FILE, bundleAssertionRules, defaultAssertionRules } from '../engine/assertions/index.js';
import { verifyBundle } from '../engine/bundle/bundle.js';
import { packageTokenClassificationBundle } from './package-transformer.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'package-'));
  // Packaging pins and inspects the files; it does not run the model.
  await writeFile(join(dir, 'model.onnx'), 'not a real model');
  await writeFile(join(dir, 'tokenizer.json'), '{}');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ id2label: { 0: 'O', 1: 'B-DISEASE', 2: 'I-DISEASE' } }));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('packaging a token-classification export', () => {
  it('pins assertion rules when given, at manifest format version 2', async () => {
    const digest = await packageTokenClassificationBundle(dir, {
      name: 'bert',
      version: '1',
      assertionRules: defaultAssertionRules('nb'),
    });
    const bundle = await verifyBundle(dir, digest);
    expect(bundle.manifest.formatVersion).toBe(2);
    expect(bundle.manifest.assertions).toEqual({ language: 'nb', file: ASSERTIONS_FILE });
    expect(bundleAssertionRules(bundle)).toEqual(defaultAssertionRules('nb'));
  });

  it('writes the manifest as before without them', async () => {
    const bundle = await verifyBundle(dir, await packageTokenClassificationBundle(dir, { name: 'bert', version: '1' }));
    expect(bundle.manifest.formatVersion).toBe(1);
    expect(bundle.manifest.assertions).toBeUndefined();
    expect(Object.keys(bundle.manifest.files).sort()).toEqual(['config.json', 'model.onnx', 'tokenizer.json']);
  });
});
