/**
 * Model fetch limits (docs/security.md, "Model fetch limits"): the size cap counted while bytes arrive and
 * while an archive expands, the overall deadline, a pinned archive refused before extraction, regular files
 * only in a directory bundle, ONNX external data, and https → http redirects. Loopback servers only; the
 * caps are small so that nothing large is ever sent or written.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fetchModel from '../../cli/commands/fetch-model.js';
import { MANIFEST_FILE } from '../../contracts/bundle-manifest.js';
import { canonicalJson, sha256, verifyBundle } from '../../engine/bundle/bundle.js';
import { downloadFile, materializeBundle } from '../../engine/bundle/model-source.js';
import { loopbackCertificate } from '../../testing/loopback-tls.js';
import { trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';

const { onnx } = onnxProto;
let bundle: TrainedBundle;
let work: string;
const servers: http.Server[] = [];

async function listen(handler: http.RequestListener, tls?: { key: Buffer; cert: Buffer }): Promise<string> {
  const srv = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  servers.push(srv);
  return `${tls ? 'https' : 'http'}://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

/** A copy of the test bundle whose files the test may replace. */
async function bundleCopy(name: string): Promise<string> {
  const dir = join(work, name);
  await cp(bundle.dir, dir, { recursive: true });
  return dir;
}

/** Replace one file of a bundle and re-pin it, returning the new digest (a bundle its author signed). */
async function repin(dir: string, file: string, data: Uint8Array): Promise<string> {
  await writeFile(join(dir, file), data);
  const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as { files: Record<string, string> };
  manifest.files[file] = sha256(data);
  const text = canonicalJson(manifest);
  await writeFile(join(dir, MANIFEST_FILE), text);
  return sha256(text);
}

beforeAll(async () => {
  bundle = await trainSmallBundle({ seed: 11, epochs: 1, count: 60 });
  work = mkdtempSync(join(tmpdir(), 'nerops-fetch-limits-'));
});

afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await bundle?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('size cap', () => {
  it('refuses a gzip bomb while it expands, without writing the expansion', async () => {
    // 16 MiB of zeros gzip to a few KiB; the cap is 256 KiB.
    const bomb = join(work, 'bomb');
    await mkdir(bomb);
    await writeFile(join(bomb, MANIFEST_FILE), '{}');
    await writeFile(join(bomb, 'model.onnx'), Buffer.alloc(16 * 1024 * 1024));
    execFileSync('tar', ['-czf', join(work, 'bomb.tar.gz'), '-C', bomb, MANIFEST_FILE, 'model.onnx']);
    rmSyncDir(bomb);
    expect(statSync(join(work, 'bomb.tar.gz')).size).toBeLessThan(256 * 1024);
    const dest = join(work, 'bomb-out');
    const err = await materializeBundle(join(work, 'bomb.tar.gz'), { workDir: dest, maxBytes: 256 * 1024 }).catch(
      (e: unknown) => e as Error,
    );
    expect((err as Error).message).toMatch(/expands beyond the size cap of 262144 bytes/);
    // What was written before the refusal is bounded by the cap (plus one decompressor chunk).
    const written = join(dest, 'bundle', 'model.onnx');
    expect(existsSync(written) ? statSync(written).size : 0).toBeLessThanOrEqual(256 * 1024 + 64 * 1024);
  });

  it('stops a download without Content-Length at the cap, and refuses a declared length over it at once', async () => {
    let sent = 0;
    const url = await listen((req, res) => {
      if (req.url === '/declared.tar.gz') {
        res.setHeader('content-length', String(1024 ** 3));
        res.write(Buffer.alloc(1024));
        return; // never finishes: the client must not wait for it
      }
      // An endless body, 64 KiB at a time, until the client goes away.
      const push = () => {
        while (res.writable && sent < 64 * 1024 * 1024) {
          sent += 64 * 1024;
          if (!res.write(Buffer.alloc(64 * 1024))) return void res.once('drain', push);
        }
        res.end();
      };
      push();
    });
    const endless = await materializeBundle(`${url}/endless.tar.gz`, {
      workDir: join(work, 'endless'),
      maxBytes: 512 * 1024,
    }).catch((e: unknown) => e as Error);
    expect((endless as Error).message).toMatch(/endless\.tar\.gz exceeds the size cap of 524288 bytes/);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    const declared = await downloadFile(`${url}/declared.tar.gz`, join(work, 'declared'), {
      maxBytes: 512 * 1024,
    }).catch((e: unknown) => e as Error);
    expect((declared as Error).message).toMatch(/Content-Length 1073741824\) exceeds the size cap of 524288 bytes/);
  });

  it('refuses a directory bundle whose files are over the cap', async () => {
    await expect(verifyBundle(bundle.dir, bundle.digest, { maxBytes: 1024 })).rejects.toThrow(
      /over the bundle size cap of \d+ bytes/,
    );
  });

  it('takes the cap and deadline from fetch-model flags', async () => {
    const err = await fetchModel([
      bundle.dir,
      '--digest',
      bundle.digest,
      '--to',
      join(work, 'capped-to'),
      '--max-bundle-bytes',
      '1024',
    ]).catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(/^fetch-model: .*size cap of \d+ bytes/);
    await expect(
      fetchModel([bundle.dir, '--digest', bundle.digest, '--to', join(work, 'x'), '--fetch-deadline-ms', '0']),
    ).rejects.toThrow(/--fetch-deadline-ms .* must be a positive integer/);
  });
});

