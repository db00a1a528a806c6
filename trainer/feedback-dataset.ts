/**
 * The feedback part of a retraining dataset: the target NerDeployment's feedback store exported with the same
 * code as `ner-ops feedback export` (engine/feedback/export.ts: every segment verified against its manifest,
 * identical documents kept once, a content-hash split into train and held-out), then appended to the base
 * dataset's train and held-out sentences. Only counts and the export's digest leave this module; the text stays
 * in the Job's scratch directory.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FEEDBACK_MANIFEST_SUFFIX, FEEDBACK_MANIFESTS_DIR } from '../contracts/feedback-store.js';
import type { RetrainResult } from '../contracts/retraining-job.js';
import { readConll, type LabeledSentence } from '../engine/corpus/conll.js';
import { exportStore, StoreCorruptError } from '../engine/feedback/export.js';
import { localPath } from '../engine/locations.js';

/** Share of feedback documents held out, and the split seed: `ner-ops feedback export`'s defaults. */
export const FEEDBACK_HOLDOUT = 0.2;
export const FEEDBACK_SPLIT_SEED = 1;

/** The exported feedback: sentences per side, and what the result and lineage record. */
export interface FeedbackDataset {
  train: LabeledSentence[];
  dev: LabeledSentence[];
  /** The export's train and dev files (in the scratch directory), for error messages. */
  trainFile: string;
  devFile: string;
  summary: NonNullable<RetrainResult['feedback']>;
}

/** Why the store cannot be merged; `reason` maps onto the Job's RetrainError reasons. */
export class FeedbackDatasetError extends Error {
  constructor(
    readonly reason: 'InvalidDataset',
    message: string,
  ) {
    super(message);
    this.name = 'FeedbackDatasetError';
  }
}

/** True when some writer has written a manifest (a store no server has written to yet holds nothing). */
async function hasManifests(root: string): Promise<boolean> {
  try {
    return (await readdir(join(root, FEEDBACK_MANIFESTS_DIR))).some(
      (n) => !n.startsWith('.') && n.endsWith(FEEDBACK_MANIFEST_SUFFIX),
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new FeedbackDatasetError(
      'InvalidDataset',
      `feedback store: cannot read its manifests (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/**
 * Export the store at `storeUri` into `outDir`. Undefined when the store holds no document yet (the run trains on
 * the dataset alone). A segment failing its digest refuses the run, naming the segment (never its content).
 */
export async function exportFeedback(
  storeUri: string,
  pvcRoot: string,
  outDir: string,
): Promise<FeedbackDataset | undefined> {
  const root = localPath(storeUri, pvcRoot);
  if (!root)
    throw new FeedbackDatasetError(
      'InvalidDataset',
      `unsupported feedback store URI scheme: ${storeUri.split(':')[0]}`,
    );
  if (!(await hasManifests(root))) return undefined;
  let exported;
  try {
    exported = await exportStore(root, outDir, {
      holdout: FEEDBACK_HOLDOUT,
      seed: FEEDBACK_SPLIT_SEED,
      allowEmpty: true,
    });
  } catch (err) {
    if (err instanceof StoreCorruptError)
      throw new FeedbackDatasetError(
        'InvalidDataset',
        `feedback store ${storeUri}: refusing ${err.file}: ${err.problem}`,
      );
    throw err;
  }
  if (exported.documents === 0) return undefined;
  return {
    train: await readConll(exported.trainFile),
    dev: await readConll(exported.devFile),
    trainFile: exported.trainFile,
    devFile: exported.devFile,
    summary: { digest: exported.digest, documents: exported.documents, heldOutDocuments: exported.devDocuments },
  };
}

/**
 * Feedback sentences after the dataset's, their documents numbered after the dataset's last one, so that no
 * feedback note continues a dataset document (the trainer reads document context across sentences).
 */
export function appendDocuments(
  base: readonly LabeledSentence[],
  extra: readonly LabeledSentence[],
): LabeledSentence[] {
  const offset = base.reduce((m, s) => Math.max(m, s.document ?? 0), 0) + 1;
  return [...base, ...extra.map((s) => ({ ...s, document: (s.document ?? 0) + offset }))];
}
