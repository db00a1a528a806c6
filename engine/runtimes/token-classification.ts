/**
 * Runtime for `token-classification` bundles: a transformer exported to ONNX (inputs `input_ids`,
 * `attention_mask`, optionally `token_type_ids`; output `logits` [batch, sequence, labels]) with a
 * WordPiece `tokenizer.json` and a `config.json` whose `id2label` names the BIO labels — what hospitals
 * bring from Hugging Face-style fine-tuning.
 *
 * Alignment follows the usual convention of such models: a word takes the label of its first subword;
 * words are then grouped into entities by BIO, and an entity's score is the mean probability of its
 * words' labels. Documents longer than the model's window are processed in consecutive word windows.
 */
import { bundleAssertionRules } from '../assertions/bundle.js';
import type { AssertionRules } from '../assertions/types.js';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { spansFromBio } from '../decoding/bio.js';
import { BundleVerificationError, type VerifiedBundle } from '../bundle/bundle.js';
import { createSession, type EngineOptions } from './crf-engine.js';
import { parseProfile } from '../bundle/profile.js';
import type { BaselineProfile, Entity, ExtractResult, ModelInfo, NerEngine, TextSpan } from '../types.js';
import { WordPieceTokenizer, type Word } from '../features/wordpiece.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseJsonFile, schemaProblem } from '../json-problems.js';
import { SpanAttr, SpanName } from '../../contracts/tracing.js';
import { childSpan } from '../tracing.js';

/**
 * Windows (model-length slices of a document) per ONNX Runtime run. A server micro-batch of short notes
 * fits in one run; evaluating a whole CoNLL file no longer builds one tensor for every sentence at once.
 */
const ROWS_PER_RUN = 64;

const configSchema = z.object({
  id2label: z.record(z.string().regex(/^\d+$/, 'id2label keys must be integer ids'), z.string().min(1)),
  max_position_embeddings: z.number().int().positive().optional(),
});

/** Labels like "B-DISEASE"; bare "DISEASE" (IO scheme) is read as I- so runs still form entities. */
function normaliseLabel(label: string): string {
  if (label === 'O' || /^[BI]-/.test(label)) return label;
  return `I-${label}`;
}

export class TokenClassificationEngine implements NerEngine {
  readonly info: ModelInfo;
  readonly profile: BaselineProfile | undefined;
  readonly assertionRules: AssertionRules | undefined;
  readonly #session: ort.InferenceSession;
  readonly #tokenizer: WordPieceTokenizer;
  readonly #labels: string[];
  readonly #maxLength: number;
  readonly #needsTokenTypes: boolean;

  private constructor(
    bundle: VerifiedBundle,
    session: ort.InferenceSession,
    tokenizer: WordPieceTokenizer,
    labels: string[],
    maxLength: number,
  ) {
    const m = bundle.manifest;
    this.info = {
      name: m.name,
      version: m.version,
      digest: bundle.digest,
      format: 'token-classification',
      entityTypes: [...m.entityTypes].sort(),
    };
    this.#session = session;
    this.#tokenizer = tokenizer;
    this.#labels = labels;
    this.#maxLength = maxLength;
    this.#needsTokenTypes = session.inputNames.includes('token_type_ids');
    const profile = bundle.files.get('profile.json');
    this.profile = profile ? parseProfile(profile.toString('utf8')) : undefined;
    this.assertionRules = bundleAssertionRules(bundle);
  }

