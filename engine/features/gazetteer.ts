/**
 * Gazetteer (lexicon) of entity phrases seen in the training data, for CRF features.
 *
 * Every entity span of the training set becomes a phrase (its normalised tokens) with a count per entity
 * type, and the number of times the same token sequence occurs in the training text at all, entity or
 * not: `ratio` = count of its most frequent type / occurrences says how far a match can be trusted
 * ("cancer" is nearly always a disease, "treatment" rarely is). A sentence is matched greedily left to
 * right, longest phrase first, over a trie of tokens: one map lookup per token that starts no phrase.
 *
 * The trainer builds the features of a training sentence from a gazetteer of the *other* folds
 * (jackknifing), so the model sees matches about as reliable as on unseen text; the bundle ships the
 * gazetteer of the whole training set (`gazetteer.tsv`).
 */
import { spansFromBio } from '../decoding/bio.js';
import { normalizeToken } from './normalize.js';

export const GAZETTEER_FILE = 'gazetteer.tsv';
/** Longest phrase (in tokens) that goes into the gazetteer. */
export const GAZETTEER_MAX_TOKENS = 8;

export interface GazetteerEntry {
  /** Most frequent entity type of the phrase (ties: the alphabetically first). */
  type: string;
  /** Times the phrase was an entity of that type. */
  count: number;
  /** Times the token sequence occurred in the training text (as an entity or not); ≥ count. */
  occurrences: number;
}

export interface GazetteerMatch extends GazetteerEntry {
  /** Tokens [start, end). */
  start: number;
  end: number;
}

interface TrieNode {
  next: Map<string, TrieNode>;
  entry?: GazetteerEntry;
}

export class GazetteerParseError extends Error {}

export class Gazetteer {
  readonly #root: TrieNode = { next: new Map() };
  #size = 0;

  private constructor() {}

  /** Number of phrases. */
  get size(): number {
    return this.#size;
  }

  #insert(tokens: readonly string[], entry: GazetteerEntry): void {
    let node = this.#root;
    for (const t of tokens) {
      let child = node.next.get(t);
      if (!child) node.next.set(t, (child = { next: new Map() }));
      node = child;
    }
    if (!node.entry) this.#size++;
    node.entry = entry;
  }

  /** The gazetteer of some BIO-labelled sentences' entity spans (tokens normalised with `normalizeToken`). */
  static fromSentences(
    sentences: readonly { tokens: readonly string[]; labels: readonly string[] }[],
    maxTokens = GAZETTEER_MAX_TOKENS,
  ): Gazetteer {
    const counts = new Map<string, Map<string, number>>();
    const norms = sentences.map((s) => s.tokens.map(normalizeToken));
    sentences.forEach((s, k) => {
      const norm = norms[k] as string[];
      for (const span of spansFromBio(s.labels)) {
        if (span.end - span.start > maxTokens) continue;
        const phrase = norm.slice(span.start, span.end);
        if (phrase.some((t) => /\s/.test(t) || t === '')) continue;
        const key = phrase.join(' ');
        let byType = counts.get(key);
        if (!byType) counts.set(key, (byType = new Map()));
        byType.set(span.type, (byType.get(span.type) ?? 0) + 1);
      }
    });
    const g = new Gazetteer();
    for (const key of [...counts.keys()].sort()) {
      const byType = counts.get(key) as Map<string, number>;
      let type = '';
      let count = 0;
      for (const t of [...byType.keys()].sort()) {
        const c = byType.get(t) as number;
        if (c > count) {
          type = t;
          count = c;
        }
      }
      g.#insert(key.split(' '), { type, count, occurrences: 0 });
    }
    // Occurrences: every position where the token sequence appears, entity or not.
    for (const norm of norms) {
      for (let i = 0; i < norm.length; i++) {
        let node: TrieNode | undefined = g.#root;
        for (let k = i; k < norm.length; k++) {
          node = node.next.get(norm[k] as string);
          if (!node) break;
          if (node.entry) node.entry.occurrences++;
        }
      }
    }
    return g;
  }

  /**
   * Non-overlapping matches over normalised tokens, left to right, longest first; phrases whose ratio is
   * below `minRatio` are not matched.
   */
  match(norms: readonly string[], minRatio = 0): GazetteerMatch[] {
    const out: GazetteerMatch[] = [];
    let i = 0;
    while (i < norms.length) {
      let node: TrieNode | undefined = this.#root;
      let best: GazetteerEntry | undefined;
      let bestEnd = i;
      for (let k = i; k < norms.length; k++) {
        node = node.next.get(norms[k] as string);
        if (!node) break;
        const e = node.entry;
        if (e && e.count >= minRatio * e.occurrences) {
          best = e;
          bestEnd = k + 1;
        }
      }
      if (best) {
        out.push({ ...best, start: i, end: bestEnd });
        i = bestEnd;
      } else i++;
    }
    return out;
  }

  /** `type<TAB>count<TAB>occurrences<TAB>space-separated tokens`, one phrase per line, sorted by phrase. */
  format(): string {
    const lines: string[] = [];
    const walk = (node: TrieNode, path: string[]) => {
      if (node.entry)
        lines.push(`${node.entry.type}\t${node.entry.count}\t${node.entry.occurrences}\t${path.join(' ')}`);
      for (const key of [...node.next.keys()].sort()) walk(node.next.get(key) as TrieNode, [...path, key]);
    };
    walk(this.#root, []);
    return (
      lines
        .sort((a, b) => {
          const pa = a.slice(a.lastIndexOf('\t') + 1);
          const pb = b.slice(b.lastIndexOf('\t') + 1);
          return pa < pb ? -1 : pa > pb ? 1 : 0;
        })
        .join('\n') + (lines.length ? '\n' : '')
    );
  }

  static parse(text: string, source = GAZETTEER_FILE): Gazetteer {
    const g = new Gazetteer();
    text.split('\n').forEach((line, k) => {
      if (line === '') return;
      const cols = line.split('\t');
      const count = Number(cols[1]);
      const occurrences = Number(cols[2]);
      if (
        cols.length !== 4 ||
        !cols[0] ||
        !cols[3] ||
        !Number.isInteger(count) ||
        !Number.isInteger(occurrences) ||
        count < 1 ||
        occurrences < count
      ) {
        throw new GazetteerParseError(
          `${source}:${k + 1}: expected 'type<TAB>count<TAB>occurrences<TAB>tokens' with 1 ≤ count ≤ occurrences`,
        );
      }
      g.#insert(cols[3].split(' '), { type: cols[0], count, occurrences });
    });
    return g;
  }
}
