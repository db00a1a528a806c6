/**
 * The feedback store on a real filesystem: group commit, the store-wide cap (507 upstream), several writers
 * on one store, a writer SIGKILLed mid-write (a child process on dist/, so `npm run build` first), crash
 * leftovers (uncommitted tails, temporary manifests) ignored, and a corrupted segment refused by the export
 * (library and `ner-ops feedback export`) naming the file.
 */
import { execFile, spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedbackManifestSchema } from '../../contracts/feedback-store.js';
import { parseConll } from '../corpus/conll.js';
import { tokenize } from '../features/tokenize.js';
import { exportStore, groupDocuments, readStore, StoreCorruptError } from './export.js';
import { bioLabels, conllDocument } from './record.js';
import { FeedbackStore, StoreFullError, writerId } from './store.js';

const CLI = join(process.cwd(), 'dist', 'cli', 'ner-ops.js');
const STORE_JS = join(process.cwd(), 'dist', 'engine', 'feedback', 'store.js');

/** A distinct document: note `i` of writer `w`, with a DISEASE entity. */
function doc(w: string, i: number): string {
  const text = `Note ${w} ${i} mentions chronic asthma today.`;
  const tokens = tokenize(text, { splitHyphens: true });
  const start = text.indexOf('chronic asthma');
  const r = bioLabels(tokens, [{ label: 'DISEASE', start, end: start + 'chronic asthma'.length }]);
  if (!('labels' in r)) throw new Error('misfit');
  return conllDocument(tokens, r.labels);
}

/** The `<w> <i>` ids of exported or stored documents. */
function ids(conll: string): string[] {
  if (conll === '') return [];
  return groupDocuments(parseConll(conll, 'x')).map((d) => {
    const t = d.sentences[0]!.tokens;
    return `${t[1]} ${t[2]}`;
  });
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nerops-feedback-store-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function exportIds(store: string): Promise<{ ids: string[]; documents: number; digest: string }> {
  const out = join(store, '..', `${store.split('/').pop()}-out`);
  const r = await exportStore(store, out, { holdout: 0.2, seed: 1 });
  const all = [...ids(await readFile(r.trainFile, 'utf8')), ...ids(await readFile(r.devFile, 'utf8'))];
  return { ids: all, documents: r.documents, digest: r.digest };
}

describe('FeedbackStore', () => {
  it('commits concurrent documents together, rolls segments at their size and exports each document once', async () => {
    const dir = join(root, 'group');
    const store = await FeedbackStore.open({ root: dir, writer: 'pod-a.00000001', limits: { segmentBytes: 2048 } });
    await Promise.all(Array.from({ length: 60 }, (_, i) => store.append(doc('a', i))));
    await store.close();
    const manifest = feedbackManifestSchema.parse(
      JSON.parse(await readFile(join(dir, 'manifests', 'pod-a.00000001.json'), 'utf8')),
    );
    expect(manifest.segments.length).toBeGreaterThan(2);
    expect(manifest.segments.reduce((n, s) => n + s.documents, 0)).toBe(60);
    expect(manifest.segments.slice(0, -1).every((s) => s.sealed && s.bytes <= 2048)).toBe(true);
    const e = await exportIds(dir);
    expect(e.ids.sort()).toEqual(Array.from({ length: 60 }, (_, i) => `a ${i}`).sort());
    // Deterministic: a second export of the same store gives the same digest.
    expect((await exportIds(dir)).digest).toBe(e.digest);
  });

  it('refuses documents past the store-wide cap, counting other writers, and keeps what it accepted', async () => {
    const dir = join(root, 'full');
    const one = Buffer.byteLength(doc('x', 0));
    const limits = { segmentBytes: 4096, maxBytes: one * 5 + 10 };
    const a = await FeedbackStore.open({ root: dir, writer: 'pod-a.00000002', limits });
    for (let i = 0; i < 3; i++) await a.append(doc('x', i));
    const b = await FeedbackStore.open({ root: dir, writer: 'pod-b.00000002', limits });
    await b.append(doc('y', 0));
    await b.append(doc('y', 1));
    await expect(b.append(doc('y', 2))).rejects.toBeInstanceOf(StoreFullError);
    await expect(b.append(doc('y', 3))).rejects.toBeInstanceOf(StoreFullError);
    await Promise.all([a.close(), b.close()]);
    const e = await exportIds(dir);
    expect(e.ids.sort()).toEqual(['x 0', 'x 1', 'x 2', 'y 0', 'y 1']);
  });

  it('never shares a file: several writers append to one store at once', async () => {
    const dir = join(root, 'many');
    const writers = await Promise.all(
      ['p1', 'p2', 'p3', 'p4'].map((p, n) =>
        FeedbackStore.open({ root: dir, writer: writerId(p, `0000000${n}`), limits: { segmentBytes: 1500 } }),
      ),
    );
    await Promise.all(writers.flatMap((w, n) => Array.from({ length: 25 }, (_, i) => w.append(doc(`w${n}`, i)))));
    await Promise.all(writers.map((w) => w.close()));
    expect((await readdir(join(dir, 'manifests'))).sort()).toEqual([
      'p1.00000000.json',
      'p2.00000001.json',
      'p3.00000002.json',
      'p4.00000003.json',
    ]);
    const e = await exportIds(dir);
    expect(e.documents).toBe(100);
    expect(new Set(e.ids).size).toBe(100);
  });

  it('refuses a writer id that already has a manifest', async () => {
    const dir = join(root, 'many');
    await expect(FeedbackStore.open({ root: dir, writer: 'p1.00000000' })).rejects.toThrow(/must be unique/);
  });

  it('ignores what a crash leaves: bytes past the committed length and temporary manifests', async () => {
    const dir = join(root, 'leftovers');
    const store = await FeedbackStore.open({ root: dir, writer: 'pod-c.00000003' });
    for (let i = 0; i < 4; i++) await store.append(doc('c', i));
    await store.close();
    const [segment] = await readdir(join(dir, 'segments'));
    // A torn, never-acknowledged document, and a manifest that never got renamed into place.
    await appendFile(join(dir, 'segments', segment!), doc('c', 99).slice(0, 40));
    await writeFile(join(dir, 'manifests', '.pod-c.00000003.json.tmp'), '{"manifestVersion":1,"wri');
    expect((await exportIds(dir)).ids.sort()).toEqual(['c 0', 'c 1', 'c 2', 'c 3']);
  });
});

describe('a writer killed mid-write', () => {
  it('loses no acknowledged document and duplicates none; the next writer carries on', async () => {
    const dir = join(root, 'killed');
    // Appends forever, 8 in flight, printing each document's id once its append resolved (acknowledged).
    const script = `
      const { FeedbackStore } = await import(${JSON.stringify(STORE_JS)});
      const { readFileSync } = await import('node:fs');
      const docs = JSON.parse(readFileSync(process.argv[1], 'utf8'));
      const store = await FeedbackStore.open({ root: ${JSON.stringify(dir)}, writer: 'pod-k.0000000a', limits: { segmentBytes: 3000 } });
      let next = 0;
      const one = async () => { for (;;) { const i = next++; if (i >= docs.length) return; await store.append(docs[i]); process.stdout.write('ack ' + i + '\\n'); } };
      await Promise.all(Array.from({ length: 8 }, one));
    `;
    const docsFile = join(root, 'killed-docs.json');
    await writeFile(docsFile, JSON.stringify(Array.from({ length: 5000 }, (_, i) => doc('k', i))));
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, docsFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: number[] = [];
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buf += chunk.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) acked.push(Number(l.slice(4)));
        if (acked.length >= 150 && child.exitCode === null) child.kill('SIGKILL');
      });
      child.once('exit', () => resolve());
      child.once('error', reject);
    });
    expect(child.signalCode).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(150);

    const after = await FeedbackStore.open({ root: dir, writer: 'pod-k.0000000b' });
    await after.append(doc('k', 9999));
    await after.close();

    const { documents } = await readStore(dir);
    const stored = documents.map((d) => Number(d.sentences[0]!.tokens[2]));
    // Not duplicated: every stored document is there once.
    expect(new Set(stored).size).toBe(stored.length);
    // Not lost: every acknowledged document is stored (a committed one may not have been acknowledged yet).
    const storedSet = new Set(stored);
    expect(acked.filter((i) => !storedSet.has(i))).toEqual([]);
    expect(storedSet.has(9999)).toBe(true);
    const e = await exportIds(dir);
    expect(e.documents).toBe(stored.length);
  });
});

