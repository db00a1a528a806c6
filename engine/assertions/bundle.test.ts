import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ASSERTIONS_FORMAT_VERSION,
  MANIFEST_FILE,
  MANIFEST_FORMAT_VERSION,
  type Manifest,
} from '../../contracts/bundle-manifest.js';
import { BundleVerificationError, canonicalJson, sha256, verifyBundle, writeBundle } from '../bundle/bundle.js';
import { ASSERTIONS_FILE, assertionBundleParts, bundleAssertionRules, defaultAssertionRules } from './index.js';

const base: Omit<Manifest, 'files'> = {
  formatVersion: MANIFEST_FORMAT_VERSION,
  format: 'crf',
  name: 'm',
  version: '1.0.0',
  entityTypes: ['DISEASE'],
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'assertions-bundle-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('assertion rules in a model bundle', () => {
  it('a bundle carrying rules pins them, records format version 2, and gives them back', async () => {
    const rules = defaultAssertionRules('nb');
    const parts = assertionBundleParts(rules);
    const digest = await writeBundle(
      dir,
      { ...base, formatVersion: parts.formatVersion, assertions: parts.assertions },
      { 'x.txt': 'x', ...parts.files },
    );
    const bundle = await verifyBundle(dir, digest);
    expect(bundle.manifest.formatVersion).toBe(ASSERTIONS_FORMAT_VERSION);
    expect(bundle.manifest.assertions).toEqual({ language: 'nb', file: ASSERTIONS_FILE });
    expect(Object.keys(bundle.manifest.files)).toContain(ASSERTIONS_FILE);
    expect(bundleAssertionRules(bundle)).toEqual(rules);
  });

  it('a bundle without rules has none, at format version 1', async () => {
    const digest = await writeBundle(dir, base, { 'x.txt': 'x' });
    const bundle = await verifyBundle(dir, digest);
    expect(bundle.manifest.formatVersion).toBe(1);
    expect(bundleAssertionRules(bundle)).toBeUndefined();
  });

  it('a changed rule file fails verification like any pinned file', async () => {
    const parts = assertionBundleParts(defaultAssertionRules('en'));
    await writeBundle(dir, { ...base, formatVersion: parts.formatVersion, assertions: parts.assertions }, parts.files);
    await writeFile(join(dir, ASSERTIONS_FILE), 'language: en\nrules: []\n');
    await expect(verifyBundle(dir)).rejects.toThrow(/file assertions\.yaml was modified/);
  });

  it('a manifest with assertions at format version 1 is refused', async () => {
    const parts = assertionBundleParts(defaultAssertionRules('en'));
    await writeFile(join(dir, ASSERTIONS_FILE), parts.files[ASSERTIONS_FILE]!);
    const manifest = {
      ...base,
      assertions: parts.assertions,
      files: { [ASSERTIONS_FILE]: sha256(parts.files[ASSERTIONS_FILE]!) },
    };
    await writeFile(join(dir, MANIFEST_FILE), canonicalJson(manifest));
    await expect(verifyBundle(dir)).rejects.toThrow(/'formatVersion': must be 2 when the manifest has assertions/);
  });

  it.each([
    [
      'extends the runtime’s shipped rules',
      'language: en\nextends: en\nrules: []\n',
      /assertions\.yaml:2: extends: is not allowed/,
    ],
    ['is for another language', 'language: nb\nrules: []\n', /are for language nb, the manifest says en/],
    [
      'is not a valid rule file',
      'language: en\nrules:\n  - category: nope\n',
      /assertions\.yaml:3: rules\[0\]\.category/,
    ],
  ])('a rule file that %s refuses the bundle', async (_name, text, expected) => {
    const digest = await writeBundle(
      dir,
      { ...base, formatVersion: ASSERTIONS_FORMAT_VERSION, assertions: { language: 'en', file: ASSERTIONS_FILE } },
      { [ASSERTIONS_FILE]: text },
    );
    const bundle = await verifyBundle(dir, digest);
    expect(() => bundleAssertionRules(bundle)).toThrow(BundleVerificationError);
    expect(() => bundleAssertionRules(bundle)).toThrow(expected);
  });
});
