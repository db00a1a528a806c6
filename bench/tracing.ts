/**
 * What tracing costs the inference server: two `ner-ops serve` processes on the same small bundle, one with
 * tracing off (no endpoint: the no-op API) and one exporting spans over OTLP/HTTP to a real receiver in this
 * process. autocannon over loopback at concurrency 1 and 16, the servers measured in turn so machine noise
 * hits all; every request carries a `traceparent`, sampled (every request exported) or not (tracing on, this
 * request not sampled: what a low sampling ratio costs most requests). Then the off path in process, in ns
 * per request. Bounded at about 50 s.
 *
 *   npm run bench:tracing            (npm run build && node dist/bench/tracing.js [--duration 5])
 *
 * Prints numbers; asserts nothing (benchmarks print, tests assert behaviour).
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { flagArg, ServeFlag } from '../contracts/serve.js';
import { SpanName } from '../contracts/tracing.js';
import { trainSmallBundle } from '../testing/fixtures.js';
import { startOtlpReceiver } from '../testing/otlp-receiver.js';
import { startServeChild, type ServeChild } from '../testing/serve-child.js';
import { markExtracted, markParsed, traceBatch, traceRequest, traceSubmission } from '../server/tracing.js';
import { childSpan } from '../engine/tracing.js';

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '5' } } });
const DURATION = Number(args.duration);

/** Notes written for this bench (20-40 tokens), cycled by autocannon. */
const NOTES = [
  'Patient with type 2 diabetes was started on metformin 500 mg twice daily and has mild asthma.',
  'History of hypertension treated with lisinopril; denies chest pain or shortness of breath today.',
  'She developed pneumonia last winter and received amoxicillin for seven days with full recovery.',
  'Chronic kidney disease stage 3; continue dialysis planning and review potassium at next visit.',
  'Migraine managed with sumatriptan as needed; no aura, no focal deficits on examination today.',
  'Father had colon cancer at 60; patient reports no rectal bleeding and colonoscopy is scheduled.',
  'Atrial fibrillation on apixaban; heart rate controlled with metoprolol, no bleeding reported.',
  'Rheumatoid arthritis treated with methotrexate weekly and folic acid; joint pain is improving.',
];

/** `ner-ops serve` with the bundle's digest; tracing on only when an OTLP endpoint is given. */
function startServe(dir: string, digest: string, otlpEndpoint?: string) {
  // The off server gets no OTEL_* variable from this environment: off means no endpoint at all.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  return startServeChild(
    dir,
    [flagArg(ServeFlag.modelDigest), digest, ...(otlpEndpoint ? [flagArg(ServeFlag.otlpEndpoint), otlpEndpoint] : [])],
    { env, readyTimeoutMs: 30_000 },
  );
}

interface Run {
  label: string;
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(server: ServeChild, label: string, connections: number, sampled = true): Promise<Run> {
  const requests = NOTES.map((text, i) => ({
    method: 'POST' as const,
    path: '/v1/extract',
    headers: {
      'content-type': 'application/json',
      // A caller trace per note, sampled (the traced server records and exports every request) or not.
      traceparent: `00-${(i + 1).toString(16).padStart(32, '0')}-00f067aa0ba902b7-${sampled ? '01' : '00'}`,
    },
    body: JSON.stringify({ text }),
  }));
  await autocannon({ url: server.url, connections, duration: 1, requests });
  const r = await autocannon({ url: server.url, connections, duration: DURATION, requests });
  return {
    label,
    connections,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
  };
}

/**
 * The off path in process, with no SDK registered (as in `ner-ops serve` without an endpoint): every
 * tracing call one request makes (server span, parse/extract marks, queue, batch, the engine's two span
 * checks), timed over many iterations. This is what tracing off costs a request.
 */
async function offPathNanos(): Promise<number> {
  const headers = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
  const ex = { req: { headers, method: 'POST' }, res: {}, id: 'r', route: '/v1/extract' } as unknown as Parameters<
    typeof traceRequest
  >[1];
  const app = { engine: { info: { name: 'm', version: '1', digest: 'd', format: 'crf' as const, entityTypes: [] } } };
  const texts = ['x'];
  const results = [{ entities: [], stats: { tokens: 1, unknownTokens: 0 } }];
  const done = Promise.resolve();
  const request = async () => {
    markParsed(texts);
    const t = traceSubmission(1, 0);
    if (t) throw new Error('a span recorded with tracing off');
    await traceBatch(undefined, texts, async () => {
      childSpan(SpanName.onnxRun)?.end();
      childSpan(SpanName.decode)?.end();
    });
    markExtracted(results);
  };
  const N = 200_000;
  for (let i = 0; i < 10_000; i++) await traceRequest(app, ex, request);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await traceRequest(app, ex, request);
  const perCall = Number(process.hrtime.bigint() - t0) / N;
  // The same awaits without any tracing call, to subtract the loop's own cost.
  const bare = async () => {
    await done;
  };
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await bare();
  return perCall - Number(process.hrtime.bigint() - t1) / N;
}

async function main(): Promise<void> {
  const started = Date.now();
  const offNs = await offPathNanos();
  const bundle = await trainSmallBundle({ seed: 7 });
  const receiver = await startOtlpReceiver();
  const off = await startServe(bundle.dir, bundle.digest);
  const on = await startServe(bundle.dir, bundle.digest, receiver.url);
  const runs: Run[] = [];
  try {
    for (const c of [1, 16]) {
      runs.push(await load(off, 'tracing off', c));
      runs.push(await load(on, 'tracing on, caller sampled (OTLP to a local receiver)', c));
      runs.push(await load(on, 'tracing on, caller not sampled', c, false));
    }
  } finally {
    await Promise.all([off.stop(), on.stop()]);
    await bundle.remove();
  }
  // The traced server flushes its buffered spans at shutdown; count what arrived.
  const spans = receiver.spans();
  const bytes = receiver.bodies.reduce((n, b) => n + b.length, 0);
  await receiver.close();

  console.log(`\n## Tracing cost (ner-ops serve, small crf bundle, 1 doc/request, ${DURATION} s per run)`);
  console.log(`load average at start of report: ${loadavg()[0]!.toFixed(2)}\n`);
  console.log('| server | connections | req/s | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of runs)
    console.log(`| ${r.label} | ${r.connections} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} |`);
  for (const c of [1, 16]) {
    const [a, b, u] = runs.filter((r) => r.connections === c) as [Run, Run, Run];
    const pct = (x: Run) => `${((x.rps / a.rps - 1) * 100).toFixed(1)} %`;
    console.log(`\nconcurrency ${c}: throughput vs off: sampled ${pct(b)}, not sampled ${pct(u)}`);
  }
  const requests = spans.filter((s) => s.kind === 2).length;
  console.log(
    `\nreceived ${spans.length} spans (${requests} requests, ${spans.filter((s) => s.name === SpanName.onnxRun).length} ONNX runs) in ${receiver.bodies.length} OTLP/JSON exports, ${(bytes / 1024 / 1024).toFixed(1)} MiB`,
  );
  console.log(
    `\ntracing off, in process: every tracing call of one request together costs ${offNs.toFixed(0)} ns (no SDK registered, no span recorded, no attribute built)`,
  );
  console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
