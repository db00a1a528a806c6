/**
 * A verified document as the feedback store keeps it: the text in the model's own tokens, labelled BIO from
 * the person's entity spans, as one CoNLL document (`-DOCSTART-` then one sentence). The whole note is one
 * sentence because the server tags a note whole, so the stored document trains on what the model sees.
 * Pure: the caller tokenizes.
 */
import { formatConll } from '../corpus/conll.js';
import type { TextSpan } from '../types.js';

/** An entity span a person verified (offsets in UTF-16 code units, end exclusive). */
export interface GoldSpan {
  label: string;
  start: number;
  end: number;
}

/** Why a span cannot be written in the model's tokens: it starts or ends inside a token, or covers none. */
export interface SpanMisfit {
  /** Index of the span in the input. */
  index: number;
  problem: 'starts inside a token' | 'ends inside a token' | 'covers no token';
}

/**
 * BIO labels of `tokens` for `spans`, or the first span that does not fall on token boundaries. Spans must not
 * overlap (the caller checks); whitespace at a span's edges is allowed (it is between tokens).
 */
export function bioLabels(
  tokens: readonly TextSpan[],
  spans: readonly GoldSpan[],
): { labels: string[] } | { misfit: SpanMisfit } {
  const labels = new Array<string>(tokens.length).fill('O');
  for (let index = 0; index < spans.length; index++) {
    const s = spans[index] as GoldSpan;
    let first = -1;
    let last = -1;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as TextSpan;
      if (t.end <= s.start || t.start >= s.end) continue;
      if (t.start < s.start) return { misfit: { index, problem: 'starts inside a token' } };
      if (t.end > s.end) return { misfit: { index, problem: 'ends inside a token' } };
      if (first < 0) first = i;
      last = i;
    }
    if (first < 0) return { misfit: { index, problem: 'covers no token' } };
    labels[first] = `B-${s.label}`;
    for (let i = first + 1; i <= last; i++) labels[i] = `I-${s.label}`;
  }
  return { labels };
}

/** One CoNLL document: a `-DOCSTART-` line, then the tokens with their labels as one sentence. */
export function conllDocument(tokens: readonly TextSpan[], labels: readonly string[]): string {
  return formatConll([{ tokens: tokens.map((t) => t.text), labels, document: 1 }]);
}
