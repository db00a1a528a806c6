/**
 * Join CoNLL tokens back into plausible raw text (no space before closing punctuation, none after
 * opening brackets). Used to run held-out sentences through the raw-text path when computing the drift
 * baseline, so the baseline sees what the server will see.
 */
const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', ')', ']', '}', '%', '?', '!', "'s", "n't"]);
const NO_SPACE_AFTER = new Set(['(', '[', '{']);

export function detokenize(tokens: readonly string[]): string {
  let out = '';
  let prev = '';
  for (const t of tokens) {
    if (out.length > 0 && !NO_SPACE_BEFORE.has(t) && !NO_SPACE_AFTER.has(prev)) out += ' ';
    out += t;
    prev = t;
  }
  return out;
}
