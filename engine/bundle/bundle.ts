/**
 * Model bundles: a directory with `ner-model.json` (the manifest) and the files it pins by sha256.
 * The bundle digest is the sha256 of the manifest bytes, so one 64-hex string pins every file.
 * Nothing is loaded before every file has been verified.
 *
 * A bundle directory holds regular files only: each is opened without following a symlink, checked to be
 * a regular file (not a device, FIFO or socket, which could be read without end), and read up to its size
 * within the bundle's size cap. ONNX models must embed their tensors (see onnx-external-data.ts).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, manifestSchema, type Manifest } from '../../contracts/bundle-manifest.js';
import { MODEL_FETCH_DEFAULTS } from '../../contracts/model-source-env.js';
import { OnnxFormatError, usesExternalData } from './onnx-external-data.js';
import { parseJsonFile, schemaProblem } from '../json-problems.js';

export class BundleVerificationError extends Error {
  constructor(
    message: string,
    readonly dir: string,
  ) {
    super(`model bundle ${dir}: ${message}`);
    this.name = 'BundleVerificationError';
  }
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic JSON: object keys sorted at every level, so equal content gives equal digests. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 1) + '\n';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Write the given files and a manifest pinning them; returns the bundle digest. */
export async function writeBundle(
  dir: string,
  manifest: Omit<Manifest, 'files'>,
  files: Record<string, string | Uint8Array>,
): Promise<string> {
  const digests: Record<string, string> = {};
  for (const name of Object.keys(files).sort()) {
    const data = files[name] as string | Uint8Array;
    await writeFile(join(dir, name), data);
    digests[name] = sha256(data);
  }
  const full = manifestSchema.parse({ ...manifest, files: digests });
  const text = canonicalJson(full);
  await writeFile(join(dir, MANIFEST_FILE), text);
  return sha256(text);
}

/** The digest of a bundle directory (sha256 of its manifest), without verifying the other files. */
export async function bundleDigest(dir: string): Promise<string> {
  return sha256(await readManifestBytes(dir, MODEL_FETCH_DEFAULTS.maxBytes));
}

async function readManifestBytes(dir: string, maxBytes: number): Promise<Buffer> {
  try {
    return await readBundleFile(dir, MANIFEST_FILE, maxBytes);
  } catch (err) {
    if (err instanceof BundleFileError) throw new BundleVerificationError(err.message, dir);
    const code = (err as NodeJS.ErrnoException).code;
    throw new BundleVerificationError(
      code === 'ENOENT' ? `no ${MANIFEST_FILE} (not a model bundle)` : `cannot read ${MANIFEST_FILE}: ${code}`,
      dir,
    );
  }
}

/** A bundle file that is not a plain regular file inside the bundle, or is over the cap. */
class BundleFileError extends Error {}

/**
 * Read `name` (a path relative to `dir`) if it is a regular file no larger than `maxBytes`. No component of
 * the path may be a symlink, and the file is opened non-blocking so a FIFO cannot stall the read.
 */
async function readBundleFile(dir: string, name: string, maxBytes: number): Promise<Buffer> {
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const st = await lstat(join(dir, ...parts.slice(0, i)));
    if (!st.isDirectory())
      throw new BundleFileError(
        `file ${name}: ${parts.slice(0, i).join('/')} is not a directory (symlinks are refused)`,
      );
  }
  let fh;
  try {
    fh = await open(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP')
      throw new BundleFileError(`file ${name} is a symbolic link; bundles contain only regular files`);
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile())
      throw new BundleFileError(
        `file ${name} is not a regular file (a device, FIFO, socket or directory); bundles contain only regular files`,
      );
    if (st.size > maxBytes)
      throw new BundleFileError(`file ${name} is ${st.size} bytes, over the bundle size cap of ${maxBytes} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) throw new BundleFileError(`file ${name} shrank while being read`);
      off += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

export interface VerifiedBundle {
  dir: string;
  digest: string;
  manifest: Manifest;
  /** Contents of every pinned file, already verified against the manifest. */
  files: Map<string, Buffer>;
}

/**
 * Read and verify a bundle: the manifest digest (when `expectedDigest` is given), the manifest's
 * schema, and the sha256 of every pinned file. Throws BundleVerificationError naming the first problem.
 * Files are returned from memory so nothing can change between verification and loading.
 */
export async function verifyBundle(
  dir: string,
  expectedDigest?: string,
  options: { maxBytes?: number | undefined } = {},
): Promise<VerifiedBundle> {
  const maxBytes = options.maxBytes ?? MODEL_FETCH_DEFAULTS.maxBytes;
  const bytes = await readManifestBytes(dir, maxBytes);
  let total = bytes.length;
  const digest = sha256(bytes);
  if (expectedDigest !== undefined && expectedDigest.toLowerCase() !== digest) {
    throw new BundleVerificationError(
      `digest mismatch: expected sha256 ${expectedDigest}, manifest has ${digest}`,
      dir,
    );
  }
  let parsed: unknown;
  try {
    parsed = parseJsonFile(bytes.toString('utf8'), MANIFEST_FILE);
  } catch (err) {
    throw new BundleVerificationError((err as Error).message, dir);
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    throw new BundleVerificationError(schemaProblem(MANIFEST_FILE, manifestSchema, result.error.issues[0]), dir);
  }
  const manifest = result.data;
  const files = new Map<string, Buffer>();
  for (const [name, expected] of Object.entries(manifest.files)) {
    let data: Buffer;
    try {
      data = await readBundleFile(dir, name, maxBytes - total);
    } catch (err) {
      if (err instanceof BundleFileError) throw new BundleVerificationError(err.message, dir);
      throw new BundleVerificationError(
        `file ${name} listed in the manifest is missing (${(err as NodeJS.ErrnoException).code})`,
        dir,
      );
    }
    total += data.length;
    const actual = sha256(data);
    if (actual !== expected) {
      throw new BundleVerificationError(
        `file ${name} was modified: sha256 ${actual} does not match the manifest's ${expected}`,
        dir,
      );
    }
    if (name.endsWith('.onnx')) refuseExternalData(name, data, dir);
    files.set(name, data);
  }
  return { dir, digest, manifest, files };
}

/**
 * ONNX Runtime would load a tensor stored outside the model from the process's working directory: outside
 * the bundle and its digest. Our bundles never store tensors that way, so such a model is refused. A model
 * too malformed to scan is left to the loader, which refuses it as corrupt (load.ts).
 */
function refuseExternalData(name: string, data: Buffer, dir: string): void {
  let external: boolean;
  try {
    external = usesExternalData(data);
  } catch (err) {
    if (err instanceof OnnxFormatError) return;
    throw err;
  }
  if (external)
    throw new BundleVerificationError(
      `file ${name} refers to ONNX external data (a tensor stored outside the model); bundles must embed every tensor`,
      dir,
    );
}
