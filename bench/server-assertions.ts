/**
 * What the assertion stage costs a client of the server: the same bundle served twice by `ner-ops serve`
 * (separate processes, one at a time under load), without and with `--assertion-language en`, autocannon over
 * loopback on the same 40-token notes. Reports throughput and p50/p99 latency at concurrency 8 (the ceiling)
 * and at a fixed 200 requests/s, in alternating rounds (off, on, on, off, …) so that a shared machine's drift
 * falls on both sides. It prints the median of the rounds and the median of the paired differences (on against
 * the off run next to it in time, which cancels most of a busy machine's swings). The bundle and notes are those
 * of `npm run bench:server` (BeHealthy, cached in .cache/bench). Bounded to about a minute and a half.
 *
 *   npm run bench:server-assertions [-- --duration 3 --rounds 6 --data ../shared/data/behealthy]
 *
 * Prints numbers; asserts nothing (benchmarks print, tests assert behaviour).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { MANIFEST_FILE } from '../contracts/bundle-manifest.js';
import { ServerMetric } from '../contracts/metrics.js';
import { flagArg, ServeFlag } from '../contracts/serve.js';
import { readConll } from '../engine/corpus/conll.js';
import { detokenize } from '../trainer/detokenize.js';
import { trainBundle } from '../trainer/train.js';
import { startServeChild } from '../testing/serve-child.js';

const here = dirname(fileURLToPath(import.meta.url));
const isTs = import.meta.url.endsWith('.ts');
const root = isTs ? resolve(here, '..') : resolve(here, '..', '..');

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '6' },
    data: { type: 'string', default: resolve(root, '..', 'shared', 'data', 'behealthy') },
    tokens: { type: 'string', default: '40' },
  },
});
const DURATION = Number(args.duration);
const ROUNDS = Number(args.rounds);
const TOKENS = Number(args.tokens);

/** The BeHealthy bundle of `npm run bench:server` (trained once, cached). */
async function ensureBundle(): Promise<string> {
  const outDir = join(root, '.cache', 'bench', 'behealthy-bundle');
  if (existsSync(join(outDir, MANIFEST_FILE))) return outDir;
  await mkdir(outDir, { recursive: true });
  await trainBundle({
    corpus: { trainFile: join(args.data, 'train.conll'), devFile: join(args.data, 'dev.conll') },
    members: { seed: 1 },
    export: { outDir, name: 'behealthy', version: 'bench' },
  });
  return outDir;
}

/** Notes of exactly TOKENS tokens from consecutive dev sentences (as bench:server makes them). */
async function makeNotes(): Promise<string[]> {
  const sentences = await readConll(join(args.data, 'dev.conll'));
  const stream = sentences.flatMap((s) => s.tokens);
  const notes: string[] = [];
  for (let i = 0; i + TOKENS <= stream.length && notes.length < 200; i += TOKENS)
    notes.push(detokenize(stream.slice(i, i + TOKENS)));
  return notes;
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

async function load(url: string, notes: string[], connections: number, overallRate?: number): Promise<Run> {
  const requests = notes.map((text) => ({
    method: 'POST' as const,
    path: '/v1/extract',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  }));
  const opts = { url, connections, requests, ...(overallRate ? { overallRate } : {}) };
  await autocannon({ ...opts, duration: 1 }); // warm connections and JIT at this load
  const r = await autocannon({ ...opts, duration: DURATION });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, failed: r.non2xx + r.errors + r.timeouts };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const t0 = performance.now();
  const dir = await ensureBundle();
  const notes = await makeNotes();
  console.log(
    `${notes.length} notes of ${TOKENS} tokens; ${DURATION} s per run, ${ROUNDS} rounds; node ${process.version}; ` +
      `${availableParallelism()} CPUs, load ${loadavg()[0]!.toFixed(2)}`,
  );
  const modes = { off: [] as string[], on: [flagArg(ServeFlag.assertionLanguage), 'en'] };
  const servers = { off: await startServeChild(dir, modes.off), on: await startServeChild(dir, modes.on) };
  const loads = [
    { name: 'concurrency 8', connections: 8, rate: undefined },
    { name: '200 req/s', connections: 4, rate: 200 },
  ];
  const results: Record<string, Record<'off' | 'on', Run[]>> = {};
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order: ('off' | 'on')[] = round % 2 ? ['on', 'off'] : ['off', 'on'];
      for (const l of loads)
        for (const mode of order) {
          const r = await load(servers[mode].url, notes, l.connections, l.rate);
          ((results[l.name] ??= { off: [], on: [] })[mode] as Run[]).push(r);
          console.log(
            `  round ${round + 1} ${l.name.padEnd(14)} assertions ${mode.padEnd(3)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  failed ${r.failed}`,
          );
        }
    }
    const m = await (await fetch(`${servers.on.url}/metrics`)).text();
    const negated = [
      ...m.matchAll(
        new RegExp(
          `^${ServerMetric.entityAssertions}\\{[^}]*attribute="negated"[^}]*value="(\\w+)"[^}]*\\} (\\S+)`,
          'gm',
        ),
      ),
    ].reduce((acc, x) => ({ ...acc, [x[1]!]: (acc[x[1]!] ?? 0) + Number(x[2]) }), {} as Record<string, number>);
    console.log(
      `the stage ran: ${(negated.true ?? 0) + (negated.false ?? 0)} entities asserted, ${negated.true ?? 0} negated`,
    );
  } finally {
    for (const s of Object.values(servers)) await s.stop();
  }
  console.log(
    'median of the rounds          assertions off            assertions on             paired difference (median)',
  );
  const signed = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
  for (const [name, r] of Object.entries(results)) {
    const off = { rps: median(r.off.map((x) => x.rps)), p99: median(r.off.map((x) => x.p99)) };
    const on = { rps: median(r.on.map((x) => x.rps)), p99: median(r.on.map((x) => x.p99)) };
    const rps = median(r.on.map((x, i) => ((x.rps - r.off[i]!.rps) / r.off[i]!.rps) * 100));
    const p99 = median(r.on.map((x, i) => x.p99 - r.off[i]!.p99));
    console.log(
      `  ${name.padEnd(26)} ${off.rps.toFixed(0).padStart(6)} req/s p99 ${off.p99.toFixed(1).padStart(6)} ms   ${on.rps.toFixed(0).padStart(6)} req/s p99 ${on.p99.toFixed(1).padStart(6)} ms   ${signed(rps, 1)} % req/s, p99 ${signed(p99, 1)} ms`,
    );
  }
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
