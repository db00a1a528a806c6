/** BIO label sequences ↔ entity spans over token indices. */

/** An entity over tokens: `[start, end)` token indices. */
export interface TokenSpan {
  type: string;
  start: number;
  end: number;
}

/**
 * Strict (conlleval/seqeval "strict" mode) span extraction: an entity starts at B-X and continues over
 * I-X; an I-X that does not continue an X entity starts no entity in strict mode, but for decoding model
 * output we treat it as the start of one (lenient), because a CRF constrained by transitions rarely
 * produces it and dropping it would lose a real detection. `strict` selects the evaluation behaviour.
 */
export function spansFromBio(labels: readonly string[], strict = false): TokenSpan[] {
  const spans: TokenSpan[] = [];
  let cur: TokenSpan | undefined;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as string;
    if (l === 'O') {
      if (cur) spans.push(cur);
      cur = undefined;
      continue;
    }
    const prefix = l.charCodeAt(0);
    const type = l.slice(2);
    if (prefix === 73 /* I */ && cur && cur.type === type) {
      cur.end = i + 1;
      continue;
    }
    if (cur) spans.push(cur);
    cur = prefix === 66 /* B */ || !strict ? { type, start: i, end: i + 1 } : undefined;
  }
  if (cur) spans.push(cur);
  return spans;
}
