/**
 * Made-up two-class corpora for end-to-end tests of features that must tell classes apart where the text
 * cannot (pretrained vectors, lexicons): made-up disease and food names fill the same sentence templates,
 * so context says nothing about which is which, and their spellings are random letters, so neither do
 * affixes. Only diseases are labeled; foods are the O class that looks exactly like them.
 */
import type { LabeledSentence } from '../../engine/corpus/conll.js';
import { loadEngine } from '../../engine/bundle/load.js';
import { evaluateEngine } from '../../trainer/evaluate.js';

/** Sentence templates; '#' is where the name goes. */
export const TEMPLATES: readonly (readonly string[])[] = [
  ['the', 'patient', 'mentioned', '#', 'yesterday'],
  ['#', 'was', 'discussed', 'at', 'the', 'visit'],
  ['notes', 'say', '#', 'again'],
  ['she', 'asked', 'about', '#', 'today'],
];

/** Generators over one seeded `random`, so a test file's corpus is the same on every run. */
export function madeUpCorpus(random: () => number) {
  const word = (): string =>
    Array.from({ length: 7 }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');
  /** `count` sentences alternating a disease name (labeled) and a food name (O), each name a token list. */
  const sentences = (
    diseaseNames: readonly (readonly string[])[],
    foodNames: readonly (readonly string[])[],
    count: number,
  ): LabeledSentence[] => {
    const out: LabeledSentence[] = [];
    for (let i = 0; i < count; i++) {
      const disease = i % 2 === 0;
      const pool = disease ? diseaseNames : foodNames;
      const name = pool[Math.floor(random() * pool.length)] as readonly string[];
      const template = TEMPLATES[Math.floor(random() * TEMPLATES.length)] as readonly string[];
      const tokens: string[] = [];
      const labels: string[] = [];
      for (const t of template) {
        if (t !== '#') {
          tokens.push(t);
          labels.push('O');
          continue;
        }
        name.forEach((w, k) => {
          tokens.push(w);
          labels.push(disease ? (k === 0 ? 'B-DISEASE' : 'I-DISEASE') : 'O');
        });
      }
      out.push({ tokens, labels, line: 0 } as LabeledSentence);
    }
    return out;
  };
  return { word, sentences };
}

/** Entity micro F1 of a trained bundle, served through a real ONNX session, on `test`. */
export async function bundleF1(bundle: string, test: readonly LabeledSentence[]): Promise<number> {
  const engine = await loadEngine(bundle);
  try {
    return (await evaluateEngine(engine, test)).micro.f1;
  } finally {
    await engine.close();
  }
}
