/**
 * External lexicon (dictionary) of typed phrases, for CRF features: drug formularies, problem lists, MeSH
 * or RxNorm exports — what a hospital knows about its vocabulary that a few thousand labelled sentences
 * cannot teach. Unlike the gazetteer (engine/features/gazetteer.ts), which is learnt from the training labels and
 * carries how far each phrase can be trusted, a lexicon is given: its types need not be the model's entity
 * types ("DRUG" may feed TREATMENT), and the CRF learns from the training data what a match of each type
 * at each position is worth.
 *
 * A sentence is matched greedily left to right, longest phrase first. Why an open-addressing table of
 * phrase hashes rather than a trie of maps (as the gazetteer does) or a map of phrase strings: a
 * dictionary has 10^5–10^6 phrases, and maps of strings cost 40–200 bytes per phrase in every server and
 * are slow to load (docs/engine-experiments.md has the numbers); here each phrase and each of its
 * proper prefixes is one slot of two 32-bit hashes and a 16-bit value, and matching allocates no strings.
 * Two independent 32-bit hashes make a false match practically impossible (about 10^-14 per lookup).
 */
import { normalizeToken } from './normalize.js';
import { tokenize } from './tokenize.js';

export const LEXICON_FILE = 'lexicon.tsv';
/** Longest phrase (in tokens) a lexicon keeps; longer ones are counted as skipped. */
export const LEXICON_MAX_TOKENS = 8;
/** Types are a bit mask per phrase in the features. */
export const LEXICON_MAX_TYPES = 8;
const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** Set on a key that a longer phrase continues. */
const PREFIX = 1 << LEXICON_MAX_TYPES;
const TYPE_MASK = PREFIX - 1;

export class LexiconError extends Error {}

export interface LexiconMatch {
  /** Tokens [start, end). */
  start: number;
  end: number;
  /** Bit mask over `Lexicon.types` (a phrase can be listed under several types). */
  types: number;
}

/** A lexicon phrase: its type and normalised tokens. */
export interface LexiconEntry {
  type: string;
  tokens: readonly string[];
}

/** murmur3's 32-bit finaliser. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** Two independent hashes of a token (FNV-1a over UTF-16 code units with different offsets and primes). */
function hashToken(token: string, out: Int32Array, at: number): void {
  let a = 0x811c9dc5 | 0;
  let b = 0x2545f491 | 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  out[at] = fmix(a);
  out[at + 1] = fmix(b ^ token.length);
}

/** A phrase's hash lane extended by one token's (order-sensitive). */
const extendA = (phrase: number, token: number) => fmix(Math.imul(phrase, 0x01000193) ^ token);
const extendB = (phrase: number, token: number) => fmix((Math.imul(phrase, 0x5bd1e995) + token) | 0);
const START_A = 0x3c6ef372;
const START_B = 0x1b873593;

export class Lexicon {
  /** Entry types, sorted: bit k of a match's mask is `types[k]`. */
  readonly types: readonly string[];
  /** Open addressing, linear probing: slot i holds key (hashA[i], hashB[i]) when values[i] ≠ 0. */
  #hashA: Int32Array;
  #hashB: Int32Array;
  #values: Uint16Array;
  #keys = 0;
  #phrases = 0;

  private constructor(entries: readonly LexiconEntry[]) {
    this.types = [...new Set(entries.map((e) => e.type))].sort();
    const bit = new Map(this.types.map((t, k) => [t, 1 << k]));
    this.#hashA = new Int32Array(1024);
    this.#hashB = new Int32Array(1024);
    this.#values = new Uint16Array(1024);
    const tokenHashes = new Int32Array(2 * LEXICON_MAX_TOKENS);
    for (const e of entries) {
      e.tokens.forEach((t, k) => hashToken(t, tokenHashes, 2 * k));
      let a = START_A;
      let b = START_B;
      for (let k = 0; k < e.tokens.length; k++) {
        a = extendA(a, tokenHashes[2 * k] as number);
        b = extendB(b, tokenHashes[2 * k + 1] as number);
        const last = k === e.tokens.length - 1;
        this.#add(a, b, last ? (bit.get(e.type) as number) : PREFIX);
      }
    }
  }

  #slot(a: number, b: number): number {
    const mask = this.#values.length - 1;
    let i = a & mask;
    while (this.#values[i] !== 0 && (this.#hashA[i] !== a || this.#hashB[i] !== b)) i = (i + 1) & mask;
    return i;
  }

  #add(a: number, b: number, bits: number): void {
    let i = this.#slot(a, b);
    const was = this.#values[i] as number;
    if (was === 0) {
      // At most half full, so probes stay short.
      if (2 * (this.#keys + 1) > this.#values.length) {
        this.#grow();
        i = this.#slot(a, b);
      }
      this.#hashA[i] = a;
      this.#hashB[i] = b;
      this.#keys++;
    }
    if ((bits & TYPE_MASK) !== 0 && (was & TYPE_MASK) === 0) this.#phrases++;
    this.#values[i] = was | bits;
  }

  #grow(): void {
    const [hashA, hashB, values] = [this.#hashA, this.#hashB, this.#values];
    this.#hashA = new Int32Array(values.length * 2);
    this.#hashB = new Int32Array(values.length * 2);
    this.#values = new Uint16Array(values.length * 2);
    for (let j = 0; j < values.length; j++) {
      if (values[j] === 0) continue;
      const i = this.#slot(hashA[j] as number, hashB[j] as number);
      this.#hashA[i] = hashA[j] as number;
      this.#hashB[i] = hashB[j] as number;
      this.#values[i] = values[j] as number;
    }
  }

