/**
 * Token features for the linear-chain CRF, hashed into a fixed number of buckets.
 *
 * Why hashing instead of a feature dictionary: the runtime never builds or looks up feature strings,
 * it hashes character ranges of the token in place (no allocation per feature), and the bundle needs
 * no multi-megabyte feature vocabulary. Every token gets exactly `slotsPerToken` ids so the ONNX graph
 * sees a dense [tokens, slots] int64 tensor; unused slots point at the all-zero padding row.
 *
 * The templates are versioned (`FEATURE_VERSION`): a bundle records the version and config it was
 * trained with, and the runtime refuses versions it does not know.
 */
import type { WordClusters } from './clusters.js';
import type { Gazetteer } from './gazetteer.js';
import type { Lexicon } from './lexicon.js';
import { findAbbreviations, type ShortFormMeaning } from './abbreviations.js';
import { normalizeToken } from './normalize.js';

/**
 * 2: the same hashed templates as 1, plus optional gazetteer slots and BIOES label sets. Version 1
 * runtimes refuse version 2 bundles (they would misread both); this runtime reads 1, 2 and 3.
 */
export const FEATURE_VERSION = 2;
/**
 * 3: version 2 plus the optional subword and abbreviation slots. Only bundles that use them record 3, so
 * bundles without them still load in version-2 runtimes.
 */
export const EXTENDED_FEATURE_VERSION = 3;
/**
 * 4: version 3 plus short-form reuse: a short form defined earlier in the document (a note, or the
 * sentences before it in a CoNLL file) takes the abbreviation slots too. Version 3 runtimes would leave
 * those slots empty and silently score differently, so bundles that use it record 4.
 */
export const SHORT_FORM_REUSE_FEATURE_VERSION = 4;
/**
 * 5: version 4 plus the optional lexicon slots (engine/features/lexicon.ts). Only bundles with a lexicon record 5;
 * a version-4 runtime would read their slot count but not what fills the new slots.
 */
export const LEXICON_FEATURE_VERSION = 5;
/**
 * 6: the lexicon slots grow from 3 to 7 — a match's tokens with the words beside them, and every word with
 * the match states beside it ("acute" before a listed "leukemia": which words extend a listed phrase and
 * which bound it). New bundles with a lexicon record 6; version-5 bundles keep their 3 slots and load as
 * before (a version-5 runtime would read the slot count but not what fills the new slots).
 */
export const LEXICON_WORDS_FEATURE_VERSION = 6;
export const SUPPORTED_FEATURE_VERSIONS: readonly number[] = [1, 2, 3, 4, 5, 6];

/** The feature version a bundle trained with `config` must record. */
export function featureVersionOf(config: Omit<FeatureConfig, 'featureVersion'>): number {
  if (config.lexicon) return LEXICON_WORDS_FEATURE_VERSION;
  if (config.abbreviations && config.shortFormContext !== undefined) return SHORT_FORM_REUSE_FEATURE_VERSION;
  return config.subwords || config.abbreviations ? EXTENDED_FEATURE_VERSION : FEATURE_VERSION;
}

export interface FeatureConfig {
  featureVersion: number;
  /** log2 of the number of hash buckets (rows of the weight matrix, excluding the padding row). */
  bucketBits: number;
  /** Whether cluster features are used (the bundle then ships clusters.tsv). */
  clusters: boolean;
  /** Whether gazetteer features are used (the bundle then ships gazetteer.tsv). Absent in older bundles: false. */
  gazetteer?: boolean;
  /** Whether subword features are used: 5- and 6-character affixes and character trigrams (version 3). */
  subwords?: boolean;
  /** Whether abbreviation-definition features are used ("long form ( SF )", version 3). */
  abbreviations?: boolean;
  /**
   * With `abbreviations`: later uses of a defined short form get the abbreviation slots too (version 4).
   * The value is how many preceding sentences of a sentence-per-sequence document (a CoNLL file) count as
   * its context; a note tagged as one sequence sees all of its own earlier definitions.
   */
  shortFormContext?: number;
  /** Whether external-lexicon features are used (the bundle then ships lexicon.tsv; version 5: 3 slots, 6: 7). */
  lexicon?: boolean;
}

