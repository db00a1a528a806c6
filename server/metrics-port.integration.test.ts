/**
 * `startServer` with a metrics port of its own (`--metrics-port`), on real loopback listeners: the scrape is
 * served there and only there, the API is not served there, and both listeners close at shutdown. Without
 * a metrics port, `/metrics` stays on the API port (local `ner-ops serve`).
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerMetric } from '../contracts/metrics.js';
import { startServer, type RunningServer } from './main.js';
import { captureLogger, metricValue, postJson, trainSmallBundle, type TrainedBundle } from '../testing/fixtures.js';

const NOTE = 'Patient with type 2 diabetes was started on metformin and has asthma.';
const PROBLEM = 'application/problem+json';

let bundle: TrainedBundle;
let s: RunningServer;

beforeAll(async () => {
  bundle = await trainSmallBundle({ seed: 13, epochs: 1, count: 80 });
  s = await startServer({
    model: bundle.dir,
    modelDigest: bundle.digest,
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    logger: captureLogger().logger,
    labels: { namespace: 'clinic', deployment: 'ner-prod', track: 'stable' },
  });
});
afterAll(async () => {
  await s?.shutdown('test done');
  await bundle?.remove();
});

async function get(url: string, init?: RequestInit): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('ner-ops serve --metrics-port', () => {
  it('listens on a second port of the same host and reports it', () => {
    expect(s.metrics).toBeDefined();
    expect(s.metrics!.port).not.toBe(s.port);
    expect(s.metricsUrl).toBe(`http://127.0.0.1:${s.metrics!.port}`);
    expect((s.metrics!.http.address() as AddressInfo).address).toBe('127.0.0.1');
  });

  it('serves /metrics and /healthz on the metrics port', async () => {
    await postJson(`${s.url}/v1/extract`, { text: NOTE });
    const m = await get(`${s.metricsUrl}/metrics`);
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain/);
    expect(metricValue(m.text, ServerMetric.ready, { deployment: 'ner-prod' })).toBe(1);
    expect(metricValue(m.text, ServerMetric.requests, { route: '/v1/extract', code: '200' })).toBeGreaterThanOrEqual(1);
    expect(await get(`${s.metricsUrl}/metrics?x=1`)).toMatchObject({ status: 200 });
    const h = await get(`${s.metricsUrl}/healthz`);
    expect(h).toMatchObject({ status: 200, text: '{"status":"alive"}' });
  });

  it('the API port answers /metrics 404 problem+json, like any unknown route', async () => {
    const r = await get(`${s.url}/metrics`);
    expect(r.status).toBe(404);
    expect(r.type).toBe(PROBLEM);
    expect(JSON.parse(r.text)).toMatchObject({ status: 404, type: 'https://nerops.io/problems/not-found' });
    // The API and its probes are unchanged.
    expect((await get(`${s.url}/readyz`)).status).toBe(200);
    expect((await postJson(`${s.url}/v1/extract`, { text: NOTE })).status).toBe(200);
  });

  it('the metrics port serves no API: inference, metadata and readiness are 404, other methods 405', async () => {
    const extract = await postJson(`${s.metricsUrl}/v1/extract`, { text: NOTE });
    expect(extract.status).toBe(404);
    expect(extract.headers.get('content-type')).toBe(PROBLEM);
    expect(extract.text).not.toContain('diabetes');
    const infer = await postJson(`${s.metricsUrl}/v2/models/test-ner/infer`, {
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [NOTE] }],
    });
    expect(infer.status).toBe(404);
    for (const path of ['/v2/models/test-ner', '/v2', '/readyz', '/', '/metrics/../v1/extract']) {
      const r = await get(`${s.metricsUrl}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.type, path).toBe(PROBLEM);
      // The problem never quotes the path.
      expect(r.text, path).not.toContain('v2/models');
    }
    const post = await get(`${s.metricsUrl}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.type).toBe(PROBLEM);
  });

  it('requests to the metrics port are not counted as API requests', async () => {
    const before = (await get(`${s.metricsUrl}/metrics`)).text;
    const unmatched = (t: string) => metricValue(t, ServerMetric.requests, { route: 'unmatched' }) ?? 0;
    await get(`${s.metricsUrl}/nope`);
    await postJson(`${s.metricsUrl}/v1/extract`, { text: NOTE });
    const after = (await get(`${s.metricsUrl}/metrics`)).text;
    expect(unmatched(after)).toBe(unmatched(before));
    expect(metricValue(after, ServerMetric.requests, { route: '/v1/extract' })).toBe(
      metricValue(before, ServerMetric.requests, { route: '/v1/extract' }),
    );
  });
});

describe('shutdown with a metrics port', () => {
  it('keeps answering scrapes (unready) through the shutdown delay, then closes both listeners', async () => {
    const t = await startServer({
      model: bundle.dir,
      host: '127.0.0.1',
      port: 0,
      metricsPort: 0,
      logger: captureLogger().logger,
      shutdownDelayMs: 1000,
    });
    const metricsUrl = t.metricsUrl;
    const code = t.shutdown('SIGTERM');
    const during = await get(`${metricsUrl}/metrics`);
    expect(during.status).toBe(200);
    expect(metricValue(during.text, ServerMetric.ready)).toBe(0);
    expect(await code).toBe(0);
    expect(t.http.listening).toBe(false);
    expect(t.metrics!.http.listening).toBe(false);
    await expect(fetch(`${metricsUrl}/metrics`)).rejects.toThrow();
    await expect(fetch(`${t.url}/healthz`)).rejects.toThrow();
  });

  it('a metrics port that is taken fails the start with EADDRINUSE naming that port', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const err = (await startServer({
        model: bundle.dir,
        host: '127.0.0.1',
        port: 0,
        metricsPort: port,
        logger: captureLogger().logger,
      }).catch((e: unknown) => e)) as NodeJS.ErrnoException & { port?: number };
      expect(err.code).toBe('EADDRINUSE');
      expect(err.port).toBe(port);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});

describe('without a metrics port', () => {
  it('serves /metrics on the API port, as before', async () => {
    const t = await startServer({ model: bundle.dir, host: '127.0.0.1', port: 0, logger: captureLogger().logger });
    try {
      expect(t.metrics).toBeUndefined();
      expect(t.metricsUrl).toBe(t.url);
      const r = await get(`${t.url}/metrics`);
      expect(r.status).toBe(200);
      expect(metricValue(r.text, ServerMetric.ready)).toBe(1);
    } finally {
      await t.shutdown('test done');
    }
  });
});
