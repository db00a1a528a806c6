/**
 * A small, safe tar extractor for model bundles shipped as `.tar` / `.tar.gz`. It handles what `tar`,
 * GNU tar and bsdtar write for a directory of regular files (ustar, pax `path`, GNU long names) and
 * refuses everything a bundle never needs and an attacker might use: links, devices, absolute paths and
 * `..` components. Entries are streamed to disk by offset, so a large ONNX file is never held in memory.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

const BLOCK = 512;

/** True if the file starts with the gzip magic bytes. */
async function isGzip(fh: FileHandle): Promise<boolean> {
  const b = Buffer.alloc(2);
  const { bytesRead } = await fh.read(b, 0, 2, 0);
  return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
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

/** Resolve an archive path inside `dest`, refusing absolute paths and escapes. */
function safeJoin(dest: string, name: string): string | undefined {
  const clean = name.replace(/^(\.\/)+/, '');
  if (clean === '' || clean === '.') return undefined;
  if (clean.startsWith('/') || /^[A-Za-z]:/.test(clean))
    throw new Error(`tar entry has an absolute path: ${JSON.stringify(name.slice(0, 200))}`);
  const norm = normalize(clean);
  if (norm.split(sep).includes('..'))
    throw new Error(`tar entry escapes the bundle directory: ${JSON.stringify(name.slice(0, 200))}`);
  return join(dest, norm);
}

/**
 * Extract `archive` (tar, optionally gzip-compressed) into `dest`. Limits guard against archive bombs.
 * Returns the relative paths of the extracted regular files.
 */
export async function extractTar(
  archive: string,
  dest: string,
  limits = { maxFiles: 10_000, maxBytes: 8 * 1024 ** 3 },
): Promise<string[]> {
  let tarPath = archive;
  let tmp: string | undefined;
  {
    const fh = await open(archive, 'r');
    try {
      if (await isGzip(fh)) {
        tmp = `${dest}.download.tar`;
        await mkdir(dirname(tmp), { recursive: true });
        await pipeline(createReadStream(archive), createGunzip(), createWriteStream(tmp));
        tarPath = tmp;
      }
    } finally {
      await fh.close();
    }
  }
  try {
    await mkdir(dest, { recursive: true });
    const fh = await open(tarPath, 'r');
    const files: string[] = [];
    let total = 0;
    try {
      const size = (await fh.stat()).size;
      let off = 0;
      let longName: string | undefined;
      let pax: Record<string, string> = {};
      const header = Buffer.alloc(BLOCK);
      while (off + BLOCK <= size) {
        await fh.read(header, 0, BLOCK, off);
        if (header.every((b) => b === 0)) break; // end-of-archive marker
        if (!checksumOk(header)) throw new Error('not a tar archive (header checksum mismatch)');
        const type = String.fromCharCode(header[156] ?? 0);
        const entrySize = octal(header, 124, 12);
        const dataOff = off + BLOCK;
        off = dataOff + Math.ceil(entrySize / BLOCK) * BLOCK;
        if (off > size + BLOCK) throw new Error('truncated tar archive');
        const readData = async () => {
          if (entrySize > 1024 * 1024) throw new Error('tar metadata entry too large');
          const b = Buffer.alloc(entrySize);
          await fh.read(b, 0, entrySize, dataOff);
          return b;
        };
        if (type === 'x') {
          pax = parsePax(await readData());
          continue;
        }
        if (type === 'g') continue;
        if (type === 'L') {
          longName = (await readData()).toString('utf8').replace(/\0+$/, '');
          continue;
        }
        const prefix = header.subarray(257, 263).toString('ascii').startsWith('ustar') ? field(header, 345, 155) : '';
        const name = pax.path ?? longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
        pax = {};
        longName = undefined;
        const target = safeJoin(dest, name);
        if (type === '5') {
          if (target) await mkdir(target, { recursive: true });
          continue;
        }
        if (type !== '0' && type !== '\0' && type !== '7') {
          throw new Error(
            `tar entry ${JSON.stringify(name.slice(0, 200))} is not a regular file or directory (type ${JSON.stringify(type)}); bundles contain only files`,
          );
        }
        if (!target) continue;
        if (files.length >= limits.maxFiles) throw new Error(`tar archive has more than ${limits.maxFiles} files`);
        total += entrySize;
        if (total > limits.maxBytes) throw new Error(`tar archive expands beyond ${limits.maxBytes} bytes`);
        await mkdir(dirname(target), { recursive: true });
        if (entrySize === 0) {
          await (await open(target, 'w')).close();
        } else {
          await pipeline(
            createReadStream(tarPath, { start: dataOff, end: dataOff + entrySize - 1 }),
            createWriteStream(target),
          );
        }
        files.push(name.replace(/^(\.\/)+/, ''));
      }
    } finally {
      await fh.close();
    }
    return files;
  } finally {
    if (tmp) await rm(tmp, { force: true });
  }
}
