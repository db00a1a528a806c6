/**
 * Fuzz-style robustness test: thousands of malformed, hostile and odd requests against the real server
 * on a real bundle. Every answer must be a 4xx (or a 200 for odd-but-valid input); never a 5xx, never a
 * crash, and the server must still be ready at the end. Inputs come from a seeded generator, so a
 * failure is reproducible from the printed case number.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/bundle/load.js';
import type { NerEngine } from '../engine/types.js';
import { createApp, type ServerApp } from './app.js';
import { captureLogger, trainSmallBundle, type TrainedBundle } from '../testing/fixtures.js';
import { seededRandom } from '../engine/seeded-random.js';

const CASES = 3000;

/** Seeded inputs: the trainer's deterministic PRNG (mulberry32). */
const rng = seededRandom;

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Valid requests with odd content: must be 200, not merely non-5xx. */
  mustSucceed?: boolean;
}

const ODD_TEXTS = [
  '🙂🙂 fever 🙂',
  'e\u0301\u0301\u0301 combining marks',
  '\u0000\u0001\u0002 control characters \u007f',
  'مريض يعاني من السكري',
  '患者有糖尿病',
  '\u200b\u200b\u200d zero width',
  ' ',
  '\n\n\t\r\n',
  '.'.repeat(3000),
  'a'.repeat(5000),
  '-'.repeat(100) + 'pneumonia' + '-'.repeat(100),
  'metformin'.repeat(300),
  "O'Neil's COPD/CHF (s/p CABG) -- HbA1c 9.1% ; BP 180/110 mmHg!!!",
  '\ud83d\ude00'.repeat(500),
  'x',
  '1',
  '\u2028\u2029 line separators',
  '\ufeffBOM at start',
  'Ａｓｔｈｍａ full-width',
  Array.from({ length: 400 }, (_, i) => `w${i}`).join(' '),
];

