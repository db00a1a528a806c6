/**
 * A small, safe tar reader for model bundles shipped as `.tar` / `.tar.gz`. It handles what `tar`, GNU tar
 * and bsdtar write for a directory of regular files (ustar, pax `path`, GNU long names) and refuses
 * everything a bundle never needs and an attacker might use: links, devices, absolute paths and `..`
 * components.
 *
 * The archive is read as one stream (gunzipped on the fly when it is compressed) and every byte that comes
 * out of the decompressor counts against `maxBytes`, so a small archive that expands without end is refused
 * as soon as it passes the cap, before the expansion is written anywhere. Entries are streamed to disk, so a
 * large ONNX file is never held in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

const BLOCK = 512;
/** pax and GNU long-name records are a few hundred bytes; anything larger is not a bundle's. */
const MAX_METADATA_ENTRY = 1024 * 1024;

export interface TarLimits {
  /** Most regular files an archive may hold. */
  maxFiles: number;
  /** Most bytes the archive may expand to (the tar stream after decompression: headers, data, padding). */
  maxBytes: number;
  /** Aborts the read (the caller's overall deadline). */
  signal?: AbortSignal | undefined;
}

export const DEFAULT_TAR_LIMITS: TarLimits = { maxFiles: 10_000, maxBytes: 8 * 1024 ** 3 };

/** The archive broke a limit (size, file count, deadline): the message names the limit. */
export class TarLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarLimitError';
  }
}

