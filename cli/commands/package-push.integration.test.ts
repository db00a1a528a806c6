/**
 * `ner-ops package --push oci://…` against the real distribution registry: prints the digest-pinned URI and
 * the bundle digest, which fetch back to the same verified bundle; an invalid bundle is refused before any push.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyBundle } from '../../engine/bundle/bundle.js';
import { materializeBundle } from '../../engine/bundle/model-source.js';
import { trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';
import { startRegistry, type RunningRegistry } from '../../testing/storage-servers.js';
import pkg from './package.js';

let bundle: TrainedBundle;
let registry: RunningRegistry;

beforeAll(async () => {
  [bundle, registry] = await Promise.all([trainSmallBundle({ count: 100, epochs: 1 }), startRegistry(false)]);
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await bundle?.remove();
});

describe('ner-ops package --push', () => {
  it('publishes a bundle as an OCI artifact and prints the digest-pinned URI and bundle digest', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((l: string) => void lines.push(l));
    try {
      const code = await pkg([
        '--push',
        `oci://${registry.address}/models/ner:1.0.0`,
        '--dir',
        bundle.dir,
        '--plain-http',
      ]);
      expect(code).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(lines[0]).toMatch(new RegExp(`^oci://${registry.address}/models/ner:1\\.0\\.0@sha256:[a-f0-9]{64}$`));
    expect(lines[1]).toBe(bundle.digest);
    const m = await materializeBundle(lines[0] as string, { ociPlainHttp: true, digest: bundle.digest });
    try {
      expect((await verifyBundle(m.dir, bundle.digest)).digest).toBe(bundle.digest);
    } finally {
      if (m.workDir) await rm(m.workDir, { recursive: true, force: true });
    }
  });

  it('refuses a bundle that does not verify, before pushing', async () => {
    const manifest = JSON.parse(await readFile(join(bundle.dir, 'ner-model.json'), 'utf8')) as {
      files: Record<string, string> | { path: string }[];
    };
    const file = manifest.files;
    const first = Array.isArray(file) ? file[0]?.path : Object.keys(file)[0];
    await writeFile(join(bundle.dir, first as string), 'tampered');
    await expect(
      pkg(['--push', `oci://${registry.address}/models/bad:1`, '--dir', bundle.dir, '--plain-http']),
    ).rejects.toThrow(/package --push: /);
  });
});
