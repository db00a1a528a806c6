/**
 * Test fixtures shared by the server, CLI and trainer tests, the end-to-end tests and the benches: a real
 * model bundle trained on synthetic notes (a few seconds), a log capture, Prometheus text parsing and small
 * HTTP helpers. Nothing here stands in for the engine. Lives outside server/ because it trains with the trainer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { AssertionRules } from '../engine/assertions/types.js';
import { generateNotes, writeConll } from '../trainer/synthetic.js';
import { trainBundle, type TrainOptions } from '../trainer/train.js';

export interface TrainedBundle {
  dir: string;
  digest: string;
  /** Remove the bundle and its training files. */
  remove(): Promise<void>;
}

/** Train a small real `crf` bundle on synthetic clinical notes. */
export async function trainSmallBundle(
  opts: {
    seed?: number;
    epochs?: number;
    count?: number;
    name?: string;
    version?: string;
    /** Feature and member options beyond the fixture's. */
    train?: Pick<TrainOptions, 'features' | 'members'>;
    /** Assertion rules to pin in the bundle (engine/assertions); absent: none. */
    assertionRules?: AssertionRules;
  } = {},
): Promise<TrainedBundle> {
  const root = await mkdtemp(join(tmpdir(), 'nerops-server-test-'));
  const seed = opts.seed ?? 7;
  const trainFile = join(root, 'train.conll');
  const devFile = join(root, 'dev.conll');
  await writeConll(trainFile, generateNotes({ count: opts.count ?? 300, seed }));
  await writeConll(devFile, generateNotes({ count: 60, seed: seed + 1000 }));
  const outDir = join(root, 'bundle');
  const r = await trainBundle({
    corpus: { trainFile, devFile },
    ...(opts.train?.features ? { features: opts.train.features } : {}),
    members: { seed, epochs: opts.epochs ?? 4, ...opts.train?.members },
    export: {
      outDir,
      name: opts.name ?? 'test-ner',
      version: opts.version ?? '1.0.0',
      ...(opts.assertionRules ? { assertionRules: opts.assertionRules } : {}),
    },
  });
  return { dir: r.outDir, digest: r.digest, remove: () => rm(root, { recursive: true, force: true }) };
}

/** A pino logger whose JSON lines are kept in memory, for asserting what the server logs. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter((l) => l !== ''));
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/** Value of one sample in Prometheus text format, matching name and (a subset of) labels. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const lbls = parseLabels(m[3] ?? '');
    if (Object.entries(labels).every(([k, v]) => lbls[k] === v)) total = (total ?? 0) + Number(m[4]);
  }
  return total;
}

export function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out[m[1] as string] = (m[2] as string).replace(/\\(.)/g, '$1');
  return out;
}

/** `le` bounds of a histogram's buckets (without +Inf), in order. */
export function histogramBounds(text: string, name: string): number[] {
  const les: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const le = parseLabels(line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'))).le;
    if (le !== undefined && le !== '+Inf') les.push(Number(le));
  }
  return les;
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: unknown; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}
