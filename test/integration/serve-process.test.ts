/**
 * `ner-ops serve` as a real process: SIGTERM while requests are in flight must let them finish and exit
 * 0 within 10 s. Also the command's one-line errors. The child runs the built CLI (dist/, which
 * `npm test` builds first), exactly what the image runs.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import serve from '../../cli/commands/serve.js';
import { ServeEnv } from '../../contracts/serve.js';
import { postJson, trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'dist', 'cli', 'ner-ops.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

let bundle: TrainedBundle;
beforeAll(async () => {
  bundle = await trainSmallBundle({ seed: 9, epochs: 2, count: 120 });
});
afterAll(async () => {
  await bundle?.remove();
});

describe('ner-ops serve process', () => {
  it('drains in-flight requests on SIGTERM and exits 0 within 10 s', async () => {
    expect(existsSync(cli), `${cli} is missing: run npm run build (npm test does)`).toBe(true);
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        cli,
        'serve',
        '--model',
        `file://${bundle.dir}`,
        '--model-digest',
        bundle.digest,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--max-batch-wait-ms',
        '600',
      ],
      {
        cwd: repo,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          [ServeEnv.namespace]: 'ward-7',
          [ServeEnv.deployment]: 'ner-prod',
          [ServeEnv.track]: 'canary',
          [ServeEnv.maxRequestTokens]: '50',
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    while (
      !(await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Constant metric labels come from the environment the operator sets on the pod.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /nerops_ready\{namespace="ward-7",deployment="ner-prod",model="test-ner",version="1.0.0",track="canary"\} 1/,
    );
    // The per-request token cap comes from the environment too.
    const capped = await postJson(`${url}/v1/extract`, { text: '- '.repeat(51) });
    expect(capped.status).toBe(413);
    expect(capped.text).toContain('more than 50 tokens');
    const inflight = [
      postJson(`${url}/v1/extract`, { text: 'Patient has asthma and takes albuterol.' }),
      postJson(`${url}/v1/extract`, { text: 'No complaints.' }),
    ];
    await new Promise((r) => setTimeout(r, 150));
    const t0 = Date.now();
    child.kill('SIGTERM');
    const results = await Promise.all(inflight);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const lines = stdout.split('\n').filter((l) => l.trim() !== '');
    // Every stdout line is a JSON log record; the drain is reported.
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
    expect(lines.some((l) => (JSON.parse(l) as { msg?: string }).msg === 'shutdown complete')).toBe(true);
    expect(stdout).not.toContain('albuterol');
  }, 90_000);

  it('with NEROPS_METRICS_PORT, scrapes are on that port only, and both ports close at SIGTERM', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [cli, 'serve', '--model', bundle.dir, '--host', '127.0.0.1', '--port', String(port)],
      {
        cwd: repo,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, [ServeEnv.metricsPort]: String(metricsPort) },
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    const deadline = Date.now() + 60_000;
    while (
      !(await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const scrape = await fetch(`${metricsUrl}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('nerops_ready');
    const onApi = await fetch(`${url}/metrics`);
    expect(onApi.status).toBe(404);
    expect(onApi.headers.get('content-type')).toBe('application/problem+json');
    await onApi.arrayBuffer();
    expect((await postJson(`${metricsUrl}/v1/extract`, { text: 'Patient has asthma.' })).status).toBe(404);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`${metricsUrl}/metrics`)).rejects.toThrow();
    await expect(fetch(`${url}/readyz`)).rejects.toThrow();
  }, 90_000);

  it.each([
    [[], /^serve: --model DIR\|URI is required/],
    [['--model', '/nonexistent/bundle'], /^serve: model source \/nonexistent\/bundle does not exist/],
    [['--model', 'x', '--port', 'http'], /--port must be an integer/],
    [['--model', 'x', '--track', 'blue'], /--track must be stable or canary/],
    [['--model', 'x', '--shadow-url', 'ftp://x'], /--shadow-url must be an http\(s\) URL/],
    [['--model', 'x', '--shadow-percent', '120'], /between 0 and 100/],
    [['--model', 'x', '--model-digest', 'abc'], /sha256 hex digest/],
    [['--model', 'x', '--max-batch-size', '0'], /--max-batch-size must be an integer >= 1/],
    [['--model', 'x', '--max-request-tokens', '0'], /--max-request-tokens must be an integer >= 1/],
    [['--model', 'x', '--port', '9000', '--metrics-port', '9000'], /--metrics-port must differ from --port/],
    [['--model', 'x', '--metrics-port', '0'], /--metrics-port must be an integer >= 1/],
    [['--model', 'x', '--metrics-port', '70000'], /--metrics-port must be <= 65535/],
    [['--bogus'], /Unknown option/],
  ])('refuses %j with one clear line', async (argv, msg) => {
    const saved = process.env.NEROPS_MODEL_URI;
    delete process.env.NEROPS_MODEL_URI;
    try {
      const err = await serve(argv as string[]).catch((e: unknown) => e);
      expect((err as Error).name).toBe('CliError');
      expect((err as Error).message).toMatch(msg);
      expect((err as Error).message).not.toContain('\n');
    } finally {
      if (saved !== undefined) process.env.NEROPS_MODEL_URI = saved;
    }
  });

  it('refuses a bundle whose digest does not match', async () => {
    const err = await serve([
      '--model',
      bundle.dir,
      '--model-digest',
      'b'.repeat(64),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--log-level',
      'silent',
    ]).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^serve: model bundle .* digest mismatch/);
  });
});
