/**
 * The bundle cleanup contract between the DriftPolicy controller and `ner-ops delete-bundles` (the Job that
 * deletes the bundles of the NerModels retention pruned, on the policy's own `pvc://` output):
 * - the one rule of what may be deleted ({@link deletionRefusal}), which the controller applies when it
 *   plans a Job and the Job applies again, on the mounted claim, before it deletes anything;
 * - the result the Job writes to its termination message: counts only, never a path.
 * Flags and the command name are in task-commands.ts.
 */
import { z } from 'zod';
import { sanitizeMessage, TERMINATION_MESSAGE_LIMIT } from './termination-message.js';

/** Exit codes: 0 every bundle is gone, 2 usage, 3 refused (nothing was deleted), 4 a deletion failed. */
export const DELETE_BUNDLES_EXIT = { ok: 0, usage: 2, refused: 3, failed: 4 } as const;

/** Name of the cleanup container (the controller reads this container's termination message). */
export const DELETE_BUNDLES_CONTAINER_NAME = 'delete-bundles';

/** A `pvc://claim/a/b` location: the claim and the path's segments (none for the claim's root). */
export interface PvcLocation {
  claim: string;
  segments: string[];
}

const CLAIM = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Parses `pvc://claim[/path]`; undefined for another scheme, a bad claim name, or a path with `.`, `..` or
 * empty segments (a trailing `/` is allowed). Strict on purpose: a location the rule cannot read is refused.
 */
export function parsePvcUri(uri: string): PvcLocation | undefined {
  const m = /^pvc:\/\/([^/]+)(\/.*)?$/.exec(uri);
  if (!m || !CLAIM.test(m[1] as string)) return undefined;
  const segments = (m[2] ?? '').replace(/^\//, '').replace(/\/$/, '').split('/');
  if (segments.length === 1 && segments[0] === '') return { claim: m[1] as string, segments: [] };
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return { claim: m[1] as string, segments };
}

/** True when `outer` is `inner` or one of its ancestors (same claim). */
export function contains(outer: PvcLocation, inner: PvcLocation): boolean {
  return (
    outer.claim === inner.claim &&
    outer.segments.length <= inner.segments.length &&
    outer.segments.every((s, i) => inner.segments[i] === s)
  );
}

/** True when deleting one location would delete (part of) the other. */
export function overlaps(a: PvcLocation, b: PvcLocation): boolean {
  return contains(a, b) || contains(b, a);
}

/** Why a bundle may not be deleted. */
export const CleanupRefusal = {
  /** The bundle or the output prefix is not a well-formed `pvc://` location. */
  NotPvc: 'NotPvc',
  /** The bundle is not strictly inside the policy's output prefix. */
  OutsideOutput: 'OutsideOutput',
  /** A location still referenced (by another NerModel) is the bundle, inside it or contains it. */
  Referenced: 'Referenced',
} as const;
export type CleanupRefusal = (typeof CleanupRefusal)[keyof typeof CleanupRefusal];

/**
 * The rule: a bundle may be deleted only when it is a `pvc://` location strictly inside the output prefix
 * `within` (never the prefix itself), and overlaps none of the `keep` locations. A `keep` entry that is not
 * a `pvc://` location cannot overlap a claim's path and is ignored. Undefined: it may be deleted.
 */
export function deletionRefusal(bundle: string, within: string, keep: readonly string[]): CleanupRefusal | undefined {
  const b = parsePvcUri(bundle);
  const w = parsePvcUri(within);
  if (!b || !w) return CleanupRefusal.NotPvc;
  if (!contains(w, b) || b.segments.length === w.segments.length) return CleanupRefusal.OutsideOutput;
  for (const k of keep) {
    const loc = parsePvcUri(k);
    if (loc && overlaps(loc, b)) return CleanupRefusal.Referenced;
  }
  return undefined;
}

export const deleteBundlesResultSchema = z.object({
  resultVersion: z.literal(1),
  outcome: z.enum(['Succeeded', 'Refused', 'Failed']),
  /** Bundles deleted by this run. */
  deleted: z.number().int().nonnegative(),
  /** Bundles already absent (a previous attempt, or never written): success too. */
  alreadyGone: z.number().int().nonnegative(),
  /** Bundles refused by the rule (then nothing was deleted). */
  refused: z.number().int().nonnegative(),
  /** CamelCase reason of a refusal or failure ({@link CleanupRefusal}, or Failed). */
  reason: z.string().max(64).optional(),
  /** One line, no path. */
  message: z.string().optional(),
});
export type DeleteBundlesResult = z.infer<typeof deleteBundlesResultSchema>;

/** Serialise within the termination message limit (the message passes {@link sanitizeMessage}). */
export function encodeDeleteBundlesResult(r: DeleteBundlesResult): string {
  const text = JSON.stringify(r.message === undefined ? r : { ...r, message: sanitizeMessage(r.message) });
  return Buffer.byteLength(text) <= TERMINATION_MESSAGE_LIMIT ? text : JSON.stringify({ ...r, message: undefined });
}

/** Parse a termination message; undefined when absent or not ours. */
export function decodeDeleteBundlesResult(message: string | undefined): DeleteBundlesResult | undefined {
  if (!message) return undefined;
  try {
    const parsed = deleteBundlesResultSchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
