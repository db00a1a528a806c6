/**
 * A retraining Job whose output is an `oci://` repository pushes the retrained bundle to a real registry
 * (the distribution registry, scripts/build-storage-servers.sh) and reports the digest-pinned reference,
 * which fetches back to the same bundle.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../engine/bundle/bundle.js';
import { materializeBundle } from '../engine/bundle/model-source.js';
import { trainSmallBundle, type TrainedBundle } from '../testing/fixtures.js';
import { startRegistry, type RunningRegistry } from '../testing/storage-servers.js';
import { remoteOutputUri, runRetrain } from './retrain-job.js';
import { generateNotes, writeConll } from './synthetic.js';

let root: string;
let base: TrainedBundle;
let registry: RunningRegistry;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nerops-retrain-oci-'));
  [base, registry] = await Promise.all([trainSmallBundle({ seed: 4, count: 120, epochs: 2 }), startRegistry(false)]);
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await base?.remove();
  await rm(root, { recursive: true, force: true });
});

describe('retraining output to oci://', () => {
  it('tags the run id when the output names no tag', () => {
    expect(remoteOutputUri('oci://r.local:5000/models/ner', 'run 7')).toBe('oci://r.local:5000/models/ner:run-7');
    expect(remoteOutputUri('oci://r.local/models/ner:v2', 'run-7')).toBe('oci://r.local/models/ner:v2');
    expect(remoteOutputUri('s3://b/p', 'run-7')).toBe('s3://b/p');
  });

  it('pushes the retrained bundle and reports the digest-pinned URI', async () => {
    const dataset = join(root, 'data.conll');
    await writeConll(dataset, generateNotes({ count: 100, seed: 42 }));
    const r = await runRetrain(
      {
        baseModelUri: pathToFileURL(base.dir).href,
        baseModelDigest: base.digest,
        datasetUri: pathToFileURL(dataset).href,
        outputUri: `oci://${registry.address}/retrained/ner`,
        runId: 'run-9',
      },
      { workDir: join(root, 'work'), epochs: 1, select: 'off', outputStorage: { ociPlainHttp: true } },
    );
    expect(r.outcome).toBe('Succeeded');
    expect(r.bundleUri).toMatch(new RegExp(`^oci://${registry.address}/retrained/ner:run-9@sha256:[a-f0-9]{64}$`));
    const m = await materializeBundle(r.bundleUri as string, {
      ociPlainHttp: true,
      digest: r.digest,
      workDir: join(root, 'pulled'),
    });
    expect((await verifyBundle(m.dir, r.digest)).digest).toBe(r.digest);
  }, 180_000);
});
