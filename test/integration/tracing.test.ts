/**
 * Tracing end to end, against a real OTLP/HTTP receiver in this process and the SDK as `ner-ops` starts it
 * (cli/tracing.ts):
 * - the inference server (a real trained bundle, the listening fast path) continues the caller's
 *   `traceparent` with parse → queue → batch → ONNX run → decode, carrying sizes and never text;
 * - the operator's controller runtime (a fake API server, a real Prometheus client against a fake
 *   Prometheus) exports reconcile → PromQL → apply, links the object's traceparent annotation, and
 *   propagates its trace to Prometheus.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import type { AddressInfo } from 'node:net';
import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../cli/tracing.js';
import { ServiceName, SpanAttr, SpanName, TRACEPARENT_ANNOTATION } from '../../contracts/tracing.js';
import { startServer, type RunningServer } from '../../server/main.js';
import { ControllerManager } from '../../operator/runtime/controller.js';
import { KubeApiError, type KubeClient, type KubeRequest } from '../../operator/runtime/kube.js';
import { builtin } from '../../operator/runtime/resource.js';
import { PrometheusClient } from '../../operator/prometheus/client.js';
import { captureLogger, postJson, trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../testing/otlp-receiver.js';
import { loadEngine } from '../../engine/bundle/load.js';
import { packageTokenClassificationBundle } from '../../trainer/package-transformer.js';
import { writeTinyTransformer } from '../fixtures/tiny-transformer.js';

/** Words that must never leave the process: a made-up marker, and entity strings the model finds. */
const MARKER = 'Qzorvexal';
const NOTE = `Patient ${MARKER} with type 2 diabetes was started on metformin and has asthma.`;
const OTHER_NOTE = `History of hypertension treated with lisinopril; ${MARKER} denies chest pain.`;

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const traceparent = (traceId: string, spanId: string, flags = '01') => `00-${traceId}-${spanId}-${flags}`;

let receiver: OtlpReceiver;
let tracing: Tracing;
let bundle: TrainedBundle;
let server: RunningServer;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const started = startTracing({ serviceName: ServiceName.server, flag: receiver.url, env: {} });
  if (!started) throw new Error('tracing did not start with an endpoint');
  tracing = started;
  bundle = await trainSmallBundle({ seed: 7 });
  server = await startServer({
    model: bundle.dir,
    modelDigest: bundle.digest,
    host: '127.0.0.1',
    port: 0,
    logger: captureLogger().logger,
    // Long enough that two requests sent together share one batch.
    server: { maxBatchWaitMs: 50 },
  });
  await tracing.flush();
  receiver.clear(); // the warm-up batch has no request and so no trace
});

afterAll(async () => {
  await server?.shutdown();
  await tracing?.shutdown();
  await receiver?.close();
  await bundle?.remove();
});

function byId(spans: ReceivedSpan[]): Map<string, ReceivedSpan> {
  return new Map(spans.map((s) => [s.spanId, s]));
}

function only(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, `exactly one ${name}`).toHaveLength(1);
  return found[0]!;
}

