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

/**
 * BIOES (BILOU) tags from BIO tags: a one-token entity becomes S-X, the last token of a longer one E-X.
 * Models train and decode in BIOES (the label set then separates "entity ends here" from "continues"),
 * and their output goes back to BIO with `bioesToBio`. Spans are read leniently (an I-X that continues
 * nothing starts an entity), so the conversion never drops an entity.
 */
export function bioToBioes(labels: readonly string[]): string[] {
  const out: string[] = labels.map(() => 'O');
  for (const s of spansFromBio(labels)) {
    if (s.end - s.start === 1) {
      out[s.start] = `S-${s.type}`;
      continue;
    }
    out[s.start] = `B-${s.type}`;
    for (let k = s.start + 1; k < s.end - 1; k++) out[k] = `I-${s.type}`;
    out[s.end - 1] = `E-${s.type}`;
  }
  return out;
}

/** BIO tags from BIOES tags (S-X → B-X, E-X → I-X); BIO input comes back unchanged. */
export function bioesToBio(labels: readonly string[]): string[] {
  return labels.map((l) => (l.startsWith('S-') ? `B-${l.slice(2)}` : l.startsWith('E-') ? `I-${l.slice(2)}` : l));
}

/** Whether a label set is BIOES (has S- or E- labels) rather than BIO. */
export function isBioesLabelSet(labels: readonly string[]): boolean {
  return labels.some((l) => l.startsWith('S-') || l.startsWith('E-'));
}

/** The BIOES label set for the BIO one (O first, then B-, I-, E-, S- for each type in the same order). */
export function bioesLabelSet(bioLabels: readonly string[]): string[] {
  const types = bioLabels.filter((l) => l.startsWith('B-')).map((l) => l.slice(2));
  return ['O', ...types.flatMap((t) => [`B-${t}`, `I-${t}`, `E-${t}`, `S-${t}`])];
}
