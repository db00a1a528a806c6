/**
 * The inference server against a real trained bundle: both APIs, batching, every error path, auth,
 * metrics names and values, PHI never in logs or metrics, shadow agreement against a second real
 * server, and graceful shutdown.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { loadEngine } from '../engine/bundle/load.js';
import type { NerEngine } from '../engine/types.js';
import { createApp, type AppDeps, type ServerApp } from './app.js';
import { sha256Hex } from './auth.js';
import { startServer, type RunningServer } from './main.js';
import { ServerMetric } from '../contracts/metrics.js';
import { entityAgreement } from './shadow.js';
import {
  captureLogger,
  histogramBounds,
  metricValue,
  postJson,
  trainSmallBundle,
  type TrainedBundle,
} from '../testing/fixtures.js';

const NOTE = 'Patient with type 2 diabetes was started on metformin and has asthma.';
const NOTES = [
  NOTE,
  'History of hypertension treated with lisinopril.',
  'No acute distress.',
  'She developed pneumonia and received amoxicillin for seven days.',
  'Chronic kidney disease; continue dialysis three times weekly.',
  'Migraine managed with sumatriptan as needed.',
];

let bundle: TrainedBundle;
let otherBundle: TrainedBundle;
let engine: NerEngine;
let main: RunningServer;
let mainLogs: string[];
const servers: Server[] = [];

/** Mount an app built by createApp on an ephemeral loopback port and wait for warm-up. */
async function serve(
  deps: Partial<AppDeps> & { engine?: NerEngine } = {},
): Promise<{ url: string; sa: ServerApp; lines: string[] }> {
  const cap = captureLogger();
  const sa = createApp({ engine, logger: cap.logger, processMetrics: false, ...deps });
  await sa.ready;
  // The production dispatcher (fast path for the inference endpoints, express for the rest).
  const srv = createServer(sa.handler).listen(0, '127.0.0.1');
  await new Promise<void>((r) => srv.once('listening', () => r()));
  servers.push(srv);
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, sa, lines: cap.lines };
}

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

beforeAll(async () => {
  [bundle, otherBundle] = await Promise.all([
    trainSmallBundle({ seed: 7 }),
    trainSmallBundle({ seed: 11, epochs: 1, count: 80, name: 'other-ner', version: '2.0.0' }),
  ]);
  engine = await loadEngine(bundle.dir, { expectedDigest: bundle.digest });
  const cap = captureLogger();
  mainLogs = cap.lines;
  main = await startServer({
    model: bundle.dir,
    modelDigest: bundle.digest,
    host: '127.0.0.1',
    port: 0,
    logger: cap.logger,
    labels: { namespace: 'clinic', deployment: 'ner-prod', track: 'canary' },
    server: { maxDocumentChars: 2000, maxDocuments: 8, maxBodyBytes: 64 * 1024 },
  });
});

afterAll(async () => {
  await main?.shutdown('test done');
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await engine?.close();
  await Promise.all([bundle?.remove(), otherBundle?.remove()]);
});

