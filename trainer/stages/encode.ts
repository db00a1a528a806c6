/**
 * Sentences into the feature space: hashed feature ids per token (and embedding windows with a dense
 * branch), the form SGD trains on.
 */
import { shortFormReuses, type ShortFormMeaning } from '../../engine/features/abbreviations.js';
import { documentsOf, type LabeledSentence } from '../../engine/corpus/conll.js';
import {
  featurizeSentence,
  slotsPerToken,
  type FeatureConfig,
  type FeatureLookups,
} from '../../engine/features/features.js';
import type { EncodedSentence } from '../crf-sgd.js';
import type { DenseInput } from './dense-input.js';

/**
 * Encode sentences for SGD. `reuses`: per sentence, the short-form reuses to mark (feature version 4);
 * without it, no token is marked, which is the runtime's first pass.
 */
export function encode(
  sentences: readonly LabeledSentence[],
  labels: readonly string[],
  config: FeatureConfig,
  lookupsOf: (sentence: number) => FeatureLookups,
  dense?: Pick<DenseInput, 'vocabulary' | 'window'>,
  reuses?: readonly ReadonlyMap<number, ShortFormMeaning>[],
): EncodedSentence[] {
  const slots = slotsPerToken(config);
  const index = new Map(labels.map((l, i) => [l, i]));
  return sentences.map((s, k) => {
    const features = new Int32Array(s.tokens.length * slots);
    featurizeSentence(s.tokens, config, lookupsOf(k), features, 0, reuses?.[k]);
    const gold = Int32Array.from(s.labels, (l) => index.get(l) ?? 0);
    if (!dense) return { features, gold };
    const window = new Int32Array(s.tokens.length * dense.window);
    dense.vocabulary.windowIds(s.tokens, dense.window, window);
    return { features, gold, window };
  });
}

/**
 * The training file is a document in reading order: each sentence sees the short forms defined before it
 * and what their long forms are (gold tags here; the runtime uses its own first pass, see CrfEngine).
 */
export function goldShortFormReuses(
  sentences: readonly LabeledSentence[],
  config: FeatureConfig,
): Map<number, ShortFormMeaning>[] | undefined {
  if (config.shortFormContext === undefined) return undefined;
  return shortFormReuses(
    sentences.map((s) => s.tokens),
    (k) => (sentences[k] as LabeledSentence).labels,
    config.shortFormContext,
    documentsOf(sentences),
  );
}
