/**
 * Public types of the NER engine: what the server, the trainer, the validator and the operator see.
 * Everything here is plain data (JSON-serialisable) except {@link NerEngine}.
 */

import type { Assertion, AssertionRules } from './assertions/types.js';

/** One extracted entity. Invariant: `text === input.slice(start, end)`; offsets are UTF-16 code units. */
export interface Entity {
  label: string;
  start: number;
  end: number;
  text: string;
  /** Marginal probability of exactly this span and label under the model, in [0, 1]. */
  score: number;
  /** What the text says about it (negated, uncertain, historical, someone else's): set by the assertion stage. */
  assertion?: Assertion;
}

/** A piece of a text by offsets (UTF-16 code units): `text === input.slice(start, end)`. */
export interface TextSpan {
  text: string;
  start: number;
  end: number;
}

/** Aggregates about one document, used for metrics and drift. Never contains text. */
export interface DocumentStats {
  tokens: number;
  /** Tokens whose normalised form is not in the model's training vocabulary. */
  unknownTokens: number;
}

export interface ExtractResult {
  entities: Entity[];
  stats: DocumentStats;
}

export type BundleFormat = 'crf' | 'token-classification';

/** Identity of a loaded model, as reported by the server and recorded in NerModel status. */
export interface ModelInfo {
  name: string;
  version: string;
  /** sha256 (hex) of the bundle manifest, which pins every file of the bundle. */
  digest: string;
  format: BundleFormat;
  /** Entity types without BIO prefixes, sorted, e.g. ["DISEASE", "TREATMENT"]. */
  entityTypes: string[];
}

/**
 * A histogram with explicit upper bounds, shaped like a Prometheus histogram:
 * `counts[i]` is the number of observations `<= bounds[i]` and `> bounds[i-1]` (not cumulative);
 * `counts[bounds.length]` is the overflow (+Inf) bucket.
 */
export interface Histogram {
  bounds: number[];
  counts: number[];
}

/**
 * The compact drift baseline of a model (`profile.json`), computed on held-out data at training time.
 * The server's metric buckets use the same bounds so the operator can compare like with like.
 */
export interface BaselineProfile {
  profileVersion: 1;
  documents: number;
  tokens: number;
  entities: number;
  /** Fraction of predicted entities per entity type (sums to 1 when entities > 0). */
  labelDistribution: Record<string, number>;
  /** Entity confidence (score) histogram. */
  confidence: Histogram;
  /** Document length in tokens. */
  documentLength: Histogram;
  /** unknownTokens / tokens over the held-out data. */
  unknownTokenRate: number;
}

/** Entity-level exact-span scores (conlleval / seqeval strict). */
export interface PrfScores {
  precision: number;
  recall: number;
  f1: number;
  /** Number of gold entities. */
  support: number;
  predicted: number;
  correct: number;
}

export interface EvaluationReport {
  micro: PrfScores;
  perType: Record<string, PrfScores>;
  sentences: number;
  tokens: number;
}

export interface TagTokensOptions {
  /**
   * The sentences are one document in reading order (a CoNLL file): a model with document features
   * (short-form reuse) lets each sentence see the ones before it, as a note tagged whole sees itself.
   * Default false: the sentences are unrelated.
   */
  document?: boolean;
  /**
   * With `document`: the document of each sentence (consecutive sentences of one document share it, as
   * `-DOCSTART-` lines divide a CoNLL file); a sentence sees only the sentences of its own document.
   */
  documents?: readonly number[];
}

/** A loaded, verified model ready for inference. Safe to call concurrently. */
export interface NerEngine {
  readonly info: ModelInfo;
  /** The drift baseline shipped with the bundle, when it has one. */
  readonly profile: BaselineProfile | undefined;
  /**
   * The assertion rules pinned in the bundle, when it has them (engine/assertions: make a tagger with
   * `createAssertionTagger`). Optional so test doubles need not say; absent or undefined: no rules of its own.
   */
  readonly assertionRules?: AssertionRules | undefined;
  /**
   * Tag many documents together (the throughput path). Order is preserved. Work is bounded per ONNX Runtime
   * run and the event loop gets turns during a long batch.
   */
  extractBatch(texts: readonly string[]): Promise<ExtractResult[]>;
  extract(text: string): Promise<ExtractResult>;
  /** Tag pre-tokenised sentences (evaluation path); returns BIO labels per token. */
  tagTokens(sentences: readonly (readonly string[])[], options?: TagTokensOptions): Promise<string[][]>;
  /**
   * Tokens the model would see in `text`, for the server's per-request token cap. Optional (test doubles);
   * a server without it counts characters, an upper bound for every tokenizer here.
   */
  countTokens?(text: string): number;
  /**
   * The words of `text` as the model tokenizes them, with offsets (UTF-16 code units). The feedback store
   * writes verified documents as CoNLL in these tokens, so they train like the corpora the model learned
   * from. Optional (test doubles); without it, the default crf tokenizer is used.
   */
  tokenize?(text: string): TextSpan[];
  close(): Promise<void>;
}