describe('POST /v1/extract', () => {
  it('extracts entities from one text, with offsets into the input and the model identity', async () => {
    const res = await request(main.url)
      .post('/v1/extract')
      .send({ text: NOTE })
      .expect(200)
      .expect('content-type', /application\/json/);
    expect(res.body.model).toEqual({ name: 'test-ner', version: '1.0.0', digest: bundle.digest });
    const entities = res.body.entities as { label: string; start: number; end: number; text: string; score: number }[];
    expect(entities.length).toBeGreaterThan(0);
    for (const e of entities) {
      expect(Object.keys(e).sort()).toEqual(['end', 'label', 'score', 'start', 'text']);
      expect(NOTE.slice(e.start, e.end)).toBe(e.text);
      expect(e.score).toBeGreaterThanOrEqual(0);
      expect(e.score).toBeLessThanOrEqual(1);
      expect(['DISEASE', 'TREATMENT']).toContain(e.label);
    }
    const direct = await engine.extract(NOTE);
    expect(entities).toEqual(direct.entities);
  });

  it('extracts entities from several documents, keeping ids and order', async () => {
    const documents = NOTES.slice(0, 4).map((text, i) => ({ id: `doc-${4 - i}`, text }));
    const res = await request(main.url).post('/v1/extract').send({ documents }).expect(200);
    expect(res.body.results.map((r: { id: string }) => r.id)).toEqual(['doc-4', 'doc-3', 'doc-2', 'doc-1']);
    const direct = await engine.extractBatch(documents.map((d) => d.text));
    expect(res.body.results.map((r: { entities: unknown }) => r.entities)).toEqual(direct.map((d) => d.entities));
    expect(res.body.model.digest).toBe(bundle.digest);
  });

  it('echoes a client x-request-id and generates one otherwise', async () => {
    const a = await request(main.url)
      .post('/v1/extract')
      .set('x-request-id', 'req-abc.123')
      .send({ text: NOTE })
      .expect(200);
    expect(a.headers['x-request-id']).toBe('req-abc.123');
    const b = await request(main.url).post('/v1/extract').send({ text: NOTE }).expect(200);
    expect(b.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const c = await request(main.url)
      .post('/v1/extract')
      .set('x-request-id', 'bad id with spaces')
      .send({ text: NOTE })
      .expect(200);
    expect(c.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(mainLogs.some((l) => l.includes('"req-abc.123"'))).toBe(true);
  });
});

describe('Open Inference Protocol v2', () => {
  it('answers health, server and model metadata', async () => {
    await request(main.url).get('/v2/health/live').expect(200, { live: true });
    await request(main.url).get('/v2/health/ready').expect(200, { ready: true });
    await request(main.url).get('/v2/models/test-ner/ready').expect(200);
    const meta = await request(main.url).get('/v2/models/test-ner').expect(200);
    expect(meta.body).toMatchObject({
      name: 'test-ner',
      versions: ['1.0.0'],
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: 'entities', datatype: 'BYTES', shape: [-1] }],
    });
    const server = await request(main.url).get('/v2').expect(200);
    expect(server.body.name).toBe('nerops');
  });

  it('infers with a BYTES input, flat or nested, with the same entities as /v1', async () => {
    const res = await request(main.url)
      .post('/v2/models/test-ner/infer')
      .send({ id: 'r1', inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: [NOTES[0], NOTES[1]] }] })
      .expect(200);
    expect(res.body).toMatchObject({ model_name: 'test-ner', model_version: '1.0.0', id: 'r1' });
    const out = res.body.outputs[0];
    expect(out).toMatchObject({ name: 'entities', datatype: 'BYTES', shape: [2] });
    const direct = await engine.extractBatch([NOTES[0]!, NOTES[1]!]);
    expect(out.data.map((d: string) => JSON.parse(d))).toEqual(direct.map((d) => d.entities));
    const nested = await request(main.url)
      .post('/v2/models/test-ner/versions/1.0.0/infer')
      .send({ inputs: [{ name: 'text', shape: [2, 1], datatype: 'BYTES', data: [[NOTES[0]], [NOTES[1]]] }] })
      .expect(200);
    expect(nested.body.outputs[0].data).toEqual(out.data);
  });

  it('refuses unknown models and versions, wrong datatypes, names and shapes', async () => {
    const input = { name: 'text', shape: [1], datatype: 'BYTES', data: [NOTE] };
    const r404 = await request(main.url)
      .post('/v2/models/nope/infer')
      .send({ inputs: [input] })
      .expect(404);
    expect(r404.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(r404.body.error).toMatch(/the requested model is not served here; this server serves 'test-ner'/);
    await request(main.url).get('/v2/models/test-ner/versions/9.9/ready').expect(404);
    const cases: [unknown, RegExp][] = [
      [{ inputs: [{ ...input, datatype: 'FP32' }] }, /must be BYTES/],
      [{ inputs: [{ ...input, name: 'input_ids' }] }, /unknown input/],
      [{ inputs: [{ ...input, shape: [3] }] }, /do not match the 1 data elements/],
      [{ inputs: [{ ...input, data: [42] }] }, /must be strings/],
      [{ inputs: [input, input] }, /exactly one input/],
      [{ inputs: [] }, /exactly one input/],
      [{ inputs: [input], outputs: [{ name: 'logits' }] }, /unknown output/],
      [{}, /inputs/],
    ];
    for (const [body, detail] of cases) {
      const res = await request(main.url)
        .post('/v2/models/test-ner/infer')
        .send(body as object)
        .expect(400);
      expect(res.body.detail).toMatch(detail);
      expect(res.body.error).toBe(res.body.detail);
    }
  });
});

