/**
 * Stage 2 of training, the feature space: which feature groups the model uses (recorded in the bundle as
 * its feature version and config), the lookups behind them (clusters, the jackknifed gazetteer, the
 * lexicon, the dense branch's embeddings), and the corpus encoded in it.
 */
import { readFile } from 'node:fs/promises';
import type { LabeledSentence } from '../../engine/corpus/conll.js';
import { WordClusters } from '../../engine/features/clusters.js';
import {
  DEFAULT_FEATURE_CONFIG,
  featureVersionOf,
  slotsPerToken,
  type FeatureConfig,
  type FeatureLookups,
} from '../../engine/features/features.js';
import { Gazetteer } from '../../engine/features/gazetteer.js';
import { Lexicon, LexiconError, parseLexicon, type LexiconEntry } from '../../engine/features/lexicon.js';
import { corpusKeepsHyphens } from '../../engine/features/tokenize.js';
import { learnClusters } from '../clusters.js';
import type { EncodedSentence } from '../crf-sgd.js';
import { DEFAULT_GAZETTEER, DEFAULT_SHORT_FORM_CONTEXT } from '../defaults.js';
import { assertReadable } from '../input-files.js';
import { assertVectorsReadable } from '../pretrained-vectors.js';
import { inTagScheme, type Corpus } from './corpus.js';
import { learnDenseInput, type DenseInput, type DenseInputOptions } from './dense-input.js';
import { encode, goldShortFormReuses } from './encode.js';
import { readLexicons, type LexiconFileRecord } from './lexicon-files.js';

export interface FeatureSpaceOptions {
  /** log2 of the feature hash size. */
  bucketBits?: number;
  /** Subword features: 5/6-character affixes and character trigrams (feature version 3). */
  subwords?: boolean;
  /** Abbreviation-definition features, "long form ( SF )" within a sentence (feature version 3). */
  abbreviations?: boolean;
  /**
   * With `abbreviations`: mark later uses of a defined short form with what its long form is (feature
   * version 4), taking this many preceding sentences of a CoNLL file as each sentence's document context.
   * Default DEFAULT_SHORT_FORM_CONTEXT with `abbreviations`; false: definitions only (feature version 3).
   */
  shortFormContext?: number | false;
  /**
   * Gazetteer features from the training set's entity phrases (jackknifed over `gazetteerFolds` folds).
   * Default: on whenever a linear CRF is trained (see DEFAULT_GAZETTEER).
   */
  gazetteer?: boolean;
  gazetteerFolds?: number;
  /** Precomputed clusters (clusters.tsv from `ner-ops clusters`). */
  clustersFile?: string;
  /** Learn word clusters (sparse features) from the unlabeled text too; it did not help in experiments. */
  learnClusters?: boolean;
  /**
   * External lexicons (`TYPE<TAB>phrase` per line: formularies, problem lists, MeSH exports): a match's
   * type, position and neighbouring words become features (feature version 6), and the bundle ships the
   * tokenised lexicon.
   */
  lexiconFiles?: string[];
  /** A lexicon already in bundle form (`lexicon.tsv`: a retrain inherits its base bundle's); instead of lexiconFiles. */
  lexiconText?: string;
  /** The dense branch's input: word embeddings over a window of tokens. */
  dense?: DenseInputOptions;
}

/** The feature space a model's emissions are computed in, with the training corpus encoded in it. */
export interface FeatureSpace {
  config: FeatureConfig;
  slots: number;
  /** The lookups the runtime will use: clusters, the whole training set's gazetteer, the lexicon. */
  lookups: FeatureLookups;
  splitHyphens: boolean;
  gazetteerFolds: number;
  /** The lexicon's entries, and its files (none when it was inherited in bundle form). */
  lexicon?: { entries: LexiconEntry[]; files?: LexiconFileRecord[] };
  dense?: DenseInput;
  encodedTrain: EncodedSentence[];
  /** The dev set encoded as the runtime's first pass sees it (only when progress is logged). */
  encodedDev?: EncodedSentence[];
}

/** Option errors, found before any work (reading corpora, learning embeddings). */
export async function checkFeatureOptions(options: FeatureSpaceOptions): Promise<void> {
  if (typeof options.shortFormContext === 'number') {
    if (!options.abbreviations)
      throw new Error('shortFormContext needs the abbreviation features (abbreviations: true)');
    if (!Number.isInteger(options.shortFormContext) || options.shortFormContext < 0)
      throw new Error(`shortFormContext must be a whole number of sentences ≥ 0, got ${options.shortFormContext}`);
  }
  for (const f of options.lexiconText !== undefined ? [] : (options.lexiconFiles ?? []))
    await assertReadable(f, 'lexicon', LexiconError);
  const vectors = options.dense?.pretrainedVectorsFile;
  if (vectors !== undefined) {
    if (options.dense?.enabled === false)
      throw new Error('pretrained vectors feed the dense branch; they cannot be used without it (dense: false)');
    await assertVectorsReadable(vectors);
  }
}

export interface FeatureSpaceContext {
  /** Whether the model has a dense branch (see usesDenseBranch). */
  dense: boolean;
  /** Whether a linear CRF is among the members: the gazetteer's default follows it. */
  trainsLinearCrf: boolean;
  /** Encode the dev set too, for the progress log. */
  encodeDev: boolean;
}

