/**
 * Where audit lines go, apart from the operational log: stdout (each line a JSON object carrying the
 * `nerops_audit` marker, for a collector to route), or an append-only file rotated by size (a volume the
 * deployment mounts). Writes never wait on the request path; a sink that cannot keep up (more than
 * `maxBufferedBytes` unwritten) drops records and counts them rather than grow without bound.
 */
import { createWriteStream, openSync, renameSync, statSync, type WriteStream } from 'node:fs';
import type { AuditRecord } from './record.js';

export interface AuditSink {
  write(record: AuditRecord): void;
  close(): Promise<void>;
  /** Records dropped because the sink was behind. */
  readonly dropped: number;
}

export type AuditSinkSpec = { kind: 'off' } | { kind: 'stdout' } | { kind: 'file'; path: string };

/** `off`, `stdout`, or `file:/path` (the serve flag's syntax). */
export function parseAuditSinkSpec(value: string): AuditSinkSpec {
  if (value === 'off' || value === 'stdout') return { kind: value };
  if (value.startsWith('file:') && value.length > 'file:'.length && value.slice(5).startsWith('/'))
    return { kind: 'file', path: value.slice(5) };
  throw new Error(`expected off, stdout or file:/absolute/path, got '${value.slice(0, 64)}'`);
}

export interface FileSinkOptions {
  /** Rotate when the file reaches this size (default 100 MiB). */
  maxBytes?: number;
  /** Rotated files kept: path.1 … path.N (default 5). */
  keep?: number;
  maxBufferedBytes?: number;
}

const DEFAULT_MAX_BUFFERED = 8 * 1024 * 1024;

class StreamSink implements AuditSink {
  dropped = 0;
  protected closed = false;
  constructor(
    protected stream: NodeJS.WritableStream & { writableLength: number },
    protected readonly maxBuffered: number,
  ) {}
  write(record: AuditRecord): void {
    if (this.closed || this.stream.writableLength > this.maxBuffered) {
      this.dropped++;
      return;
    }
    this.stream.write(JSON.stringify(record) + '\n');
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

class FileSink extends StreamSink {
  #size: number;
  constructor(
    private readonly path: string,
    private readonly o: Required<FileSinkOptions>,
  ) {
    super(openAppend(path), o.maxBufferedBytes);
    this.#size = sizeOf(path);
  }
  override write(record: AuditRecord): void {
    const line = JSON.stringify(record) + '\n';
    if (this.closed || this.stream.writableLength > this.maxBuffered) {
      this.dropped++;
      return;
    }
    if (this.#size > 0 && this.#size + line.length > this.o.maxBytes) this.#rotate();
    this.#size += Buffer.byteLength(line);
    this.stream.write(line);
  }
  /** path → path.1 → … → path.keep (the oldest falls off); a new file takes the name. */
  #rotate(): void {
    (this.stream as WriteStream).end();
    for (let i = this.o.keep - 1; i >= 1; i--) renameIfPresent(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    renameIfPresent(this.path, `${this.path}.1`);
    this.stream = openAppend(this.path);
    this.#size = 0;
  }
  override close(): Promise<void> {
    this.closed = true;
    return new Promise((r) => (this.stream as WriteStream).end(() => r()));
  }
}

/**
 * Opened synchronously: a stream that opens lazily would open the path only after a rotation renamed it,
 * and every generation would land in one file.
 */
function openAppend(path: string): WriteStream {
  const stream = createWriteStream(path, { fd: openSync(path, 'a', 0o600) });
  // A failing disk must not crash the server: the audit line is lost, the serving goes on (counted as dropped
  // by the next write's buffer check, and the error is visible in the sink's `dropped`).
  stream.on('error', () => undefined);
  return stream;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export function createAuditSink(spec: AuditSinkSpec, options: FileSinkOptions = {}): AuditSink | undefined {
  if (spec.kind === 'off') return undefined;
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  if (spec.kind === 'stdout') return new StreamSink(process.stdout, maxBuffered);
  return new FileSink(spec.path, {
    maxBytes: options.maxBytes ?? 100 * 1024 * 1024,
    keep: options.keep ?? 5,
    maxBufferedBytes: maxBuffered,
  });
}
