/**
 * Hardening benchmark: what one large request inside the default limits costs a real `ner-ops serve` process
 * (its own process, so its RSS is its own). For each scenario a fresh server on a small trained bundle gets
 * one request while a prober calls /healthz back to back; prints the server's idle and peak RSS, the worst
 * /healthz latency while the request was in flight, and the request's status and duration.
 *
 *   npm run bench:hardening [-- --serve-args="--max-request-tokens 1000000"] [--bundle DIR] [--runs N]
 *
 * Scenarios: the dense request (32 documents of 20,000 `-`, every character a token), 50 realistic
 * 20,000-character notes (synthetic clinical sentences) in one request, and 4 such requests at once.
 * Prints numbers; asserts nothing.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { trainSmallBundle } from '../testing/fixtures.js';
import { startServeChild } from '../testing/serve-child.js';
import { generateNotes } from '../trainer/synthetic.js';

const { values: args } = parseArgs({
  options: {
    /** Extra `ner-ops serve` flags, e.g. --serve-args="--max-request-tokens 1000000". */
    'serve-args': { type: 'string', default: '' },
    /** A bundle directory to serve instead of the small fixture bundle (e.g. one trained on BeHealthy). */
    bundle: { type: 'string' },
    /** Repeat each scenario this many times (a fresh server each time); the worst run is printed. */
    runs: { type: 'string', default: '1' },
  },
});

const DOC_CHARS = 20_000;

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** A fresh `ner-ops serve` of `bundle` with the extra flags of --serve-args. */
function startServer(bundle: string) {
  const extra = args['serve-args'].split(/\s+/).filter((a) => a.length > 0);
  return startServeChild(bundle, extra, { logLevel: 'error' });
}

interface Outcome {
  idleRss: number;
  peakRss: number;
  worstProbeMs: number;
  probes: number;
  /** The distinct statuses of the scenario's requests. */
  status: string;
  /** Until the last request was answered. */
  requestMs: number;
}

/** Requests sent at once to a fresh server while /healthz is probed back to back and RSS sampled. */
async function measure(bundle: string, bodies: string[]): Promise<Outcome> {
  const server = await startServer(bundle);
  const pid = server.proc.pid as number;
  await new Promise((r) => setTimeout(r, 300));
  const idleRss = rssBytes(pid);
  let peakRss = idleRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(pid))), 10);
  let inFlight = true;
  let worstProbeMs = 0;
  let probes = 0;
  const prober = (async () => {
    while (inFlight) {
      const t0 = performance.now();
      await fetch(`${server.url}/healthz`).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
      worstProbeMs = Math.max(worstProbeMs, performance.now() - t0);
      probes++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const t0 = performance.now();
  const statuses = await Promise.all(
    bodies.map(async (body) => {
      const res = await fetch(`${server.url}/v1/extract`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    }),
  );
  const requestMs = performance.now() - t0;
  // Keep probing a little after the answer: work that outlives the response still blocks the loop.
  await new Promise((r) => setTimeout(r, 500));
  inFlight = false;
  await prober;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, rssBytes(pid));
  await server.stop();
  return { idleRss, peakRss, worstProbeMs, probes, status: [...new Set(statuses)].join('/'), requestMs };
}

/** 50 notes of exactly DOC_CHARS characters made of synthetic clinical sentences. */
function realisticNotes(count: number): string[] {
  const sentences = generateNotes({ count: 2000, seed: 42 }).map((n) => n.text);
  const notes: string[] = [];
  let k = 0;
  for (let d = 0; d < count; d++) {
    let text = '';
    while (text.length < DOC_CHARS) text += (text ? ' ' : '') + sentences[k++ % sentences.length];
    notes.push(text.slice(0, DOC_CHARS));
  }
  return notes;
}

const mib = (b: number) => (b / 1024 / 1024).toFixed(0);

async function main(): Promise<void> {
  const t0 = performance.now();
  const bundle = args.bundle
    ? { dir: args.bundle, remove: async () => undefined }
    : await trainSmallBundle({ name: 'hardening', seed: 3 });
  if (!args.bundle) console.log(`trained the fixture bundle in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const documents = (texts: string[]) => JSON.stringify({ documents: texts.map((text, i) => ({ id: `d${i}`, text })) });
  const notes = documents(realisticNotes(50));
  const scenarios = [
    {
      label: `dense: 32 x ${DOC_CHARS} '-'`,
      bodies: [documents(Array.from({ length: 32 }, () => '-'.repeat(DOC_CHARS)))],
    },
    { label: `50 realistic ${DOC_CHARS}-char notes`, bodies: [notes] },
    { label: `4 requests of 50 such notes at once`, bodies: [notes, notes, notes, notes] },
  ];
  const runs = Math.max(1, Number(args.runs));
  console.log(`serve args: ${args['serve-args'] || '(defaults)'}; worst of ${runs} run(s) per scenario`);
  console.log(
    'scenario                          body KB  status  request ms  idle RSS MiB  peak RSS MiB  worst /healthz ms  probes',
  );
  try {
    for (const s of scenarios) {
      let worst: Outcome | undefined;
      for (let r = 0; r < runs; r++) {
        const o = await measure(bundle.dir, s.bodies);
        if (!worst || o.peakRss > worst.peakRss || o.worstProbeMs > worst.worstProbeMs)
          worst = {
            ...o,
            peakRss: Math.max(o.peakRss, worst?.peakRss ?? 0),
            worstProbeMs: Math.max(o.worstProbeMs, worst?.worstProbeMs ?? 0),
          };
      }
      const o = worst as Outcome;
      console.log(
        `${s.label.padEnd(33)} ${(s.bodies.reduce((n, b) => n + b.length, 0) / 1024).toFixed(0).padStart(7)} ${String(o.status).padStart(7)} ${o.requestMs.toFixed(0).padStart(11)} ${mib(o.idleRss).padStart(13)} ${mib(o.peakRss).padStart(13)} ${o.worstProbeMs.toFixed(0).padStart(18)} ${String(o.probes).padStart(7)}`,
      );
    }
  } finally {
    await bundle.remove();
  }
}

await main();
