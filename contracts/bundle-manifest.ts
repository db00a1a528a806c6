/**
 * The bundle manifest (`ner-model.json`), the contract between the process that writes a model bundle
 * (the trainer, `ner-ops package`) and those that read one (the engine's verifier and loader, the bundle
 * fetchers of the server, the CLI and the retraining Job). A bundle is a directory holding the manifest
 * and the files it pins by sha256; the bundle digest is the sha256 of the manifest bytes.
 */
import { z } from 'zod';

export const MANIFEST_FILE = 'ner-model.json';
export const MANIFEST_FORMAT_VERSION = 1;
/**
 * The format version of a manifest with an `assertions` entry. Runtimes from before the assertion stage accept
 * only version 1, so they refuse such a bundle instead of serving it without the assertions it was made with.
 * Bundles without assertion rules keep writing version 1 (their digests do not change).
 */
export const ASSERTIONS_FORMAT_VERSION = 2;

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

/** The assertion rules a bundle carries: a rule file pinned in `files`, and the language it is for. */
const assertionsSection = z.object({
  /** BCP 47 language tag of the notes the rules are for, e.g. `en`, `nb`. */
  language: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a language tag such as en or nb'),
  /** The rule file (YAML, self-contained: no `extends`), one of `files`. */
  file: fileName,
});

export const manifestSchema = z
  .object({
    formatVersion: z.union([z.literal(MANIFEST_FORMAT_VERSION), z.literal(ASSERTIONS_FORMAT_VERSION)]),
    format: z.enum(['crf', 'token-classification']),
    name: z.string().min(1),
    version: z.string().min(1),
    entityTypes: z.array(z.string().min(1)),
    files: z.record(fileName, sha256Hex),
    /** sha256 over the sorted, newline-joined vocabulary: identifies the vocabulary behind the unknown-token rate. */
    vocabularyFingerprint: sha256Hex.optional(),
    training: z.record(z.string(), z.unknown()).optional(),
    crf: crfSection.optional(),
    /** Assertion rules (format version 2); absent: the bundle has no assertion stage of its own. */
    assertions: assertionsSection.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.assertions === undefined) return;
    if (m.formatVersion < ASSERTIONS_FORMAT_VERSION)
      ctx.addIssue({
        code: 'custom',
        path: ['formatVersion'],
        message: `must be ${ASSERTIONS_FORMAT_VERSION} when the manifest has assertions`,
      });
    if (!Object.hasOwn(m.files, m.assertions.file))
      ctx.addIssue({ code: 'custom', path: ['assertions', 'file'], message: 'must be one of the pinned files' });
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type CrfManifestSection = z.infer<typeof crfSection>;
export type AssertionsManifestSection = z.infer<typeof assertionsSection>;
