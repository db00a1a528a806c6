/**
 * Entity-level, exact-span evaluation (conlleval / seqeval strict): an entity counts as correct only
 * when its type, start and end all match a gold entity. Micro scores pool all types.
 */
import { spansFromBio } from '../engine/decoding/bio.js';
import { documentsOf, type LabeledSentence } from '../engine/corpus/conll.js';
import type { EvaluationReport, NerEngine, PrfScores } from '../engine/types.js';

/**
 * A model's scores on labelled CoNLL sentences: the one place that decides how a CoNLL file is tagged for
 * evaluation. Its sentences are read as documents in reading order (divided where the file has
 * `-DOCSTART-` lines), as the trainer reads its own files (a model with short-form reuse looks back
 * across the sentences of a document); `independentSentences` tags each on its own.
 */
export async function evaluateEngine(
  engine: Pick<NerEngine, 'tagTokens'>,
  sentences: readonly LabeledSentence[],
  options: { independentSentences?: boolean } = {},
): Promise<EvaluationReport> {
  const predicted = await engine.tagTokens(
    sentences.map((s) => s.tokens),
    { document: !options.independentSentences, documents: documentsOf(sentences) },
  );
  return evaluateSequences(
    sentences.map((s) => s.labels),
    predicted,
  );
}

function prf(correct: number, predicted: number, support: number): PrfScores {
  const precision = predicted === 0 ? 0 : correct / predicted;
  const recall = support === 0 ? 0 : correct / support;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, support, predicted, correct };
}

/** Compare predicted and gold BIO sequences sentence by sentence. Lengths must match. */
export function evaluateSequences(
  gold: readonly (readonly string[])[],
  predicted: readonly (readonly string[])[],
): EvaluationReport {
  if (gold.length !== predicted.length) {
    throw new Error(`evaluation: ${gold.length} gold sentences but ${predicted.length} predicted`);
  }
  const counts = new Map<string, { correct: number; predicted: number; support: number }>();
  const bucket = (type: string) => {
    let c = counts.get(type);
    if (!c) counts.set(type, (c = { correct: 0, predicted: 0, support: 0 }));
    return c;
  };
  let tokens = 0;
  for (let s = 0; s < gold.length; s++) {
    const g = gold[s] as readonly string[];
    const p = predicted[s] as readonly string[];
    if (g.length !== p.length)
      throw new Error(`evaluation: sentence ${s + 1} has ${g.length} gold labels but ${p.length} predicted`);
    tokens += g.length;
    const goldSpans = spansFromBio(g, true);
    const predSpans = spansFromBio(p, true);
    const goldKeys = new Set(goldSpans.map((x) => `${x.type}\u0000${x.start}\u0000${x.end}`));
    for (const x of goldSpans) bucket(x.type).support++;
    for (const x of predSpans) {
      const b = bucket(x.type);
      b.predicted++;
      if (goldKeys.has(`${x.type}\u0000${x.start}\u0000${x.end}`)) b.correct++;
    }
  }
  let correct = 0;
  let predictedTotal = 0;
  let support = 0;
  const perType: Record<string, PrfScores> = {};
  for (const type of [...counts.keys()].sort()) {
    const c = counts.get(type) as { correct: number; predicted: number; support: number };
    perType[type] = prf(c.correct, c.predicted, c.support);
    correct += c.correct;
    predictedTotal += c.predicted;
    support += c.support;
  }
  return { micro: prf(correct, predictedTotal, support), perType, sentences: gold.length, tokens };
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
