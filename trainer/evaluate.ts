/**
 * Entity-level, exact-span evaluation (conlleval / seqeval strict): an entity counts as correct only
 * when its type, start and end all match a gold entity. Micro scores pool all types.
 */
import { spansFromBio } from '../engine/decoding/bio.js';
import { documentsOf, type LabeledSentence } from '../engine/corpus/conll.js';
import type { Manifest } from '../contracts/bundle-manifest.js';
import type { EvaluationReport, NerEngine, PrfScores } from '../engine/types.js';

/** Tokens tagged per engine call when evaluating in chunks: bounds memory, whatever the dataset's size. */
export const EVALUATION_CHUNK_TOKENS = 8192;

export interface EvaluateOptions {
  /** Tag each sentence on its own rather than as part of its document. */
  independentSentences?: boolean;
  /**
   * How many preceding sentences of its document a sentence's tags can depend on (see
   * {@link documentContext}). Given, the sentences are tagged in chunks of about `chunkTokens` tokens,
   * each with that many sentences before it as context, which gives the same tags as one call over all of
   * them; absent, they are tagged in one call.
   */
  context?: number | undefined;
  chunkTokens?: number | undefined;
}

/**
 * How far back in its document a sentence's tags can look with this model: the short-form reuse window of a
 * CRF model with document features, else 0.
 */
export function documentContext(manifest: Pick<Manifest, 'format' | 'crf'>): number {
  return manifest.format === 'crf' ? (manifest.crf?.features.shortFormContext ?? 0) : 0;
}

/**
 * A model's scores on labelled CoNLL sentences: the one place that decides how a CoNLL file is tagged for
 * evaluation. Its sentences are read as documents in reading order (divided where the file has
 * `-DOCSTART-` lines), as the trainer reads its own files (a model with short-form reuse looks back
 * across the sentences of a document); `independentSentences` tags each on its own.
 *
 * The sentences may be a stream (engine/corpus/conll-stream.ts): with `context` set, memory then depends on
 * the chunk size, not on the dataset's.
 */
export async function evaluateEngine(
  engine: Pick<NerEngine, 'tagTokens'>,
  sentences: readonly LabeledSentence[] | AsyncIterable<LabeledSentence>,
  options: EvaluateOptions = {},
): Promise<EvaluationReport> {
  const counter = new EvaluationCounter();
  const document = !options.independentSentences;
  if (options.context === undefined) {
    const all: LabeledSentence[] = [];
    if (Symbol.asyncIterator in sentences) for await (const s of sentences) all.push(s);
    else all.push(...sentences);
    const predicted = await engine.tagTokens(
      all.map((s) => s.tokens),
      { document, documents: documentsOf(all) },
    );
    all.forEach((s, i) => counter.add(s.labels, predicted[i] as readonly string[]));
    return counter.report();
  }
  const context = document ? options.context : 0;
  for await (const { before, chunk } of chunks(sentences, options.chunkTokens ?? EVALUATION_CHUNK_TOKENS, context)) {
    const window = [...before, ...chunk];
    const predicted = await engine.tagTokens(
      window.map((s) => s.tokens),
      { document, documents: documentsOf(window) },
    );
    chunk.forEach((s, i) => counter.add(s.labels, predicted[before.length + i] as readonly string[]));
  }
  return counter.report();
}

/** Consecutive chunks of about `tokens` tokens, each with the `context` sentences that precede it. */
async function* chunks(
  sentences: Iterable<LabeledSentence> | AsyncIterable<LabeledSentence>,
  tokens: number,
  context: number,
): AsyncGenerator<{ before: LabeledSentence[]; chunk: LabeledSentence[] }> {
  let before: LabeledSentence[] = [];
  let chunk: LabeledSentence[] = [];
  let size = 0;
  const next = () => {
    const out = { before, chunk };
    before = context > 0 ? [...before, ...chunk].slice(-context) : [];
    chunk = [];
    size = 0;
    return out;
  };
  for await (const s of sentences) {
    chunk.push(s);
    size += s.tokens.length;
    if (size >= tokens) yield next();
  }
  if (chunk.length > 0) yield next();
}

function prf(correct: number, predicted: number, support: number): PrfScores {
  const precision = predicted === 0 ? 0 : correct / predicted;
  const recall = support === 0 ? 0 : correct / support;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, support, predicted, correct };
}

/** Entity counts over sentences added one at a time; {@link report} scores them. */
export class EvaluationCounter {
  #counts = new Map<string, { correct: number; predicted: number; support: number }>();
  #sentences = 0;
  #tokens = 0;

  #bucket(type: string) {
    let c = this.#counts.get(type);
    if (!c) this.#counts.set(type, (c = { correct: 0, predicted: 0, support: 0 }));
    return c;
  }

  /** One sentence's gold and predicted BIO labels (same length). */
  add(gold: readonly string[], predicted: readonly string[]): void {
    this.#sentences++;
    if (gold.length !== predicted.length)
      throw new Error(
        `evaluation: sentence ${this.#sentences} has ${gold.length} gold labels but ${predicted.length} predicted`,
      );
    this.#tokens += gold.length;
    const goldSpans = spansFromBio(gold, true);
    const predSpans = spansFromBio(predicted, true);
    const goldKeys = new Set(goldSpans.map((x) => `${x.type}\u0000${x.start}\u0000${x.end}`));
    for (const x of goldSpans) this.#bucket(x.type).support++;
    for (const x of predSpans) {
      const b = this.#bucket(x.type);
      b.predicted++;
      if (goldKeys.has(`${x.type}\u0000${x.start}\u0000${x.end}`)) b.correct++;
    }
  }

  report(): EvaluationReport {
    let correct = 0;
    let predictedTotal = 0;
    let support = 0;
    const perType: Record<string, PrfScores> = {};
    for (const type of [...this.#counts.keys()].sort()) {
      const c = this.#counts.get(type) as { correct: number; predicted: number; support: number };
      perType[type] = prf(c.correct, c.predicted, c.support);
      correct += c.correct;
      predictedTotal += c.predicted;
      support += c.support;
    }
    return {
      micro: prf(correct, predictedTotal, support),
      perType,
      sentences: this.#sentences,
      tokens: this.#tokens,
    };
  }
}

/** Compare predicted and gold BIO sequences sentence by sentence. Lengths must match. */
export function evaluateSequences(
  gold: readonly (readonly string[])[],
  predicted: readonly (readonly string[])[],
): EvaluationReport {
  if (gold.length !== predicted.length) {
    throw new Error(`evaluation: ${gold.length} gold sentences but ${predicted.length} predicted`);
  }
  const counter = new EvaluationCounter();
  for (let s = 0; s < gold.length; s++) counter.add(gold[s] as readonly string[], predicted[s] as readonly string[]);
  return counter.report();
}

/** A readable table of a report, for the terminal. */
export function formatReport(r: EvaluationReport): string {
  const rows: string[][] = [['type', 'precision', 'recall', 'f1', 'support']];
  const fmt = (x: number) => x.toFixed(4);
  for (const [type, s] of Object.entries(r.perType))
    rows.push([type, fmt(s.precision), fmt(s.recall), fmt(s.f1), String(s.support)]);
  rows.push(['micro', fmt(r.micro.precision), fmt(r.micro.recall), fmt(r.micro.f1), String(r.micro.support)]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] as string).length)));
  return rows
    .map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '))
    .join('\n');
}
