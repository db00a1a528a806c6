/**
 * Scoring the assertion stage on gold concept spans: the NegEx annotation format (report, concept, sentence,
 * `Affirmed`/`Negated`, the concept upper-cased in the sentence). Pure: the CLI and the bench read the file.
 */
import type { AssertionTagger } from './tagger.js';

/** One judged concept: the sentence as a note would read it and the concept's span in it. */
export interface GoldItem {
  /** 1-based line of the item in its file, for messages. */
  line: number;
  text: string;
  start: number;
  end: number;
  negated: boolean;
}

/** A line of an evaluation file that cannot be used: where it is, never what it says. */
export class EvaluationDataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'EvaluationDataError';
  }
}

const LABELS: Record<string, boolean> = { affirmed: false, negated: true };

/** A field as written: surrounding double quotes (CSV-style, `""` inside) removed. */
function unquote(field: string): string {
  if (field.length >= 2 && field.startsWith('"') && field.endsWith('"'))
    return field.slice(1, -1).replaceAll('""', '"');
  return field;
}

/** The items of a file, and the lines skipped because their concept is not in their sentence. */
export interface GoldData {
  items: GoldItem[];
  /** 1-based lines whose concept does not occur in the sentence (an annotation slip): not scored. */
  skipped: number[];
}

/**
 * Parse a NegEx-format TSV: one header line, then `report<TAB>concept<TAB>sentence<TAB>Affirmed|Negated`.
 * The concept's span is its upper-case occurrence in the sentence (else its first case-insensitive one), and
 * that span is lower-cased: the upper case marks the target for annotators, a real note does not have it.
 */
export function parseNegexTsv(text: string, fileName: string): GoldData {
  const lines = text.split(/\r?\n/);
  const items: GoldItem[] = [];
  const skipped: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const line = i + 1;
    const fields = raw.split('\t');
    if (fields.length !== 4)
      throw new EvaluationDataError(fileName, line, `expected 4 tab-separated fields, found ${fields.length}`);
    const concept = unquote(fields[1]!).trim();
    const sentence = unquote(fields[2]!);
    const label = LABELS[fields[3]!.trim().toLowerCase()];
    if (label === undefined) throw new EvaluationDataError(fileName, line, 'the 4th field must be Affirmed or Negated');
    if (concept === '') throw new EvaluationDataError(fileName, line, 'the concept (2nd field) is empty');
    let start = sentence.indexOf(concept.toUpperCase());
    if (start < 0) start = sentence.toLowerCase().indexOf(concept.toLowerCase());
    if (start < 0) {
      // Well-formed but unscorable (the published NegEx set has such slips): counted, not fatal.
      skipped.push(line);
      continue;
    }
    const end = start + concept.length;
    const restored = sentence.slice(0, start) + sentence.slice(start, end).toLowerCase() + sentence.slice(end);
    items.push({ line, text: restored, start, end, negated: label });
  }
  return { items, skipped };
}

export interface NegationScores {
  n: number;
  accuracy: number;
  /** Scores of the `negated` class. */
  negated: { precision: number; recall: number; f1: number; support: number; predicted: number };
}

/** Tag each item's span and score `negated` against the gold label. */
export function scoreNegation(tagger: AssertionTagger, items: readonly GoldItem[]): NegationScores {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let correct = 0;
  for (const item of items) {
    const predicted = tagger.assert(item.text, [item])[0]!.negated;
    if (predicted === item.negated) correct++;
    if (predicted && item.negated) tp++;
    else if (predicted) fp++;
    else if (item.negated) fn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return {
    n: items.length,
    accuracy: items.length === 0 ? 0 : correct / items.length,
    negated: { precision, recall, f1, support: tp + fn, predicted: tp + fp },
  };
}
