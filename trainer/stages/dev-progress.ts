/**
 * The per-epoch progress line, with the dev F1 of the weights so far when there is a dev set. Only for
 * a reader: it decodes the dev set with a snapshot of the weights, which costs a fraction of an epoch,
 * and nothing but the log uses it.
 */
import { documentsOf, type LabeledSentence } from '../../engine/corpus/conll.js';
import { shortFormReuses } from '../../engine/features/abbreviations.js';
import { featurizeSentence, type FeatureConfig, type FeatureLookups } from '../../engine/features/features.js';
import { decodeWithWeights, type CrfWeights, type EncodedSentence, type SgdOptions } from '../crf-sgd.js';
import { evaluateSequences } from '../evaluate.js';
import { toBio, type Corpus } from './corpus.js';
import type { FeatureSpace } from './feature-space.js';

/** The onEpoch callback of a member trained for `epochs` epochs (`table`: its embedding table, if any). */
export function epochProgress(
  corpus: Pick<Corpus, 'dev' | 'labels' | 'tagScheme'>,
  space: Pick<FeatureSpace, 'encodedDev' | 'config' | 'slots' | 'lookups'>,
  log: (line: string) => void,
): (epochs: number, table: Float32Array | undefined) => NonNullable<SgdOptions['onEpoch']> {
  const { dev } = corpus;
  const { encodedDev } = space;
  const devGold = encodedDev && dev?.map((s) => s.labels);
  return (epochs, table) => (epoch, model, stats) => {
    let line = `epoch ${String(epoch + 1).padStart(2)}/${epochs}  loss ${stats.loss.toFixed(1).padStart(9)}  ${stats.seconds.toFixed(2)} s (cpu ${stats.cpuSeconds.toFixed(2)} s)`;
    if (dev && encodedDev && devGold) {
      const tags = decodeDev(dev, encodedDev, model, corpus.labels, space, table);
      line += `  dev F1 ${evaluateSequences(devGold, toBio(corpus, tags)).micro.f1.toFixed(4)}`;
    }
    log(line);
  };
}

/**
 * Tags for the dev set under the current weights, decoded the way the runtime decodes: with short-form
 * reuse, the first pass's tags of the defining sentences decide what the reuses mean, and only the
 * sentences with a reuse are re-encoded and decoded again. (Gold tags there would flatter the progress log.)
 */
export function decodeDev(
  dev: readonly LabeledSentence[],
  encodedDev: EncodedSentence[],
  model: CrfWeights,
  labels: readonly string[],
  space: { config: FeatureConfig; slots: number; lookups: FeatureLookups },
  table: Float32Array | undefined,
): string[][] {
  const { config, slots, lookups } = space;
  const tags = decodeWithWeights(encodedDev, model, labels, slots, table);
  if (config.shortFormContext === undefined) return tags;
  const reuses = shortFormReuses(
    dev.map((s) => s.tokens),
    (k) => tags[k],
    config.shortFormContext,
    documentsOf(dev),
  );
  const affected = reuses.flatMap((r, k) => (r.size > 0 ? [k] : []));
  const rescored = affected.map((k) => {
    const s = dev[k] as LabeledSentence;
    const features = new Int32Array(s.tokens.length * slots);
    featurizeSentence(s.tokens, config, lookups, features, 0, reuses[k]);
    return { ...(encodedDev[k] as EncodedSentence), features };
  });
  decodeWithWeights(rescored, model, labels, slots, table).forEach((t, j) => (tags[affected[j] as number] = t));
  return tags;
}
