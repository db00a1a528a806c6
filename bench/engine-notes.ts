/**
 * The notes the engine benches tag: raw text built from a CoNLL file's tokens, a fixed number of tokens each,
 * so tokens/s compare across benches (bench/engine.ts, bench/assertions.ts).
 */
import type { LabeledSentence } from '../engine/corpus/conll.js';
import { detokenize } from '../trainer/detokenize.js';

/** Consecutive runs of `tokens` tokens (across sentence ends), as raw text; a shorter tail is dropped. */
export function notesOfTokens(sentences: readonly LabeledSentence[], tokens = 40): string[] {
  const notes: string[] = [];
  let cur: string[] = [];
  for (const s of sentences) {
    for (const t of s.tokens) {
      cur.push(t);
      if (cur.length === tokens) {
        notes.push(detokenize(cur));
        cur = [];
      }
    }
  }
  return notes;
}
