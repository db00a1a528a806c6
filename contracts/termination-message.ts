/**
 * Termination messages: how a Job's container hands its result to the operator. The container writes a
 * compact JSON document to its termination-message file before exiting; the kubelet copies it into the
 * Pod's status, where the controller reads it.
 */

/** Kubernetes truncates termination messages beyond 4096 bytes. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/** The file a container writes its termination message to, unless its `terminationMessagePath` says otherwise. */
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/**
 * The longest message a Job result, a condition, `status.message` or an Event note carries from a Job. A
 * reason and a position ("dataset.conll:12, column 2: …") fit many times over; a pasted document does not.
 */
export const STATUS_MESSAGE_LIMIT = 512;

// C0/C1 controls (ESC starts terminal escapes), format characters (bidi overrides, zero-width) and the line
// and paragraph separators: none belongs in a one-line message, and some make a message lie when displayed.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu;

/**
 * One sanitiser for every message that leaves a Job or is copied into Kubernetes status and Events: one
 * line (controls and format characters become spaces, whitespace runs collapse), at most `limit`
 * characters (cut on a code point boundary, marked with `…`). It cannot tell data from prose, so the
 * producers never put values in messages; this bounds what reaches status when a producer (or a custom
 * retraining image) does anyway, and keeps a message from spanning lines or hiding text.
 */
export function sanitizeMessage(text: string, limit = STATUS_MESSAGE_LIMIT): string {
  const line = text.replace(UNPRINTABLE, ' ').replace(/\s+/g, ' ').trim();
  if (line.length <= limit) return line;
  let end = Math.max(0, limit - 1);
  // Do not split a surrogate pair: the half left behind is not valid UTF-8 when the kubelet encodes it.
  const code = line.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${line.slice(0, end).trimEnd()}…`;
}
