/**
 * The feedback store's writer: the thin fs edge around `segments.ts`. One instance is one writer (one server
 * process) with its own segments and manifest, so replicas sharing a volume never share a file.
 *
 * A document is acknowledged only after (1) its bytes are appended to the open segment and fdatasync'd, and
 * (2) the manifest naming the new committed length and sha256 has replaced the old one (temporary file,
 * fsync, rename, fsync of the directory). Documents that arrive while a write is in flight are committed
 * together by the next one (group commit: one fsync pair for many documents). A crash between (1) and (2)
 * leaves bytes past the committed length, which readers ignore and which were never acknowledged; a failed
 * write seals the segment at its committed length, so later documents never follow a torn tail.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FEEDBACK_MANIFEST_SUFFIX,
  FEEDBACK_MANIFESTS_DIR,
  FEEDBACK_SEGMENTS_DIR,
  feedbackManifestSchema,
} from '../../contracts/feedback-store.js';
import {
  afterWrite,
  committedBytes,
  DEFAULT_STORE_LIMITS,
  emptyWriterState,
  manifestJson,
  planGroup,
  sealOpen,
  type GroupPlan,
  type StoreLimits,
  type WriterState,
} from './segments.js';

/** The store's cap is reached: the document was not stored (the server answers 507). */
export class StoreFullError extends Error {
  constructor(readonly usedBytes: number) {
    super('the feedback store is full');
    this.name = 'StoreFullError';
  }
}

/** A write failed for another reason (the error code only: paths and messages stay in the server's log). */
export class StoreWriteError extends Error {
  constructor(
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`the feedback store could not be written (${code})`, options);
    this.name = 'StoreWriteError';
  }
}

export interface FeedbackStoreOptions {
  /** The store's local directory (a resolved `pvc://` or `file://` location). */
  root: string;
  /** This writer's id: unique among live writers (see {@link writerId}). */
  writer: string;
  limits?: Partial<StoreLimits>;
  /** How stale the other writers' committed bytes may be when checking the cap. Default 5 s. */
  othersRefreshMs?: number;
  now?: () => number;
}

/** A writer id for this process: `<pod name>.<8 random hex>`, so a restarted pod never reuses a manifest. */
export function writerId(podName: string, random: string): string {
  const base = podName.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'writer';
  return `${base.slice(0, 120)}.${random}`;
}