function generate(random: () => number): Case[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const int = (n: number) => Math.floor(random() * n);
  const json = { 'content-type': 'application/json' };
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const randomValue = (depth: number): unknown => {
    switch (int(depth > 3 ? 6 : 9)) {
      case 0:
        return null;
      case 1:
        return random() < 0.5;
      case 2:
        return pick([0, -1, 1e308, -1e-308, 2 ** 53 + 1, 3.14, NaN]);
      case 3:
        return randomBytes(int(20)).toString('latin1');
      case 4:
        return pick(['', 'text', 'documents', 'inputs', 'BYTES', '__proto__', 'constructor', '\ud800']);
      case 5:
        return pick(ODD_TEXTS);
      case 6:
        return Array.from({ length: int(5) }, () => randomValue(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = 0; i < int(5); i++)
          o[
            pick([
              'text',
              'documents',
              'id',
              'inputs',
              'name',
              'shape',
              'datatype',
              'data',
              'outputs',
              'parameters',
              '__proto__',
              'x',
            ])
          ] = randomValue(depth + 1);
        return o;
      }
    }
  };
  const mutate = (s: string): string => {
    const chars = [...s];
    for (let i = 0; i < 1 + int(4); i++) {
      const at = int(chars.length + 1);
      const op = int(3);
      if (op === 0) chars.splice(at, 1);
      else if (op === 1)
        chars.splice(
          at,
          0,
          pick(['{', '}', '[', ']', '"', ',', ':', '\\', '\u0000', 'null', '9e999', '\\u', '\\ud800']),
        );
      else chars[at] = pick(['"', "'", '\n', '\u00ff', '\\']);
    }
    return chars.join('');
  };
  const validV1 = () =>
    pick([
      JSON.stringify({ text: pick(ODD_TEXTS) }),
      JSON.stringify({
        documents: [
          { id: 'a', text: 'fever' },
          { id: 'b', text: pick(ODD_TEXTS) },
        ],
      }),
    ]);
  const validV2 = () =>
    JSON.stringify({ id: 'q', inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: [pick(ODD_TEXTS)] }] });
  const apiPaths = ['/v1/extract', '/v2/models/test-ner/infer', '/v2/models/test-ner/versions/1.0.0/infer'];
  const cases: Case[] = [];
  for (let i = 0; i < CASES; i++) {
    const path = pick(apiPaths);
    switch (i % 10) {
      case 0:
        cases.push({ method: 'POST', path, headers: json, body: randomBytes(int(300)) });
        break;
      case 1:
        cases.push({
          method: 'POST',
          path,
          headers: json,
          body: Buffer.from(JSON.stringify(randomValue(0)) ?? 'undefined'),
        });
        break;
      case 2:
        cases.push({
          method: 'POST',
          path,
          headers: json,
          body: Buffer.from(mutate(path === '/v1/extract' ? validV1() : validV2())),
        });
        break;
      case 3: {
        // Structurally plausible v2 bodies with hostile fields.
        const input = {
          name: pick(['text', 'TEXT', '', 'x']),
          shape: pick([[1], [-1], [0], [2 ** 31], [1.5], [1, 1], [], ['1'], null, [1e308]]),
          datatype: pick(['BYTES', 'bytes', 'FP32', 'STRING', null, 7]),
          data: pick([['fever'], [], [['fever']], [1], [null], 'fever', [[[[[[['x']]]]]]], [{}], [pick(ODD_TEXTS)]]),
        };
        const body = pick([
          { inputs: [input] },
          { inputs: input },
          { inputs: [input, input] },
          { inputs: [input], outputs: pick([[], [{}], [{ name: 'entities' }], 'x']) },
          { id: pick([1, 'x'.repeat(300), null]), inputs: [input] },
        ]);
        cases.push({
          method: 'POST',
          path: pick(apiPaths.slice(1)),
          headers: json,
          body: Buffer.from(JSON.stringify(body)),
        });
        break;
      }
      case 4: {
        // Plausible v1 bodies with hostile fields.
        const doc = {
          id: pick(['a', '', 'x'.repeat(300), 1, null]),
          text: pick(['', 1, null, ['a'], 'fever', pick(ODD_TEXTS)]),
        };
        const body = pick([
          { text: pick(['', 1, null, {}, [], 'fever']) },
          { documents: [doc] },
          { documents: [doc, doc] },
          { documents: doc },
          { documents: Array.from({ length: 100 }, (_, k) => ({ id: String(k), text: 'a' })) },
          { text: 'a', documents: [] },
        ]);
        cases.push({ method: 'POST', path: '/v1/extract', headers: json, body: Buffer.from(JSON.stringify(body)) });
        break;
      }
      case 5: {
        // Header games: content types, charsets, encodings.
        const headers: Record<string, string> = {
          'content-type': pick([
            'application/json',
            'text/plain',
            'application/json; charset=utf-16',
            'application/json;charset="UTF-8"',
            'application/vnd.api+json',
            '*/*',
            'multipart/form-data; boundary=x',
            'application/json; charset',
            ';;;',
            'application/',
          ]),
        };
        let body = Buffer.from(validV1());
        const enc = pick(['', 'gzip', 'gzip-bad', 'br', 'compress', 'identity', 'deflate']);
        if (enc === 'gzip') {
          headers['content-encoding'] = 'gzip';
          body = gzipSync(body);
        } else if (enc === 'gzip-bad') {
          headers['content-encoding'] = 'gzip';
        } else if (enc) {
          headers['content-encoding'] = enc;
        }
        cases.push({ method: 'POST', path: '/v1/extract', headers, body });
        break;
      }
      case 6:
        cases.push({
          method: pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST']),
          path: pick([
            '/',
            '/v1',
            '/v1/extract/',
            '/v1/extract?x=1',
            '/v2/models/%ff/infer',
            '/v2/models/%/infer',
            '/v2/models/../infer',
            '/%00',
            '/v2/models/test-ner/versions/%E0%A4%A/infer',
            '/metrics/',
            '//v1//extract',
            '/v2/models/test-ner/infer/extra',
            '/' + 'a'.repeat(2000),
            '/v2/models/test-ner/ready',
            '/readyz?x',
          ]),
          headers: json,
          body: Buffer.from('{}'),
        });
        break;
      case 7: {
        // Deep nesting and big-but-allowed bodies.
        const depth = 1 + int(20000);
        const body = pick([
          '['.repeat(depth) + ']'.repeat(depth),
          '{"text":'.repeat(depth),
          `{"text": "${'a'.repeat(int(900_000))}"}`,
          `{"documents": [${Array.from({ length: 70 }, (_, k) => `{"id":"${k}","text":"b"}`).join(',')}]}`,
        ]);
        cases.push({ method: 'POST', path, headers: json, body: Buffer.from(body) });
        break;
      }
      case 8:
        // Odd but valid: must be answered with entities (200).
        cases.push({
          method: 'POST',
          path,
          headers: json,
          body: Buffer.from(path === '/v1/extract' ? validV1() : validV2()),
          mustSucceed: true,
        });
        break;
      default:
        cases.push({
          method: 'POST',
          path,
          headers: {
            ...json,
            'x-request-id': Array.from({ length: int(200) }, () => String.fromCharCode(32 + int(95))).join(''),
          },
          body: Buffer.from(mutate(validV1())),
        });
    }
  }
  return cases;
}

