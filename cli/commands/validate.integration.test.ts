import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, writeFile, cp } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';
import { generateNotes, writeConll } from '../../trainer/synthetic.js';
import { writeBundle, verifyBundle } from '../../engine/bundle/bundle.js';
import { decodeValidationResult, VALIDATE_EXIT } from '../../contracts/validation-result.js';
import { TERMINATION_MESSAGE_LIMIT } from '../../contracts/termination-message.js';
import validate from './validate.js';

let bundle: TrainedBundle;
let work: string;

async function run(args: string[]) {
  const log = join(work, `term-${Math.random().toString(36).slice(2)}`);
  const out = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const code = await validate([...args, '--termination-log', log]);
    const raw = await readFile(log, 'utf8');
    return { code, raw, result: decodeValidationResult(raw) };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(async () => {
  bundle = await trainSmallBundle({ count: 200, epochs: 3 });
  work = await mkdtemp(join(tmpdir(), 'nerops-validate-test-'));
}, 120_000);

describe('ner-ops validate', () => {
  it('accepts a good bundle (file://) with metrics, compact profile, size and entity types within 4 KiB', async () => {
    const { code, raw, result } = await run([pathToFileURL(bundle.dir).href, '--digest', bundle.digest]);
    expect(code).toBe(VALIDATE_EXIT.ok);
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(TERMINATION_MESSAGE_LIMIT);
    expect(result).toMatchObject({
      outcome: 'Ready',
      reason: 'Validated',
      digest: bundle.digest,
      entityTypes: ['DISEASE', 'TREATMENT'],
      metrics: { source: 'bundle' },
    });
    expect(result?.sizeBytes).toBeGreaterThan(1000);
    expect(result?.metrics?.micro.f1).toBeGreaterThan(0.5);
    expect(result?.profile?.labelDistribution).toHaveProperty('DISEASE');
    expect(result?.profile?.confidence?.counts.length).toBe((result?.profile?.confidence?.bounds.length ?? 0) + 1);
  });

  it('evaluates on --dataset and rejects below --min-f1', async () => {
    const dataset = join(work, 'eval.conll');
    await writeConll(dataset, generateNotes({ count: 40, seed: 99 }));
    const ok = await run([
      bundle.dir,
      '--digest',
      bundle.digest,
      '--dataset',
      pathToFileURL(dataset).href,
      '--min-f1',
      '0.1',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.result?.metrics).toMatchObject({ source: 'evaluation', sentences: 40 });
    const strict = await run([bundle.dir, '--digest', bundle.digest, '--dataset', dataset, '--min-f1', '1']);
    if (strict.result?.metrics?.micro.f1 !== 1) {
      expect(strict.code).toBe(VALIDATE_EXIT.rejected);
      expect(strict.result).toMatchObject({ outcome: 'Rejected', reason: 'BelowMinimumMetrics' });
    }
  });

  it('downloads an http dataset with the model store token when it is on the model origin', async () => {
    const dataset = join(work, 'remote.conll');
    await writeConll(dataset, generateNotes({ count: 30, seed: 77 }));
    await writeFile(join(work, 'token'), 'dataset-token\n');
    const seen: Array<string | undefined> = [];
    const srv = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== 'Bearer dataset-token') return void res.writeHead(401).end();
      const path = req.url?.startsWith('/bundle/') ? join(bundle.dir, req.url.slice('/bundle/'.length)) : dataset;
      createReadStream(path).pipe(res);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const local = await run([bundle.dir, '--digest', bundle.digest, '--dataset', dataset]);
      const remote = await run([
        `${base}/bundle/`,
        '--digest',
        bundle.digest,
        '--dataset',
        `${base}/remote.conll`,
        '--token-file',
        join(work, 'token'),
        '--allow-insecure-http',
      ]);
      expect(remote.code).toBe(0);
      expect(remote.result?.metrics).toEqual(local.result?.metrics);
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.every((a) => a === 'Bearer dataset-token')).toBe(true);
      // Another origin than the model's (a local directory): the token is not sent, and the store says 401.
      const elsewhere = await run([
        bundle.dir,
        '--digest',
        bundle.digest,
        '--dataset',
        `${base}/remote.conll`,
        '--token-file',
        join(work, 'token'),
      ]);
      expect(elsewhere.result).toMatchObject({ outcome: 'Failed', reason: 'DatasetUnavailable' });
      expect(elsewhere.result?.message).toMatch(/HTTP 401/);
      expect(seen.at(-1)).toBeUndefined();
    } finally {
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });

  it('rejects a wrong digest with a clear message', async () => {
    const wrong = 'a'.repeat(64);
    const { code, result } = await run([bundle.dir, '--digest', wrong]);
    expect(code).toBe(VALIDATE_EXIT.rejected);
    expect(result).toMatchObject({ outcome: 'Rejected', reason: 'DigestMismatch' });
    expect(result?.message).toContain(wrong);
  });

  it('fails (not rejects) when the source is unreachable', async () => {
    const missing = await run([pathToFileURL(join(work, 'nope')).href, '--digest', bundle.digest]);
    expect(missing.code).toBe(VALIDATE_EXIT.failed);
    expect(missing.result).toMatchObject({ outcome: 'Failed', reason: 'SourceUnreachable' });
    const http = await run(['http://127.0.0.1:9/bundle/', '--digest', bundle.digest, '--timeout-ms', '2000']);
    expect(http.code).toBe(VALIDATE_EXIT.failed);
    expect(http.result?.message).toMatch(/cannot download/);
  });

  it('rejects a bundle whose files were modified, and one whose ONNX file is corrupt', async () => {
    const tampered = join(work, 'tampered');
    await cp(bundle.dir, tampered, { recursive: true });
    await writeFile(join(tampered, 'model.onnx'), 'garbage');
    const t = await run([tampered, '--digest', bundle.digest]);
    expect(t.code).toBe(VALIDATE_EXIT.rejected);
    expect(t.result).toMatchObject({ reason: 'InvalidBundle' });
    expect(t.result?.message).toMatch(/model.onnx was modified/);

    // A consistent manifest pinning a corrupt ONNX file: verification passes, loading must not.
    const corrupt = join(work, 'corrupt');
    await (await import('node:fs/promises')).mkdir(corrupt, { recursive: true });
    const v = await verifyBundle(bundle.dir);
    const files: Record<string, Uint8Array> = Object.fromEntries(v.files);
    files['model.onnx'] = Buffer.from('not an onnx model');
    const { files: _pinned, ...manifest } = v.manifest;
    const digest = await writeBundle(corrupt, manifest, files);
    const c = await run([corrupt, '--digest', digest]);
    expect(c.code).toBe(VALIDATE_EXIT.rejected);
    expect(c.result).toMatchObject({ outcome: 'Rejected', reason: 'CorruptModel' });
  });

  it('refuses bad usage with exit code 2', async () => {
    await expect(validate(['x', '--digest', 'nothex'])).rejects.toMatchObject({ exitCode: 2 });
    await expect(validate([bundle.dir, '--digest', bundle.digest, '--min-f1', '0.5'])).rejects.toThrow(
      /needs --dataset/,
    );
  });
});