describe('errors are problem+json with a specific message', () => {
  const problem = (status: number, slug: string) => (res: request.Response) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: `https://nerops.io/problems/${slug}`, status });
    expect(typeof res.body.title).toBe('string');
    expect(typeof res.body.detail).toBe('string');
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  };

  it.each([
    ['malformed JSON', '{"text": "abc"', /not valid JSON/],
    ['empty body', '', /empty/],
    ['missing text', '{}', /either "text" or "documents"/],
    ['empty text', '{"text": ""}', /text: text must not be empty/],
    ['non-string text', '{"text": 42}', /text: text must be a string/],
    ['null text', '{"text": null}', /text must be a string/],
    ['array body', '[1,2]', /must be a JSON object/],
    ['both text and documents', `{"text": "a", "documents": [{"id": "1", "text": "b"}]}`, /not both/],
    ['unknown field', '{"txt": "a"}', /unknown field; the allowed fields are "text", "documents" and "subject"/],
    ['documents not an array', '{"documents": "a"}', /documents must be an array/],
    ['empty documents', '{"documents": []}', /must not be empty/],
    ['document without id', '{"documents": [{"text": "a"}]}', /documents.0.id/],
    ['duplicate ids', '{"documents": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}', /unique/],
  ])('400 for %s', async (_name, body, detail) => {
    const res = await request(main.url).post('/v1/extract').set('content-type', 'application/json').send(body);
    problem(400, 'invalid-' + (res.body.type?.endsWith('invalid-json') ? 'json' : 'request'))(res);
    expect(res.body.detail).toMatch(detail);
  });

  it('400 for invalid UTF-8 and for unpaired surrogates', async () => {
    const bad = Buffer.concat([Buffer.from('{"text": "caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const r1 = await fetch(`${main.url}/v1/extract`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array(bad),
    });
    expect(r1.status).toBe(400);
    expect(r1.headers.get('content-type')).toMatch(/problem\+json/);
    const b1 = (await r1.json()) as { type: string; detail: string };
    expect(b1.type).toBe('https://nerops.io/problems/invalid-encoding');
    expect(b1.detail).toMatch(/not valid UTF-8/);
    const r2 = await request(main.url)
      .post('/v1/extract')
      .set('content-type', 'application/json')
      .send('{"text": "pain \\ud800 here"}');
    problem(400, 'invalid-encoding')(r2);
    expect(r2.body.detail).toMatch(/unpaired UTF-16 surrogate/);
  });

  it('413 for a body, a document or a document count over the limit', async () => {
    const big = await request(main.url)
      .post('/v1/extract')
      .send({ text: 'x'.repeat(70 * 1024) });
    problem(413, 'payload-too-large')(big);
    expect(big.body.detail).toMatch(/65536 bytes/);
    const longDoc = await request(main.url)
      .post('/v1/extract')
      .send({ text: 'pain '.repeat(500) });
    problem(413, 'payload-too-large')(longDoc);
    expect(longDoc.body.detail).toMatch(/text is 2500 characters; the limit is 2000/);
    const many = await request(main.url)
      .post('/v1/extract')
      .send({ documents: Array.from({ length: 9 }, (_, i) => ({ id: String(i), text: 'a' })) });
    problem(413, 'payload-too-large')(many);
    expect(many.body.detail).toMatch(/at most 8 documents/);
  });

  it('415 for a wrong or missing content type or charset', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']) {
      const res = await request(main.url).post('/v1/extract').set('content-type', type).send('{"text":"a"}');
      problem(415, 'unsupported-media-type')(res);
    }
    const none = await fetch(`${main.url}/v1/extract`, {
      method: 'POST',
      body: new Uint8Array(Buffer.from('{"text":"a"}')),
    });
    expect(none.status).toBe(415);
    await request(main.url)
      .post('/v1/extract')
      .set('content-type', 'application/json; charset=utf-8')
      .send('{"text":"a"}')
      .expect(200);
    await request(main.url)
      .post('/v1/extract')
      .set('content-type', 'application/merge-patch+json')
      .send('{"text":"a"}')
      .expect(200);
  });

  it('404 for unknown routes and 405 with Allow for wrong methods', async () => {
    problem(404, 'not-found')(await request(main.url).get('/v1/nothing'));
    problem(404, 'not-found')(await request(main.url).post('/').send({}));
    const r405 = await request(main.url).get('/v1/extract');
    problem(405, 'method-not-allowed')(r405);
    expect(r405.headers.allow).toBe('POST');
    const m405 = await request(main.url).post('/metrics').send({});
    problem(405, 'method-not-allowed')(m405);
    expect(m405.headers.allow).toBe('GET, HEAD');
  });

  it('503 with Retry-After when the queue is full, and a per-request timeout', async () => {
    const { url } = await serve({ options: { maxBatchWaitMs: 400, maxBatchSize: 100, maxQueue: 3 } });
    const queued = [1, 2, 3].map(() => postJson(`${url}/v1/extract`, { text: NOTE }));
    await new Promise((r) => setTimeout(r, 100));
    const res = await request(url).post('/v1/extract').send({ text: NOTE });
    problem(503, 'overloaded')(res);
    expect(res.headers['retry-after']).toBe('1');
    expect((await Promise.all(queued)).map((r) => r.status)).toEqual([200, 200, 200]);

    const slow = await serve({ options: { maxBatchWaitMs: 300, requestTimeoutMs: 50 } });
    const t = await request(slow.url).post('/v1/extract').send({ text: NOTE });
    problem(503, 'timeout')(t);
    expect(t.body.detail).toMatch(/within 50 ms/);
    expect(t.headers['retry-after']).toBe('1');
    expect(slow.sa.batcher.queueDepth).toBe(0);
  });
});

