/**
 * The feedback store's layout and manifest: `ner-ops serve --feedback-store URI` writes it, `ner-ops feedback
 * export` (and anything else that turns it into a dataset) reads it. See docs/feedback.md ("The store").
 *
 *   <store>/segments/<writer>-<seq>.conll   CoNLL documents, append-only, one open segment per writer
 *   <store>/manifests/<writer>.json          the writer's segments: committed bytes, documents, sha256
 *
 * A writer is one server process (`<pod name>.<random>`), so no file is ever shared by two writers. The
 * manifest is the source of truth: only the first `bytes` bytes of a segment are committed, and the manifest
 * is replaced atomically (temporary file, fsync, rename) after the segment's bytes are on disk. A crash
 * between the two leaves an uncommitted tail that readers ignore; temporary files start with `.`.
 */
import { z } from 'zod';

export const FEEDBACK_SEGMENTS_DIR = 'segments';
export const FEEDBACK_MANIFESTS_DIR = 'manifests';
export const FEEDBACK_MANIFEST_SUFFIX = '.json';
export const FEEDBACK_SEGMENT_SUFFIX = '.conll';

/** A writer id or a segment file name: no path separators, no leading dot (those are temporary files). */
const safeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'must be a safe file name');

export const feedbackSegmentSchema = z.strictObject({
  /** File name under `segments/`. */
  file: safeName,
  /** Documents in the committed prefix. */
  documents: z.number().int().min(0),
  /** Committed length in bytes; anything after it is an uncommitted tail. */
  bytes: z.number().int().min(0),
  /** sha256 (hex) of the committed prefix. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** No more documents will be appended (the writer moved on to the next segment). */
  sealed: z.boolean(),
});
export type FeedbackSegment = z.infer<typeof feedbackSegmentSchema>;

export const feedbackManifestSchema = z.strictObject({
  manifestVersion: z.literal(1),
  writer: safeName,
  segments: z.array(feedbackSegmentSchema),
});
export type FeedbackManifest = z.infer<typeof feedbackManifestSchema>;

/** The result `ner-ops feedback export` prints (one JSON line) after writing the dataset. */
export interface FeedbackExportResult {
  /** sha256 over train.conll then dev.conll: the same digest the retraining Job records for the dataset. */
  digest: string;
  documents: number;
  trainDocuments: number;
  devDocuments: number;
  /** Identical documents (same tokens and labels) found more than once and kept once. */
  duplicates: number;
  segments: number;
  trainFile: string;
  devFile: string;
}
