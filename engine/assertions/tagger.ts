/**
 * The ConText algorithm (Harkema et al., J Biomed Inform 2009) over precompiled rules.
 *
 * 1. The text is split into words and sentences (tokenize.ts).
 * 2. Triggers are found left to right, longest term first: a match occupies its words, so a shorter trigger
 *    inside a longer one ("no" in "no increase", a pseudo-trigger) never fires. Words of the entities being
 *    judged are never part of a trigger: an entity is not its own context.
 * 3. A trigger's scope runs forward, backward or both from it, to the end of its sentence, to the nearest
 *    closing term that ends its category ("but", "however"), or to its window of words, whichever is nearest.
 * 4. An entity is in a scope when it starts in a forward scope or ends in a backward one. Every trigger whose
 *    scope holds the entity sets its attribute: any negation negates; hypothetical outranks uncertainty.
 */
import { Tokens, termKey } from './tokenize.js';
import {
  DEFAULT_ASSERTION,
  type Assertion,
  type AssertionRules,
  type ScopeCategory,
  type TriggerCategory,
} from './types.js';

/** Start and end of a span of the text, in UTF-16 code units (an entity's `start`/`end`). */
export interface TextSpan {
  start: number;
  end: number;
}

/** Tags spans of a text with their assertion attributes. Not re-entrant (it reuses buffers), but `assert` is synchronous. */
export interface AssertionTagger {
  /** The language of the rules it was made from. */
  readonly language: string;
  /** The assertion of each span, in the order given. */
  assert(text: string, spans: ReadonlyArray<TextSpan>): Assertion[];
}

const NEGATION = 1;
const UNCERTAINTY = 2;
const HYPOTHETICAL = 4;
const HISTORICAL = 8;
const OTHER = 16;
const ALL = NEGATION | UNCERTAINTY | HYPOTHETICAL | HISTORICAL | OTHER;
const BITS: Record<ScopeCategory, number> = {
  negation: NEGATION,
  uncertainty: UNCERTAINTY,
  hypothetical: HYPOTHETICAL,
  historical: HISTORICAL,
  'other-experiencer': OTHER,
};

const FORWARD = 1;
const BACKWARD = 2;

/** What a matched term does. */
interface Action {
  /** Attribute bit for scope categories; 0 for pseudo and closing. */
  bit: number;
  /** FORWARD | BACKWARD for scope categories. */
  directions: number;
  /** Largest number of words between trigger and entity, or Infinity. */
  window: number;
  /** For closing terms: the attribute bits whose scopes it ends. */
  ends: number;
  category: TriggerCategory;
}

interface TrieNode {
  next: Map<string, TrieNode> | undefined;
  action: Action | undefined;
}

function compile(rules: AssertionRules): TrieNode {
  const root: TrieNode = { next: new Map(), action: undefined };
  for (const rule of rules.rules) {
    const scoped = rule.category !== 'pseudo' && rule.category !== 'closing';
    const action: Action = {
      category: rule.category,
      bit: scoped ? BITS[rule.category as ScopeCategory] : 0,
      directions: !scoped
        ? 0
        : rule.direction === 'forward'
          ? FORWARD
          : rule.direction === 'backward'
            ? BACKWARD
            : FORWARD | BACKWARD,
      window: rule.window ?? Infinity,
      ends: rule.category === 'closing' ? (rule.ends ?? []).reduce((m, c) => m | BITS[c], 0) || ALL : 0,
    };
    for (const term of rule.terms) {
      let node = root;
      for (const word of termKey(term).split(' ')) {
        node.next ??= new Map();
        let child = node.next.get(word);
        if (!child) {
          child = { next: undefined, action: undefined };
          node.next.set(word, child);
        }
        node = child;
      }
      // Validation keeps terms unique within a rule set; a later definition would win here.
      node.action = action;
    }
  }
  return root;
}