function field(h: Buffer, off: number, len: number): string {
  const raw = h.subarray(off, off + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

function octal(h: Buffer, off: number, len: number): number {
  const raw = h.subarray(off, off + len);
  if ((raw[0] ?? 0) & 0x80) {
    // GNU base-256 for sizes >= 8 GiB.
    let n = 0;
    for (let i = 1; i < raw.length; i++) n = n * 256 + (raw[i] ?? 0);
    return n;
  }
  const s = field(h, off, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error('not a tar archive (corrupt header)');
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = octal(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] ?? 0);
  return sum === stored;
}

function parsePax(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    if (space === -1) break;
    const len = parseInt(buf.subarray(i, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = buf.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * The archive path of an entry, normalised and relative ('' for the archive root), refusing absolute paths
 * and escapes. Paths are quoted in errors only up to 200 characters (archive names, not data).
 */
export function entryPath(name: string): string {
  const clean = name.replace(/^(\.\/)+/, '');
  if (clean === '' || clean === '.') return '';
  if (clean.startsWith('/') || /^[A-Za-z]:/.test(clean))
    throw new Error(`tar entry has an absolute path: ${JSON.stringify(name.slice(0, 200))}`);
  const norm = normalize(clean).replace(/\/+$/, '');
  if (norm.split(sep).includes('..'))
    throw new Error(`tar entry escapes the bundle directory: ${JSON.stringify(name.slice(0, 200))}`);
  return norm;
}

/** Exact-size reads over a byte stream that counts every byte against the cap and the deadline. */
class CappedReader {
  #it: AsyncIterator<Buffer>;
  #buf: Buffer = Buffer.alloc(0);
  #total = 0;
  constructor(
    stream: AsyncIterable<Buffer>,
    private readonly limits: TarLimits,
  ) {
    this.#it = stream[Symbol.asyncIterator]();
  }

  /** Fill the buffer to at least `n` bytes (fewer at the end of the stream). */
  async #fill(n: number): Promise<void> {
    while (this.#buf.length < n) {
      this.limits.signal?.throwIfAborted();
      const r = await this.#it.next();
      if (r.done) return;
      const chunk = r.value;
      this.#total += chunk.length;
      if (this.#total > this.limits.maxBytes)
        throw new TarLimitError(`tar archive expands beyond the size cap of ${this.limits.maxBytes} bytes`);
      this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    }
  }

  /** Exactly `n` bytes, or fewer when the stream ends first. */
  async read(n: number): Promise<Buffer> {
    await this.#fill(n);
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(out.length);
    return out;
  }

  /** The next `n` bytes in the chunks they arrive in; throws when the stream ends first. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length === 0) await this.#fill(1);
      if (this.#buf.length === 0) throw new Error('truncated tar archive');
      const out = this.#buf.subarray(0, Math.min(left, this.#buf.length));
      this.#buf = this.#buf.subarray(out.length);
      left -= out.length;
      yield out;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const chunk of this.take(n)) void chunk;
  }

  async close(): Promise<void> {
    await this.#it.return?.();
  }
}

/** The archive as a byte stream, gunzipped when it starts with the gzip magic bytes. */
async function archiveStream(archive: string): Promise<{ stream: Readable; destroy: () => void }> {
  const fh = await open(archive, 'r');
  let gz = false;
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    gz = bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
  const source = createReadStream(archive);
  if (!gz) return { stream: source, destroy: () => source.destroy() };
  const gunzip = createGunzip();
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  return {
    stream: gunzip,
    destroy: () => {
      source.destroy();
      gunzip.destroy();
    },
  };
}

interface Entry {
  /** Normalised relative path ('' for the root). */
  path: string;
  /** The path as the archive spells it (for messages). */
  name: string;
  type: 'file' | 'directory';
  size: number;
}

/**
 * Read every entry of `archive` in order. `visit` may consume the entry's data (its `data` iterable); what
 * it leaves is skipped. Links, devices and other entry types are refused.
 */
async function walkTar(
  archive: string,
  limits: TarLimits,
  visit: (entry: Entry, data: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const { stream, destroy } = await archiveStream(archive);
  const reader = new CappedReader(stream, limits);
  const onAbort = () => destroy();
  limits.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let longName: string | undefined;
    let pax: Record<string, string> = {};
    let files = 0;
    for (;;) {
      const header = await reader.read(BLOCK);
      if (header.length === 0) break; // a stream without the end-of-archive blocks
      if (header.length < BLOCK) throw new Error('truncated tar archive');
      if (header.every((b) => b === 0)) break; // end-of-archive marker
      if (!checksumOk(header)) throw new Error('not a tar archive (header checksum mismatch)');
      const type = String.fromCharCode(header[156] ?? 0);
      const size = octal(header, 124, 12);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      const metadata = async (): Promise<Buffer> => {
        if (size > MAX_METADATA_ENTRY) throw new Error('tar metadata entry too large');
        const b = await reader.read(padded);
        if (b.length < padded) throw new Error('truncated tar archive');
        return Buffer.from(b.subarray(0, size));
      };
      if (type === 'x') {
        pax = parsePax(await metadata());
        continue;
      }
      if (type === 'g') {
        await reader.skip(padded);
        continue;
      }
      if (type === 'L') {
        longName = (await metadata()).toString('utf8').replace(/\0+$/, '');
        continue;
      }
      const prefix = header.subarray(257, 263).toString('ascii').startsWith('ustar') ? field(header, 345, 155) : '';
      const name = pax.path ?? longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
      pax = {};
      longName = undefined;
      const path = entryPath(name);
      if (type !== '5' && type !== '0' && type !== '\0' && type !== '7') {
        throw new Error(
          `tar entry ${JSON.stringify(name.slice(0, 200))} is not a regular file or directory (type ${JSON.stringify(type)}); bundles contain only files`,
        );
      }
      const isDir = type === '5';
      if (!isDir && path !== '' && ++files > limits.maxFiles)
        throw new TarLimitError(`tar archive has more than ${limits.maxFiles} files (the file cap)`);
      let consumed = 0;
      const data = async function* (): AsyncGenerator<Buffer> {
        for await (const chunk of reader.take(size)) {
          consumed += chunk.length;
          yield chunk;
        }
      };
      await visit({ path, name, type: isDir ? 'directory' : 'file', size: isDir ? 0 : size }, data());
      await reader.skip(padded - consumed);
    }
  } finally {
    limits.signal?.removeEventListener('abort', onAbort);
    await reader.close().catch(() => undefined);
    destroy();
  }
}

/**
 * Extract `archive` (tar, optionally gzip-compressed) into `dest`, within `limits`. Returns the relative
 * paths of the extracted regular files.
 */
export async function extractTar(archive: string, dest: string, limits: Partial<TarLimits> = {}): Promise<string[]> {
  const all: TarLimits = { ...DEFAULT_TAR_LIMITS, ...limits };
  await mkdir(dest, { recursive: true });
  const files: string[] = [];
  await walkTar(archive, all, async (entry, data) => {
    if (entry.path === '') return;
    const target = join(dest, entry.path);
    if (entry.type === 'directory') {
      await mkdir(target, { recursive: true });
      return;
    }
    await mkdir(dirname(target), { recursive: true });
    const fh = await open(target, 'w');
    try {
      for await (const chunk of data) await fh.write(chunk);
    } finally {
      await fh.close();
    }
    files.push(entry.path);
  });
  return files;
}

/**
 * The sha256 of every regular file whose archive path `wanted` accepts (the last entry wins when a path
 * repeats, as it does on extraction), without writing anything: lets a caller check a pinned manifest
 * before the archive is extracted.
 */
export async function hashTarEntries(
  archive: string,
  wanted: (path: string) => boolean,
  limits: Partial<TarLimits> = {},
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await walkTar(archive, { ...DEFAULT_TAR_LIMITS, ...limits }, async (entry, data) => {
    if (entry.type !== 'file' || !wanted(entry.path)) return;
    const hash = createHash('sha256');
    for await (const chunk of data) hash.update(chunk);
    out.set(entry.path, hash.digest('hex'));
  });
  return out;
}