describe('the inference server', () => {
  it('continues the caller trace with parse, queue, batch, ONNX run and decode spans carrying sizes', async () => {
    receiver.clear();
    const res = await postJson(
      `${server.url}/v1/extract`,
      { text: NOTE },
      { traceparent: traceparent(TRACE_ID, CALLER_SPAN), authorization: `Bearer ${MARKER}-token` },
    );
    expect(res.status).toBe(200);
    const entities = (res.json as { entities: { text: string }[] }).entities;
    expect(entities.length).toBeGreaterThan(0);
    await tracing.flush();

    const spans = receiver.spans().filter((s) => s.traceId === TRACE_ID);
    const ids = byId(spans);
    const request = only(spans, 'POST /v1/extract');
    expect(request.parentSpanId).toBe(CALLER_SPAN);
    expect(request.kind).toBe(2); // SERVER
    expect(request.resource['service.name']).toBe(ServiceName.server);
    expect(request.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/extract',
      'http.response.status_code': 200,
      [SpanAttr.requestId]: res.headers.get('x-request-id'),
      [SpanAttr.documents]: 1,
      [SpanAttr.characters]: NOTE.length,
      [SpanAttr.entities]: entities.length,
      [SpanAttr.modelDigest]: bundle.digest,
    });
    expect(request.attributes[SpanAttr.tokens]).toBeGreaterThan(10);

    const parse = only(spans, SpanName.parse);
    const queue = only(spans, SpanName.queue);
    const batch = only(spans, SpanName.batch);
    expect(parse.parentSpanId).toBe(request.spanId);
    expect(queue.parentSpanId).toBe(request.spanId);
    expect(batch.parentSpanId).toBe(request.spanId);
    expect(queue.attributes).toMatchObject({ [SpanAttr.documents]: 1 });
    expect(batch.attributes).toMatchObject({
      [SpanAttr.batchSize]: 1,
      [SpanAttr.batchRequests]: 1,
      [SpanAttr.characters]: NOTE.length,
    });
    // parse ends before the documents queue; the queue ends when their batch starts.
    expect(parse.endNs <= queue.startNs).toBe(true);
    expect(queue.endNs <= batch.startNs).toBe(true);

    const runs = spans.filter((s) => s.name === SpanName.onnxRun);
    const decode = only(spans, SpanName.decode);
    expect(runs.length).toBeGreaterThan(0);
    for (const r of [...runs, decode]) expect(r.parentSpanId).toBe(batch.spanId);
    expect(runs.reduce((n, r) => n + Number(r.attributes[SpanAttr.tokens]), 0)).toBe(
      request.attributes[SpanAttr.tokens],
    );
    expect(decode.attributes).toMatchObject({ [SpanAttr.documents]: 1, [SpanAttr.entities]: entities.length });
    for (const s of spans) {
      expect(s.endNs >= s.startNs).toBe(true);
      if (s !== request) expect(ids.has(s.parentSpanId), `${s.name} has its parent in the trace`).toBe(true);
    }

    // Never text: not the note, not an entity string, not the bearer token, anywhere in what was exported.
    const exported = receiver.bodies.join('\n');
    expect(exported).not.toContain(MARKER);
    for (const e of entities) expect(exported).not.toContain(e.text);
  });

  it('links a batch shared by two requests to both traces, a child of one of them', async () => {
    receiver.clear();
    const other = 'a'.repeat(32);
    const [a, b] = await Promise.all([
      postJson(`${server.url}/v1/extract`, { text: NOTE }, { traceparent: traceparent(TRACE_ID, CALLER_SPAN) }),
      postJson(
        `${server.url}/v2/models/test-ner/infer`,
        { inputs: [{ name: 'text', datatype: 'BYTES', shape: [2], data: [OTHER_NOTE, NOTE] }] },
        { traceparent: traceparent(other, CALLER_SPAN) },
      ),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await tracing.flush();
    const spans = receiver.spans();
    const batch = only(spans, SpanName.batch);
    expect(batch.attributes).toMatchObject({ [SpanAttr.batchSize]: 3, [SpanAttr.batchRequests]: 2 });
    const requests = spans.filter((s) => s.kind === 2);
    expect(requests.map((r) => r.name).sort()).toEqual(['POST /v1/extract', 'POST /v2/models/:name/infer']);
    const parent = requests.find((r) => r.spanId === batch.parentSpanId)!;
    const linked = requests.find((r) => r !== parent)!;
    expect(batch.traceId).toBe(parent.traceId);
    expect(batch.links).toEqual([{ traceId: linked.traceId, spanId: linked.spanId }]);
    // Each request still has its own queue span in its own trace.
    for (const r of requests) {
      const queue = spans.find((s) => s.name === SpanName.queue && s.parentSpanId === r.spanId);
      expect(queue?.traceId).toBe(r.traceId);
    }
    expect(receiver.bodies.join('\n')).not.toContain(MARKER);
  });

  it('starts a trace of its own without a traceparent, and records nothing when the caller does not sample', async () => {
    receiver.clear();
    expect((await postJson(`${server.url}/v1/extract`, { text: NOTE })).status).toBe(200);
    const unsampled = 'b'.repeat(32);
    const res = await postJson(
      `${server.url}/v1/extract`,
      { text: NOTE },
      { traceparent: traceparent(unsampled, CALLER_SPAN, '00') },
    );
    expect(res.status).toBe(200);
    await tracing.flush();
    const spans = receiver.spans();
    const request = only(spans, 'POST /v1/extract');
    expect(request.parentSpanId).toBe('');
    expect(spans.every((s) => s.traceId === request.traceId)).toBe(true);
    expect(spans.some((s) => s.traceId === unsampled)).toBe(false);
  });

  it('ends the spans of a refused request with its status and problem type, never its body', async () => {
    receiver.clear();
    const res = await postJson(`${server.url}/v1/extract`, `{"text": "${MARKER}`, {
      traceparent: traceparent(TRACE_ID, CALLER_SPAN),
    });
    expect(res.status).toBe(400);
    await tracing.flush();
    const spans = receiver.spans();
    const request = only(spans, 'POST /v1/extract');
    expect(request.attributes).toMatchObject({ 'http.response.status_code': 400, 'error.type': 'invalidJson' });
    expect(only(spans, SpanName.parse).parentSpanId).toBe(request.spanId);
    expect(spans.some((s) => s.name === SpanName.queue)).toBe(false);
    expect(receiver.bodies.join('\n')).not.toContain(MARKER);
  });
});

describe('the token-classification runtime', () => {
  it('adds its ONNX run and decode spans, with sizes, under the active span', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nerops-tracing-tc-'));
    try {
      await writeTinyTransformer(dir);
      const digest = await packageTokenClassificationBundle(dir, { name: 'tiny-bert', version: '2.0.0' });
      const model = await loadEngine(dir, { expectedDigest: digest });
      receiver.clear();
      const text = `Patient ${MARKER} has Diabetes type 2, takes Metformin for fever.`;
      const [r] = await trace.getTracer('test').startActiveSpan('parent', async (span) => {
        const out = await model.extractBatch([text]);
        span.end();
        return out;
      });
      await model.close();
      await tracing.flush();
      const spans = receiver.spans();
      const parent = only(spans, 'parent');
      const run = only(spans, SpanName.onnxRun);
      const decode = only(spans, SpanName.decode);
      for (const s of [run, decode]) expect(s.parentSpanId).toBe(parent.spanId);
      // The tiny model has 16 positions: the note runs as 2 windows (sequences) in one run.
      expect(run.attributes[SpanAttr.batchSize]).toBe(2);
      expect(run.attributes[SpanAttr.tokens]).toBeGreaterThan(0);
      expect(decode.attributes).toMatchObject({ [SpanAttr.documents]: 1, [SpanAttr.entities]: r!.entities.length });
      const exported = receiver.bodies.join('\n');
      expect(exported).not.toContain(MARKER);
      for (const e of r!.entities) expect(exported).not.toContain(e.text);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the operator runtime', () => {
  /** A fake API server: one ConfigMap to list; PATCHes (apply, status) are answered with a new resourceVersion. */
  function fakeKube(primary: KubernetesObject) {
    const patches: string[] = [];
    let rv = 10;
    const kube = {
      onRequest: () => () => undefined,
      async request<T>(req: KubeRequest): Promise<T> {
        if (req.method === 'PATCH') {
          patches.push(req.path);
          const body = req.body as KubernetesObject;
          return { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } } as T;
        }
        if (req.method === 'GET' && req.path.endsWith('/configmaps'))
          return { items: [structuredClone(primary)], metadata: { resourceVersion: '1' } } as T;
        if (req.method === 'GET' && req.path.includes('/secrets'))
          return req.path.endsWith('/secrets')
            ? ({ items: [], metadata: { resourceVersion: '1' } } as T)
            : Promise.reject(new KubeApiError('not found', 404, 'NotFound'));
        throw new Error(`unexpected ${req.method} ${req.path}`);
      },
      async watch(_p: string, _q: unknown, _e: unknown, options: { signal?: AbortSignal }) {
        await new Promise<void>((r) => options.signal?.addEventListener('abort', () => r(), { once: true }));
      },
    };
    return { kube: kube as unknown as KubeClient, patches };
  }

  /** A fake Prometheus answering every instant query with one sample, recording the traceparent it got. */
  async function fakePrometheus(): Promise<{ url: string; traceparents: string[]; server: Server }> {
    const traceparents: string[] = [];
    const server = createServer((req, res) => {
      traceparents.push(String(req.headers.traceparent ?? ''));
      req.resume();
      req.on('end', () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            status: 'success',
            data: { resultType: 'vector', result: [{ metric: {}, value: [0, '4.5'] }] },
          }),
        ),
      );
    });
    server.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, traceparents, server };
  }

  it('exports reconcile → PromQL → apply, linked to the object annotation trace, and propagates to Prometheus', async () => {
    receiver.clear();
    const pipelineTrace = 'c'.repeat(32);
    const primary: KubernetesObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'web',
        namespace: 'ns',
        uid: 'uid-web',
        resourceVersion: '1',
        generation: 3,
        annotations: { [TRACEPARENT_ANNOTATION]: traceparent(pipelineTrace, CALLER_SPAN) },
      },
    };
    const { kube, patches } = fakeKube(primary);
    const prom = await fakePrometheus();
    const prometheus = new PrometheusClient({ url: prom.url });
    const manager = new ControllerManager({
      client: kube,
      logger: pino({ level: 'silent' }),
      namespace: 'ns',
      queue: { qps: 0 },
    });
    let reconciled!: () => void;
    const done = new Promise<void>((r) => (reconciled = r));
    manager.register({
      name: 'test',
      resource: builtin.configMaps,
      owns: [builtin.secrets],
      async reconcile(_key, ctx) {
        const rate = await prometheus.query(`sum(rate(nerops_requests_total{deployment="${MARKER}"}[1m]))`);
        await ctx.client.apply(builtin.secrets, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'web-child', namespace: 'ns' },
          stringData: { rate: String(rate.value) },
        } as KubernetesObject);
        await ctx.client.applyStatus(builtin.configMaps, ctx.object, { observed: rate.value });
        reconciled();
      },
    });
    try {
      manager.start();
      await manager.waitForSync();
      manager.startProcessing();
      await done;
    } finally {
      await manager.stop(5000);
      await new Promise<void>((r) => prom.server.close(() => r()));
    }
    await tracing.flush();
    expect(patches).toHaveLength(2);

    const spans = receiver.spans();
    const reconcile = only(spans, SpanName.reconcile);
    expect(reconcile.parentSpanId).toBe('');
    expect(reconcile.links).toEqual([{ traceId: pipelineTrace, spanId: CALLER_SPAN }]);
    expect(reconcile.attributes).toMatchObject({
      [SpanAttr.controller]: 'test',
      [SpanAttr.kind]: 'ConfigMap',
      [SpanAttr.name]: 'web',
      'k8s.namespace.name': 'ns',
      [SpanAttr.generation]: 3,
      [SpanAttr.result]: 'success',
    });
    const promql = only(spans, SpanName.promql);
    expect(promql.parentSpanId).toBe(reconcile.spanId);
    expect(promql.traceId).toBe(reconcile.traceId);
    expect(promql.kind).toBe(3); // CLIENT
    expect(promql.attributes).toMatchObject({ [SpanAttr.samples]: 1, 'server.address': '127.0.0.1' });
    // Prometheus got the PromQL span as its parent.
    expect(prom.traceparents).toEqual([traceparent(reconcile.traceId, promql.spanId)]);

    const applies = spans.filter((s) => s.name === SpanName.apply);
    expect(applies.map((a) => [a.attributes[SpanAttr.kind], a.attributes[SpanAttr.subresource] ?? ''])).toEqual([
      ['Secret', ''],
      ['ConfigMap', 'status'],
    ]);
    for (const a of applies) {
      expect(a.parentSpanId).toBe(reconcile.spanId);
      expect(a.attributes[SpanAttr.changed]).toBe(true);
    }
    // The PromQL (which names a deployment) is not exported.
    expect(receiver.bodies.join('\n')).not.toContain(MARKER);
  });
});
