/**
 * Inference-server benchmark: autocannon over loopback against `ner-ops serve` (a separate process, so its
 * RSS and CPU are its own) with a bundle trained on BeHealthy, 40-token notes. Reports p50/p99 latency and
 * throughput at concurrency 1, 8 and 64, latency at a fixed 200 requests/s (with and without shadow
 * traffic), peak server RSS, and the same engine's in-process throughput as the ceiling.
 *
 *   npm run build && node dist/bench/server.js [--duration 8] [--data ../shared/data/behealthy]
 *
 * Prints numbers; asserts nothing (benchmarks print, tests assert behaviour).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { availableParallelism, loadavg } from 'node:os';
import autocannon from 'autocannon';
import { readConll } from '../engine/corpus/conll.js';
import { loadEngine } from '../engine/bundle/load.js';
import { bundleDigest } from '../engine/bundle/bundle.js';
import { MANIFEST_FILE } from '../contracts/bundle-manifest.js';
import { trainBundle } from '../trainer/train.js';
import { detokenize } from '../trainer/detokenize.js';
import { ServerMetric } from '../contracts/metrics.js';
import { flagArg, ServeFlag } from '../contracts/serve.js';
import { startServeChild, type ServeChild } from '../testing/serve-child.js';

const here = dirname(fileURLToPath(import.meta.url));
const isTs = import.meta.url.endsWith('.ts');
/** The repository root, whether run from source (tsx) or from dist/. */
const root = isTs ? resolve(here, '..') : resolve(here, '..', '..');

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    data: { type: 'string', default: resolve(root, '..', 'shared', 'data', 'behealthy') },
    bundle: { type: 'string' },
    tokens: { type: 'string', default: '40' },
    'no-shadow': { type: 'boolean', default: false },
    /** Extra `ner-ops serve` flags for the measured server, e.g. "--max-concurrent-batches 2". */
    'serve-args': { type: 'string', default: '' },
  },
});
const DURATION = Number(args.duration);
const TOKENS = Number(args.tokens);

async function ensureBundle(): Promise<string> {
  if (args.bundle) return args.bundle;
  const outDir = join(root, '.cache', 'bench', 'behealthy-bundle');
  if (existsSync(join(outDir, MANIFEST_FILE))) return outDir;
  await mkdir(outDir, { recursive: true });
  const t0 = performance.now();
  await trainBundle({
    corpus: { trainFile: join(args.data, 'train.conll'), devFile: join(args.data, 'dev.conll') },
    members: { seed: 1 },
    export: { outDir, name: 'behealthy', version: 'bench' },
  });
  console.log(`trained BeHealthy bundle in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${outDir}`);
  return outDir;
}

/** Notes of exactly TOKENS tokens, made by concatenating consecutive dev/train sentences. */
async function makeNotes(): Promise<string[]> {
  const file = existsSync(join(args.data, 'dev.conll')) ? join(args.data, 'dev.conll') : join(args.data, 'train.conll');
  const sentences = await readConll(file);
  const stream = sentences.flatMap((s) => s.tokens);
  const notes: string[] = [];
  for (let i = 0; i + TOKENS <= stream.length && notes.length < 500; i += TOKENS)
    notes.push(detokenize(stream.slice(i, i + TOKENS)));
  return notes;
}

async function engineCeiling(dir: string, notes: string[]): Promise<{ batch: number; docsPerSec: number }[]> {
  const engine = await loadEngine(dir);
  const out: { batch: number; docsPerSec: number }[] = [];
  for (const batch of [1, 32]) {
    let i = 0;
    const next = () => Array.from({ length: batch }, () => notes[i++ % notes.length] as string);
    for (let w = 0; w < 20; w++) await engine.extractBatch(next());
    let docs = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 3000) {
      await engine.extractBatch(next());
      docs += batch;
    }
    out.push({ batch, docsPerSec: docs / ((performance.now() - t0) / 1000) });
  }
  await engine.close();
  return out;
}

interface Child extends ServeChild {
  peakRss: () => number;
  resetPeak: () => void;
}

/** `ner-ops serve` pinned to the bundle's digest, its RSS sampled every 100 ms. */
async function startServe(dir: string, extra: string[] = []): Promise<Child> {
  const digest = await bundleDigest(dir);
  const child = await startServeChild(dir, [flagArg(ServeFlag.modelDigest), digest, ...extra], { logLevel: 'info' });
  let peak = 0;
  const sample = () => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.proc.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      /* exited */
    }
  };
  const timer = setInterval(sample, 100);
  sample();
  return {
    ...child,
    peakRss: () => peak,
    resetPeak: () => {
      peak = 0;
      sample();
    },
    stop: () => {
      clearInterval(timer);
      return child.stop();
    },
  };
}