let engine: NerEngine;
let bundle: TrainedBundle;
let sa: ServerApp;
let server: http.Server;
let base: { host: string; port: number };

beforeAll(async () => {
  bundle = await trainSmallBundle({ seed: 3, epochs: 2, count: 150 });
  engine = await loadEngine(bundle.dir, { expectedDigest: bundle.digest });
  sa = createApp({
    engine,
    logger: captureLogger('warn').logger,
    processMetrics: false,
    options: { maxDocumentChars: 1_000_000 },
  });
  await sa.ready;
  server = http.createServer(sa.handler).listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  base = { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await engine?.close();
  await bundle?.remove();
});

function send(agent: http.Agent, c: Case): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...base,
        agent,
        method: c.method,
        path: c.path,
        headers: { ...c.headers, ...(c.body ? { 'content-length': String(c.body.length) } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(c.body);
  });
}

describe('fuzz', () => {
  it(`answers ${CASES} malformed and odd requests with 4xx (or 200 when valid), never 5xx, and stays ready`, async () => {
    const cases = generate(rng(20260522));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        const c = cases[i]!;
        let status: number;
        try {
          status = await send(agent, c);
        } catch (err) {
          failures.push(`case ${i}: ${c.method} ${c.path.slice(0, 60)}: transport error ${(err as Error).message}`);
          continue;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (
          status >= 500 ||
          status < 200 ||
          (status >= 200 &&
            status < 300 &&
            c.method !== 'GET' &&
            c.method !== 'HEAD' &&
            !c.mustSucceed &&
            status !== 200)
        ) {
          failures.push(`case ${i}: ${c.method} ${c.path.slice(0, 60)} -> ${status}`);
        }
        if (c.mustSucceed && status !== 200) failures.push(`case ${i}: valid odd input ${c.path} -> ${status}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    agent.destroy();
    expect(failures.slice(0, 20), `${failures.length} failures`).toEqual([]);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(CASES);
    // The fuzz really exercised the error paths, not just one of them.
    for (const s of [200, 400, 404, 405, 413, 415]) expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
    const ready = await send(new http.Agent(), { method: 'GET', path: '/readyz', headers: {} });
    expect(ready).toBe(200);
    const ok = await send(new http.Agent(), {
      method: 'POST',
      path: '/v1/extract',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"text":"fever and cough"}'),
    });
    expect(ok).toBe(200);
    expect(sa.batcher.queueDepth).toBe(0);
  }, 180_000);
});
