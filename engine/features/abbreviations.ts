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

/** What a reused short form stands for: its long form's last word, and the entity type the long form was tagged with. */
export interface ShortFormMeaning {
  head: string;
  /** The long form's entity type ('O' when it is not inside an entity). */
  type: string;
}

/** Entity type of a BIO/BIOES label ('O' for O). */
function typeOf(label: string | undefined): string {
  return label === undefined || label === 'O' ? 'O' : label.slice(2);
}

/**
 * Every reuse of a defined short form in a document: per sentence, token index → meaning. A definition
 * ("long form ( SF )") counts for the rest of its own sentence and for the `window` sentences after it;
 * the most recent definition of a short form wins. `labelsOf` gives a sentence's tags (gold while training,
 * the model's own first pass while tagging); it is asked only for sentences that define a short form, and
 * the long form's type is read at its head. `documents`, when given, is the document of each sentence
 * (consecutive sentences of one document share it): a sentence looks back only within its own document.
 * Biomedical text defines an abbreviation once and reuses it where nothing nearby says what it stands for;
 * this carries the definition's reading to those uses. Tokens of a definition itself are never reuses.
 */
export function shortFormReuses(
  sentences: readonly (readonly string[])[],
  labelsOf: (sentence: number) => readonly string[] | undefined,
  window: number,
  documents?: readonly number[],
): Map<number, ShortFormMeaning>[] {
  // Per sentence, its definitions with their meanings (labels asked once, only where there are any).
  const defined = sentences.map((tokens, k) => {
    const definitions = findAbbreviations(tokens);
    if (definitions.length === 0) return [];
    const labels = labelsOf(k);
    return definitions.map((d) => ({
      definition: d,
      shortForm: tokens[d.shortForm] as string,
      meaning: { head: tokens[d.end - 1] as string, type: typeOf(labels?.[d.end - 1]) },
    }));
  });
  return sentences.map((tokens, k) => {
    const known = new Map<string, ShortFormMeaning>();
    let from = Math.max(0, k - window);
    if (documents) while (from < k && documents[from] !== documents[k]) from++;
    for (let j = from; j < k; j++)
      for (const x of defined[j] as (typeof defined)[number]) known.set(x.shortForm, x.meaning);
    const own = defined[k] as (typeof defined)[number];
    const reuses = new Map<number, ShortFormMeaning>();
    if (known.size === 0 && own.length === 0) return reuses;
    const inDefinition = new Uint8Array(tokens.length);
    for (const { definition: d } of own) inDefinition.fill(1, d.start, d.shortForm + 2);
    let next = 0; // the sentence's own definitions take effect after their closing parenthesis
    for (let i = 0; i < tokens.length; i++) {
      while (next < own.length && (own[next] as (typeof own)[number]).definition.shortForm + 2 <= i) {
        const x = own[next++] as (typeof own)[number];
        known.set(x.shortForm, x.meaning);
      }
      if (inDefinition[i]) continue;
      const meaning = known.get(tokens[i] as string);
      if (meaning) reuses.set(i, meaning);
    }
    return reuses;
  });
}
