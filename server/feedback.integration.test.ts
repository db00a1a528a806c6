/**
 * `POST /v1/feedback` against a real trained bundle: scoring and its counters, every refusal (400 naming the
 * field, 409, 413, 401/403 by token scope, 507), the store behind it (what is kept, and that it exports),
 * through `startServer` with `--feedback-store`, and patient text never in logs, metrics or error bodies.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../engine/bundle/load.js';
import { exportStore } from '../engine/feedback/export.js';
import { bioLabels, conllDocument } from '../engine/feedback/record.js';
import { FeedbackStore } from '../engine/feedback/store.js';
import type { Entity, NerEngine } from '../engine/types.js';
import { feedbackF1Query, ServerMetric } from '../contracts/metrics.js';
import { createApp, type AppDeps } from './app.js';
import { sha256Hex } from './auth.js';
import { startServer } from './main.js';
import { captureLogger, metricValue, postJson, trainSmallBundle, type TrainedBundle } from '../testing/fixtures.js';

// A name no model, log or metric should ever carry.
const NAME = 'Zebulon Quixmarch';
const NOTE = `${NAME} has type 2 diabetes mellitus and was started on metformin for it.`;
const OTHER = `${NAME} was treated with amoxicillin for community-acquired pneumonia last week.`;

let bundle: TrainedBundle;
let engine: NerEngine;
let root: string;
const servers: Server[] = [];
const allLogs: string[] = [];

async function serve(deps: Partial<AppDeps> = {}): Promise<{ url: string; lines: string[] }> {
  const cap = captureLogger();
  const sa = createApp({
    engine,
    logger: cap.logger,
    processMetrics: false,
    labels: { namespace: 'clinic', deployment: 'ner', track: 'canary' },
    ...deps,
  });
  await sa.ready;
  const srv = createServer(sa.handler).listen(0, '127.0.0.1');
  await new Promise<void>((r) => srv.once('listening', () => r()));
  servers.push(srv);
  allLogs.push(...cap.lines);
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, lines: cap.lines };
}

async function predicted(url: string, text: string): Promise<Entity[]> {
  const r = await postJson(`${url}/v1/extract`, { text });
  return (r.json as { entities: Entity[] }).entities;
}

const spans = (es: readonly Entity[]) => es.map(({ label, start, end }) => ({ label, start, end }));

beforeAll(async () => {
  bundle = await trainSmallBundle({ seed: 7 });
  engine = await loadEngine(bundle.dir, { expectedDigest: bundle.digest });
  root = await mkdtemp(join(tmpdir(), 'nerops-feedback-api-'));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await engine?.close();
  await bundle?.remove();
  await rm(root, { recursive: true, force: true });
});

describe('POST /v1/feedback', () => {
  it('scores the model against the verified entities and counts per type and outcome', async () => {
    const { url } = await serve();
    const model = await predicted(url, NOTE);
    expect(model.length).toBeGreaterThanOrEqual(2);
    const before = await (await fetch(`${url}/metrics`)).text();

    // Everything the model found is right: all true positives.
    const perfect = await postJson(`${url}/v1/feedback`, { text: NOTE, entities: spans(model), source: 'team-a' });
    expect(perfect.status).toBe(200);
    expect(perfect.json).toMatchObject({
      counts: { tp: model.length, fp: 0, fn: 0 },
      stored: false,
      model: { digest: bundle.digest },
    });

    // The person removes the model's first entity and adds one it missed: one fp, one fn.
    const [first, ...rest] = spans(model);
    const missed = { label: first!.label === 'DISEASE' ? 'TREATMENT' : 'DISEASE', start: 0, end: NAME.indexOf(' ') };
    const corrected = await postJson(`${url}/v1/feedback`, { text: NOTE, entities: [...rest, missed] });
    expect(corrected.status).toBe(200);
    expect(corrected.json).toMatchObject({ counts: { tp: model.length - 1, fp: 1, fn: 1 } });
    expect(corrected.text).not.toContain(NAME.split(' ')[0]);

    const text = await (await fetch(`${url}/metrics`)).text();
    const m = ServerMetric.feedbackEntities;
    const sum = (outcome: string) => metricValue(text, m, { outcome, model: 'test-ner', track: 'canary' });
    expect(sum('tp')).toBe(2 * model.length - 1);
    expect(sum('fp')).toBe(1);
    expect(sum('fn')).toBe(1);
    expect(metricValue(text, m, { label: missed.label, outcome: 'fn' })).toBe(1);
    expect(metricValue(text, ServerMetric.feedbackDocuments, { stored: 'false' })).toBe(2);
    // Feedback notes do not count again in the drift and traffic aggregates of extraction.
    expect(metricValue(text, ServerMetric.documents)).toBe(metricValue(before, ServerMetric.documents));
    expect(feedbackF1Query('1h', 'version')).toContain(m);
  });

  it('refuses bad documents with a 400 naming the field, never echoing the text', async () => {
    const { url } = await serve();
    const at = NOTE.indexOf('metformin');
    const cases: [unknown, string][] = [
      [{ text: NOTE, entities: [{ label: NAME, start: at, end: at + 9 }] }, 'entities.0.label'],
      [{ text: NOTE, entities: [{ label: 'TREATMENT', start: at, end: NOTE.length + 5 }] }, 'entities.0.end'],
      [
        {
          text: NOTE,
          entities: [
            { label: 'TREATMENT', start: at, end: at + 9 },
            { label: 'DISEASE', start: at + 3, end: at + 12 },
          ],
        },
        'entities.1',
      ],
      [{ text: NOTE, entities: [{ label: 'TREATMENT', start: at + 1, end: at + 9 }] }, 'entities.0'],
      [{ text: NOTE, entities: 'metformin' }, 'entities'],
      [{ text: NOTE, entities: [], [NAME]: true }, ''],
      [{ text: '   ', entities: [] }, 'text'],
    ];
    for (const [body, path] of cases) {
      const r = await postJson(`${url}/v1/feedback`, body);
      expect(r.status, JSON.stringify(path)).toBe(400);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect((r.json as { errors: { path: string }[] }).errors[0]!.path).toBe(path);
      expect(r.text).not.toContain('Zebulon');
      expect(r.text).not.toContain('metformin');
    }
  });

  it('answers 409 when the verified entities were made on another model, and 413 beyond the limits', async () => {
    const { url } = await serve({ options: { maxDocumentChars: 200 }, feedback: { maxEntities: 2 } });
    const other = await postJson(`${url}/v1/feedback`, {
      text: NOTE,
      entities: [],
      model: { name: 'test-ner', digest: 'f'.repeat(64) },
    });
    expect(other.status).toBe(409);
    expect(other.json).toMatchObject({ type: 'https://nerops.io/problems/model-mismatch' });
    const same = await postJson(`${url}/v1/feedback`, {
      text: NOTE,
      entities: [],
      model: { digest: `sha256:${bundle.digest.toUpperCase()}` },
    });
    expect(same.status).toBe(200);
    expect((await postJson(`${url}/v1/feedback`, { text: 'x '.repeat(150), entities: [] })).status).toBe(413);
    const three = [0, 1, 2].map((i) => ({ label: 'DISEASE', start: i, end: i + 1 }));
    expect((await postJson(`${url}/v1/feedback`, { text: NOTE, entities: three })).status).toBe(413);
  });

  it('needs a token of the feedback scope when auth is on', async () => {
    const tokens = join(root, 'tokens');
    const feedbackTokens = join(root, 'feedback-tokens');
    await writeFile(tokens, `${sha256Hex('extract-token')}\n`);
    await writeFile(feedbackTokens, `${sha256Hex('feedback-token')}\n`);
    const body = { text: NOTE, entities: [] };
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

    const scoped = await serve({ auth: tokens, feedback: { auth: feedbackTokens } });
    expect((await postJson(`${scoped.url}/v1/feedback`, body)).status).toBe(401);
    expect((await postJson(`${scoped.url}/v1/feedback`, body, bearer('extract-token'))).status).toBe(401);
    expect((await postJson(`${scoped.url}/v1/feedback`, body, bearer('feedback-token'))).status).toBe(200);
    expect((await postJson(`${scoped.url}/v1/extract`, { text: NOTE }, bearer('feedback-token'))).status).toBe(401);
    expect((await postJson(`${scoped.url}/v1/extract`, { text: NOTE }, bearer('extract-token'))).status).toBe(200);

    // Auth on without a feedback scope: an extract token may read, never write training data.
    const unscoped = await serve({ auth: tokens });
    expect((await postJson(`${unscoped.url}/v1/feedback`, body)).status).toBe(401);
    const forbidden = await postJson(`${unscoped.url}/v1/feedback`, body, bearer('extract-token'));
    expect(forbidden.status).toBe(403);
    expect(forbidden.json).toMatchObject({ type: 'https://nerops.io/problems/forbidden' });
  });

  it('keeps accepted documents in the store, refuses with 507 when it is full and counts only what it kept', async () => {
    const dir = join(root, 'store');
    const probe = await serve();
    const gold = spans(await predicted(probe.url, NOTE));
    // Room for exactly the first two documents.
    const size = (text: string, es: { label: string; start: number; end: number }[]) => {
      const tokens = engine.tokenize!(text);
      const bio = bioLabels(tokens, es);
      if (!('labels' in bio)) throw new Error('misfit');
      return Buffer.byteLength(conllDocument(tokens, bio.labels));
    };
    const maxBytes = size(NOTE, gold) + size(OTHER, []) + 5;
    const store = await FeedbackStore.open({ root: dir, writer: 'pod-t.00000001', limits: { maxBytes } });
    const { url } = await serve({ feedback: { store } });
    const first = await postJson(`${url}/v1/feedback`, { text: NOTE, entities: gold });
    expect(first.json).toMatchObject({ stored: true });
    const second = await postJson(`${url}/v1/feedback`, { text: OTHER, entities: [] });
    expect(second.json).toMatchObject({ stored: true });
    const full = await postJson(`${url}/v1/feedback`, { text: `${OTHER} Seen again.`, entities: [] });
    expect(full.status).toBe(507);
    expect(full.json).toMatchObject({ type: 'https://nerops.io/problems/store-full' });
    expect(full.text).not.toContain('Zebulon');
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(text, ServerMetric.feedbackDocuments, { stored: 'true' })).toBe(2);

    await store.close();
    const out = await exportStore(dir, join(root, 'store-out'), { holdout: 0.5, seed: 1 });
    expect(out).toMatchObject({ documents: 2, duplicates: 0 });
  });

  it('opens the store of --feedback-store (file://) in startServer, as a writer of its own', async () => {
    const dir = join(root, 'served-store');
    const cap = captureLogger();
    const running = await startServer({
      model: bundle.dir,
      host: '127.0.0.1',
      port: 0,
      logger: cap.logger,
      feedback: { storeUri: pathToFileURL(dir).href, podName: 'ner-abc12' },
    });
    try {
      const r = await postJson(`${running.url}/v1/feedback`, { text: OTHER, entities: [] });
      expect(r.json).toMatchObject({ stored: true });
    } finally {
      await running.shutdown();
    }
    allLogs.push(...cap.lines);
    const out = await exportStore(dir, join(root, 'served-out'), { holdout: 0.2, seed: 1 });
    expect(out.documents).toBe(1);
  });

  it('counts assertion agreement on the entities both found, when the model has an assertion stage', async () => {
    const note = `${NAME} has no evidence of hypertension. Family history of asthma in the mother. Started metformin.`;
    const { url } = await serve({ assertionLanguage: 'en' });
    const r = await postJson(`${url}/v1/extract`, { text: note });
    const model = (r.json as { entities: Entity[] }).entities;
    expect(model.length).toBeGreaterThanOrEqual(2);
    expect(model.every((e) => e.assertion)).toBe(true);
    // The person agrees with the model on every attribute of every entity except the first entity's negation,
    // and verifies only `experiencer` of the second; a spurious extra gold entity has nothing to compare.
    const [first, second, ...rest] = model;
    const flipped = { ...first!.assertion!, negated: !first!.assertion!.negated };
    const gold = [
      { ...spans([first!])[0]!, assertion: flipped },
      { ...spans([second!])[0]!, assertion: { experiencer: second!.assertion!.experiencer } },
      ...rest.map((e) => ({ ...spans([e])[0]!, assertion: e.assertion })),
    ];
    const fb = await postJson(`${url}/v1/feedback`, { text: note, entities: gold });
    expect(fb.status).toBe(200);
    const n = model.length;
    expect(fb.json).toMatchObject({
      counts: { tp: n, fp: 0, fn: 0 },
      assertions: {
        negated: { agree: n - 2, disagree: 1 },
        certainty: { agree: n - 1, disagree: 0 },
        temporality: { agree: n - 1, disagree: 0 },
        experiencer: { agree: n, disagree: 0 },
      },
    });
    expect(fb.headers.get('content-language')).toBe('en');
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = ServerMetric.feedbackAssertions;
    expect(metricValue(text, m, { attribute: 'negated', outcome: 'disagree', track: 'canary' })).toBe(1);
    expect(metricValue(text, m, { attribute: 'negated', outcome: 'agree' })).toBe(n - 2);
    expect(metricValue(text, m, { attribute: 'experiencer', outcome: 'agree' })).toBe(n);
    expect(metricValue(text, m, { attribute: 'certainty', outcome: 'disagree' })).toBe(0);
    expect(text).not.toMatch(/hypertension|asthma|metformin|mother/i);

    // A language without rules is a 400 naming the header, before anything is scored.
    const bad = await fetch(`${url}/v1/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-language': 'xx' },
      body: JSON.stringify({ text: note, entities: gold }),
    });
    expect(bad.status).toBe(400);

    // Without a stage the same gold is scored for spans only: no agreement in the answer or the metrics.
    const plain = await serve();
    const noStage = await postJson(`${plain.url}/v1/feedback`, { text: note, entities: spans(model) });
    expect(noStage.status).toBe(200);
    expect(noStage.json).not.toHaveProperty('assertions');
    expect(await (await fetch(`${plain.url}/metrics`)).text()).not.toMatch(new RegExp(`^${m}\\{`, 'm'));
  });

  it('never writes the text to logs or metrics', async () => {
    const { url } = await serve();
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).not.toContain('Zebulon');
    expect(text).not.toContain('Quixmarch');
    expect(allLogs.length).toBeGreaterThan(0);
    for (const line of allLogs) {
      expect(line).not.toContain('Zebulon');
      expect(line).not.toContain('metformin');
    }
  });
});