interface Run {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  rssMb: number;
}

async function load(
  server: Child,
  notes: string[],
  label: string,
  connections: number,
  overallRate?: number,
): Promise<Run> {
  const requests = notes.slice(0, 200).map((text) => ({
    method: 'POST' as const,
    path: '/v1/extract',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  }));
  // Warm the connections and JIT for this concurrency before measuring.
  await autocannon({ url: server.url, connections, duration: 1, requests, ...(overallRate ? { overallRate } : {}) });
  server.resetPeak();
  const r = await autocannon({
    url: server.url,
    connections,
    duration: DURATION,
    requests,
    ...(overallRate ? { overallRate } : {}),
  });
  return {
    label,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    rssMb: server.peakRss() / 1024 / 1024,
  };
}

async function main(): Promise<void> {
  const dir = await ensureBundle();
  const notes = await makeNotes();
  console.log(
    `bundle ${dir}; ${notes.length} notes of ${TOKENS} tokens; ${DURATION} s per run; node ${process.version}`,
  );

  const load0 = loadavg()[0] ?? 0;
  const ceiling = await engineCeiling(dir, notes);
  for (const c of ceiling)
    console.log(`in-process engine, batch ${String(c.batch).padStart(2)}: ${c.docsPerSec.toFixed(0)} docs/s`);

  const serveArgs = args['serve-args'].split(/\s+/).filter((a) => a !== '');
  const server = await startServe(dir, serveArgs);
  const idleRss = server.peakRss() / 1024 / 1024;
  const runs: Run[] = [];
  for (const c of [1, 8, 64]) runs.push(await load(server, notes, `concurrency ${c}`, c));
  runs.push(await load(server, notes, '200 req/s (4 conns)', 4, 200));
  let shadowRun: Run | undefined;
  if (!args['no-shadow']) {
    const canary = await startServe(dir, [flagArg(ServeFlag.track), 'canary']);
    const primary = await startServe(dir, [
      ...serveArgs,
      flagArg(ServeFlag.shadowUrl),
      canary.url,
      flagArg(ServeFlag.shadowPercent),
      '100',
    ]);
    shadowRun = await load(primary, notes, '200 req/s + 100% shadow', 4, 200);
    runs.push(shadowRun);
    const m = await (await fetch(`${primary.url}/metrics`)).text();
    // The first sample of `series` whose labels start with `labels` (the constant labels come after them).
    const get = (series: string, labels = '') =>
      Number(new RegExp(`^${series}\\{${labels}[^}]*\\} (\\S+)`, 'm').exec(m)?.[1] ?? NaN);
    const shadow = (outcome: string) => get(ServerMetric.shadowRequests, `outcome="${outcome}"`);
    const agreement = get(`${ServerMetric.shadowAgreement}_sum`) / get(`${ServerMetric.shadowAgreement}_count`);
    console.log(
      `shadow: ok ${shadow('ok')}, dropped ${shadow('dropped')}, ` +
        `errors ${shadow('error')}, mean agreement ${agreement.toFixed(3)}`,
    );
    await primary.stop();
    await canary.stop();
  }
  const t0 = Date.now();
  const code = await server.stop();
  const stopMs = Date.now() - t0;
  // The machine may be shared: measure the ceiling again afterwards and compare against the better one.
  const after = await engineCeiling(dir, notes);
  for (const c of after)
    console.log(`in-process engine again, batch ${String(c.batch).padStart(2)}: ${c.docsPerSec.toFixed(0)} docs/s`);
  const best = Math.max(...ceiling.map((c) => c.docsPerSec), ...after.map((c) => c.docsPerSec));

  console.log('');
  console.log('run                        req/s    p50 ms   p99 ms   max ms  errors  non2xx  peak RSS MB');
  for (const r of runs) {
    console.log(
      `${r.label.padEnd(25)} ${r.rps.toFixed(0).padStart(6)} ${r.p50.toFixed(2).padStart(9)} ${r.p99.toFixed(2).padStart(8)} ${r.max.toFixed(2).padStart(8)} ${String(r.errors).padStart(7)} ${String(r.non2xx).padStart(7)} ${r.rssMb.toFixed(0).padStart(12)}`,
    );
  }
  const c64 = runs.find((r) => r.label === 'concurrency 64');
  console.log('');
  console.log(`idle RSS after warm-up: ${idleRss.toFixed(0)} MB; SIGTERM -> exit ${code} in ${stopMs} ms`);
  console.log(
    `1-minute load average: ${load0.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after (${availableParallelism()} cores; other work on the machine skews every number)`,
  );
  if (c64)
    console.log(
      `concurrency 64 throughput = ${((100 * c64.rps) / best).toFixed(0)}% of the in-process engine ceiling (${best.toFixed(0)} docs/s)`,
    );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
