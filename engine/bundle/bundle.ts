/**
 * Model bundles: a directory with `ner-model.json` (the manifest) and the files it pins by sha256.
 * The bundle digest is the sha256 of the manifest bytes, so one 64-hex string pins every file.
 * Nothing is loaded before every file has been verified.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const MANIFEST_FILE = 'ner-model.json';
export const MANIFEST_FORMAT_VERSION = 1;

export class BundleVerificationError extends Error {
  constructor(
    message: string,
    readonly dir: string,
  ) {
    super(`model bundle ${dir}: ${message}`);
    this.name = 'BundleVerificationError';
  }
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest (64 lowercase hex characters)');
const fileName = z
  .string()
  .min(1)
  .refine(
    (f) => !f.includes('/') && !f.includes('\\') && f !== '.' && f !== '..',
    'must be a plain file name inside the bundle',
  );

const crfSection = z.object({
  labels: z.array(z.string().min(1)).min(1),
  features: z.object({
    featureVersion: z.number().int().positive(),
    bucketBits: z.number().int().min(8).max(24),
    clusters: z.boolean(),
    /** Gazetteer features (gazetteer.tsv in the bundle); absent in bundles from before they existed. */
    gazetteer: z.boolean().optional(),
    /** Subword features (feature version 3); absent in older bundles. */
    subwords: z.boolean().optional(),
    /** Abbreviation-definition features (feature version 3); absent in older bundles. */
    abbreviations: z.boolean().optional(),
    /** Short-form reuse with this many sentences of document context (feature version 4); absent in older bundles. */
    shortFormContext: z.number().int().min(0).optional(),
    /** External-lexicon features (lexicon.tsv in the bundle, feature version 5 or 6); absent in older bundles. */
    lexicon: z.boolean().optional(),
    slots: z.number().int().positive(),
  }),
  tokenizer: z.object({ splitHyphens: z.boolean() }),
  transitions: z.object({
    trans: z.array(z.array(z.number())),
    start: z.array(z.number()),
    end: z.array(z.number()),
  }),
  decoding: z.object({ outsideBias: z.number() }),
  /** The MLP branch over window word embeddings (wide & deep emissions); absent for a purely linear model. */
  dense: z
    .object({
      /** Tokens per window (odd: the token and (window-1)/2 neighbours each side). */
      window: z
        .number()
        .int()
        .positive()
        .refine((w) => w % 2 === 1, 'must be odd'),
      /** Word-vector dimension (the table has 3 more indicator columns for UNK, BOS, EOS). */
      embeddingDim: z.number().int().positive(),
      hidden: z.number().int().positive(),
      /** Models averaged into the one graph (their hidden layers concatenated). */
      ensemble: z.number().int().positive(),
      vocabulary: z.object({ file: fileName, words: z.number().int().nonnegative() }),
    })
    .optional(),
});

export const manifestSchema = z.object({
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  format: z.enum(['crf', 'token-classification']),
  name: z.string().min(1),
  version: z.string().min(1),
  entityTypes: z.array(z.string().min(1)),
  files: z.record(fileName, sha256Hex),
  /** sha256 over the sorted, newline-joined vocabulary: identifies the vocabulary behind the unknown-token rate. */
  vocabularyFingerprint: sha256Hex.optional(),
  training: z.record(z.string(), z.unknown()).optional(),
  crf: crfSection.optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type CrfManifestSection = z.infer<typeof crfSection>;

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
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new BundleVerificationError(`${MANIFEST_FILE} is not valid JSON: ${(err as Error).message}`, dir);
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new BundleVerificationError(
      `${MANIFEST_FILE} is invalid at '${issue?.path.join('.') || '(root)'}': ${issue?.message}`,
      dir,
    );
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
