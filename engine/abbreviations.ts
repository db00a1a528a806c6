/**
 * Abbreviation definitions inside one sentence, "long form ( SF )", found the way Schwartz & Hearst
 * (2003) do: the short form's letters and digits must appear, in order, in the words before the
 * parenthesis, its first character starting a word, and the shortest such long form wins. Biomedical
 * text defines its abbreviations this way ("ataxia - telangiectasia ( A-T )"), and the definition ties
 * the short form's label to the long form's, which a linear-chain CRF cannot see across "(".
 *
 * Why hand-written: the algorithm is a few lines over our own token arrays; libraries that implement it
 * work on raw strings in other languages.
 */

export interface AbbreviationDefinition {
  /** Token index of the short form. */
  shortForm: number;
  /** Token range [start, end) of the long form. */
  start: number;
  end: number;
}

const MAX_SHORT_FORM = 10;

/** Short forms: 2–10 characters, starting with a letter or digit, with at least one letter and one capital. */
function looksLikeShortForm(token: string): boolean {
  return token.length >= 2 && token.length <= MAX_SHORT_FORM && /^[\p{L}\p{N}]/u.test(token) && /\p{Lu}/u.test(token);
}

function isAlphanumeric(c: string): boolean {
  return /[\p{L}\p{N}]/u.test(c);
}

/**
 * Whether the short form's characters match the long-form words (Schwartz & Hearst: scan both from the
 * end; every alphanumeric short-form character must be found, the first one at the start of a word).
 */
function matches(shortForm: string, words: readonly string[]): boolean {
  const sf = shortForm.toLowerCase();
  const lf = words.join(' ').toLowerCase();
  let s = sf.length - 1;
  let l = lf.length - 1;
  while (s >= 0) {
    const c = sf[s] as string;
    if (!isAlphanumeric(c)) {
      s--;
      continue;
    }
    // The first short-form character must begin a word of the long form.
    while (l >= 0 && (lf[l] !== c || (s === 0 && l > 0 && isAlphanumeric(lf[l - 1] as string)))) l--;
    if (l < 0) return false;
    l--;
    s--;
  }
  return true;
}

/** Every "long form ( SF )" definition in a tokenised sentence. */
export function findAbbreviations(tokens: readonly string[]): AbbreviationDefinition[] {
  const out: AbbreviationDefinition[] = [];
  for (let i = 2; i + 1 < tokens.length; i++) {
    if (tokens[i - 1] !== '(' || tokens[i + 1] !== ')') continue;
    const sf = tokens[i] as string;
    if (!looksLikeShortForm(sf)) continue;
    const letters = [...sf].filter(isAlphanumeric).length;
    // At most min(|SF| + 5, 2·|SF|) words, as Schwartz & Hearst bound the long form.
    const maxWords = Math.min(letters + 5, letters * 2);
    const lfEnd = i - 1;
    for (let start = lfEnd - 1; start >= Math.max(0, lfEnd - maxWords); start--) {
      const words = tokens.slice(start, lfEnd);
      if (words.some((w) => w === '(' || w === ')' || w === ';' || w === '.')) break;
      if (!isAlphanumeric((words[0] as string)[0] as string)) continue;
      if (matches(sf, words)) {
        out.push({ shortForm: i, start, end: lfEnd });
        break;
      }
    }
  }
  return out;
}