/** The tables some feature groups look tokens up in; each is needed only when its group is configured. */
export interface FeatureLookups {
  clusters?: WordClusters | undefined;
  gazetteer?: Gazetteer | undefined;
  lexicon?: Lexicon | undefined;
}

// 2^18 buckets: no worse than 2^20 on held-out data (docs/engine.md), at a quarter of the model size.
export const DEFAULT_FEATURE_CONFIG: FeatureConfig = {
  featureVersion: FEATURE_VERSION,
  bucketBits: 18,
  clusters: false,
};

// Template ids: hashed in as the seed so identical values of different templates land in different buckets.
const enum T {
  Bias = 1,
  W0,
  Wm1,
  Wp1,
  Wm2,
  Wp2,
  Wm1W0,
  W0Wp1,
  Pre,
  Suf,
  Shape,
  ShortShape,
  Flags,
  Wm1Suf,
  Wp1Suf,
  Cl0,
  Clm1,
  Clp1,
  Norm,
  ShapeM1ShapeP1,
  Wm2Wm1,
  Wp1Wp2,
  Wm1Pre,
  Wp1Pre,
  GazTag,
  GazType,
  GazTrust,
  GazContext,
  SubPre,
  SubSuf,
  Trigram,
  AbbrShort,
  AbbrLong,
  LexTag,
  LexContext,
  LexLength,
  LexWordBefore,
  LexWordAfter,
  LexNextMatch,
  LexPrevMatch,
}

/**
 * Slots per token: bias, 5 window words, 4 bigrams, 4 prefixes, 4 suffixes, 2 shapes, 2 flags, 4 neighbour
 * affixes, 3 conjunctions; then, in this order and only when configured, 9 cluster, 4 gazetteer, 16 subword,
 * 2 abbreviation and 7 lexicon slots (3 before feature version 6).
 */
export function slotsPerToken(config: FeatureConfig): number {
  return (
    29 +
    (config.clusters ? CLUSTER_SLOTS : 0) +
    (config.gazetteer ? GAZETTEER_SLOTS : 0) +
    (config.subwords ? SUBWORD_SLOTS : 0) +
    (config.abbreviations ? ABBREVIATION_SLOTS : 0) +
    (config.lexicon ? lexiconSlots(config) : 0)
  );
}
const lexiconSlots = (config: FeatureConfig) => (config.featureVersion >= LEXICON_WORDS_FEATURE_VERSION ? 7 : 3);
const ABBREVIATION_SLOTS = 2;
/** 5/6-character prefixes and suffixes, then the word's character trigrams (with ^ and $ boundary marks). */
const TRIGRAM_SLOTS = 12;
const SUBWORD_SLOTS = 4 + TRIGRAM_SLOTS;
const GAZETTEER_SLOTS = 4;

/** Matches below this ratio (entity / occurrences) are ignored. */
export const GAZETTEER_MIN_RATIO = 0;
const CLUSTER_SLOTS = 3 * 3; // 3 granularities for w0, w-1, w+1

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function hashRange(seed: number, s: string, from: number, to: number): number {
  let h = (FNV_OFFSET ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    h = Math.imul(h ^ (c & 0xff), FNV_PRIME);
    h = Math.imul(h ^ (c >>> 8), FNV_PRIME);
  }
  return finalize(h);
}

function hashInts(seed: number, a: number, b: number): number {
  let h = (FNV_OFFSET ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ a, FNV_PRIME);
  h = Math.imul(h ^ b, FNV_PRIME);
  return finalize(h);
}

/** murmur3 fmix32: spreads FNV's weak low bits before masking. */
function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function shapeOf(token: string, short: boolean): string {
  let out = '';
  let last = '';
  for (const ch of token) {
    let c: string;
    if (ch >= '0' && ch <= '9') c = 'd';
    else if (ch !== ch.toLowerCase()) c = 'X';
    else if (ch !== ch.toUpperCase()) c = 'x';
    else c = ch;
    if (short && c === last) continue;
    out += c;
    last = c;
    if (out.length >= 12) break;
  }
  return out;
}

