/**
 * Model bundles: a directory with `ner-model.json` (the manifest) and the files it pins by sha256.
 * The bundle digest is the sha256 of the manifest bytes, so one 64-hex string pins every file.
 * Nothing is loaded before every file has been verified.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, manifestSchema, type Manifest } from '../../contracts/bundle-manifest.js';
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
  return sha256(await readManifestBytes(dir));
}

async function readManifestBytes(dir: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, MANIFEST_FILE));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BundleVerificationError(
      code === 'ENOENT' ? `no ${MANIFEST_FILE} (not a model bundle)` : `cannot read ${MANIFEST_FILE}: ${code}`,
      dir,
    );
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
export async function verifyBundle(dir: string, expectedDigest?: string): Promise<VerifiedBundle> {
  const bytes = await readManifestBytes(dir);
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
      data = await readFile(join(dir, name));
    } catch (err) {
      throw new BundleVerificationError(
        `file ${name} listed in the manifest is missing (${(err as NodeJS.ErrnoException).code})`,
        dir,
      );
    }
    const actual = sha256(data);
    if (actual !== expected) {
      throw new BundleVerificationError(
        `file ${name} was modified: sha256 ${actual} does not match the manifest's ${expected}`,
        dir,
      );
    }
    files.set(name, data);
  }
  return { dir, digest, manifest, files };
}
