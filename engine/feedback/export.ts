/**
 * Reading the feedback store back as one dataset (`ner-ops feedback export`): every writer's manifest is the
 * source of truth, every segment's committed prefix must match its sha256 and document count, and the store
 * is refused (naming the file) otherwise. Bytes past a committed prefix and temporary files are what a crash
 * mid-write leaves; they were never acknowledged, so they are ignored. Documents are then de-duplicated (a
 * client retrying after a lost response posts the same document twice) and split into train and held-out
 * by a hash of their content, so a document stays on its side of the split as the store grows.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FEEDBACK_MANIFEST_SUFFIX,
  FEEDBACK_MANIFESTS_DIR,
  FEEDBACK_SEGMENTS_DIR,
  feedbackManifestSchema,
  type FeedbackExportResult,
  type FeedbackManifest,
} from '../../contracts/feedback-store.js';
import { ConllError, formatConll, parseConll, type LabeledSentence } from '../corpus/conll.js';

/** The store cannot be exported as it is; `file` is the manifest or segment at fault (relative to the store). */
export class StoreCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'StoreCorruptError';
  }
}

/** One stored document: its sentences and a key identifying its content (tokens and labels). */
export interface StoredDocument {
  key: string;
  sentences: LabeledSentence[];
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Every committed document of the store, verified; throws {@link StoreCorruptError}. */
export async function readStore(root: string): Promise<{ documents: StoredDocument[]; segments: number }> {
  let names: string[];
  try {
    names = await readdir(join(root, FEEDBACK_MANIFESTS_DIR));
  } catch (err) {
    throw new StoreCorruptError(
      FEEDBACK_MANIFESTS_DIR,
      `cannot read the store's manifests (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const manifests = names.filter((n) => !n.startsWith('.') && n.endsWith(FEEDBACK_MANIFEST_SUFFIX)).sort();
  const documents: StoredDocument[] = [];
  let segments = 0;
  for (const name of manifests) {
    const rel = `${FEEDBACK_MANIFESTS_DIR}/${name}`;
    const manifest = await readManifest(join(root, rel), rel);
    if (`${manifest.writer}${FEEDBACK_MANIFEST_SUFFIX}` !== name)
      throw new StoreCorruptError(rel, 'names another writer than its file name');
    for (const seg of manifest.segments) {
      if (seg.bytes === 0) continue;
      segments++;
      documents.push(...(await readSegment(root, seg)));
    }
  }
  return { documents, segments };
}

async function readManifest(path: string, rel: string): Promise<FeedbackManifest> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new StoreCorruptError(rel, 'is not a readable JSON manifest');
  }
  const r = feedbackManifestSchema.safeParse(parsed);
  if (!r.success) throw new StoreCorruptError(rel, 'does not match the manifest schema');
  return r.data;
}

async function readSegment(root: string, seg: FeedbackManifest['segments'][number]): Promise<StoredDocument[]> {
  const rel = `${FEEDBACK_SEGMENTS_DIR}/${seg.file}`;
  let bytes: Buffer;
  try {
    bytes = await readFile(join(root, rel));
  } catch (err) {
    throw new StoreCorruptError(rel, `is missing or unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (bytes.length < seg.bytes)
    throw new StoreCorruptError(rel, `holds ${bytes.length} bytes, fewer than the ${seg.bytes} its manifest commits`);
  const committed = bytes.subarray(0, seg.bytes);
  if (sha256(committed) !== seg.sha256) throw new StoreCorruptError(rel, 'fails its sha256 digest');
  let sentences: LabeledSentence[];
  try {
    sentences = parseConll(committed.toString('utf8'), rel);
  } catch (err) {
    // The digest matched, so the writer wrote this: name the file and line, never the content.
    throw new StoreCorruptError(rel, err instanceof ConllError ? err.message : 'is not valid CoNLL');
  }
  const docs = groupDocuments(sentences);
  if (docs.length !== seg.documents)
    throw new StoreCorruptError(rel, `holds ${docs.length} documents, its manifest says ${seg.documents}`);
  return docs;
}

/** Sentences grouped by their `-DOCSTART-` document, each with its content key. */
export function groupDocuments(sentences: readonly LabeledSentence[]): StoredDocument[] {
  const out: StoredDocument[] = [];
  let current: LabeledSentence[] = [];
  let doc: number | undefined;
  const flush = () => {
    if (current.length === 0) return;
    out.push({
      key: sha256(formatConll(current.map((s) => ({ tokens: s.tokens, labels: s.labels })))),
      sentences: current,
    });
    current = [];
  };
  for (const s of sentences) {
    if (s.document !== doc) flush();
    doc = s.document;
    current.push(s);
  }
  flush();
  return out;
}

/** Where `key` falls in [0, 1) for `seed`: the split is a property of the document, not of its position. */
function splitPoint(key: string, seed: number): number {
  return parseInt(sha256(`${seed}:${key}`).slice(0, 8), 16) / 2 ** 32;
}

/**
 * Unique documents split into train and held-out, each sorted by key (so the output does not depend on
 * which writer stored what first). With two or more documents both sides get at least one, since the
 * retraining Job needs both files non-empty.
 */
export function splitDocuments(
  documents: readonly StoredDocument[],
  holdout: number,
  seed: number,
): { train: StoredDocument[]; dev: StoredDocument[]; duplicates: number } {
  const unique = new Map<string, StoredDocument>();
  for (const d of documents) if (!unique.has(d.key)) unique.set(d.key, d);
  const ranked = [...unique.values()]
    .map((d) => ({ d, u: splitPoint(d.key, seed) }))
    .sort((a, b) => a.u - b.u || (a.d.key < b.d.key ? -1 : 1));
  let devCount = ranked.filter((r) => r.u < holdout).length;
  // A single document trains; from two on, neither side is empty.
  devCount = ranked.length < 2 ? 0 : Math.min(Math.max(devCount, 1), ranked.length - 1);
  const byKey = (a: StoredDocument, b: StoredDocument) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  return {
    dev: ranked
      .slice(0, devCount)
      .map((r) => r.d)
      .sort(byKey),
    train: ranked
      .slice(devCount)
      .map((r) => r.d)
      .sort(byKey),
    duplicates: documents.length - unique.size,
  };
}

/** CoNLL of documents, numbered so each starts with `-DOCSTART-`. */
export function documentsConll(documents: readonly StoredDocument[]): string {
  return formatConll(
    documents.flatMap((d, i) => d.sentences.map((s) => ({ tokens: s.tokens, labels: s.labels, document: i + 1 }))),
  );
}

/**
 * Verify the store, merge it and write `train.conll` and `dev.conll` to `outDir` (each atomically); an empty
 * store is refused unless `allowEmpty` (then both files are empty). The digest
 * is sha256 over train.conll then dev.conll, as the retraining Job computes a dataset directory's digest.
 */
export async function exportStore(
  root: string,
  outDir: string,
  options: { holdout: number; seed: number; allowEmpty?: boolean },
): Promise<FeedbackExportResult> {
  const { documents, segments } = await readStore(root);
  // The retraining Job merges whatever the store holds, which may be nothing yet; the CLI refuses an empty export.
  if (documents.length === 0 && !options.allowEmpty) throw new StoreCorruptError('.', 'the store holds no documents');
  const { train, dev, duplicates } = splitDocuments(documents, options.holdout, options.seed);
  const trainText = Buffer.from(documentsConll(train), 'utf8');
  const devText = Buffer.from(documentsConll(dev), 'utf8');
  await mkdir(outDir, { recursive: true });
  const trainFile = join(outDir, 'train.conll');
  const devFile = join(outDir, 'dev.conll');
  await writeAtomically(trainFile, trainText);
  await writeAtomically(devFile, devText);
  return {
    digest: sha256(Buffer.concat([trainText, devText])),
    documents: train.length + dev.length,
    trainDocuments: train.length,
    devDocuments: dev.length,
    duplicates,
    segments,
    trainFile,
    devFile,
  };
}

async function writeAtomically(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