function flagsOf(token: string): number {
  let f = 0;
  if (/^[A-Z][a-z]/.test(token)) f |= 1;
  if (/^[A-Z0-9]+$/.test(token) && /[A-Z]/.test(token)) f |= 2;
  if (/[0-9]/.test(token)) f |= 4;
  if (/-/.test(token)) f |= 8;
  if (/^[^\p{L}\p{N}]+$/u.test(token)) f |= 16;
  if (/[a-z][A-Z]/.test(token)) f |= 32; // inner capital: gene/drug-like names
  const len = token.length;
  f |= (len <= 2 ? 0 : len <= 4 ? 1 : len <= 7 ? 2 : 3) << 6;
  return f;
}

/** Per-token values computed once per sentence and shared by the token's neighbours. */
interface TokenView {
  norm: string;
  shape: string;
  shortShape: string;
  flags: number;
  clusters: readonly number[] | undefined;
}

const BOS: TokenView = { norm: '<s>', shape: '<s>', shortShape: '<s>', flags: 1 << 10, clusters: undefined };
const EOS: TokenView = { norm: '</s>', shape: '</s>', shortShape: '</s>', flags: 1 << 11, clusters: undefined };

/** A token's position in a match of tokens [start, end): 1 B, 2 I, 3 E, 4 S (a one-token match). */
function positionInMatch(k: number, start: number, end: number): number {
  return end - start === 1 ? 4 : k === start ? 1 : k === end - 1 ? 3 : 2;
}

/**
 * Featurise one sentence into `out` starting at token offset `outToken` (row-major [token][slot]).
 * `out` may be a BigInt64Array (ONNX input) or an Int32Array (training).
 */
