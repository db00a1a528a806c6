/**
 * The contract between `ner-ops validate` (the NerModel validation Job) and the NerModel controller:
 * a compact JSON document written to the Job pod's termination message (≤ 4 KiB) and an exit code
 * per outcome class. Both sides import this module, so the shape cannot drift between them.
 */
import { z } from 'zod';
import { sanitizeMessage, TERMINATION_MESSAGE_LIMIT } from './termination-message.js';

/**
 * Exit codes of `ner-ops validate`, one per outcome class, so the controller can classify a Job even
 * when the termination message is lost (e.g. the process was OOM-killed before writing it).
 * - `Rejected`: the artifact itself is bad (digest mismatch, invalid manifest, corrupt ONNX, failed
 *   smoke inference, metrics below the minimum). Retrying cannot help; the NerModel spec is immutable.
 * - `Failed`: the artifact could not be examined (source unreachable, dataset unreadable, timeout).
 *   The controller retries with a long back-off, never in a hot loop.
 */
export const VALIDATE_EXIT = { ok: 0, usage: 2, rejected: 3, failed: 4 } as const;

export type ValidationOutcome = 'Ready' | 'Rejected' | 'Failed';

const round = z.number();
const prf = z.object({ precision: round, recall: round, f1: round, support: z.number().int() });
const histogram = z.object({ bounds: z.array(z.number()), counts: z.array(z.number()) });

/** Compact drift baseline (a subset of profile.json, rounded). */
export const compactProfileSchema = z.object({
  documents: z.number().int(),
  tokens: z.number().int(),
  entities: z.number().int(),
  labelDistribution: z.record(z.string(), z.number()),
  confidence: histogram.optional(),
  documentLength: histogram.optional(),
  unknownTokenRate: z.number(),
});
export type CompactProfile = z.infer<typeof compactProfileSchema>;

export const validationMetricsSchema = z.object({
  /**
   * Where the scores come from: the Job's own evaluation on `--dataset` (spec.evaluation), or the bundle's
   * metrics.json.
   */
  source: z.enum(['evaluation', 'bundle']),
  micro: prf,
  perType: z.record(z.string(), prf).optional(),
  sentences: z.number().int().optional(),
});
export type ValidationMetrics = z.infer<typeof validationMetricsSchema>;

export const validationResultSchema = z.object({
  resultVersion: z.literal(1),
  outcome: z.enum(['Ready', 'Rejected', 'Failed']),
  /** Machine-readable reason (CamelCase), e.g. DigestMismatch, SourceUnreachable, CorruptModel. */
  reason: z.string(),
  /** Human-readable, one line, no secrets, no patient text. */
  message: z.string(),
  digest: z.string().optional(),
  sizeBytes: z.number().int().optional(),
  name: z.string().optional(),
  version: z.string().optional(),
  format: z.string().optional(),
  entityTypes: z.array(z.string()).optional(),
  metrics: validationMetricsSchema.optional(),
  profile: compactProfileSchema.optional(),
  /** Smoke inference latency (one short document, after load). */
  smokeLatencyMs: z.number().optional(),
});
export type ValidationResult = z.infer<typeof validationResultSchema>;

/** Reasons written by `ner-ops validate`. */
export const ValidationReason = {
  Validated: 'Validated',
  DigestMismatch: 'DigestMismatch',
  InvalidBundle: 'InvalidBundle',
  CorruptModel: 'CorruptModel',
  SmokeTestFailed: 'SmokeTestFailed',
  BelowMinimumMetrics: 'BelowMinimumMetrics',
  SourceUnreachable: 'SourceUnreachable',
  DatasetUnavailable: 'DatasetUnavailable',
  InternalError: 'InternalError',
} as const;

/** Round to 4 decimals: enough for scores and rates, and it keeps the message short. */
export function r4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/**
 * Serialise a result to at most {@link TERMINATION_MESSAGE_LIMIT} bytes, dropping the least important
 * parts first (per-type scores, then the histograms, then the profile) and finally truncating the message.
 * The message passes {@link sanitizeMessage}: one line, bounded, whatever the caller put in it.
 */
export function encodeValidationResult(result: ValidationResult, limit = TERMINATION_MESSAGE_LIMIT): string {
  const fits = (r: ValidationResult) => Buffer.byteLength(JSON.stringify(r)) <= limit;
  let r: ValidationResult = { ...result, message: sanitizeMessage(result.message) };
  if (fits(r)) return JSON.stringify(r);
  if (r.metrics?.perType) r = { ...r, metrics: { ...r.metrics, perType: undefined } };
  if (fits(r)) return JSON.stringify(r);
  if (r.profile) r = { ...r, profile: { ...r.profile, confidence: undefined, documentLength: undefined } };
  if (fits(r)) return JSON.stringify(r);
  r = { ...r, profile: undefined, entityTypes: r.entityTypes?.slice(0, 20) };
  if (fits(r)) return JSON.stringify(r);
  return JSON.stringify({ ...r, message: r.message.slice(0, 512), entityTypes: undefined });
}

/**
 * Parse a termination message. Returns undefined when it is absent or not ours (e.g. a log tail from
 * FallbackToLogsOnError), so the caller falls back to the exit code.
 */
export function decodeValidationResult(message: string | undefined): ValidationResult | undefined {
  if (!message) return undefined;
  try {
    const parsed = validationResultSchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