interface Pending {
  bytes: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class FeedbackStore {
  readonly root: string;
  readonly writer: string;
  readonly limits: StoreLimits;
  #state: WriterState;
  #hash: Hash = createHash('sha256');
  #fd: FileHandle | undefined;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;
  #othersBytes = 0;
  #othersReadAt = Number.NEGATIVE_INFINITY;
  readonly #othersRefreshMs: number;
  readonly #now: () => number;

  private constructor(options: FeedbackStoreOptions) {
    this.root = options.root;
    this.writer = options.writer;
    this.limits = { ...DEFAULT_STORE_LIMITS, ...options.limits };
    this.#state = emptyWriterState(options.writer);
    this.#othersRefreshMs = options.othersRefreshMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /** Create the layout if needed and start a writer; refuses a writer id that already has a manifest. */
  static async open(options: FeedbackStoreOptions): Promise<FeedbackStore> {
    const store = new FeedbackStore(options);
    await mkdir(store.#segmentsDir, { recursive: true });
    await mkdir(store.#manifestsDir, { recursive: true });
    const existing = await readdir(store.#manifestsDir);
    if (existing.includes(store.#manifestFile))
      throw new Error(`feedback store: writer ${options.writer} already has a manifest; writer ids must be unique`);
    await store.#refreshOthers(true);
    return store;
  }

  get #segmentsDir(): string {
    return join(this.root, FEEDBACK_SEGMENTS_DIR);
  }

  get #manifestsDir(): string {
    return join(this.root, FEEDBACK_MANIFESTS_DIR);
  }

  get #manifestFile(): string {
    return `${this.writer}${FEEDBACK_MANIFEST_SUFFIX}`;
  }

  /** This writer's committed documents and bytes. */
  get stats(): { documents: number; bytes: number; segments: number } {
    const s = this.#state.segments;
    return {
      documents: s.reduce((n, x) => n + x.documents, 0),
      bytes: committedBytes(this.#state),
      segments: s.length,
    };
  }

  /**
   * Commit one CoNLL document; resolves once it is durable and in the manifest. Rejects with
   * {@link StoreFullError} at the cap and {@link StoreWriteError} when the disk refuses.
   */
  append(record: string): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreWriteError('closed'));
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ bytes: Buffer.from(record, 'utf8'), resolve, reject });
      this.#kick();
    });
  }

  /** Start the flush loop unless it runs; a document queued as it was finishing starts the next one. */
  #kick(): void {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.#pending.length > 0) this.#kick();
    });
  }

  /** Wait for pending documents, then release the open segment. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing) await this.#flushing;
    await this.#fd?.close().catch(() => undefined);
    this.#fd = undefined;
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      await this.#refreshOthers(false);
      const plan = planGroup(
        this.#state,
        this.#pending.map((p) => p.bytes.length),
        this.#othersBytes,
        this.limits,
      );
      if (plan.kind === 'full') {
        this.#pending.shift()?.reject(new StoreFullError(plan.usedBytes));
        continue;
      }
      const group = this.#pending.splice(0, plan.take);
      try {
        await this.#write(plan, group);
        for (const g of group) g.resolve();
      } catch (err) {
        // Whatever reached the segment is past its committed length: seal it there and start afresh.
        this.#state = sealOpen(this.#state);
        await this.#fd?.close().catch(() => undefined);
        this.#fd = undefined;
        const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
        const failure =
          code === 'ENOSPC' || code === 'EDQUOT'
            ? new StoreFullError(committedBytes(this.#state) + this.#othersBytes)
            : new StoreWriteError(code, { cause: err });
        for (const g of group) g.reject(failure);
      }
    }
  }

  async #write(plan: Extract<GroupPlan, { kind: 'write' }>, group: readonly Pending[]): Promise<void> {
    let hash = this.#hash;
    if (plan.roll) {
      await this.#fd?.close().catch(() => undefined);
      this.#fd = undefined;
      // 'ax': the segment must be new; a name clash means two writers share an id, which must never append.
      this.#fd = await open(join(this.#segmentsDir, plan.file), 'ax');
      await syncDir(this.#segmentsDir);
      hash = createHash('sha256');
    }
    const fd = this.#fd;
    if (!fd) throw new Error('feedback store: no open segment');
    const buf = group.length === 1 ? (group[0] as Pending).bytes : Buffer.concat(group.map((g) => g.bytes));
    let off = 0;
    while (off < buf.length) off += (await fd.write(buf, off)).bytesWritten;
    await fd.datasync();
    const next = hash.copy().update(buf);
    const state = afterWrite(this.#state, plan, {
      bytes: buf.length,
      documents: group.length,
      sha256: next.copy().digest('hex'),
    });
    await this.#writeManifest(state);
    this.#state = state;
    this.#hash = next;
  }

  /** Replace the manifest atomically: a reader sees the old one or the new one, never a torn file. */
  async #writeManifest(state: WriterState): Promise<void> {
    const tmp = join(this.#manifestsDir, `.${this.#manifestFile}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(manifestJson(state));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.#manifestsDir, this.#manifestFile));
    await syncDir(this.#manifestsDir);
  }

  /** Re-read the other writers' committed bytes when stale (the cap is store-wide). */
  async #refreshOthers(force: boolean): Promise<void> {
    const t = this.#now();
    if (!force && t - this.#othersReadAt < this.#othersRefreshMs) return;
    this.#othersReadAt = t;
    let total = 0;
    for (const name of await readdir(this.#manifestsDir).catch(() => [] as string[])) {
      if (name.startsWith('.') || !name.endsWith(FEEDBACK_MANIFEST_SUFFIX) || name === this.#manifestFile) continue;
      try {
        const m = feedbackManifestSchema.parse(JSON.parse(await readFile(join(this.#manifestsDir, name), 'utf8')));
        total += m.segments.reduce((n, s) => n + s.bytes, 0);
      } catch {
        // A manifest mid-replacement or damaged: the export names it; the cap counts what it can read.
      }
    }
    this.#othersBytes = total;
  }
}

/** fsync a directory, so a created or renamed entry survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