export function featurizeSentence(
  tokens: readonly string[],
  config: FeatureConfig,
  lookups: FeatureLookups,
  out: Int32Array,
  outToken = 0,
  shortFormReuses?: ReadonlyMap<number, ShortFormMeaning>,
): void {
  const { clusters, gazetteer, lexicon } = lookups;
  const n = tokens.length;
  const views: TokenView[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const tok = tokens[i] as string;
    const norm = normalizeToken(tok);
    views[i] = {
      norm,
      shape: shapeOf(tok, false),
      shortShape: shapeOf(tok, true),
      flags: flagsOf(tok),
      clusters: clusters?.lookup(norm),
    };
  }
  // Gazetteer annotation per token: position in the match (1 B, 2 I, 3 E, 4 S; 0 none), type hash, and
  // trust buckets (ratio entity/occurrences, count).
  let gazPos: Uint8Array | undefined;
  let gazType: Int32Array | undefined;
  let gazTrust: Uint8Array | undefined;
  if (config.gazetteer && gazetteer) {
    gazPos = new Uint8Array(n);
    gazType = new Int32Array(n);
    gazTrust = new Uint8Array(n);
    for (const m of gazetteer.match(
      views.map((v) => v.norm),
      GAZETTEER_MIN_RATIO,
    )) {
      const ratio = m.count / m.occurrences;
      const rb = ratio < 0.1 ? 0 : ratio < 0.3 ? 1 : ratio < 0.6 ? 2 : ratio < 0.9 ? 3 : 4;
      const cb = m.count === 1 ? 0 : m.count < 5 ? 1 : 2;
      const th = hashRange(0, m.type, 0, m.type.length);
      for (let k = m.start; k < m.end; k++) {
        gazPos[k] = positionInMatch(k, m.start, m.end);
        gazType[k] = th;
        gazTrust[k] = rb * 4 + cb;
      }
    }
  }
  // Abbreviation definitions: per token, its role (1 short form; 2–5 long form B/I/E/S; 6 a later use of a
  // short form defined before it) and the hash of the long form's last word (its head: "disease",
  // "syndrome", "dystrophy"), shared by both sides. A reuse also carries the type its long form was tagged.
  let abbrRole: Uint8Array | undefined;
  let abbrHead: Int32Array | undefined;
  let abbrType: Int32Array | undefined;
  if (config.abbreviations) {
    abbrRole = new Uint8Array(n);
    abbrHead = new Int32Array(n);
    for (const d of findAbbreviations(tokens)) {
      const head = views[d.end - 1] as TokenView;
      const h = hashRange(0, head.norm, 0, head.norm.length);
      abbrRole[d.shortForm] = 1;
      abbrHead[d.shortForm] = h;
      for (let k = d.start; k < d.end; k++) {
        abbrRole[k] = 1 + positionInMatch(k, d.start, d.end);
        abbrHead[k] = h;
      }
    }
    if (config.shortFormContext !== undefined && shortFormReuses && shortFormReuses.size > 0) {
      abbrType = new Int32Array(n);
      for (const [i, meaning] of shortFormReuses) {
        if (i >= n || abbrRole[i] !== 0) continue;
        const head = normalizeToken(meaning.head);
        abbrRole[i] = 6;
        abbrHead[i] = hashRange(0, head, 0, head.length);
        abbrType[i] = hashRange(1, meaning.type, 0, meaning.type.length);
      }
    }
  }
  // Lexicon annotation per token: its state, position in the match × 256 + the match's type mask (0 none),
  // and the match's length in tokens (capped at 4).
  let lexState: Uint16Array | undefined;
  let lexLength: Uint8Array | undefined;
  if (config.lexicon && lexicon) {
    lexState = new Uint16Array(n);
    lexLength = new Uint8Array(n);
    for (const m of lexicon.match(views.map((v) => v.norm))) {
      for (let k = m.start; k < m.end; k++) {
        lexState[k] = positionInMatch(k, m.start, m.end) * 256 + m.types;
        lexLength[k] = Math.min(4, m.end - m.start);
      }
    }
  }
  const slots = slotsPerToken(config);
  const lexiconWords = config.lexicon === true && lexiconSlots(config) === 7;
  const mask = (1 << config.bucketBits) - 1;
  const pad = mask + 1;
  const view = (i: number): TokenView => (i < 0 ? BOS : i >= n ? EOS : (views[i] as TokenView));

  for (let i = 0; i < n; i++) {
    let o = (outToken + i) * slots;
    const end = o + slots;
    // -1 marks an absent feature (a prefix longer than the word, a missing cluster): the padding row.
    const put = (h: number) => {
      out[o++] = h === -1 ? pad : h & mask;
    };
    const w0 = view(i);
    const wm1 = view(i - 1);
    const wp1 = view(i + 1);
    const wm2 = view(i - 2);
    const wp2 = view(i + 2);
    const s = w0.norm;
    const len = s.length;

    put(hashInts(T.Bias, 0, 0));
    // Seed-0 hashes of the word and its neighbours, shared by every conjunction that pairs them.
    const h0 = hashRange(0, s, 0, len);
    const hm1 = hashRange(0, wm1.norm, 0, wm1.norm.length);
    const hp1 = hashRange(0, wp1.norm, 0, wp1.norm.length);
    put(hashRange(T.W0, s, 0, len));
    put(hashRange(T.Wm1, wm1.norm, 0, wm1.norm.length));
    put(hashRange(T.Wp1, wp1.norm, 0, wp1.norm.length));
    put(hashRange(T.Wm2, wm2.norm, 0, wm2.norm.length));
    put(hashRange(T.Wp2, wp2.norm, 0, wp2.norm.length));
    put(hashInts(T.Wm1W0, hm1, h0));
    put(hashInts(T.W0Wp1, h0, hp1));
    for (let k = 1; k <= 4; k++) put(k <= len ? hashRange(T.Pre * 16 + k, s, 0, k) : -1);
    for (let k = 1; k <= 4; k++) put(k <= len ? hashRange(T.Suf * 16 + k, s, len - k, len) : -1);
    put(hashRange(T.Shape, w0.shape, 0, w0.shape.length));
    put(hashRange(T.ShortShape, w0.shortShape, 0, w0.shortShape.length));
    put(hashInts(T.Flags, w0.flags, 0));
    put(hashInts(T.Flags, w0.flags, wm1.flags + 1));
    const m1 = wm1.norm;
    const p1 = wp1.norm;
    put(hashRange(T.Wm1Suf, m1, Math.max(0, m1.length - 3), m1.length));
    put(hashRange(T.Wp1Suf, p1, Math.max(0, p1.length - 3), p1.length));
    put(hashRange(T.Wm1Pre, m1, 0, Math.min(4, m1.length)));
    put(hashRange(T.Wp1Pre, p1, 0, Math.min(4, p1.length)));
    put(
      hashInts(
        T.ShapeM1ShapeP1,
        hashRange(0, wm1.shortShape, 0, wm1.shortShape.length),
        hashRange(1, wp1.shortShape, 0, wp1.shortShape.length),
      ),
    );
    put(hashInts(T.Wm2Wm1, hashRange(0, wm2.norm, 0, wm2.norm.length), hm1));
    put(hashInts(T.Wp1Wp2, hp1, hashRange(0, wp2.norm, 0, wp2.norm.length)));
    put(
      hashInts(
        T.Norm,
        hashRange(0, w0.shortShape, 0, w0.shortShape.length),
        hashRange(2, s, Math.max(0, len - 3), len),
      ),
    );
    put(hashInts(T.Norm + 100, w0.flags, hashRange(3, p1, 0, p1.length)));
    if (config.clusters) {
      for (const [v, tpl] of [
        [w0, T.Cl0],
        [wm1, T.Clm1],
        [wp1, T.Clp1],
      ] as const) {
        for (let level = 0; level < 3; level++) {
          const c = v.clusters?.[level];
          put(c === undefined ? -1 : hashInts(tpl * 16 + level, c, 0));
        }
      }
    }
    if (config.gazetteer) {
      if (gazPos && gazType && gazTrust && gazPos[i] !== 0) {
        const pos = gazPos[i] as number;
        const type = gazType[i] as number;
        const trust = gazTrust[i] as number;
        put(hashInts(T.GazTag, pos * 64 + trust, type));
        put(hashInts(T.GazType, pos, type));
        put(hashInts(T.GazTrust, trust, type));
      } else {
        put(-1);
        put(-1);
        put(-1);
      }
      const prev = gazPos && i > 0 ? (gazPos[i - 1] as number) : 0;
      const next = gazPos && i + 1 < n ? (gazPos[i + 1] as number) : 0;
      const cur = gazPos ? (gazPos[i] as number) : 0;
      put(prev === 0 && next === 0 && cur === 0 ? -1 : hashInts(T.GazContext, prev * 8 + next, cur));
    }
    if (config.subwords) {
      for (let k = 5; k <= 6; k++) put(k <= len ? hashRange(T.SubPre * 16 + k, s, 0, k) : -1);
      for (let k = 5; k <= 6; k++) put(k <= len ? hashRange(T.SubSuf * 16 + k, s, len - k, len) : -1);
      // Trigrams of "^" + word + "$": the first one starts at the boundary mark, so hash it apart.
      for (let g = 0; g < TRIGRAM_SLOTS; g++) {
        const from = g - 1;
        const to = from + 3;
        if (len < 2 || to > len + 1) put(-1);
        else
          put(
            hashRange(T.Trigram * 4 + (from < 0 ? 1 : 0) + (to > len ? 2 : 0), s, Math.max(0, from), Math.min(len, to)),
          );
      }
    }
    if (config.abbreviations) {
      const role = abbrRole?.[i] ?? 0;
      put(role === 0 ? -1 : hashInts(T.AbbrShort, role, abbrType?.[i] ?? 0));
      put(role === 0 ? -1 : hashInts(T.AbbrLong, role, abbrHead?.[i] ?? 0));
    }
    if (config.lexicon) {
      // The match alone (position × types), with its neighbours' (where a phrase sits among others), and
      // with its length (a one-word match like "iron" is weaker evidence than "iron deficiency anemia").
      const cur = lexState?.[i] ?? 0;
      const prev = i > 0 ? (lexState?.[i - 1] ?? 0) : 0;
      const next = lexState?.[i + 1] ?? 0;
      put(cur === 0 ? -1 : hashInts(T.LexTag, cur, 0));
      put(cur === 0 && prev === 0 && next === 0 ? -1 : hashInts(T.LexContext, prev * 2048 + next, cur));
      put(cur === 0 ? -1 : hashInts(T.LexLength, cur, lexLength?.[i] as number));
      if (lexiconWords) {
        // A match with the words beside it, and a word with the match states beside it: the CRF learns
        // which neighbours belong to the entity ("acute" before a listed "leukemia") and which bound it.
        put(cur === 0 ? -1 : hashInts(T.LexWordBefore, cur, hm1));
        put(cur === 0 ? -1 : hashInts(T.LexWordAfter, cur, hp1));
        put(next === 0 ? -1 : hashInts(T.LexNextMatch, next, h0));
        put(prev === 0 ? -1 : hashInts(T.LexPrevMatch, prev, h0));
      }
    }
    if (o !== end) throw new Error(`feature template wrote ${o - (end - slots)} slots, expected ${slots}`);
  }
}