export async function buildFeatureSpace(
  corpus: Corpus,
  options: FeatureSpaceOptions,
  context: FeatureSpaceContext,
  log: (line: string) => void,
): Promise<FeatureSpace> {
  const clusters = await loadClusters(corpus, options, log);
  const splitHyphens = !corpusKeepsHyphens(corpus.trainBio);
  const lexicon = await loadLexicon(options, splitHyphens, log);
  const dense = context.dense ? await learnDenseInput(corpus, options.dense ?? {}, log) : undefined;

  const useGazetteer =
    options.gazetteer ?? (dense && !context.trainsLinearCrf ? DEFAULT_GAZETTEER.denseOnly : DEFAULT_GAZETTEER.linear);
  const config = featureConfig(options, { clusters: clusters !== undefined, gazetteer: useGazetteer, lexicon });
  const folds = options.gazetteerFolds ?? DEFAULT_GAZETTEER.folds;
  const gazetteers = useGazetteer ? jackknifedGazetteers(corpus.trainBio, folds) : undefined;
  if (gazetteers) log(`gazetteer of ${gazetteers.all.size} phrases, ${folds} jackknife folds`);
  // The lexicon is not learnt from the labels, so unlike the gazetteer it needs no jackknifing.
  const lookups: FeatureLookups = { clusters, gazetteer: gazetteers?.all, lexicon: lexicon?.lexicon };
  const foldLookups = (gazetteers?.folds ?? []).map((g) => ({ ...lookups, gazetteer: g }));
  const encodedTrain = encode(
    corpus.train,
    corpus.labels,
    config,
    (k) => foldLookups[gazetteers?.foldOf(k) ?? 0] ?? lookups,
    dense,
    goldShortFormReuses(corpus.train, config),
  );
  const encodedDev =
    corpus.dev && context.encodeDev
      ? encode(inTagScheme(corpus.tagScheme, corpus.dev), corpus.labels, config, () => lookups, dense)
      : undefined;
  return {
    config,
    slots: slotsPerToken(config),
    lookups,
    splitHyphens,
    gazetteerFolds: folds,
    ...(lexicon ? { lexicon: { entries: lexicon.entries, ...(lexicon.files ? { files: lexicon.files } : {}) } } : {}),
    ...(dense ? { dense } : {}),
    encodedTrain,
    ...(encodedDev ? { encodedDev } : {}),
  };
}

async function loadClusters(
  corpus: Pick<Corpus, 'train' | 'unlabeled'>,
  options: FeatureSpaceOptions,
  log: (line: string) => void,
): Promise<WordClusters | undefined> {
  if (options.clustersFile)
    return WordClusters.parse(await readFile(options.clustersFile, 'utf8'), options.clustersFile);
  if (!options.learnClusters || corpus.unlabeled.length === 0) return undefined;
  const t0 = performance.now();
  const clusters = learnClusters([...corpus.train.map((s) => s.tokens), ...corpus.unlabeled]);
  log(
    `learned ${clusters.size} word clusters from ${corpus.train.length + corpus.unlabeled.length} sentences in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return clusters;
}

/** The lexicon from the user's files, or inherited in bundle form. */
async function loadLexicon(
  options: FeatureSpaceOptions,
  splitHyphens: boolean,
  log: (line: string) => void,
): Promise<{ lexicon: Lexicon; entries: LexiconEntry[]; files?: LexiconFileRecord[] } | undefined> {
  const read =
    options.lexiconText !== undefined ? undefined : await readLexicons(options.lexiconFiles ?? [], splitHyphens, log);
  const entries = options.lexiconText !== undefined ? parseLexicon(options.lexiconText) : read?.entries;
  if (!entries) return undefined;
  const lexicon = Lexicon.fromEntries(entries);
  log(`lexicon of ${lexicon.size} phrases, types ${lexicon.types.join(' ')}${read ? '' : ' (inherited)'}`);
  return { lexicon, entries, ...(read ? { files: read.files } : {}) };
}

/** The feature groups in use, and the layout version the bundle records (which its runtime reads back). */
function featureConfig(
  options: FeatureSpaceOptions,
  uses: { clusters: boolean; gazetteer: boolean; lexicon: unknown },
): FeatureConfig {
  const groups: Omit<FeatureConfig, 'featureVersion'> = {
    ...DEFAULT_FEATURE_CONFIG,
    bucketBits: options.bucketBits ?? DEFAULT_FEATURE_CONFIG.bucketBits,
    clusters: uses.clusters,
    ...(uses.gazetteer ? { gazetteer: true } : {}),
    ...(options.subwords ? { subwords: true } : {}),
    ...(options.abbreviations ? { abbreviations: true } : {}),
    ...(options.abbreviations && options.shortFormContext !== false
      ? { shortFormContext: options.shortFormContext ?? DEFAULT_SHORT_FORM_CONTEXT }
      : {}),
    ...(uses.lexicon ? { lexicon: true } : {}),
  };
  return { ...groups, featureVersion: featureVersionOf(groups) };
}

/**
 * Jackknifing: a training sentence's gazetteer features come from the other folds' entities. Folds are
 * contiguous blocks, not interleaved: sentences of one document sit together in a CoNLL file, and a name
 * repeated within a document must not vouch for itself. `all` is the whole training set's, for the runtime.
 */
function jackknifedGazetteers(
  sentences: readonly LabeledSentence[],
  folds: number,
): { all: Gazetteer; folds: Gazetteer[]; foldOf: (sentence: number) => number } {
  const all = Gazetteer.fromSentences(sentences);
  const foldOf = (k: number) => Math.floor((k * folds) / sentences.length);
  const perFold = Array.from({ length: folds }, (_, f) =>
    Gazetteer.fromSentences(sentences.filter((_, k) => foldOf(k) !== f)),
  );
  return { all, folds: perFold, foldOf };
}
