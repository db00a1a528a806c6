/**
 * Word clusters learned from unlabeled text (see trainer/clusters.ts). Shipped in a bundle as
 * `clusters.tsv`: one `word<TAB>c1<TAB>c2<TAB>c3` line per word, coarse to fine granularity, words
 * in normalised form (engine/features/normalize.ts `normalizeToken`).
 */
export class WordClusters {
  readonly #byWord: Map<string, number[]>;

  constructor(entries: Iterable<[string, number[]]>) {
    this.#byWord = new Map(entries);
  }

  get size(): number {
    return this.#byWord.size;
  }

  lookup(normalizedWord: string): readonly number[] | undefined {
    return this.#byWord.get(normalizedWord);
  }

  static parse(text: string, file = 'clusters.tsv'): WordClusters {
    const entries: [string, number[]][] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      if (line === '') continue;
      const cols = line.split('\t');
      const ids = cols.slice(1).map(Number);
      if (cols.length < 2 || ids.some((n) => !Number.isInteger(n) || n < 0)) {
        throw new Error(`${file}:${i + 1}: expected word<TAB>cluster ids (non-negative integers)`);
      }
      entries.push([cols[0] as string, ids]);
    }
    return new WordClusters(entries);
  }

  format(): string {
    let out = '';
    const words = [...this.#byWord.keys()].sort();
    for (const w of words) out += `${w}\t${(this.#byWord.get(w) as number[]).join('\t')}\n`;
    return out;
  }
}