describe('fast path and express routes', () => {
  it('answer every case identically (the listening server skips express for the inference endpoints)', async () => {
    const { url, sa } = await serve({ options: { maxDocumentChars: 100, maxBodyBytes: 4096 } });
    const viaExpress = createServer(sa.app).listen(0, '127.0.0.1');
    await new Promise<void>((r) => viaExpress.once('listening', () => r()));
    servers.push(viaExpress);
    const expressUrl = `http://127.0.0.1:${(viaExpress.address() as AddressInfo).port}`;
    const input = { name: 'text', shape: [1], datatype: 'BYTES', data: [NOTE] };
    const cases: { path: string; body: string | Buffer; type?: string; encoding?: string }[] = [
      { path: '/v1/extract', body: JSON.stringify({ text: NOTE }) },
      { path: '/v1/extract', body: gzipSync(JSON.stringify({ text: NOTE })), encoding: 'gzip' },
      { path: '/v1/extract', body: JSON.stringify({ text: NOTE }), encoding: 'compress' },
      { path: '/v1/extract', body: Buffer.from('not gzip'), encoding: 'gzip' },
      { path: '/v1/extract', body: '{"text": ' },
      { path: '/v1/extract', body: '{"text": ""}' },
      { path: '/v1/extract', body: JSON.stringify({ text: 'x'.repeat(101) }) },
      { path: '/v1/extract', body: JSON.stringify({ text: 'x'.repeat(5000) }) },
      { path: '/v1/extract', body: JSON.stringify({ text: NOTE }), type: 'text/plain' },
      { path: '/v1/extract?trace=1', body: JSON.stringify({ text: NOTE }) },
      { path: '/v2/models/test-ner/infer', body: JSON.stringify({ inputs: [input] }) },
      { path: '/v2/models/test%2Dner/infer', body: JSON.stringify({ inputs: [input] }) },
      { path: '/v2/models/test-ner/versions/1.0.0/infer', body: JSON.stringify({ inputs: [input] }) },
      { path: '/v2/models/test-ner/versions/0.9/infer', body: JSON.stringify({ inputs: [input] }) },
      { path: '/v2/models/other/infer', body: JSON.stringify({ inputs: [input] }) },
      { path: '/v2/models/%E0%A4%A/infer', body: JSON.stringify({ inputs: [input] }) },
      { path: '/v2/models/test-ner/infer', body: JSON.stringify({ inputs: [{ ...input, datatype: 'INT8' }] }) },
    ];
    const statuses: number[] = [];
    for (const c of cases) {
      const headers: Record<string, string> = {
        'content-type': c.type ?? 'application/json',
        ...(c.encoding ? { 'content-encoding': c.encoding } : {}),
      };
      const fast = await fetch(`${url}${c.path}`, {
        method: 'POST',
        headers,
        body: new Uint8Array(Buffer.from(c.body)),
      });
      const slow = await fetch(`${expressUrl}${c.path}`, {
        method: 'POST',
        headers,
        body: new Uint8Array(Buffer.from(c.body)),
      });
      const label = `${c.path} ${c.encoding ?? ''} ${c.type ?? ''}`;
      statuses.push(fast.status);
      expect(fast.status, label).toBe(slow.status);
      expect(fast.headers.get('content-type'), label).toBe(slow.headers.get('content-type'));
      const strip = (t: string) => t.replace(/"requestId":"[^"]*"/, '');
      expect(strip(await fast.text()), label).toBe(strip(await slow.text()));
    }
    expect(statuses).toEqual([200, 200, 415, 400, 400, 400, 413, 413, 415, 200, 200, 200, 200, 404, 404, 400, 400]);
  });
});