describe('deadline', () => {
  it('ends a fetch that trickles bytes within the stall timeout but never finishes', async () => {
    const url = await listen((_req, res) => {
      const timer = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const err = await materializeBundle(`${url}/slow.tar.gz`, {
      workDir: join(work, 'slow'),
      timeoutMs: 5_000,
      deadlineMs: 400,
    }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(/did not finish within its deadline of 400 ms/);
  });
});

describe('pinned archives', () => {
  it('refuses an archive whose manifest does not match the digest before extracting anything', async () => {
    execFileSync('tar', ['-czf', join(work, 'pinned.tar.gz'), '-C', bundle.dir, '.']);
    const dest = join(work, 'pinned-out');
    const err = await materializeBundle(join(work, 'pinned.tar.gz'), { workDir: dest, digest: 'b'.repeat(64) }).catch(
      (e: unknown) => e as Error,
    );
    expect((err as Error).message).toMatch(/digest mismatch .*nothing was extracted/);
    expect(existsSync(join(dest, 'bundle'))).toBe(false);
    const ok = await materializeBundle(join(work, 'pinned.tar.gz'), {
      workDir: join(work, 'pinned-ok'),
      digest: bundle.digest,
    });
    expect((await verifyBundle(ok.dir, bundle.digest)).digest).toBe(bundle.digest);
  });
});

describe('directory bundles hold regular files only', () => {
  it('refuses a pinned file that is a symlink to /dev/zero without reading it', async () => {
    const dir = await bundleCopy('dev-zero');
    await rm(join(dir, 'model.onnx'));
    await symlink('/dev/zero', join(dir, 'model.onnx'));
    await expect(verifyBundle(dir, bundle.digest)).rejects.toThrow(/file model\.onnx is a symbolic link/);
    const err = await fetchModel([dir, '--digest', bundle.digest, '--to', join(work, 'dev-zero-to')]).catch(
      (e: unknown) => e as Error,
    );
    expect((err as Error).message).toMatch(/symbolic link/);
  });

  it('refuses a FIFO and a symlinked manifest', async () => {
    const fifo = await bundleCopy('fifo');
    await rm(join(fifo, 'model.onnx'));
    execFileSync('mkfifo', [join(fifo, 'model.onnx')]);
    await expect(verifyBundle(fifo, bundle.digest)).rejects.toThrow(/model\.onnx is not a regular file/);

    const linkedManifest = await bundleCopy('linked-manifest');
    await rm(join(linkedManifest, MANIFEST_FILE));
    await symlink(join(bundle.dir, MANIFEST_FILE), join(linkedManifest, MANIFEST_FILE));
    await expect(verifyBundle(linkedManifest, bundle.digest)).rejects.toThrow(/ner-model\.json is a symbolic link/);
  });
});

describe('ONNX external data', () => {
  it('refuses a model whose initializer lives in a file outside the bundle, even when re-pinned', async () => {
    const dir = await bundleCopy('external');
    const model = onnx.ModelProto.decode(await readFile(join(dir, 'model.onnx')));
    const init = model.graph?.initializer?.[0];
    expect(init).toBeDefined();
    init!.rawData = new Uint8Array(0);
    init!.floatData = [];
    init!.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    init!.externalData = [onnx.StringStringEntryProto.create({ key: 'location', value: 'secret.bin' })];
    const digest = await repin(dir, 'model.onnx', onnx.ModelProto.encode(model).finish());
    await expect(verifyBundle(dir, digest)).rejects.toThrow(
      /file model\.onnx refers to ONNX external data .*bundles must embed every tensor/,
    );
  });
});

describe('redirects', () => {
  it('refuses a redirect from https to http', async () => {
    const pki = join(work, 'pki');
    await loopbackCertificate(pki);
    let plainRequests = 0;
    const plain = await listen((_req, res) => {
      plainRequests++;
      res.end('x');
    });
    const secure = await listen(
      (_req, res) => {
        res.statusCode = 302;
        res.setHeader('location', `${plain}/bundle.tar.gz`);
        res.end();
      },
      { key: await readFile(join(pki, 'key.pem')), cert: await readFile(join(pki, 'cert.pem')) },
    );
    const err = await materializeBundle(`${secure}/bundle.tar.gz`, {
      workDir: join(work, 'downgrade'),
      caFile: join(pki, 'cert.pem'),
    }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(/refused a redirect from https to http/);
    expect(plainRequests).toBe(0);
  });
});

function rmSyncDir(dir: string): void {
  for (const f of readdirSync(dir)) execFileSync('rm', ['-f', join(dir, f)]);
}