  static async create(bundle: VerifiedBundle, options: EngineOptions = {}): Promise<TokenClassificationEngine> {
    const fail = (msg: string) => new BundleVerificationError(msg, bundle.dir);
    const need = (name: string) => {
      const f = bundle.files.get(name);
      if (!f) throw fail(`token-classification bundles need ${name} (pinned in the manifest)`);
      return f;
    };
    let tokenizer: WordPieceTokenizer;
    let config: z.infer<typeof configSchema>;
    try {
      tokenizer = new WordPieceTokenizer(parseJsonFile(need('tokenizer.json').toString('utf8'), 'tokenizer.json'));
      const parsed = configSchema.safeParse(parseJsonFile(need('config.json').toString('utf8'), 'config.json'));
      if (!parsed.success) throw new Error(schemaProblem('config.json', configSchema, parsed.error.issues[0]));
      config = parsed.data;
    } catch (err) {
      if (err instanceof BundleVerificationError) throw err;
      throw fail((err as Error).message);
    }
    const ids = Object.keys(config.id2label)
      .map(Number)
      .sort((a, b) => a - b);
    if (ids.some((id, i) => id !== i)) throw fail('config.json id2label ids must be 0..n-1 without gaps');
    const labels = ids.map((i) => normaliseLabel(config.id2label[String(i)] as string));
    let session: ort.InferenceSession;
    try {
      session = await createSession(need('model.onnx'), options.threads);
    } catch (err) {
      throw fail(`model.onnx cannot be loaded by ONNX Runtime: ${(err as Error).message}`);
    }
    for (const input of ['input_ids', 'attention_mask']) {
      if (!session.inputNames.includes(input))
        throw fail(`model.onnx has no '${input}' input (has ${session.inputNames.join(', ')})`);
    }
    if (!session.outputNames.includes('logits'))
      throw fail(`model.onnx has no 'logits' output (has ${session.outputNames.join(', ')})`);
    return new TokenClassificationEngine(
      bundle,
      session,
      tokenizer,
      labels,
      Math.min(512, config.max_position_embeddings ?? 512),
    );
  }

  async extract(text: string): Promise<ExtractResult> {
    return (await this.extractBatch([text]))[0] as ExtractResult;
  }

  /** Words of `text` as this model splits it (what the server's per-request token cap counts). */
  countTokens(text: string): number {
    return this.#tokenizer.words(text).length;
  }

  /** Words of `text` as this model splits them, with offsets (the feedback store's CoNLL tokens). */
  tokenize(text: string): TextSpan[] {
    return this.#tokenizer.words(text).map((w) => ({ text: text.slice(w.start, w.end), start: w.start, end: w.end }));
  }

