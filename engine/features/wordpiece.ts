/**
 * BERT-style WordPiece tokenisation from a Hugging Face `tokenizer.json`, keeping the character offsets
 * of every word in the original text. Only what token classification needs: the BERT normaliser
 * (lower-casing, accent stripping, control-character removal), the BERT pre-tokeniser (split on
 * whitespace and punctuation) and greedy longest-match-first WordPiece.
 *
 * Why hand-written: the npm ports of `tokenizers` either download native binaries at install time
 * (impossible in air-gapped builds) or pull in a full transformer runtime; this is ~120 lines.
 */
import { z } from 'zod';
import { schemaProblem } from '../json-problems.js';

const tokenizerJsonSchema = z.object({
  normalizer: z
    .object({
      type: z.string(),
      lowercase: z.boolean().optional(),
      strip_accents: z.boolean().nullable().optional(),
      clean_text: z.boolean().optional(),
    })
    .nullable()
    .optional(),
  model: z.object({
    type: z.literal('WordPiece', {
      message: "only WordPiece tokenizers are supported (model.type must be 'WordPiece')",
    }),
    unk_token: z.string(),
    continuing_subword_prefix: z.string().default('##'),
    max_input_chars_per_word: z.number().int().positive().default(100),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
  }),
});

export interface Word {
  start: number;
  end: number;
  /** WordPiece ids of the word (at least one: the unknown token when nothing matches). */
  ids: number[];
  unknown: boolean;
}

export class WordPieceTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly #lowercase: boolean;
  readonly #stripAccents: boolean;
  readonly #prefix: string;
  readonly #maxChars: number;

  constructor(json: unknown) {
    const parsed = tokenizerJsonSchema.safeParse(json);
    if (!parsed.success) {
      throw new Error(schemaProblem('tokenizer.json', tokenizerJsonSchema, parsed.error.issues[0]));
    }
    const t = parsed.data;
    this.vocab = new Map(Object.entries(t.model.vocab));
    const id = (tok: string) => {
      const v = this.vocab.get(tok);
      if (v === undefined) throw new Error(`tokenizer.json vocabulary has no '${tok}' token`);
      return v;
    };
    this.unkId = id(t.model.unk_token);
    this.clsId = id('[CLS]');
    this.sepId = id('[SEP]');
    this.padId = this.vocab.get('[PAD]') ?? 0;
    this.#lowercase = t.normalizer?.lowercase ?? true;
    // BERT semantics: strip_accents null means "follow lowercase".
    this.#stripAccents = t.normalizer?.strip_accents ?? this.#lowercase;
    this.#prefix = t.model.continuing_subword_prefix;
    this.#maxChars = t.model.max_input_chars_per_word;
  }

  /** Split text into words (whitespace and punctuation boundaries) and WordPiece each one. */
  words(text: string): Word[] {
    const out: Word[] = [];
    const re = /[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu;
    for (const m of text.matchAll(re)) {
      const raw = m[0];
      if (/^\p{Cc}$/u.test(raw)) continue; // clean_text drops control characters
      const start = m.index;
      const ids = this.#wordPiece(this.#normalize(raw));
      out.push({ start, end: start + raw.length, ids: ids ?? [this.unkId], unknown: ids === undefined });
    }
    return out;
  }

  #normalize(word: string): string {
    let w = this.#lowercase ? word.toLowerCase() : word;
    if (this.#stripAccents) w = w.normalize('NFD').replace(/\p{Mn}/gu, '');
    return w;
  }

  /** Greedy longest-match-first; undefined when the word cannot be covered (→ unknown token). */
  #wordPiece(word: string): number[] | undefined {
    if (word.length === 0) return undefined;
    if (word.length > this.#maxChars) return undefined;
    const ids: number[] = [];
    let start = 0;
    while (start < word.length) {
      let end = word.length;
      let found: number | undefined;
      while (end > start) {
        const piece = (start > 0 ? this.#prefix : '') + word.slice(start, end);
        found = this.vocab.get(piece);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return undefined;
      ids.push(found);
      start = end;
    }
    return ids;
  }
}
