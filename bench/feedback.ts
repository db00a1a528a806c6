/**
 * Feedback API benchmark: `ner-ops serve --feedback-store file://…` (a separate process) with a small bundle
 * trained on synthetic notes, autocannon over loopback. Reports latency (p50/p99) and throughput of
 * `POST /v1/extract` and `POST /v1/feedback` at a fixed 50 documents/s each, feedback at 50/s while extract
 * runs at 200/s beside it, and feedback's ceiling at concurrency 8 with and without the store; then what
 * the store holds and the live F1 the counters give (half the corrected notes are in the shifted vocabulary,
 * which the model has never seen). Bounded to about a minute.
 *
 *   npm run bench:feedback [-- --duration 5]
 *
 * Prints numbers; asserts nothing (benchmarks print, tests assert behaviour).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { FEEDBACK_OUTCOMES, ServerMetric } from '../contracts/metrics.js';
import { flagArg, ServeFlag } from '../contracts/serve.js';
import { readStore } from '../engine/feedback/export.js';
import { tokenize } from '../engine/features/tokenize.js';
import { trainSmallBundle } from '../testing/fixtures.js';
import { startServeChild } from '../testing/serve-child.js';
import { generateNotes, type SyntheticNote } from '../trainer/synthetic.js';

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '5' } } });
const DURATION = Number(args.duration);

/** The gold entity spans of a synthetic note, from its BIO labels and the tokenizer it was made with. */
function goldSpans(note: SyntheticNote): { label: string; start: number; end: number }[] {
  const toks = tokenize(note.text, { splitHyphens: true });
  const out: { label: string; start: number; end: number }[] = [];
  note.labels.forEach((l, i) => {
    const t = toks[i]!;
    if (l.startsWith('B-')) out.push({ label: l.slice(2), start: t.start, end: t.end });
    else if (l.startsWith('I-')) out[out.length - 1]!.end = t.end;
  });
  return out;
}

type Req = { method: 'POST'; path: string; headers: Record<string, string>; body: string };

interface Run {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function run(url: string, label: string, requests: Req[], connections: number, rate?: number): Promise<Run> {
  const opts = { url, connections, requests, ...(rate ? { overallRate: rate } : {}) };
  await autocannon({ ...opts, duration: 1 });
  const r = await autocannon({ ...opts, duration: DURATION });
  return {
    label,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

function print(r: Run): void {
  console.log(
    `${r.label.padEnd(44)} ${r.rps.toFixed(0).padStart(6)} req/s   p50 ${r.p50.toFixed(1).padStart(6)} ms` +
      `   p99 ${r.p99.toFixed(1).padStart(6)} ms   non-2xx ${r.non2xx}   errors ${r.errors}`,
  );
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const bundle = await trainSmallBundle({ seed: 7 });
  const storeDir = await mkdtemp(join(tmpdir(), 'nerops-bench-feedback-'));
  const notes = generateNotes({ count: 400, seed: 4242 });
  // Half the corrected notes are in the shifted vocabulary, where the model errs: the F1 line is then informative.
  // Interleaved: autocannon walks the list from the start on every connection.
  const base = generateNotes({ count: 200, seed: 4243 });
  const shifted = generateNotes({ count: 200, seed: 4244, vocabulary: 'shifted' });
  const corrected = base.flatMap((n, i) => [n, shifted[i]!]);
  const json = { 'content-type': 'application/json' };
  const extract: Req[] = notes.map((n) => ({
    method: 'POST',
    path: '/v1/extract',
    headers: json,
    body: JSON.stringify({ text: n.text }),
  }));
  const feedback: Req[] = corrected.map((n) => ({
    method: 'POST',
    path: '/v1/feedback',
    headers: json,
    body: JSON.stringify({ text: n.text, entities: goldSpans(n), source: 'bench' }),
  }));
  console.log(
    `bundle trained in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${notes.length} synthetic notes; ` +
      `${DURATION} s per run; node ${process.version}`,
  );

  const stored = await startServeChild(bundle.dir, [flagArg(ServeFlag.feedbackStore), pathToFileURL(storeDir).href]);
  const counted = await startServeChild(bundle.dir, []);
  try {
    print(await run(stored.url, 'extract at 50 docs/s', extract, 4, 50));
    print(await run(stored.url, 'feedback at 50 docs/s (store on)', feedback, 4, 50));
    const [fb, ex] = await Promise.all([
      run(stored.url, 'feedback at 50 docs/s beside extract 200/s', feedback, 4, 50),
      run(stored.url, 'extract at 200 docs/s beside feedback 50/s', extract, 4, 200),
    ]);
    print(fb);
    print(ex);
    print(await run(stored.url, 'feedback, concurrency 8 (store on)', feedback, 8));
    print(await run(counted.url, 'feedback, concurrency 8 (no store)', feedback, 8));
    print(await run(counted.url, 'extract, concurrency 8', extract, 8));

    const m = await (await fetch(`${stored.url}/metrics`)).text();
    const sum = (outcome: string) =>
      [...m.matchAll(new RegExp(`^${ServerMetric.feedbackEntities}\\{[^}]*outcome="${outcome}"[^}]*\\} (\\S+)`, 'gm'))]
        .map((x) => Number(x[1]))
        .reduce((a, b) => a + b, 0);
    const [tp, fp, fn] = FEEDBACK_OUTCOMES.map(sum) as [number, number, number];
    console.log(
      `live entity F1 from the counters (half the notes shifted): ${((2 * tp) / (2 * tp + fp + fn)).toFixed(4)} (tp ${tp}, fp ${fp}, fn ${fn})`,
    );
  } finally {
    for (const s of [stored, counted]) await s.stop();
  }
  const { documents, segments } = await readStore(storeDir);
  console.log(`store: ${documents.length} documents in ${segments} segments, every digest verified`);
  await rm(storeDir, { recursive: true, force: true });
  await bundle.remove();
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
