/**
 * Model sources and `ner-ops fetch-model` against a real trained bundle: directory, file://, .tar and
 * .tar.gz archives, HTTP directory and tarball sources with a bearer token, HTTPS with a private CA,
 * and digest mismatches. Hostile archives: engine/bundle/tar.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fetchModel from '../../cli/commands/fetch-model.js';
import { CliError } from '../../cli/command.js';
import { verifyBundle } from '../../engine/bundle/bundle.js';
import { loadEngine } from '../../engine/bundle/load.js';
import { materializeBundle, ModelSourceError } from '../../engine/bundle/model-source.js';
import { startServer } from '../../server/main.js';
import { loopbackCertificate } from '../../testing/loopback-tls.js';
import { captureLogger, trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';

let bundle: TrainedBundle;
let work: string;
const servers: http.Server[] = [];
const TOKEN = 'model-store-token';

/** Serve `root` over HTTP(S), requiring `Authorization: Bearer TOKEN`; records requested paths. */
async function fileServer(
  root: string,
  tls?: { key: Buffer; cert: Buffer },
): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const handler: http.RequestListener = (req, res) => {
    requests.push(req.url ?? '');
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.statusCode = 401;
      res.end();
      return;
    }
    const path = join(root, decodeURIComponent((req.url ?? '/').split('?')[0]!));
    if (!path.startsWith(root) || !existsSync(path)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    createReadStream(path).pipe(res);
  };
  const srv = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  servers.push(srv);
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${(srv.address() as AddressInfo).port}`, requests };
}

beforeAll(async () => {
  bundle = await trainSmallBundle({ seed: 5, epochs: 2, count: 120 });
  work = mkdtempSync(join(tmpdir(), 'nerops-source-test-'));
  // Archives as a user would make them: files at the root, and inside a top-level directory.
  execFileSync('tar', ['-cf', join(work, 'flat.tar'), '-C', bundle.dir, '.']);
  execFileSync('tar', ['-czf', join(work, 'nested.tar.gz'), '-C', join(bundle.dir, '..'), 'bundle']);
  writeFileSync(join(work, 'tokenfile'), `${TOKEN}\n`);
});

afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await bundle?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('materializeBundle', () => {
  it('uses a directory (path or file://) in place', async () => {
    expect(await materializeBundle(bundle.dir)).toEqual({ dir: bundle.dir });
    expect(await materializeBundle(pathToFileURL(bundle.dir).href)).toEqual({ dir: bundle.dir });
  });

  it.each(['flat.tar', 'nested.tar.gz'])('extracts %s and the result verifies and loads', async (name) => {
    const m = await materializeBundle(pathToFileURL(join(work, name)).href, { workDir: join(work, `x-${name}`) });
    expect((await verifyBundle(m.dir, bundle.digest)).digest).toBe(bundle.digest);
    const engine = await loadEngine(m.dir, { expectedDigest: bundle.digest });
    expect((await engine.extract('Patient has asthma.')).stats.tokens).toBe(4);
    await engine.close();
  });

  it('never sends the bearer token over plain http without the explicit opt-in', async () => {
    const srv = await fileServer(join(bundle.dir, '..'));
    const err = await materializeBundle(`${srv.url}/bundle/`, {
      digest: bundle.digest,
      tokenFile: join(work, 'tokenfile'),
      workDir: join(work, 'http-clear'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelSourceError);
    expect((err as Error).message).toMatch(
      /refused to send the bearer token over plain http to http:\/\/127\.0\.0\.1:\d+/,
    );
    expect((err as Error).message).not.toContain(TOKEN);
    expect(srv.requests, 'no request at all: the token never left').toEqual([]);
  });

  it('downloads a bundle served as a directory with a bearer token, checking the manifest digest first', async () => {
    const srv = await fileServer(join(bundle.dir, '..'));
    const m = await materializeBundle(`${srv.url}/bundle/`, {
      digest: bundle.digest,
      tokenFile: join(work, 'tokenfile'),
      allowInsecureHttp: true,
      workDir: join(work, 'http-dir'),
    });
    expect((await verifyBundle(m.dir, bundle.digest)).digest).toBe(bundle.digest);
    expect(srv.requests).toContain('/bundle/model.onnx');

    srv.requests.length = 0;
    const wrong = 'f'.repeat(64);
    const err = await materializeBundle(`${srv.url}/bundle`, {
      digest: wrong,
      tokenFile: join(work, 'tokenfile'),
      allowInsecureHttp: true,
      workDir: join(work, 'http-wrong'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelSourceError);
    expect((err as Error).message).toMatch(/digest mismatch/);
    // Nothing but the manifest was fetched from a source that does not match.
    expect(srv.requests).toEqual(['/bundle/ner-model.json']);

    const denied = await materializeBundle(`${srv.url}/bundle/`, { workDir: join(work, 'http-denied') }).catch(
      (e: unknown) => e,
    );
    expect((denied as Error).message).toMatch(/HTTP 401 \(check --model-token-file\)/);
  });

  it('downloads a tarball over HTTPS trusting only the given CA bundle', async () => {
    const pki = join(work, 'pki');
    await loopbackCertificate(pki);
    const srv = await fileServer(work, {
      key: await readFile(join(pki, 'key.pem')),
      cert: await readFile(join(pki, 'cert.pem')),
    });
    const untrusted = await materializeBundle(`${srv.url}/nested.tar.gz`, {
      tokenFile: join(work, 'tokenfile'),
      workDir: join(work, 'https-untrusted'),
    }).catch((e: unknown) => e);
    expect((untrusted as Error).message).toMatch(/self-signed|certificate/i);
    const m = await materializeBundle(`${srv.url}/nested.tar.gz`, {
      tokenFile: join(work, 'tokenfile'),
      caFile: join(pki, 'cert.pem'),
      workDir: join(work, 'https-ok'),
    });
    expect((await verifyBundle(m.dir, bundle.digest)).digest).toBe(bundle.digest);
  });

  it('refuses unsupported schemes, missing paths and non-bundle archives with clear messages', async () => {
    await expect(materializeBundle('gs://bucket/model')).rejects.toThrow(/unsupported model URI scheme/);
    await expect(materializeBundle(join(work, 'nope'))).rejects.toThrow(/does not exist/);
    const notTar = join(work, 'not.tar');
    await writeFile(notTar, 'hello world, definitely not a tar archive'.repeat(20));
    await expect(materializeBundle(notTar, { workDir: join(work, 'nt') })).rejects.toThrow(/not a tar archive/);
    const empty = join(work, 'empty');
    await mkdir(empty);
    writeFileSync(join(empty, 'readme.txt'), 'x');
    execFileSync('tar', ['-cf', join(work, 'empty.tar'), '-C', empty, '.']);
    await expect(materializeBundle(join(work, 'empty.tar'), { workDir: join(work, 'e') })).rejects.toThrow(
      /contains no ner-model.json/,
    );
  });
});

describe('serve from a remote source', () => {
  it('startServer downloads an HTTP tarball with a token, verifies the digest, serves, and cleans up', async () => {
    const srv = await fileServer(work);
    const s = await startServer({
      model: `${srv.url}/nested.tar.gz`,
      modelDigest: bundle.digest,
      modelTokenFile: join(work, 'tokenfile'),
      modelAllowInsecureHttp: true,
      host: '127.0.0.1',
      port: 0,
      logger: captureLogger().logger,
    });
    const res = await fetch(`${s.url}/v1/extract`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Patient has asthma.' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model: { digest: string } }).model.digest).toBe(bundle.digest);
    expect(await s.shutdown('test')).toBe(0);
    await expect(
      startServer({
        model: `${srv.url}/nested.tar.gz`,
        modelDigest: 'c'.repeat(64),
        modelTokenFile: join(work, 'tokenfile'),
        modelAllowInsecureHttp: true,
        host: '127.0.0.1',
        port: 0,
        logger: captureLogger().logger,
      }),
    ).rejects.toThrow(/digest mismatch/);
  });
});

describe('ner-ops fetch-model', () => {
  const quiet = async (argv: string[]) => {
    const log = console.log;
    const lines: string[] = [];
    console.log = (...a: unknown[]) => lines.push(a.join(' '));
    try {
      return { code: await fetchModel(argv), lines };
    } finally {
      console.log = log;
    }
  };

  it('installs a verified bundle into an existing empty directory, and is idempotent', async () => {
    const srv = await fileServer(work);
    const to = join(work, 'mnt-model');
    await mkdir(to);
    const first = await quiet([
      `${srv.url}/nested.tar.gz`,
      '--digest',
      bundle.digest,
      '--to',
      to,
      '--token-file',
      join(work, 'tokenfile'),
      '--allow-insecure-http',
    ]);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.lines[0]!)).toEqual({ digest: bundle.digest, dir: to, fetched: true });
    expect(readdirSync(to).sort()).toEqual(readdirSync(bundle.dir).sort());
    expect(readdirSync(work).filter((n) => n.startsWith('.nerops-fetch-'))).toEqual([]);
    const again = await quiet([`${srv.url}/nested.tar.gz`, '--digest', `sha256:${bundle.digest}`, '--to', to]);
    expect(JSON.parse(again.lines[0]!).fetched).toBe(false);
  });

  it('copies a local directory bundle', async () => {
    const to = join(work, 'copy-to');
    expect((await quiet([bundle.dir, '--digest', bundle.digest, '--to', to])).code).toBe(0);
    expect((await verifyBundle(to, bundle.digest)).digest).toBe(bundle.digest);
  });

  it('fails with one clear line on a digest mismatch and leaves the destination empty', async () => {
    const to = join(work, 'mismatch-to');
    const err = await fetchModel([join(work, 'flat.tar'), '--digest', 'a'.repeat(64), '--to', to]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    // A pinned archive is refused before extraction, by the manifest's digest inside it.
    expect((err as Error).message).toMatch(/^fetch-model: .*digest mismatch.*nothing was extracted/);
    expect((err as Error).message).not.toContain('\n');
    expect(readdirSync(to)).toEqual([]);
  });

  it.each([
    [[], /exactly one URI/],
    [['x', '--to', '/tmp/y'], /--digest is required/],
    [['x', '--digest', 'abc', '--to', '/tmp/y'], /sha256 hex digest/],
    [['x', '--digest', 'a'.repeat(64)], /--to DIR is required/],
    [['x', '--bogus'], /Unknown option/],
  ])('usage errors %j', async (argv, msg) => {
    const saved = process.env.NEROPS_MODEL_DIGEST;
    delete process.env.NEROPS_MODEL_DIGEST;
    await expect(fetchModel(argv as string[])).rejects.toThrow(msg);
    if (saved !== undefined) process.env.NEROPS_MODEL_DIGEST = saved;
  });

  it('refuses to overwrite a non-empty directory holding something else', async () => {
    const to = join(work, 'occupied');
    await mkdir(to);
    writeFileSync(join(to, 'other'), 'x');
    await expect(fetchModel([bundle.dir, '--digest', bundle.digest, '--to', to])).rejects.toThrow(/not empty/);
  });
});
