/**
 * The retraining Job contract (docs/operator.md, "Drift detection and retraining") between the DriftPolicy
 * controller and the Job it starts (`ner-ops retrain` by default, or any image from the policy's template):
 * - the environment the controller sets on every container of the Job ({@link RetrainingEnv});
 * - the result: a compact JSON document the Job writes to its termination message and the controller reads
 *   from the Pod status. Only `outcome`, `bundleUri` and `digest` are required for a success.
 */
import { z } from 'zod';
import { sanitizeMessage, TERMINATION_MESSAGE_LIMIT } from './termination-message.js';

/** Environment variables the controller sets on the retraining Job's containers. */
export const RetrainingEnv = {
  BaseModelUri: 'NEROPS_BASE_MODEL_URI',
  BaseModelDigest: 'NEROPS_BASE_MODEL_DIGEST',
  DatasetUri: 'NEROPS_DATASET_URI',
  OutputUri: 'NEROPS_OUTPUT_URI',
  RunId: 'NEROPS_RUN_ID',
  /**
   * Optional: a feedback store (`pvc://` or `file://`, contracts/feedback-store.ts) whose export the Job merges
   * into the dataset. Set when the target NerDeployment stores feedback and the policy includes it.
   */
  FeedbackStoreUri: 'NEROPS_FEEDBACK_STORE_URI',
} as const;

/** Where the default Job mounts the claims of `pvc://claim/...` URIs: `<root>/<claim>/...`. */
export const PVC_ROOT_ENV = 'NEROPS_PVC_ROOT';

/** Exit codes of `ner-ops retrain`: 0 trained, 3 bad dataset (retrying cannot help), 4 anything else. */
export const RETRAIN_EXIT = { ok: 0, usage: 2, invalidDataset: 3, failed: 4 } as const;

/** Name of the retraining container in the default Job (the controller reads this container's status). */
export const RETRAIN_CONTAINER_NAME = 'retrain';

const prf = z.object({
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.number().int().optional(),
});

export const retrainResultSchema = z.object({
  resultVersion: z.literal(1),
  outcome: z.enum(['Succeeded', 'Failed']),
  /** CamelCase reason, e.g. Trained, InvalidDataset, LabelSetMismatch, BaseModelUnavailable. */
  reason: z.string().optional(),
  /** One line, no patient text. */
  message: z.string().optional(),
  /** Where the new bundle is (the output URI for the run). */
  bundleUri: z.string().optional(),
  /** sha256 of the new bundle's manifest. */
  digest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  format: z.enum(['crf', 'token-classification']).optional(),
  entityTypes: z.array(z.string()).max(64).optional(),
  /** The feedback export merged into the dataset: its digest and document counts (never content). */
  feedback: z
    .object({
      /** sha256 over the export's train.conll then dev.conll (FeedbackExportResult in feedback-store.ts). */
      digest: z.string().regex(/^[0-9a-f]{64}$/),
      /** Unique documents exported (train + held-out). */
      documents: z.number().int().min(0),
      /** Of those, held out (evaluated on, not trained on). */
      heldOutDocuments: z.number().int().min(0),
    })
    .optional(),
  /** sha256 of the training data from the dataset URI (the dataset file, or train + held-out files), without feedback. */
  datasetDigest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** Identifies the comparison of new and base model on the same held-out data. */
  evaluationId: z.string().max(128).optional(),
  /** Held-out micro scores of both models on the same data. */
  metrics: z
    .object({
      new: z.object({ micro: prf }),
      base: z.object({ micro: prf }).optional(),
      sentences: z.number().int().optional(),
    })
    .optional(),
});
export type RetrainResult = z.infer<typeof retrainResultSchema>;

/**
 * Serialise within the limit (drops the message tail first, then the entity types). The message passes
 * {@link sanitizeMessage}: one line, bounded, whatever the caller put in it.
 */
export function encodeRetrainResult(input: RetrainResult, limit = TERMINATION_MESSAGE_LIMIT): string {
  const result = input.message === undefined ? input : { ...input, message: sanitizeMessage(input.message) };
  let text = JSON.stringify(result);
  if (Buffer.byteLength(text) <= limit) return text;
  text = JSON.stringify({ ...result, message: result.message?.slice(0, 512) });
  if (Buffer.byteLength(text) <= limit) return text;
  return JSON.stringify({ ...result, message: result.message?.slice(0, 200), entityTypes: undefined });
}

/** Parse a termination message; undefined when absent or not ours (e.g. a log tail). */
export function decodeRetrainResult(message: string | undefined): RetrainResult | undefined {
  if (!message) return undefined;
  try {
    const parsed = retrainResultSchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