/** Build a tagger: the rules are compiled once into a word trie. */
export function createAssertionTagger(rules: AssertionRules): AssertionTagger {
  const root = compile(rules);
  const abbreviations = new Set(rules.abbreviations);
  const tokens = new Tokens();
  // Per-call scratch, grown as needed: the matched triggers, and which tokens belong to a judged span.
  let inSpan = new Uint8Array(256);
  let active = new Uint8Array(64);
  let trigStart = new Int32Array(64);
  let trigEnd = new Int32Array(64);
  const trigAction: Action[] = [];

  /** Match triggers in the sentences marked in `active` (those holding a span): the rest cannot matter. */
  function findTriggers(): number {
    const t = tokens;
    let count = 0;
    let i = 0;
    while (i < t.length) {
      if (active[t.sentences[i]!] === 0) {
        i++;
        continue;
      }
      let node: TrieNode | undefined = root;
      let best: Action | undefined;
      let bestEnd = i;
      let j = i;
      while (j < t.length && inSpan[j] === 0 && node?.next) {
        node = node.next.get(t.key(j));
        if (!node) break;
        j++;
        if (node.action) {
          best = node.action;
          bestEnd = j;
        }
      }
      if (!best) {
        i++;
        continue;
      }
      if (count === trigStart.length) {
        const grow = (a: Int32Array) => {
          const b = new Int32Array(a.length * 2);
          b.set(a);
          return b;
        };
        trigStart = grow(trigStart);
        trigEnd = grow(trigEnd);
      }
      trigStart[count] = i;
      trigEnd[count] = bestEnd;
      trigAction[count] = best;
      count++;
      i = bestEnd;
    }
    return count;
  }

  /** Whether a closing term ending `bit` lies in tokens [from, to). `lo`, `hi`: the sentence's triggers. */
  function closed(bit: number, from: number, to: number, lo: number, hi: number): boolean {
    for (let k = lo; k < hi; k++) {
      const a = trigAction[k]!;
      if (a.category === 'closing' && (a.ends & bit) !== 0 && trigStart[k]! >= from && trigEnd[k]! <= to) return true;
    }
    return false;
  }

  return {
    language: rules.language,
    assert(text, spans) {
      if (spans.length === 0) return [];
      const t = tokens;
      t.read(text, abbreviations);
      if (inSpan.length < t.length) inSpan = new Uint8Array(Math.max(t.length, inSpan.length * 2));
      else inSpan.fill(0, 0, t.length);
      // sentences[length] is the sentence after the last token: the number of sentences is at most one more.
      const sentenceCount = t.sentences[t.length]! + 1;
      if (active.length < sentenceCount) active = new Uint8Array(Math.max(sentenceCount, active.length * 2));
      else active.fill(0, 0, sentenceCount);
      // Token range [first, last) of each span: the tokens it overlaps.
      const first = new Int32Array(spans.length);
      const last = new Int32Array(spans.length);
      for (let s = 0; s < spans.length; s++) {
        const { start, end } = spans[s]!;
        if (!(start >= 0 && end >= start && end <= text.length))
          throw new RangeError(`span ${s} (${start}, ${end}) is outside the text (length ${text.length})`);
        // An empty span, or one on whitespace only, holds no token (a === b).
        const a = lowerBound(t.ends, t.length, start + 1);
        let b = a;
        while (b < t.length && t.starts[b]! < end) b++;
        first[s] = a;
        last[s] = b;
        for (let k = a; k < b; k++) inSpan[k] = 1;
        if (a < b) for (let k = t.sentences[a]!; k <= t.sentences[b - 1]!; k++) active[k] = 1;
      }
      const triggers = findTriggers();
      const out: Assertion[] = new Array<Assertion>(spans.length);
      for (let s = 0; s < spans.length; s++) {
        const a = first[s]!;
        const b = last[s]!;
        if (a >= t.length || b === a) {
          out[s] = { ...DEFAULT_ASSERTION };
          continue;
        }
        const sentence = t.sentences[a]!;
        const endSentence = t.sentences[b - 1]!;
        // The triggers of the sentences the span touches: [lo, hi).
        // Triggers are in text order, so their sentences are too: the first of this sentence by bisection.
        let lo = 0;
        let up = triggers;
        while (lo < up) {
          const mid = (lo + up) >>> 1;
          if (t.sentences[trigStart[mid]!]! < sentence) lo = mid + 1;
          else up = mid;
        }
        let hi = lo;
        while (hi < triggers && t.sentences[trigStart[hi]!]! <= endSentence) hi++;
        let bits = 0;
        for (let k = lo; k < hi; k++) {
          const act = trigAction[k]!;
          if (act.bit === 0 || (bits & act.bit) !== 0) continue;
          const ts = trigStart[k]!;
          const te = trigEnd[k]!;
          if (te <= a && (act.directions & FORWARD) !== 0) {
            if (t.sentences[ts] !== sentence) continue;
            if (t.words[a]! - t.words[te]! >= act.window) continue;
            if (closed(act.bit, te, a, lo, hi)) continue;
            bits |= act.bit;
          } else if (ts >= b && (act.directions & BACKWARD) !== 0) {
            if (t.sentences[ts] !== endSentence) continue;
            if (t.words[ts]! - t.words[b]! >= act.window) continue;
            if (closed(act.bit, b, ts, lo, hi)) continue;
            bits |= act.bit;
          }
        }
        out[s] = {
          negated: (bits & NEGATION) !== 0,
          certainty:
            (bits & HYPOTHETICAL) !== 0 ? 'hypothetical' : (bits & UNCERTAINTY) !== 0 ? 'uncertain' : 'certain',
          temporality: (bits & HISTORICAL) !== 0 ? 'historical' : 'current',
          experiencer: (bits & OTHER) !== 0 ? 'other' : 'patient',
        };
      }
      return out;
    },
  };
}

/** First index in `a[0..n)` (ascending) whose value is >= x. */
function lowerBound(a: Int32Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