describe('engine failure', () => {
  it('answers a generic 500 problem, logs no text, and keeps serving', async () => {
    // Fault injection around the real engine: fail on one marker document, delegate everything else.
    const SECRET = 'Zanzibarine-Kettleworth has gout';
    const faulty: NerEngine = {
      info: engine.info,
      profile: engine.profile,
      extract: (t) => engine.extract(t),
      tagTokens: (s) => engine.tagTokens(s),
      close: async () => undefined,
      extractBatch: async (texts) => {
        if (texts.some((t) => t.includes('Zanzibarine'))) throw new Error(`cannot tag: ${texts.join(' | ')}`);
        return engine.extractBatch(texts);
      },
    };
    const { url, lines } = await serve({ engine: faulty });
    const res = await postJson(`${url}/v1/extract`, { text: SECRET });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(res.json).toMatchObject({
      type: 'https://nerops.io/problems/internal',
      detail: 'the server failed to process the request',
    });
    expect(res.text).not.toContain('Zanzibarine');
    expect(lines.some((l) => l.includes('unhandled error while serving a request'))).toBe(true);
    expect(lines.join('\n')).not.toContain('Zanzibarine');
    expect((await postJson(`${url}/v1/extract`, { text: NOTE })).status).toBe(200);
    expect(metricValue(await metricsText(url), 'nerops_requests_total', { code: '500' })).toBe(1);
  });
});

describe('micro-batching', () => {
  it('coalesces concurrent requests into one engine batch', async () => {
    const { url } = await serve({ options: { maxBatchWaitMs: 250, maxBatchSize: 16 } });
    const before = await metricsText(url);
    expect(metricValue(before, 'nerops_batch_size_count')).toBe(0);
    const responses = await Promise.all(NOTES.slice(0, 5).map((text) => postJson(`${url}/v1/extract`, { text })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const after = await metricsText(url);
    expect(metricValue(after, 'nerops_batch_size_count')).toBe(1);
    expect(metricValue(after, 'nerops_batch_size_sum')).toBe(5);
    expect(metricValue(after, 'nerops_batch_size_bucket', { le: '4' })).toBe(0);
    expect(metricValue(after, 'nerops_batch_size_bucket', { le: '8' })).toBe(1);
  });

  it('splits at the maximum batch size', async () => {
    const { url } = await serve({ options: { maxBatchWaitMs: 250, maxBatchSize: 4 } });
    const documents = NOTES.map((text, i) => ({ id: String(i), text }));
    const res = await postJson(`${url}/v1/extract`, { documents });
    expect(res.status).toBe(200);
    const m = await metricsText(url);
    expect(metricValue(m, 'nerops_batch_size_count')).toBe(2);
    expect(metricValue(m, 'nerops_batch_size_sum')).toBe(6);
  });
});

describe('auth', () => {
  it('requires a listed bearer token on the API; health and metrics stay open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nerops-auth-'));
    const file = join(dir, 'tokens');
    writeFileSync(file, `# clinic integration\n${sha256Hex('s3cret-token')}\n`);
    const { url } = await serve({ auth: file });
    const none = await request(url).post('/v1/extract').send({ text: NOTE }).expect(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(none.headers['content-type']).toMatch(/problem\+json/);
    await request(url).post('/v1/extract').set('authorization', 'Bearer wrong').send({ text: NOTE }).expect(401);
    await request(url)
      .post('/v1/extract')
      .set('authorization', 'Basic czNjcmV0LXRva2Vu')
      .send({ text: NOTE })
      .expect(401);
    await request(url).post('/v1/extract').set('authorization', 'Bearer s3cret-token').send({ text: NOTE }).expect(200);
    const input = { name: 'text', shape: [1], datatype: 'BYTES', data: [NOTE] };
    await request(url)
      .post('/v2/models/test-ner/infer')
      .send({ inputs: [input] })
      .expect(401);
    await request(url)
      .post('/v2/models/test-ner/infer')
      .set('authorization', 'Bearer s3cret-token')
      .send({ inputs: [input] })
      .expect(200);
    await request(url).get('/v2/models/test-ner').expect(401);
    // Unauthenticated requests are refused before their body is read or validated.
    await request(url).post('/v1/extract').set('content-type', 'text/plain').send('x').expect(401);
    for (const path of [
      '/healthz',
      '/readyz',
      '/metrics',
      '/v2/health/live',
      '/v2/health/ready',
      '/v2/models/test-ner/ready',
    ]) {
      await request(url).get(path).expect(200);
    }
  });
});