describe('a corrupted segment', () => {
  it('is refused by the export, naming the segment (library and CLI)', async () => {
    const dir = join(root, 'corrupt');
    const store = await FeedbackStore.open({ root: dir, writer: 'pod-d.00000004', limits: { segmentBytes: 250 } });
    for (let i = 0; i < 6; i++) await store.append(doc('d', i));
    await store.close();
    const segments = (await readdir(join(dir, 'segments'))).sort();
    expect(segments.length).toBeGreaterThan(1);
    const victim = segments[1]!;
    const path = join(dir, 'segments', victim);
    const bytes = await readFile(path);
    bytes[10] = bytes[10] === 0x61 ? 0x62 : 0x61;
    await writeFile(path, bytes);

    const err = await exportStore(dir, join(root, 'corrupt-out'), { holdout: 0.2, seed: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreCorruptError);
    expect((err as StoreCorruptError).file).toBe(`segments/${victim}`);
    expect((err as Error).message).toMatch(/fails its sha256 digest/);

    const cli = await promisify(execFile)(
      process.execPath,
      [CLI, 'feedback', 'export', '--store', `file://${dir}`, '--out', join(root, 'corrupt-out')],
      {},
    ).catch((e: { code: number; stderr: string; stdout: string }) => e);
    expect((cli as { code: number }).code).toBe(1);
    expect((cli as { stderr: string }).stderr).toContain(join(dir, 'segments', victim));
    expect((cli as { stderr: string }).stderr).not.toMatch(/asthma/);
  });

  it('exports a healthy store through the CLI as JSON with a digest', async () => {
    const dir = join(root, 'group');
    const out = join(root, 'cli-out');
    const { stdout } = await promisify(execFile)(process.execPath, [
      CLI,
      'feedback',
      'export',
      '--store',
      dir,
      '--out',
      out,
      '--holdout',
      '0.25',
      '--seed',
      '3',
    ]);
    const r = JSON.parse(stdout) as { digest: string; documents: number; trainDocuments: number; devDocuments: number };
    expect(r).toMatchObject({ documents: 60, duplicates: 0 });
    expect(r.trainDocuments + r.devDocuments).toBe(60);
    expect(r.digest).toMatch(/^[0-9a-f]{64}$/);
  });
});
