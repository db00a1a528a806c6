import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cycle, TrafficGenerator, type TrafficTarget } from './traffic.js';

interface TestServer {
  url: string;
  /** Request bodies (parsed) and the headers that matter here. */
  requests: { text: unknown; authorization: string | undefined; connection: string | undefined }[];
  /** Sockets accepted. */
  connections: number;
  /** Most requests being answered at once. */
  maxConcurrent: number;
  close(): Promise<void>;
}

const servers: TestServer[] = [];

/** A server on 127.0.0.1 answering every request with `status` after `delayMs`. */
async function startServer(status = 200, delayMs = 0): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  let concurrent = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    s.maxConcurrent = Math.max(s.maxConcurrent, ++concurrent);
    res.on('close', () => concurrent--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: unknown };
      requests.push({ text: body.text, authorization: req.headers.authorization, connection: req.headers.connection });
      setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end('{"entities":[]}'), delayMs);
    });
  });
  const s: TestServer = {
    url: '',
    requests,
    connections: 0,
    maxConcurrent: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => s.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/extract`;
  servers.push(s);
  return s;
}

/** A URL nothing listens on (a port just released). */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1/extract`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Run until `n` requests were sent (or the deadline passes), then stop. */
async function runUntilSent(g: TrafficGenerator, n: number, deadlineMs = 20_000) {
  g.start();
  const until = Date.now() + deadlineMs;
  while (g.stats.sent + g.stats.dropped < n && Date.now() < until) await sleep(10);
  return g.stop();
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('TrafficGenerator', () => {
  it('refuses a rate that is not a positive finite number', () => {
    for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new TrafficGenerator({ rate, nextText: () => 'x', targets: () => [] })).toThrow(RangeError);
    }
  });

  it('sends round-robin over the targets and counts 2xx by track, with the texts in order and the token', async () => {
    const [a, b] = await Promise.all([startServer(), startServer()]);
    const targets: TrafficTarget[] = [
      { url: a!.url, track: 'stable' },
      { url: b!.url, track: 'canary' },
    ];
    const g = new TrafficGenerator({
      rate: 200,
      nextText: cycle(['one', 'two', 'three']),
      targets: () => targets,
      token: 't0ken',
    });
    const stats = await runUntilSent(g, 20);
    expect(stats.sent).toBeGreaterThanOrEqual(20);
    expect(stats.dropped).toBe(0);
    expect(stats.ok).toBe(stats.sent);
    expect(stats.codes).toEqual({ 200: stats.sent });
    // Round-robin: the two servers got every other request.
    expect(Math.abs(a!.requests.length - b!.requests.length)).toBeLessThanOrEqual(1);
    expect(stats.byTrack).toEqual({ stable: a!.requests.length, canary: b!.requests.length });
    expect(a!.requests.every((r) => r.authorization === 'Bearer t0ken')).toBe(true);
    const texts = [...a!.requests, ...b!.requests].map((r) => r.text);
    expect(new Set(texts)).toEqual(new Set(['one', 'two', 'three']));
  });

  it('hands every answer to onAnswer with the text that was sent, its status and body', async () => {
    const [ok, failing] = await Promise.all([startServer(200), startServer(503)]);
    const dead = await deadUrl();
    const answers: { text: string; status: number; body: string; url: string }[] = [];
    const g = new TrafficGenerator({
      rate: 150,
      nextText: cycle(['one', 'two']),
      targets: () => [{ url: ok.url }, { url: failing.url }, { url: dead }],
      timeoutMs: 2000,
      onAnswer: ({ text, status, body, target }) => answers.push({ text, status, body, url: target.url }),
    });
    const stats = await runUntilSent(g, 12);
    // Network errors have no answer; every answer pairs the text its server received.
    expect(answers.length).toBe(ok.requests.length + failing.requests.length);
    expect(stats.codes[0]).toBeGreaterThan(0);
    for (const [server, status] of [
      [ok, 200],
      [failing, 503],
    ] as const) {
      const mine = answers.filter((a) => a.url === server.url);
      expect(mine.map((a) => a.text).sort()).toEqual(server.requests.map((r) => String(r.text)).sort());
      expect(mine.every((a) => a.status === status && a.body === '{"entities":[]}')).toBe(true);
    }
  });

  it('counts answers by status code, 2xx only as ok, and network errors as code 0', async () => {
    const [ok, failing] = await Promise.all([startServer(200), startServer(503)]);
    const dead = await deadUrl();
    const targets: TrafficTarget[] = [{ url: ok.url }, { url: failing.url }, { url: dead }];
    const g = new TrafficGenerator({
      rate: 150,
      nextText: () => 'History of asthma.',
      targets: () => targets,
      timeoutMs: 2000,
    });
    const stats = await runUntilSent(g, 30);
    expect(stats.sent).toBeGreaterThanOrEqual(30);
    expect(stats.codes[200]).toBe(ok.requests.length);
    expect(stats.codes[503]).toBe(failing.requests.length);
    expect(stats.codes[0]).toBeGreaterThanOrEqual(10);
    expect((stats.codes[200] ?? 0) + (stats.codes[503] ?? 0) + (stats.codes[0] ?? 0)).toBe(stats.sent);
    expect(stats.ok).toBe(stats.codes[200]);
    // Tracks default to '' and count 2xx only.
    expect(stats.byTrack).toEqual({ '': stats.ok });
  });

  it('counts requests as dropped while there is no target, and sends once one appears', async () => {
    const s = await startServer();
    let targets: TrafficTarget[] = [];
    const g = new TrafficGenerator({ rate: 200, nextText: () => 'x', targets: () => targets }).start();
    expect(g.running).toBe(true);
    const until = Date.now() + 20_000;
    while (g.stats.dropped < 5 && Date.now() < until) await sleep(10);
    expect(g.stats.sent).toBe(0);
    expect(g.stats.dropped).toBeGreaterThanOrEqual(5);
    targets = [{ url: s.url }];
    while (g.stats.ok < 3 && Date.now() < until) await sleep(10);
    const stats = await g.stop();
    expect(g.running).toBe(false);
    expect(stats.ok).toBeGreaterThanOrEqual(3);
  });

  it('stop() waits for the requests in flight', async () => {
    const slow = await startServer(200, 300);
    const g = new TrafficGenerator({ rate: 100, nextText: () => 'x', targets: () => [{ url: slow.url }] }).start();
    const until = Date.now() + 20_000;
    while (g.stats.sent < 3 && Date.now() < until) await sleep(5);
    const stats = await g.stop();
    // Nothing is left unanswered: every sent request has a code.
    expect(stats.sent).toBeGreaterThanOrEqual(3);
    expect(Object.values(stats.codes).reduce((x, y) => x + y, 0)).toBe(stats.sent);
    expect(stats.ok).toBe(stats.sent);
    // And nothing is sent after stop().
    await sleep(100);
    expect(g.stats.sent).toBe(stats.sent);
  });

  it('bounds the requests in flight; beyond maxInFlight sends are dropped', async () => {
    const slow = await startServer(200, 500);
    const g = new TrafficGenerator({
      rate: 200,
      nextText: () => 'x',
      targets: () => [{ url: slow.url }],
      maxInFlight: 2,
    }).start();
    const until = Date.now() + 20_000;
    while (g.stats.dropped < 3 && Date.now() < until) await sleep(5);
    const stats = await g.stop();
    expect(stats.dropped).toBeGreaterThanOrEqual(3);
    expect(stats.ok).toBe(stats.sent);
    expect(slow.maxConcurrent).toBeLessThanOrEqual(2);
  });

  it('keepAlive: false opens a connection per request (a Service then spreads them over its pods)', async () => {
    const s = await startServer();
    const g = new TrafficGenerator({
      rate: 50,
      nextText: () => 'x',
      targets: () => [{ url: s.url }],
      keepAlive: false,
    });
    const stats = await runUntilSent(g, 10);
    expect(stats.ok).toBe(stats.sent);
    expect(s.requests.every((r) => r.connection === 'close')).toBe(true);
    expect(s.connections).toBe(stats.sent);
  });

  it('cycle() repeats the texts in order and refuses an empty list', () => {
    const next = cycle(['a', 'b']);
    expect([next(), next(), next()]).toEqual(['a', 'b', 'a']);
    expect(() => cycle([])).toThrow(RangeError);
  });
});
