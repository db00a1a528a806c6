/**
 * The server under requests that are large or hostile but inside the limits: the engine yields so probes
 * are answered during a dense request, a per-request token cap refuses what would not be bounded, the
 * request deadline holds even when a batch finishes late, and no error body echoes what the client sent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/bundle/load.js';
import type { NerEngine } from '../engine/types.js';
import { createApp, type AppDeps, type ServerApp } from './app.js';
import { captureLogger, postJson, trainSmallBundle, type TrainedBundle } from '../testing/fixtures.js';

const NOTE = 'Patient with type 2 diabetes was started on metformin and has asthma.';

let bundle: TrainedBundle;
let engine: NerEngine;
const servers: Server[] = [];

async function serve(deps: Partial<AppDeps> = {}): Promise<{ url: string; sa: ServerApp }> {
  const sa = createApp({ engine, logger: captureLogger().logger, processMetrics: false, ...deps });
  await sa.ready;
  const srv = createServer(sa.handler).listen(0, '127.0.0.1');
  await new Promise<void>((r) => srv.once('listening', () => r()));
  servers.push(srv);
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, sa };
}

beforeAll(async () => {
  bundle = await trainSmallBundle({ seed: 13, epochs: 2, count: 150 });
  engine = await loadEngine(bundle.dir);
});

afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await engine?.close();
  await bundle?.remove();
});

describe('a dense request (32 documents of 20,000 one-character tokens)', () => {
  it('leaves /healthz and /readyz answering while it is in flight, then answers 200', async () => {
    const { url, sa } = await serve({ options: { maxRequestTokens: 1_000_000, requestTimeoutMs: 120_000 } });
    let denseDone = false;
    const documents = Array.from({ length: 32 }, (_, i) => ({ id: `d${i}`, text: '-'.repeat(20_000) }));
    const dense = postJson(`${url}/v1/extract`, { documents }).then((r) => {
      denseDone = true;
      return r;
    });
    // The engine has the batch: from here on only its yields let the probes through.
    while (sa.batcher.running === 0) await nextTurn();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(denseDone).toBe(false);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(denseDone).toBe(false);
    const res = await dense;
    expect(res.status).toBe(200);
    const results = (res.json as { results: { id: string; entities: unknown[] }[] }).results;
    expect(results.map((r) => r.id)).toEqual(documents.map((d) => d.id));
  });
});

describe('the per-request token cap', () => {
  it('413 naming the limit when the model would see more tokens; characters alone do not count', async () => {
    const { url } = await serve({ options: { maxRequestTokens: 40 } });
    // 60 characters, 12 tokens: within the cap as the model tokenizes.
    const words = 'fever '.repeat(10);
    expect((await postJson(`${url}/v1/extract`, { text: words })).status).toBe(200);
    const dense = await postJson(`${url}/v1/extract`, { text: '-'.repeat(41) });
    expect(dense.status).toBe(413);
    expect(dense.json).toMatchObject({
      type: 'https://nerops.io/problems/payload-too-large',
      detail:
        'the request has more than 40 tokens, the per-request limit (--max-request-tokens); send fewer or shorter documents',
    });
    // Summed over the documents of a request, on both APIs.
    const split = { documents: [1, 2, 3].map((i) => ({ id: `d${i}`, text: '- '.repeat(15) })) };
    expect((await postJson(`${url}/v1/extract`, split)).status).toBe(413);
    const v2 = await postJson(`${url}/v2/models/${engine.info.name}/infer`, {
      inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: ['-'.repeat(30), '-'.repeat(30)] }],
    });
    expect(v2.status).toBe(413);
    expect(v2.text).toContain('--max-request-tokens');
  });
});

describe('the request deadline', () => {
  it('holds when a batch finishes after it: 503 timeout, never a late 200', async () => {
    // The real engine, then the event loop held past the deadline before the result is returned, so the
    // result arrives before the timeout timer can fire.
    const late: NerEngine = {
      info: engine.info,
      profile: engine.profile,
      extract: (t) => engine.extract(t),
      tagTokens: (s) => engine.tagTokens(s),
      close: async () => undefined,
      extractBatch: async (texts) => {
        const results = await engine.extractBatch(texts);
        if (texts.includes(NOTE)) {
          const until = performance.now() + 150;
          while (performance.now() < until) {
            // hold the event loop
          }
        }
        return results;
      },
    };
    const { url } = await serve({ engine: late, options: { requestTimeoutMs: 50 } });
    const res = await postJson(`${url}/v1/extract`, { text: NOTE });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ type: 'https://nerops.io/problems/timeout' });
    expect((await postJson(`${url}/v1/extract`, { text: 'No acute distress.' })).status).toBe(200);
  });
});

describe('error bodies never echo client input', () => {
  const MARK = 'Qzx7Marker';

  it('unknown keys, model names and versions, datatypes, tensor names, shapes and paths', async () => {
    const { url } = await serve();
    const name = engine.info.name;
    const input = { name: 'text', shape: [1], datatype: 'BYTES', data: [NOTE] };
    const manyKeys = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`${MARK}${i}`.padEnd(200, 'k'), 1]));
    const cases: { path: string; body: unknown; status: number; method?: string }[] = [
      { path: '/v1/extract', body: { text: NOTE, [MARK]: 1 }, status: 400 },
      { path: '/v1/extract', body: manyKeys, status: 400 },
      { path: '/v1/extract', body: { documents: [{ id: 'a', text: NOTE, [MARK]: 1 }] }, status: 400 },
      { path: `/v2/models/${MARK}/infer`, body: { inputs: [input] }, status: 404 },
      { path: `/v2/models/${name}/versions/${MARK}/infer`, body: { inputs: [input] }, status: 404 },
      { path: `/v2/models/${MARK}`, body: undefined, status: 404, method: 'GET' },
      { path: `/v2/models/${name}/versions/${MARK}/ready`, body: undefined, status: 404, method: 'GET' },
      { path: `/v2/models/${name}/infer`, body: { inputs: [{ ...input, datatype: MARK }] }, status: 400 },
      { path: `/v2/models/${name}/infer`, body: { inputs: [{ ...input, name: MARK }] }, status: 400 },
      { path: `/v2/models/${name}/infer`, body: { inputs: [input], outputs: [{ name: MARK }] }, status: 400 },
      { path: `/v2/models/${name}/infer`, body: { inputs: [{ ...input, shape: [1_234_567] }] }, status: 400 },
      {
        path: `/v2/models/${name}/infer`,
        body: { inputs: [{ ...input, parameters: { [MARK]: 1 } }], parameters: 'x' },
        status: 400,
      },
      { path: `/${MARK}/extract?${MARK}=1`, body: { text: NOTE }, status: 404 },
      { path: `/v1/extract?${MARK}=1`, body: undefined, status: 405, method: 'GET' },
    ];
    for (const c of cases) {
      const res = await fetch(`${url}${c.path}`, {
        method: c.method ?? 'POST',
        headers: { 'content-type': 'application/json' },
        ...(c.body === undefined ? {} : { body: JSON.stringify(c.body) }),
      });
      const text = await res.text();
      expect(res.status, c.path).toBe(c.status);
      expect(res.headers.get('content-type'), c.path).toMatch(/problem\+json/);
      expect(text, c.path).not.toContain(MARK);
      expect(text, c.path).not.toContain('1234567');
      // A body of many long keys gets a short answer, not several times its size back.
      expect(text.length, c.path).toBeLessThan(2048);
    }
  });
});
