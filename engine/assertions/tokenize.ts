/**
 * The assertion stage's own word splitting: words (letters and digits, with inner apostrophes) and single
 * punctuation marks; whitespace, and hyphens after a word character, separate and are dropped, so "rule-out"
 * reads as "rule out" (a hyphen after a space is a mark: "-ve").
 * Sentences end at `.`, `!` or `?` before whitespace (unless the word before the period is a known
 * abbreviation) and at blank lines. Terms of rule files are split the same way, so they match as written.
 *
 * The tokenizer writes into buffers it keeps and grows, so tagging a document allocates little beyond the
 * token strings themselves.
 */

const APOSTROPHES = new Set(["'", '’']);

function isWordChar(code: number, ch: string): boolean {
  if (code < 128) return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
  return /[\p{L}\p{N}\p{M}]/u.test(ch);
}

function isSpace(code: number): boolean {
  return (
    code === 32 || (code >= 9 && code <= 13) || code === 160 || code === 0x2028 || code === 0x2029 || code === 0x3000
  );
}

/** The lower-cased words of a term joined by single spaces: how a term is keyed and compared. */
export function termKey(term: string): string {
  const t = new Tokens();
  t.read(term, new Set());
  const keys: string[] = [];
  for (let i = 0; i < t.length; i++) keys.push(t.key(i));
  return keys.join(' ');
}

/** Tokens of one text: parallel arrays, valid up to `length`. */
export class Tokens {
  length = 0;
  starts = new Int32Array(256);
  ends = new Int32Array(256);
  /** Sentence number of each token. */
  sentences = new Int32Array(256);
  /** Words before each token (its word index), for windows counted in words. */
  words = new Int32Array(256);
  /** 1 for a word, 0 for a punctuation mark. */
  isWord = new Uint8Array(256);
  #text = '';
  #lower = '';
  /** Whether `#lower` has the text's offsets (toLowerCase can change the length, e.g. of U+0130). */
  #sameLength = true;

  /** The lower-cased token: made on demand, as only the sentences around judged spans are matched. */
  key(i: number): string {
    const start = this.starts[i]!;
    const end = this.ends[i]!;
    return this.#sameLength ? this.#lower.slice(start, end) : this.#text.slice(start, end).toLowerCase();
  }

  #grow(): void {
    const n = this.starts.length * 2;
    const grow32 = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.starts = grow32(this.starts);
    this.ends = grow32(this.ends);
    this.sentences = grow32(this.sentences);
    this.words = grow32(this.words);
    const w = new Uint8Array(n);
    w.set(this.isWord);
    this.isWord = w;
  }

  /** Split `text`, replacing what the buffers held. */
  read(text: string, abbreviations: ReadonlySet<string>): void {
    this.#text = text;
    this.#lower = text.toLowerCase();
    this.#sameLength = this.#lower.length === text.length;
    const n = text.length;
    let count = 0;
    let sentence = 0;
    let words = 0;
    let newlines = 0;
    let i = 0;
    while (i < n) {
      const code = text.charCodeAt(i);
      const ch = text[i]!;
      // A hyphen inside a word separates ("rule-out" reads "rule out"); one after a space is a sign ("-ve").
      if (isSpace(code) || (ch === '-' && i > 0 && !isSpace(text.charCodeAt(i - 1)))) {
        if (code === 10) {
          newlines++;
          // A blank line ends a sentence (headings, list blocks).
          if (newlines === 2 && count > 0 && this.sentences[count - 1] === sentence) sentence++;
        }
        i++;
        continue;
      }
      newlines = 0;
      let end = i + 1;
      let word = false;
      if (isWordChar(code, ch)) {
        word = true;
        while (end < n) {
          const c = text.charCodeAt(end);
          if (isWordChar(c, text[end]!)) end++;
          else if (APOSTROPHES.has(text[end]!) && end + 1 < n && isWordChar(text.charCodeAt(end + 1), text[end + 1]!))
            end += 2;
          else break;
        }
      }
      if (count === this.starts.length) this.#grow();
      this.starts[count] = i;
      this.ends[count] = end;
      this.sentences[count] = sentence;
      this.words[count] = words;
      this.isWord[count] = word ? 1 : 0;
      count++;
      if (word) words++;
      else if ((ch === '.' || ch === '!' || ch === '?') && endsSentence(text, i, abbreviations)) sentence++;
      i = end;
    }
    // words[length] is the number of words in the text: the word index just past the last token.
    if (count === this.starts.length) this.#grow();
    this.words[count] = words;
    this.sentences[count] = sentence;
    this.length = count;
  }
}

/** Whether the mark at `i` ends its sentence: it is followed by whitespace or the end of the text. */
function endsSentence(text: string, i: number, abbreviations: ReadonlySet<string>): boolean {
  let j = i + 1;
  // Closing quotes and brackets belong to the sentence they close.
  while (j < text.length && (text[j] === '"' || text[j] === ')' || text[j] === "'" || text[j] === '”')) j++;
  if (j < text.length && !isSpace(text.charCodeAt(j))) return false;
  if (text[i] !== '.' || abbreviations.size === 0) return true;
  let k = i;
  while (k > 0 && !isSpace(text.charCodeAt(k - 1)) && text[k - 1] !== '(') k--;
  return !abbreviations.has(text.slice(k, i).toLowerCase());
}