  /** Number of distinct phrases. */
  get size(): number {
    return this.#phrases;
  }

  static fromEntries(entries: readonly LexiconEntry[]): Lexicon {
    const types = new Set(entries.map((e) => e.type));
    if (types.size > LEXICON_MAX_TYPES)
      throw new LexiconError(`a lexicon has at most ${LEXICON_MAX_TYPES} types, this one has ${types.size}`);
    if (entries.length === 0) throw new LexiconError('the lexicon has no phrases');
    if (entries.some((e) => e.tokens.length === 0 || e.tokens.length > LEXICON_MAX_TOKENS))
      throw new LexiconError(`lexicon phrases have 1 to ${LEXICON_MAX_TOKENS} tokens`);
    return new Lexicon(entries);
  }

  /** The lexicon of a bundle file (`formatLexicon`'s form); errors name the file and line. */
  static parse(text: string, source = LEXICON_FILE): Lexicon {
    return Lexicon.fromEntries(parseLexicon(text, source));
  }

  /** Non-overlapping matches over normalised tokens, left to right, longest first. */
  match(norms: readonly string[]): LexiconMatch[] {
    const out: LexiconMatch[] = [];
    const n = norms.length;
    const hashes = new Int32Array(2 * n);
    for (let k = 0; k < n; k++) hashToken(norms[k] as string, hashes, 2 * k);
    let i = 0;
    while (i < n) {
      let a = START_A;
      let b = START_B;
      let bestEnd = i;
      let bestTypes = 0;
      for (let k = i; k < n && k - i < LEXICON_MAX_TOKENS; k++) {
        a = extendA(a, hashes[2 * k] as number);
        b = extendB(b, hashes[2 * k + 1] as number);
        const value = this.#values[this.#slot(a, b)] as number;
        if ((value & TYPE_MASK) !== 0) {
          bestEnd = k + 1;
          bestTypes = value & TYPE_MASK;
        }
        if ((value & PREFIX) === 0) break;
      }
      if (bestTypes !== 0) {
        out.push({ start: i, end: bestEnd, types: bestTypes });
        i = bestEnd;
      } else i++;
    }
    return out;
  }
}

/** The bundle form: `type<TAB>space-separated normalised tokens`, one line per phrase and type, sorted, no duplicates. */
export function formatLexicon(entries: readonly LexiconEntry[]): string {
  const lines = [...new Set(entries.map((e) => `${e.type}\t${e.tokens.join(' ')}`))].sort();
  return lines.join('\n') + (lines.length ? '\n' : '');
}

/** Parse the bundle form (`formatLexicon`); errors name the file and line. */
export function parseLexicon(text: string, source = LEXICON_FILE): LexiconEntry[] {
  const entries: LexiconEntry[] = [];
  text.split('\n').forEach((line, k) => {
    if (line === '') return;
    const cols = line.split('\t');
    const tokens = cols[1]?.split(' ') ?? [];
    if (
      cols.length !== 2 ||
      !TYPE_NAME.test(cols[0] as string) ||
      tokens.length > LEXICON_MAX_TOKENS ||
      tokens.some((t) => t === '')
    ) {
      throw new LexiconError(
        `${source}:${k + 1}: expected 'type<TAB>tokens' (1 to ${LEXICON_MAX_TOKENS} tokens separated by single spaces)`,
      );
    }
    entries.push({ type: cols[0] as string, tokens });
  });
  if (entries.length === 0) throw new LexiconError(`${source}: the lexicon has no phrases`);
  return entries;
}

/** What reading a user's lexicon file found. */
export interface LexiconSource {
  entries: LexiconEntry[];
  /** Phrases longer than LEXICON_MAX_TOKENS tokens, left out. */
  skipped: number;
}

/**
 * A user's lexicon file: `TYPE<TAB>phrase` per line, as written (`DRUG<TAB>acetylsalicylic acid`); blank
 * lines and lines starting with `#` are ignored. Phrases are tokenised the way the model tokenises text
 * (`splitHyphens` as the bundle records) and normalised like the features, so a match does not depend on
 * case or digits. Errors name the file and line, never the phrase (a hospital's list may hold names).
 */
export function readLexiconSource(text: string, source: string, splitHyphens: boolean): LexiconSource {
  const entries: LexiconEntry[] = [];
  let skipped = 0;
  const lines = text.split('\n');
  lines.forEach((raw, k) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) return;
    const where = `${source}:${k + 1}`;
    const cols = line.split('\t');
    if (cols.length !== 2)
      throw new LexiconError(`${where}: expected 'TYPE<TAB>phrase', found ${cols.length} tab-separated columns`);
    const type = (cols[0] as string).trim();
    if (!TYPE_NAME.test(type))
      throw new LexiconError(
        `${where}: the type must be a letter followed by up to 63 letters, digits, '_', '.' or '-'`,
      );
    const tokens = tokenize(cols[1] as string, { splitHyphens }).map((t) => normalizeToken(t.text));
    if (tokens.length === 0) throw new LexiconError(`${where}: the phrase is empty`);
    if (tokens.length > LEXICON_MAX_TOKENS) {
      skipped++;
      return;
    }
    entries.push({ type, tokens });
  });
  if (entries.length === 0)
    throw new LexiconError(
      `${source}: no phrases${skipped > 0 ? ` (${skipped} longer than ${LEXICON_MAX_TOKENS} tokens were skipped)` : ''}`,
    );
  return { entries, skipped };
}
