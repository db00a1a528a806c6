/**
 * `ner-ops traffic`: paced synthetic load against one or more inference servers (loadgen/traffic.ts), for
 * trying a deployment out and for driving canary and drift scenarios from a pod inside a cluster
 * (scripts/e2e-kind.sh). Only counts are printed, never a note or an answer.
 */
import { readFile } from 'node:fs/promises';
import { CliError, intFlag, numberFlag, parseCommandArgs, type Command } from '../command.js';
import { cycle, TrafficGenerator, type TrafficStats, type TrafficTarget } from '../../loadgen/traffic.js';
import { generateNotes } from '../../trainer/synthetic.js';

const HELP = `usage: ner-ops traffic --url URL [--url URL ...] --rate N --duration SECONDS [options]

Send synthetic clinical notes to inference servers at a fixed rate (open loop), round-robin over the
URLs, then print a summary: sent, ok (2xx), answers by status code (0 = network error or timeout),
dropped (not sent: too many requests in flight) and 2xx answers by URL. Exits 1 if nothing succeeded.

  --url URL              server or Service URL; a URL without a path gets /v1/extract (repeatable)
  --rate N               requests per second (> 0)
  --duration SECONDS     how long to send (> 0); SIGTERM/SIGINT stop early and still print the summary
  --vocabulary V         base (in-distribution, default) or shifted (other diseases, drugs, phrasing)
  --seed N               seed of the synthetic notes (default 1)
  --count N              distinct notes, sent in a cycle (default 500)
  --token-file PATH      bearer token for servers with --auth-token-file (first line of the file)
  --timeout-ms N         per-request timeout (default 5000)
  --keep-alive           reuse connections; by default every request opens its own connection, so a
                         Service URL spreads the load over its pods (kube-proxy balances connections)
  --json                 print the summary as JSON
  --quiet                no progress lines on stderr (one every 10 s otherwise)`;

export interface TrafficSummary {
  sent: number;
  ok: number;
  codes: Record<string, number>;
  dropped: number;
  /** 2xx answers by URL. */
  byUrl: Record<string, number>;
  durationSeconds: number;
}

/** A URL without a path (or `/`) gets the extraction route; anything but http(s) is refused. */
export function extractUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`traffic: --url '${raw}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(`traffic: --url '${raw}' must be http:// or https://`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/extract';
  return url.href;
}

function positive(name: string, value: string | undefined): number {
  if (value === undefined) throw new CliError(`traffic: --${name} is required\n\n${HELP}`);
  const n = numberFlag(name, value, 0);
  if (!(n > 0)) throw new CliError(`--${name} must be a number > 0, got '${value}'`);
  return n;
}

function describe(stats: TrafficStats, seconds: number): string {
  const codes = Object.entries(stats.codes)
    .map(([c, n]) => `${c}=${n}`)
    .join(' ');
  return `sent ${stats.sent}, ok ${stats.ok}, dropped ${stats.dropped}, codes ${codes || '-'} (${seconds.toFixed(1)} s)`;
}

const traffic: Command = async (argv) => {
  const { values: v } = parseCommandArgs('traffic', argv, {
    url: { type: 'string', multiple: true },
    rate: { type: 'string' },
    duration: { type: 'string' },
    vocabulary: { type: 'string' },
    seed: { type: 'string' },
    count: { type: 'string' },
    'token-file': { type: 'string' },
    'timeout-ms': { type: 'string' },
    'keep-alive': { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  if (!v.url || v.url.length === 0) throw new CliError(`traffic: --url URL is required\n\n${HELP}`);
  const targets: TrafficTarget[] = v.url.map((u) => {
    const url = extractUrl(u);
    return { url, track: url };
  });
  const rate = positive('rate', v.rate);
  const duration = positive('duration', v.duration);
  const vocabulary = v.vocabulary ?? 'base';
  if (vocabulary !== 'base' && vocabulary !== 'shifted')
    throw new CliError(`traffic: --vocabulary must be 'base' or 'shifted', got '${vocabulary}'`);
  const count = intFlag('count', v.count, 500, 1);
  const seed = intFlag('seed', v.seed, 1);
  const timeoutMs = intFlag('timeout-ms', v['timeout-ms'], 5000, 1);
  let token: string | undefined;
  if (v['token-file']) {
    try {
      token = (await readFile(v['token-file'], 'utf8')).split(/\r?\n/)[0]?.trim() || undefined;
    } catch (err) {
      throw new CliError(
        `traffic: cannot read --token-file ${v['token-file']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    if (!token) throw new CliError(`traffic: --token-file ${v['token-file']} is empty`);
  }

  const texts = generateNotes({ count, seed, vocabulary }).map((n) => n.text);
  const generator = new TrafficGenerator({
    rate,
    targets: () => targets,
    nextText: cycle(texts),
    timeoutMs,
    keepAlive: v['keep-alive'] ?? false,
    ...(token ? { token } : {}),
  });
  const log = v.quiet ? undefined : (line: string) => process.stderr.write(`ner-ops traffic: ${line}\n`);
  log?.(
    `${rate} req/s for ${duration} s to ${targets.map((t) => t.url).join(', ')} (${vocabulary} vocabulary, ${count} notes, seed ${seed})`,
  );

  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  generator.start();
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const timer = setTimeout(finish, duration * 1000);
  const progress = log ? setInterval(() => log(describe(generator.stats, elapsed())), 10_000) : undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    log?.(`${signal}: stopping`);
    finish();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let stats: TrafficStats;
  try {
    await done;
  } finally {
    clearTimeout(timer);
    clearInterval(progress);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    stats = await generator.stop();
  }

  const seconds = elapsed();
  const summary: TrafficSummary = {
    sent: stats.sent,
    ok: stats.ok,
    codes: Object.fromEntries(Object.entries(stats.codes).map(([c, n]) => [c, n])),
    dropped: stats.dropped,
    byUrl: Object.fromEntries(targets.map((t) => [t.url, stats.byTrack[t.url] ?? 0])),
    durationSeconds: Math.round(seconds * 10) / 10,
  };
  if (v.json) console.log(JSON.stringify(summary));
  else {
    console.log(`traffic: ${describe(stats, seconds)}`);
    if (targets.length > 1) for (const [url, n] of Object.entries(summary.byUrl)) console.log(`  ${url}: ${n} ok`);
  }
  if (stats.ok === 0) {
    console.error('ner-ops traffic: no request succeeded');
    return 1;
  }
  return 0;
};

export default traffic;