  async extractBatch(texts: readonly string[]): Promise<ExtractResult[]> {
    const docs = texts.map((t) => this.#tokenizer.words(t));
    const tagged = await this.#tagWords(docs);
    const span = childSpan(SpanName.decode);
    const results = docs.map((words, d) => {
      const text = texts[d] as string;
      const { labels, probs } = tagged[d] as { labels: string[]; probs: number[] };
      const entities: Entity[] = spansFromBio(labels).map((s) => {
        const start = (words[s.start] as Word).start;
        const end = (words[s.end - 1] as Word).end;
        let sum = 0;
        for (let k = s.start; k < s.end; k++) sum += probs[k] as number;
        return {
          label: s.type,
          start,
          end,
          text: text.slice(start, end),
          score: Math.round((sum / (s.end - s.start)) * 1e4) / 1e4,
        };
      });
      return { entities, stats: { tokens: words.length, unknownTokens: words.filter((w) => w.unknown).length } };
    });
    if (span) {
      let tokens = 0;
      let entities = 0;
      for (const r of results) {
        tokens += r.stats.tokens;
        entities += r.entities.length;
      }
      span.setAttributes({
        [SpanAttr.documents]: docs.length,
        [SpanAttr.tokens]: tokens,
        [SpanAttr.entities]: entities,
      });
      span.end();
    }
    return results;
  }

  // No document features: TagTokensOptions.document changes nothing for a transformer export.
  async tagTokens(sentences: readonly (readonly string[])[]): Promise<string[][]> {
    // Pre-tokenised input: WordPiece each given token as one word (its offsets are not needed).
    const docs = sentences.map((tokens) =>
      tokens.map((tok) => {
        const pieces = this.#tokenizer.words(tok).flatMap((w) => w.ids);
        return {
          start: 0,
          end: 0,
          ids: pieces.length > 0 ? pieces : [this.#tokenizer.unkId],
          unknown: pieces.length === 0,
        };
      }),
    );
    return (await this.#tagWords(docs)).map((t) => t.labels);
  }

  /** Windows of whole words that fit the model's sequence length (with [CLS] and [SEP]). */
  #windows(words: Word[]): [number, number][] {
    const budget = this.#maxLength - 2;
    const windows: [number, number][] = [];
    let start = 0;
    let used = 0;
    for (let i = 0; i < words.length; i++) {
      const n = Math.min((words[i] as Word).ids.length, budget);
      if (used + n > budget && i > start) {
        windows.push([start, i]);
        start = i;
        used = 0;
      }
      used += n;
    }
    if (words.length > start) windows.push([start, words.length]);
    return windows;
  }

  async #tagWords(docs: Word[][]): Promise<{ labels: string[]; probs: number[] }[]> {
    const rows: { doc: number; from: number; to: number }[] = [];
    docs.forEach((words, doc) => {
      for (const [from, to] of this.#windows(words)) rows.push({ doc, from, to });
    });
    const out = docs.map((w) => ({
      labels: new Array<string>(w.length).fill('O'),
      probs: new Array<number>(w.length).fill(1),
    }));
    // One run per chunk of rows: a whole CoNLL file as one [rows, width] tensor would hold every sentence
    // padded to the longest, and the attention activations grow with rows × width².
    // The event loop gets a turn between runs, so probes are answered during a long batch.
    for (let first = 0; first < rows.length; first += ROWS_PER_RUN) {
      await this.#tagRows(docs, rows.slice(first, first + ROWS_PER_RUN), out);
      await nextTurn();
    }
    return out;
  }

  /** Run the model on some windows and write each word's best label and its probability into `out`. */
  async #tagRows(
    docs: Word[][],
    rows: readonly { doc: number; from: number; to: number }[],
    out: { labels: string[]; probs: number[] }[],
  ): Promise<void> {
    const seqs = rows.map(({ doc, from, to }) => {
      const ids = [this.#tokenizer.clsId];
      const firstPiece: number[] = [];
      for (let i = from; i < to; i++) {
        firstPiece.push(ids.length);
        ids.push(...(docs[doc] as Word[])[i]!.ids.slice(0, this.#maxLength - 2));
      }
      ids.push(this.#tokenizer.sepId);
      return { ids: ids.slice(0, this.#maxLength), firstPiece };
    });
    let width = 1;
    for (const s of seqs) width = Math.max(width, s.ids.length);
    const B = seqs.length;
    const inputIds = new BigInt64Array(B * width).fill(BigInt(this.#tokenizer.padId));
    const mask = new BigInt64Array(B * width);
    seqs.forEach((s, b) => {
      s.ids.forEach((id, k) => {
        inputIds[b * width + k] = BigInt(id);
        mask[b * width + k] = 1n;
      });
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, [B, width]),
      attention_mask: new ort.Tensor('int64', mask, [B, width]),
    };
    if (this.#needsTokenTypes) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * width), [B, width]);
    const span = childSpan(SpanName.onnxRun);
    span?.setAttributes({ [SpanAttr.batchSize]: B, [SpanAttr.tokens]: B * width });
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.#session.run(feeds);
    } finally {
      span?.end();
    }
    const logits = result.logits as ort.Tensor;
    const L = this.#labels.length;
    if (logits.dims.length !== 3 || logits.dims[2] !== L) {
      throw new Error(
        `model logits have shape [${logits.dims.join(', ')}], expected [batch, sequence, ${L}] (config.json id2label has ${L} labels)`,
      );
    }
    const data = logits.data as Float32Array;
    seqs.forEach((s, b) => {
      const row = rows[b] as { doc: number; from: number };
      s.firstPiece.forEach((pos, w) => {
        const base = (b * width + pos) * L;
        let best = 0;
        let max = -Infinity;
        for (let y = 0; y < L; y++) {
          if ((data[base + y] as number) > max) {
            max = data[base + y] as number;
            best = y;
          }
        }
        let z = 0;
        for (let y = 0; y < L; y++) z += Math.exp((data[base + y] as number) - max);
        const target = out[row.doc] as { labels: string[]; probs: number[] };
        target.labels[row.from + w] = this.#labels[best] as string;
        target.probs[row.from + w] = 1 / z;
      });
    });
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
