import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CliError } from '../command.js';
import traffic, { extractUrl, type TrafficSummary } from './traffic.js';

let server: Server;
let base: string;
const seen: { path: string; authorization: string | undefined; text: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { text } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string };
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization, text });
      res.writeHead(req.url === '/broken' ? 500 : 200, { 'content-type': 'application/json' }).end('{"entities":[]}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Run the command with console output captured. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const code = await traffic(argv);
    return {
      code,
      out: out.mock.calls.map((c) => String(c[0])).join('\n'),
      err: err.mock.calls.map((c) => String(c[0])).join('\n'),
    };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('ner-ops traffic', () => {
  it('--help lists every flag', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--url',
      '--rate',
      '--duration',
      '--vocabulary',
      '--seed',
      '--count',
      '--token-file',
      '--timeout-ms',
      '--keep-alive',
      '--json',
    ])
      expect(out).toContain(flag);
  });

  it.each([
    [['--rate', '5', '--duration', '1'], /--url URL is required/],
    [['--url', 'http://x', '--duration', '1'], /--rate is required/],
    [['--url', 'http://x', '--rate', '5'], /--duration is required/],
    [['--url', 'http://x', '--rate', '0', '--duration', '1'], /--rate must be a number > 0, got '0'/],
    [['--url', 'http://x', '--rate', 'fast', '--duration', '1'], /--rate must be a number, got 'fast'/],
    [['--url', 'http://x', '--rate', '5', '--duration=-2'], /--duration must be a number > 0/],
    [['--url', 'not a url', '--rate', '5', '--duration', '1'], /--url 'not a url' is not a URL/],
    [['--url', 'ftp://host/x', '--rate', '5', '--duration', '1'], /must be http:\/\/ or https:\/\//],
    [
      ['--url', 'http://x', '--rate', '5', '--duration', '1', '--vocabulary', 'odd'],
      /--vocabulary must be 'base' or 'shifted', got 'odd'/,
    ],
    [['--url', 'http://x', '--rate', '5', '--duration', '1', '--count', '0'], /--count must be an integer >= 1/],
    [
      ['--url', 'http://x', '--rate', '5', '--duration', '1', '--token-file', '/nonexistent/token'],
      /cannot read --token-file \/nonexistent\/token: ENOENT/,
    ],
    [['--url', 'http://x', '--rate', '5', '--duration', '1', '--bogus'], /traffic: Unknown option '--bogus'/],
  ])('%j is refused with a clear message', async (argv, message) => {
    const err = await traffic(argv).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(message);
  });

  it('a base URL gets the extraction route; a full route is kept', () => {
    expect(extractUrl('http://clinical-ner:8080')).toBe('http://clinical-ner:8080/v1/extract');
    expect(extractUrl('http://clinical-ner:8080/')).toBe('http://clinical-ner:8080/v1/extract');
    expect(extractUrl('https://ner.example/v2/models/x/infer')).toBe('https://ner.example/v2/models/x/infer');
  });

  it('sends synthetic notes for the duration and prints a JSON summary with ok > 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nerops-traffic-test-'));
    await writeFile(join(dir, 'token'), 's3cret\n');
    seen.length = 0;
    const { code, out } = await run([
      '--url',
      base,
      '--rate',
      '20',
      '--duration',
      '1',
      '--vocabulary',
      'shifted',
      '--seed',
      '3',
      '--count',
      '5',
      '--token-file',
      join(dir, 'token'),
      '--json',
      '--quiet',
    ]);
    expect(code).toBe(0);
    const summary = JSON.parse(out) as TrafficSummary;
    expect(summary.ok).toBeGreaterThan(0);
    expect(summary.sent).toBe(summary.ok);
    expect(summary.codes).toEqual({ 200: summary.ok });
    expect(summary.dropped).toBe(0);
    expect(summary.byUrl).toEqual({ [`${base}/v1/extract`]: summary.ok });
    expect(summary.durationSeconds).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBe(summary.ok);
    expect(seen.every((r) => r.path === '/v1/extract' && r.authorization === 'Bearer s3cret')).toBe(true);
    // At most --count distinct notes, from the synthetic generator.
    expect(new Set(seen.map((r) => r.text)).size).toBeLessThanOrEqual(5);
    expect(seen.every((r) => typeof r.text === 'string' && r.text.length > 0)).toBe(true);
  });

  it('counts failures per code and exits 1 when nothing succeeded (never printing a note)', async () => {
    seen.length = 0;
    const { code, out, err } = await run(['--url', `${base}/broken`, '--rate', '20', '--duration', '0.5', '--quiet']);
    expect(code).toBe(1);
    expect(out).toMatch(/^traffic: sent \d+, ok 0, dropped 0, codes 500=\d+/);
    expect(err).toMatch(/no request succeeded/);
    for (const r of seen) {
      expect(out).not.toContain(r.text);
      expect(err).not.toContain(r.text);
    }
  });
});
