/**
 * Raw text → tokens with exact character offsets (UTF-16 code units, so `text.slice(start, end)` is the
 * token). The rules approximate the tokenisation of the biomedical CoNLL corpora the models are trained
 * on (PTB-like: punctuation split off, numbers kept whole) with clinical additions:
 *   - dotted abbreviations stay one token: `b.i.d.`, `p.o.`, `e.g.`, and titles like `Dr.`;
 *   - numbers keep decimal points and thousands separators (`1,000`, `5.5`) and are split from a unit
 *     glued to them (`500mg` → `500` `mg`), because the corpora write `500 mg`;
 *   - letters followed by digits stay one token (`BRCA1`, `IL6`, `COVID19`);
 *   - hyphens either split (`beta - blocker`, as in NCBI-disease and BC5CDR) or stay inside the word
 *     (as in BeHealthy): the bundle records which, learned from its training data;
 *   - anything else that is not whitespace (punctuation, symbols, emoji) is one token per code point.
 */

export interface Token {
  text: string;
  start: number;
  end: number;
}

export interface TokenizerOptions {
  splitHyphens: boolean;
}

const TITLES = new Set([
  'dr',
  'mr',
  'mrs',
  'ms',
  'st',
  'vs',
  'no',
  'fig',
  'pt',
  'approx',
  'etc',
  'min',
  'max',
  'wk',
  'yr',
  'hr',
  'mo',
]);

// Alternatives in priority order. Each is anchored with the sticky flag at the current position.
const DOTTED_ABBREVIATION = /(?:\p{L}\.){2,}/uy;
const NUMBER = /\p{Nd}+(?:[.,]\p{Nd}+)*/uy;
const WORD_SPLIT = /[\p{L}\p{M}][\p{L}\p{M}\p{Nd}]*/uy;
const WORD_KEEP = /[\p{L}\p{M}][\p{L}\p{M}\p{Nd}]*(?:[-‐][\p{L}\p{M}\p{Nd}]+)*/uy;
const CLITIC = /['’](?:s|S)(?![\p{L}\p{Nd}])/uy;
const WHITESPACE = /[\s\u200b\ufeff]+/uy;

function matchAt(re: RegExp, text: string, pos: number): number {
  re.lastIndex = pos;
  return re.test(text) ? re.lastIndex : -1;
}

/** Tokenise `text`. Never throws; every non-whitespace code point ends up in exactly one token. */
export function tokenize(text: string, options: TokenizerOptions): Token[] {
  const tokens: Token[] = [];
  const word = options.splitHyphens ? WORD_SPLIT : WORD_KEEP;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    const ws = matchAt(WHITESPACE, text, pos);
    if (ws > pos) {
      pos = ws;
      continue;
    }
    let end = matchAt(DOTTED_ABBREVIATION, text, pos);
    if (end < 0) end = matchAt(NUMBER, text, pos);
    if (end < 0) {
      end = matchAt(word, text, pos);
      // "Dr." / "vs.": keep the period when the word is a known title abbreviation.
      if (end > 0 && text.charCodeAt(end) === 46 /* . */ && TITLES.has(text.slice(pos, end).toLowerCase())) end++;
    }
    if (end < 0) end = matchAt(CLITIC, text, pos);
    if (end < 0) {
      // One code point (a surrogate pair stays together).
      const cp = text.codePointAt(pos) as number;
      end = pos + (cp > 0xffff ? 2 : 1);
    }
    tokens.push({ text: text.slice(pos, end), start: pos, end });
    pos = end;
  }
  return tokens;
}

/** Whether a training corpus keeps hyphenated words whole (then the tokenizer must too). */
export function corpusKeepsHyphens(sentences: readonly { tokens: readonly string[] }[]): boolean {
  let hyphenated = 0;
  let total = 0;
  for (const s of sentences) {
    for (const t of s.tokens) {
      total++;
      if (t.length > 1 && /[\p{L}\p{Nd}][-‐][\p{L}\p{Nd}]/u.test(t)) hyphenated++;
    }
  }
  // A handful of stray hyphenated tokens in a split corpus should not flip the rule.
  return total > 0 && hyphenated / total > 0.001;
}