describe('metrics', () => {
  it('exports the metrics contract with constant labels and correct values', async () => {
    const cap = captureLogger();
    const sa = createApp({
      engine,
      logger: cap.logger,
      labels: { namespace: 'ns1', deployment: 'dep1', model: 'ner-model-a', version: 'v7', track: 'canary' },
    });
    await sa.ready;
    const texts = [NOTES[0]!, NOTES[1]!, NOTES[3]!];
    await request(sa.app).post('/v1/extract').send({ text: texts[0] }).expect(200);
    await request(sa.app)
      .post('/v1/extract')
      .send({
        documents: [
          { id: 'a', text: texts[1] },
          { id: 'b', text: texts[2] },
        ],
      })
      .expect(200);
    await request(sa.app).post('/v1/extract').send({ text: '' }).expect(400);
    await request(sa.app).get('/healthz').expect(200);
    const res = await request(sa.app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    const m = res.text;
    for (const name of Object.values(ServerMetric)) expect(m).toContain(`# TYPE ${name} `);
    const constant = { namespace: 'ns1', deployment: 'dep1', model: 'ner-model-a', version: 'v7', track: 'canary' };
    expect(metricValue(m, 'nerops_requests_total', { ...constant, route: '/v1/extract', code: '200' })).toBe(2);
    expect(metricValue(m, 'nerops_requests_total', { ...constant, route: '/v1/extract', code: '400' })).toBe(1);
    // Probes are not traffic: they would distort request-rate autoscaling.
    expect(metricValue(m, 'nerops_requests_total', { route: '/healthz' })).toBeUndefined();
    expect(metricValue(m, 'nerops_request_duration_seconds_count', { route: '/v1/extract' })).toBe(3);
    const direct = await engine.extractBatch(texts);
    const tokens = direct.reduce((n, r) => n + r.stats.tokens, 0);
    const unknown = direct.reduce((n, r) => n + r.stats.unknownTokens, 0);
    const entities = direct.flatMap((r) => r.entities);
    expect(metricValue(m, 'nerops_documents_total', constant)).toBe(3);
    expect(metricValue(m, 'nerops_tokens_total', constant)).toBe(tokens);
    expect(metricValue(m, 'nerops_unknown_tokens_total', constant)).toBe(unknown);
    for (const label of ['DISEASE', 'TREATMENT']) {
      expect(metricValue(m, 'nerops_entities_total', { ...constant, label })).toBe(
        entities.filter((e) => e.label === label).length,
      );
    }
    expect(metricValue(m, 'nerops_entity_confidence_count', constant)).toBe(entities.length);
    expect(metricValue(m, 'nerops_entity_confidence_sum', constant)).toBeCloseTo(
      entities.reduce((s, e) => s + e.score, 0),
      6,
    );
    expect(metricValue(m, 'nerops_document_length_tokens_count', constant)).toBe(3);
    expect(metricValue(m, 'nerops_document_length_tokens_sum', constant)).toBe(tokens);
    // Bucket bounds are exactly the bundle profile's.
    expect(engine.profile).toBeDefined();
    expect(histogramBounds(m, 'nerops_entity_confidence')).toEqual(engine.profile!.confidence.bounds);
    expect(histogramBounds(m, 'nerops_document_length_tokens')).toEqual(engine.profile!.documentLength.bounds);
    expect(
      metricValue(m, 'nerops_model_info', {
        model_name: 'test-ner',
        model_version: '1.0.0',
        digest: bundle.digest,
        format: 'crf',
      }),
    ).toBe(1);
    expect(metricValue(m, 'nerops_ready', constant)).toBe(1);
    expect(metricValue(m, 'nerops_queue_depth', constant)).toBe(0);
    expect(m).toContain('nerops_process_resident_memory_bytes');
    await sa.drain();
  });
});

describe('PHI never reaches logs or metrics', () => {
  it('a distinctive sentence and its entities appear in no log line and no metric', async () => {
    const NAME = 'Quillfeather-Oyelaran';
    const SENTENCE = `Mrs ${NAME} was diagnosed with pneumonia and treated with amoxicillin on the Zephyrine ward.`;
    const cap = captureLogger('trace');
    const shadowTarget = await serve();
    const { url } = await serve({
      logger: cap.logger,
      shadow: { url: shadowTarget.url, percent: 100, maxConcurrent: 4, timeoutMs: 2000 },
      options: { maxDocumentChars: 200 },
    });
    const ok = await postJson(`${url}/v1/extract`, { text: SENTENCE }, { 'x-request-id': 'phi-test-1' });
    expect(ok.status).toBe(200);
    const entityTexts = (ok.json as { entities: { text: string }[] }).entities.map((e) => e.text);
    expect(entityTexts.length).toBeGreaterThan(0);
    await postJson(`${url}/v1/extract`, { documents: [{ id: 'x', text: SENTENCE }] });
    await postJson(`${url}/v2/models/test-ner/infer`, {
      inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: [SENTENCE] }],
    });
    // Error paths that carry the text: malformed JSON, unknown keys, too long, wrong type, bad datatype.
    const bad = [
      await postJson(`${url}/v1/extract`, `{"text": "${SENTENCE}"`),
      await postJson(`${url}/v1/extract`, { [SENTENCE]: 1 }),
      await postJson(`${url}/v1/extract`, { text: SENTENCE.repeat(3) }),
      await postJson(`${url}/v1/extract`, { text: SENTENCE, extra: SENTENCE }),
      await postJson(`${url}/v2/models/test-ner/infer`, {
        inputs: [{ name: SENTENCE, shape: [1], datatype: SENTENCE, data: [SENTENCE] }],
      }),
      await postJson(`${url}/v1/extract?note=${encodeURIComponent(SENTENCE)}`, { text: SENTENCE }),
      await postJson(`${url}/${encodeURIComponent(SENTENCE)}`, { text: SENTENCE }),
    ];
    expect(bad.map((b) => b.status)).toEqual([400, 400, 413, 400, 400, 200, 404]);
    await fetch(`${url}/v1/extract`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: SENTENCE });
    const { sa } = shadowTarget;
    void sa;
    const metrics = (await metricsText(url)) + (await metricsText(shadowTarget.url));
    const allLogs = cap.lines.join('\n') + '\n' + shadowTarget.lines.join('\n');
    expect(cap.lines.length).toBeGreaterThan(5);
    expect(allLogs).toContain('phi-test-1');
    const needles = [SENTENCE, NAME, 'Quillfeather', 'Oyelaran', 'Zephyrine', encodeURIComponent(NAME), ...entityTexts];
    for (const needle of needles) {
      expect(allLogs.includes(needle), `log mentions ${needle}`).toBe(false);
      expect(metrics.includes(needle), `metrics mention ${needle}`).toBe(false);
    }
  });
});

