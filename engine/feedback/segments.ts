/**
 * The pure core of the feedback store's writer: which segment the next documents go to, when a segment is
 * sealed, when the store is full, and the manifest that commits it all. No I/O: `store.ts` does the writes
 * in the order this plans them (contracts/feedback-store.ts describes the layout).
 */
import {
  FEEDBACK_SEGMENT_SUFFIX,
  type FeedbackManifest,
  type FeedbackSegment,
} from '../../contracts/feedback-store.js';

/** Bounds of a store, in bytes of committed CoNLL. */
export interface StoreLimits {
  /** A segment is sealed before it would grow past this (a single larger document gets a segment of its own). */
  segmentBytes: number;
  /** Committed bytes of the whole store (every writer's manifests); past it documents are refused (507). */
  maxBytes: number;
}

export const DEFAULT_STORE_LIMITS: Readonly<StoreLimits> = Object.freeze({
  segmentBytes: 4 * 1024 * 1024,
  maxBytes: 1024 * 1024 * 1024,
});

/** What one writer has committed: its manifest. The last segment, when not sealed, is the open one. */
export type WriterState = FeedbackManifest;

export function emptyWriterState(writer: string): WriterState {
  return { manifestVersion: 1, writer, segments: [] };
}

/** The segment file of `writer`'s `seq`th segment (1-based): sortable, and unique to the writer. */
export function segmentFile(writer: string, seq: number): string {
  return `${writer}-${String(seq).padStart(6, '0')}${FEEDBACK_SEGMENT_SUFFIX}`;
}

/** The open segment, if any. */
export function openSegment(state: WriterState): FeedbackSegment | undefined {
  const last = state.segments[state.segments.length - 1];
  return last && !last.sealed ? last : undefined;
}

/** Committed bytes of this writer. */
export function committedBytes(state: WriterState): number {
  return state.segments.reduce((n, s) => n + s.bytes, 0);
}

/** The next group of pending documents: how many go together into one segment, and whether it is a new one. */
export type GroupPlan =
  /** The first pending document does not fit under the store's cap: refuse it (507). */
  | { kind: 'full'; usedBytes: number }
  /** Append the first `take` pending documents; `roll`: seal the open segment (if any) and start the next. */
  | { kind: 'write'; take: number; roll: boolean; file: string };

/**
 * Plan the next write for pending documents of `sizes` bytes (in arrival order), `othersBytes` being what
 * the other writers of the store have committed. Documents are taken in order while they fit the segment
 * and the store; the first one always fits a fresh segment, so a document is refused only by the store cap.
 */
export function planGroup(
  state: WriterState,
  sizes: readonly number[],
  othersBytes: number,
  limits: StoreLimits,
): GroupPlan {
  const first = sizes[0];
  if (first === undefined) throw new Error('planGroup: no pending documents');
  const used = othersBytes + committedBytes(state);
  if (used + first > limits.maxBytes) return { kind: 'full', usedBytes: used };
  const open = openSegment(state);
  const roll = !open || (open.bytes > 0 && open.bytes + first > limits.segmentBytes);
  let segment = roll ? 0 : (open as FeedbackSegment).bytes;
  let total = used;
  let take = 0;
  for (const size of sizes) {
    if (take > 0 && (segment + size > limits.segmentBytes || total + size > limits.maxBytes)) break;
    segment += size;
    total += size;
    take++;
  }
  const file = roll ? segmentFile(state.writer, state.segments.length + 1) : (open as FeedbackSegment).file;
  return { kind: 'write', take, roll, file };
}

/**
 * The state after a planned write has reached the disk: the open segment (or a new one, after sealing the
 * old) grows by `bytes` and `documents`, and its committed prefix now hashes to `sha256`.
 */
export function afterWrite(
  state: WriterState,
  plan: Extract<GroupPlan, { kind: 'write' }>,
  written: { bytes: number; documents: number; sha256: string },
): WriterState {
  const segments = state.segments.map((s) => ({ ...s }));
  if (plan.roll) {
    const open = segments[segments.length - 1];
    if (open) open.sealed = true;
    segments.push({ file: plan.file, documents: 0, bytes: 0, sha256: written.sha256, sealed: false });
  }
  const target = segments[segments.length - 1] as FeedbackSegment;
  target.bytes += written.bytes;
  target.documents += written.documents;
  target.sha256 = written.sha256;
  return { ...state, segments };
}

/**
 * The state after a failed write: the open segment is sealed at its committed prefix, so whatever part of
 * the failed write reached the file stays an uncommitted tail and the next documents start a new segment.
 */
export function sealOpen(state: WriterState): WriterState {
  return { ...state, segments: state.segments.map((s) => (s.sealed ? s : { ...s, sealed: true })) };
}

/** The manifest's bytes: stable key order, one segment per line for people reading it. */
export function manifestJson(state: WriterState): string {
  const segments = state.segments.map((s) =>
    JSON.stringify({ file: s.file, documents: s.documents, bytes: s.bytes, sha256: s.sha256, sealed: s.sealed }),
  );
  return `{"manifestVersion":1,"writer":${JSON.stringify(state.writer)},"segments":[\n${segments.join(',\n')}\n]}\n`;
}
