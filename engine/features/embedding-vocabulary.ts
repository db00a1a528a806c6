/**
 * The dense branch's input side, shared by trainer and runtime: the embedding vocabulary shipped in a
 * bundle (`embedding-vocab.txt`, one normalised word per line, line i = embedding row i) and the window
 * of embedding row ids the ONNX graph's `window` input takes for every token.
 *
 * Row layout of the embedding table (in model.onnx): rows 0..V-1 the words, then UNK, BOS, EOS. The
 * table has `dim + 3` columns: the word vector, then one indicator column each for UNK, BOS and EOS,
 * so the special rows are distinguishable without borrowing a learned dimension.
 */
import { normalizeToken } from './normalize.js';

export const EMBEDDING_VOCAB_FILE = 'embedding-vocab.txt';
export const SPECIAL_COLUMNS = 3;

export class EmbeddingVocabulary {
  readonly #ids: Map<string, number>;
  readonly size: number;

  constructor(words: readonly string[]) {
    this.#ids = new Map(words.map((w, i) => [w, i]));
    this.size = words.length;
    if (this.#ids.size !== words.length) throw new Error('embedding vocabulary has duplicate words');
  }

  get unk(): number {
    return this.size;
  }
  get bos(): number {
    return this.size + 1;
  }
  get eos(): number {
    return this.size + 2;
  }
  /** Rows of the embedding table (words + UNK, BOS, EOS). */
  get rows(): number {
    return this.size + 3;
  }

  static parse(text: string): EmbeddingVocabulary {
    const words = text.split('\n');
    if (words[words.length - 1] === '') words.pop();
    return new EmbeddingVocabulary(words);
  }

  static format(words: readonly string[]): string {
    // The words come from the training text: the message gives the position, not the word.
    words.forEach((w, i) => {
      if (w.includes('\n') || w === '')
        throw new Error(`embedding vocabulary word ${i + 1} is empty or contains a line break`);
    });
    return words.join('\n') + '\n';
  }

  /**
   * Window ids for one sentence into `out` (row-major [token][window]) from token offset `outToken`:
   * the embedding rows of tokens i-half..i+half, BOS/EOS rows outside the sentence.
   */
  windowIds(tokens: readonly string[], window: number, out: Int32Array, outToken = 0): void {
    const n = tokens.length;
    const half = (window - 1) >> 1;
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) rows[i] = this.#ids.get(normalizeToken(tokens[i] as string)) ?? this.unk;
    for (let i = 0; i < n; i++) {
      const o = (outToken + i) * window;
      for (let q = 0; q < window; q++) {
        const j = i + q - half;
        out[o + q] = j < 0 ? this.bos : j >= n ? this.eos : (rows[j] as number);
      }
    }
  }
}

/** The embedding table for the ONNX graph: word vectors plus the UNK/BOS/EOS indicator columns. */
export function embeddingTable(vectors: Float32Array, words: number, dim: number): Float32Array {
  const cols = dim + SPECIAL_COLUMNS;
  const table = new Float32Array((words + 3) * cols);
  for (let i = 0; i < words; i++) table.set(vectors.subarray(i * dim, i * dim + dim), i * cols);
  for (let s = 0; s < 3; s++) table[(words + s) * cols + dim + s] = 1;
  return table;
}