describe('shadow traffic', () => {
  async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('exports entity-level agreement against a second real server with a different model', async () => {
    const otherEngine = await loadEngine(otherBundle.dir, { expectedDigest: otherBundle.digest });
    const canary = await serve({ engine: otherEngine });
    const { url, sa } = await serve({ shadow: { url: canary.url, percent: 100, maxConcurrent: 8, timeoutMs: 5000 } });
    for (const text of NOTES) expect((await postJson(`${url}/v1/extract`, { text })).status).toBe(200);
    await waitFor(async () => metricValue(await metricsText(url), 'nerops_shadow_agreement_count') === NOTES.length);
    await sa.shadow!.idle();
    const m = await metricsText(url);
    const primary = await engine.extractBatch(NOTES);
    const shadow = await otherEngine.extractBatch(NOTES);
    const expected = NOTES.reduce((s, _t, i) => s + entityAgreement(primary[i]!.entities, shadow[i]!.entities), 0);
    expect(metricValue(m, 'nerops_shadow_agreement_sum')).toBeCloseTo(expected, 9);
    expect(metricValue(m, 'nerops_shadow_requests_total', { outcome: 'ok' })).toBe(NOTES.length);
    expect(metricValue(m, 'nerops_shadow_duration_seconds_count')).toBe(NOTES.length);
    // The canary saw the shadow requests and did not shadow them further.
    expect(metricValue(await metricsText(canary.url), 'nerops_documents_total')).toBe(NOTES.length);
    await otherEngine.close().catch(() => undefined);
  });

  it('a candidate that requires auth: refused mirrored requests are 4xx shadow errors, the shadow token makes comparisons', async () => {
    const token = 'shadow-token-for-the-test';
    const canary = await serve({ auth: { verify: (h) => h === `Bearer ${token}` } });
    const shadow = { url: canary.url, percent: 100, maxConcurrent: 4, timeoutMs: 5000 };
    const without = await serve({ shadow });
    expect((await postJson(`${without.url}/v1/extract`, { text: NOTE })).status).toBe(200);
    await waitFor(async () => metricValue(await metricsText(without.url), 'nerops_shadow_requests_total') === 1);
    const m0 = await metricsText(without.url);
    expect(metricValue(m0, 'nerops_shadow_errors_total', { reason: 'http_4xx' })).toBe(1);
    expect(metricValue(m0, 'nerops_shadow_agreement_count')).toBe(0);

    const withToken = await serve({ shadow: { ...shadow, token } });
    expect((await postJson(`${withToken.url}/v1/extract`, { text: NOTE })).status).toBe(200);
    await waitFor(async () => metricValue(await metricsText(withToken.url), 'nerops_shadow_requests_total') === 1);
    const m1 = await metricsText(withToken.url);
    expect(metricValue(m1, 'nerops_shadow_agreement_count')).toBe(1);
    expect(metricValue(m1, 'nerops_shadow_errors_total') ?? 0).toBe(0);
  });

  it('agreement is 1 against the same model; errors and drops are counted, the primary unaffected', async () => {
    const same = await serve();
    const a = await serve({ shadow: { url: same.url, percent: 100, maxConcurrent: 8, timeoutMs: 5000 } });
    await postJson(`${a.url}/v1/extract`, { documents: NOTES.map((text, i) => ({ id: String(i), text })) });
    await waitFor(async () => metricValue(await metricsText(a.url), 'nerops_shadow_agreement_count') === NOTES.length);
    const ma = await metricsText(a.url);
    expect(metricValue(ma, 'nerops_shadow_agreement_sum')).toBe(NOTES.length);
    expect(metricValue(ma, 'nerops_shadow_agreement_bucket', { le: '0.99' })).toBe(0);

    // A shadow target that is down: the primary answers 200, the failure is a metric.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const b = await serve({
      shadow: { url: `http://127.0.0.1:${deadPort}`, percent: 100, maxConcurrent: 2, timeoutMs: 1000 },
    });
    expect((await postJson(`${b.url}/v1/extract`, { text: NOTE })).status).toBe(200);
    await waitFor(
      async () => metricValue(await metricsText(b.url), 'nerops_shadow_errors_total', { reason: 'network' }) === 1,
    );

    // A slow shadow target with one slot: further samples are dropped, never queued.
    const slow = createServer((_req, res) => setTimeout(() => res.end('{}'), 600));
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    servers.push(slow);
    const c = await serve({
      shadow: {
        url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`,
        percent: 100,
        maxConcurrent: 1,
        timeoutMs: 3000,
      },
    });
    for (let i = 0; i < 4; i++) expect((await postJson(`${c.url}/v1/extract`, { text: NOTE })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    const mc = await metricsText(c.url);
    expect(metricValue(mc, 'nerops_shadow_requests_total', { outcome: 'dropped' })).toBe(3);
    await c.sa.shadow!.idle();
    expect(metricValue(await metricsText(c.url), 'nerops_shadow_errors_total', { reason: 'invalid_response' })).toBe(1);

    // A shadow slower than its timeout: counted as a timeout.
    const e = await serve({
      shadow: {
        url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`,
        percent: 100,
        maxConcurrent: 1,
        timeoutMs: 100,
      },
    });
    expect((await postJson(`${e.url}/v1/extract`, { text: NOTE })).status).toBe(200);
    await waitFor(
      async () => metricValue(await metricsText(e.url), 'nerops_shadow_errors_total', { reason: 'timeout' }) === 1,
    );

    // 0 percent: nothing is mirrored.
    const d = await serve({ shadow: { url: same.url, percent: 0, maxConcurrent: 2, timeoutMs: 1000 } });
    await postJson(`${d.url}/v1/extract`, { text: NOTE });
    await new Promise((r) => setTimeout(r, 50));
    expect(metricValue(await metricsText(d.url), 'nerops_shadow_requests_total')).toBe(0);
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, finishes in-flight requests, and completes well within 10 s', async () => {
    const cap = captureLogger();
    const s = await startServer({
      model: bundle.dir,
      host: '127.0.0.1',
      port: 0,
      logger: cap.logger,
      server: { maxBatchWaitMs: 400 },
    });
    await request(s.url).get('/readyz').expect(200);
    const inflight = [
      postJson(`${s.url}/v1/extract`, { text: NOTE }),
      postJson(`${s.url}/v1/extract`, { documents: [{ id: 'a', text: NOTES[1] }] }),
    ];
    await new Promise((r) => setTimeout(r, 100));
    expect(s.app.state.inflight).toBe(2);
    const t0 = Date.now();
    const code = s.shutdown('SIGTERM');
    expect(s.app.state.draining).toBe(true);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
    const done = await Promise.all(inflight);
    expect(done.map((r) => r.status)).toEqual([200, 200]);
    expect(await code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(cap.lines.some((l) => l.includes('shutdown complete'))).toBe(true);
  });

  it('with a shutdown delay, keeps answering (unready, closing connections) until the delay is over', async () => {
    const s = await startServer({
      model: bundle.dir,
      host: '127.0.0.1',
      port: 0,
      logger: captureLogger().logger,
      shutdownDelayMs: 1500,
    });
    const code = s.shutdown('SIGTERM');
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(503);
    await ready.arrayBuffer();
    const during = await postJson(`${s.url}/v1/extract`, { text: NOTE });
    expect(during.status).toBe(200);
    expect(during.headers.get('connection')).toBe('close');
    expect(await code).toBe(0);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });
});
