/**
 * s3:// and oci:// bundle sources against real servers (versitygw and the distribution registry, built by
 * scripts/build-storage-servers.sh): a trained bundle is published, fetched and verified; wrong digests,
 * tampered blobs, missing or wrong credentials, credentials over plain http without consent and the size cap
 * are refused.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';
import {
  startRegistry,
  startVersitygw,
  type RunningRegistry,
  type RunningServer,
} from '../../testing/storage-servers.js';
import { verifyBundle } from './bundle.js';
import { materializeBundle, publishBundle } from './model-source.js';
import { s3Client } from './s3-source.js';

let bundle: TrainedBundle;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  bundle = await trainSmallBundle({ count: 120, epochs: 2 });
  cleanups.push(() => bundle.remove());
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function fetched(uri: string, opts: Parameters<typeof materializeBundle>[1]): Promise<string> {
  const m = await materializeBundle(uri, opts);
  if (m.workDir) cleanups.push(() => rm(m.workDir as string, { recursive: true, force: true }));
  return m.dir;
}

describe('s3:// against versitygw', () => {
  let s3: RunningServer;
  const keys = { accessKeyId: 'nerops-test', secretAccessKey: 'nerops-test-secret-key' };
  const settings = () => ({ endpoint: s3.address, forcePathStyle: true, region: 'us-east-1', ...keys });

  beforeAll(async () => {
    s3 = await startVersitygw(keys.accessKeyId, keys.secretAccessKey);
    cleanups.push(() => s3.stop());
    const client = s3Client({ ...settings(), allowInsecureHttp: true, timeoutMs: 10_000 });
    await client.send(new CreateBucketCommand({ Bucket: 'models' }));
    client.destroy();
  }, 60_000);

  it('publishes a trained bundle under a prefix and fetches it back, verified', async () => {
    const out = await publishBundle('s3://models/ner/v1', bundle.dir, { s3: settings(), allowInsecureHttp: true });
    expect(out).toEqual({ uri: 's3://models/ner/v1', bundleDigest: bundle.digest });
    const dir = await fetched('s3://models/ner/v1', { s3: settings(), allowInsecureHttp: true, digest: bundle.digest });
    const verified = await verifyBundle(dir, bundle.digest);
    expect(verified.digest).toBe(bundle.digest);
  });

  it('fetches a single .tar.gz object', async () => {
    const archive = join(s3.root, 'bundle.tar.gz');
    execFileSync('tar', ['czf', archive, '-C', bundle.dir, '.']);
    const client = s3Client({ ...settings(), allowInsecureHttp: true, timeoutMs: 10_000 });
    await client.send(new PutObjectCommand({ Bucket: 'models', Key: 'ner/v1.tar.gz', Body: await readFile(archive) }));
    client.destroy();
    const dir = await fetched('s3://models/ner/v1.tar.gz', {
      s3: settings(),
      allowInsecureHttp: true,
      digest: bundle.digest,
    });
    expect((await verifyBundle(dir, bundle.digest)).digest).toBe(bundle.digest);
  });

  it('refuses a bundle whose manifest digest differs from the pinned one', async () => {
    await expect(
      fetched('s3://models/ner/v1', { s3: settings(), allowInsecureHttp: true, digest: 'a'.repeat(64) }),
    ).rejects.toThrow(/bundle digest mismatch/);
  });

  it('requires credentials: anonymous and wrong keys are refused by the store', async () => {
    await expect(
      fetched('s3://models/ner/v1', { s3: { ...settings(), anonymous: true }, digest: bundle.digest }),
    ).rejects.toThrow(/HTTP 403/);
    await expect(
      fetched('s3://models/ner/v1', {
        s3: { ...settings(), secretAccessKey: 'wrong-secret' },
        allowInsecureHttp: true,
        digest: bundle.digest,
      }),
    ).rejects.toThrow(/HTTP 403/);
  });

  it('does not sign requests over plain http without consent', async () => {
    await expect(fetched('s3://models/ner/v1', { s3: settings(), digest: bundle.digest })).rejects.toThrow(
      /refused to send signed S3 requests over plain http/,
    );
  });

  it('enforces the size cap', async () => {
    await expect(
      fetched('s3://models/ner/v1', { s3: settings(), allowInsecureHttp: true, maxBytes: 4096 }),
    ).rejects.toThrow(/exceeds the size cap of 4096 bytes/);
  });
});

describe('oci:// against the distribution registry', () => {
  let secure: RunningRegistry;
  let plain: RunningRegistry;
  let authFile: string;

  beforeAll(async () => {
    [secure, plain] = await Promise.all([startRegistry(true), startRegistry(false)]);
    cleanups.push(
      () => secure.stop(),
      () => plain.stop(),
    );
    authFile = join(secure.root, 'config.json');
    const auth = Buffer.from(`${secure.user}:${secure.password}`).toString('base64');
    await writeFile(authFile, JSON.stringify({ auths: { [secure.address]: { auth } } }));
  }, 60_000);

  it('pushes a trained bundle over TLS with credentials and pulls it back by digest, verified', async () => {
    const pushed = await publishBundle(`oci://${secure.address}/clinical/ner:v1`, bundle.dir, {
      registryAuthFile: authFile,
      caFile: secure.caFile,
    });
    expect(pushed.bundleDigest).toBe(bundle.digest);
    expect(pushed.uri).toMatch(new RegExp(`^oci://${secure.address}/clinical/ner:v1@sha256:[a-f0-9]{64}$`));
    const dir = await fetched(pushed.uri, { registryAuthFile: authFile, caFile: secure.caFile, digest: bundle.digest });
    expect((await verifyBundle(dir, bundle.digest)).digest).toBe(bundle.digest);
  });

  it('requires the credentials: without them the pull is refused', async () => {
    const pushed = await publishBundle(`oci://${secure.address}/clinical/ner:v2`, bundle.dir, {
      registryAuthFile: authFile,
      caFile: secure.caFile,
    });
    await expect(fetched(pushed.uri, { caFile: secure.caFile, digest: bundle.digest })).rejects.toThrow(
      /requires credentials/,
    );
    const wrong = join(secure.root, 'wrong.json');
    const bad = Buffer.from(`${secure.user}:not-the-password`).toString('base64');
    await writeFile(wrong, JSON.stringify({ auths: { [secure.address]: { auth: bad } } }));
    await expect(
      fetched(pushed.uri, { registryAuthFile: wrong, caFile: secure.caFile, digest: bundle.digest }),
    ).rejects.toThrow(/HTTP 401/);
  });

  it('refuses a tag-only reference, an unknown manifest digest and a wrong bundle digest', async () => {
    const pushed = await publishBundle(`oci://${plain.address}/clinical/ner:v1`, bundle.dir, { ociPlainHttp: true });
    await expect(fetched(`oci://${plain.address}/clinical/ner:v1`, { ociPlainHttp: true })).rejects.toThrow(
      /not digest-pinned/,
    );
    await expect(
      fetched(`oci://${plain.address}/clinical/ner:v1@sha256:${'b'.repeat(64)}`, { ociPlainHttp: true }),
    ).rejects.toThrow(/HTTP 404/);
    await expect(fetched(pushed.uri, { ociPlainHttp: true, digest: 'c'.repeat(64) })).rejects.toThrow(
      /bundle digest mismatch/,
    );
  });

  it('refuses a tampered blob', async () => {
    const pushed = await publishBundle(`oci://${plain.address}/clinical/tampered:v1`, bundle.dir, {
      ociPlainHttp: true,
    });
    // Corrupt every stored blob but the bundle manifest (the registry serves the bytes as stored).
    const manifestHex = bundle.digest;
    const blobs = join(plain.root, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256');
    for (const two of await readdir(blobs))
      for (const hex of await readdir(join(blobs, two))) {
        if (hex === manifestHex) continue;
        const data = join(blobs, two, hex, 'data');
        const bytes = await readFile(data);
        if (bytes.length < 100 || bytes.subarray(0, 1).toString() === '{') continue;
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
        await writeFile(data, bytes);
      }
    await expect(fetched(pushed.uri, { ociPlainHttp: true, digest: bundle.digest })).rejects.toThrow(
      /does not match its digest/,
    );
  });

  it('does not send credentials over plain http without consent', async () => {
    const creds = join(plain.root, 'config.json');
    await writeFile(creds, JSON.stringify({ auths: { [plain.address]: { username: 'u', password: 'p' } } }));
    const uri = `oci://${plain.address}/clinical/ner@sha256:${'d'.repeat(64)}`;
    await expect(fetched(uri, { ociPlainHttp: true, registryAuthFile: creds })).rejects.toThrow(
      /refused to send registry credentials over plain http/,
    );
  });

  it('enforces the size cap', async () => {
    const pushed = await publishBundle(`oci://${plain.address}/clinical/capped:v1`, bundle.dir, { ociPlainHttp: true });
    await expect(fetched(pushed.uri, { ociPlainHttp: true, maxBytes: 4096 })).rejects.toThrow(
      /exceeds the size cap of 4096 bytes/,
    );
  });
});
