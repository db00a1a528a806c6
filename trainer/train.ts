/**
 * `trainBundle`: CoNLL files in, a verified `crf` bundle out (model.onnx, ner-model.json, profile.json,
 * metrics.json, vocab.txt, clusters.tsv when clusters are used). Deterministic: the same data, options
 * and seed give the same bundle digest, so nothing time-dependent goes into any bundle file.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { DOCUMENT_START, documentsOf, labelSetOf, readConll, type LabeledSentence } from '../engine/corpus/conll.js';
import { shortFormReuses, type ShortFormMeaning } from '../engine/features/abbreviations.js';
import { bioToBioes, bioesLabelSet, bioesToBio } from '../engine/decoding/bio.js';
import { GAZETTEER_FILE, Gazetteer } from '../engine/features/gazetteer.js';
import {
  LEXICON_FILE,
  LEXICON_MAX_TOKENS,
  Lexicon,
  LexiconError,
  formatLexicon,
  parseLexicon,
  readLexiconSource,
  type LexiconEntry,
} from '../engine/features/lexicon.js';
import { WordClusters } from '../engine/features/clusters.js';
import {
  DEFAULT_FEATURE_CONFIG,
  featureVersionOf,
  featurizeSentence,
  slotsPerToken,
  type FeatureConfig,
  type FeatureLookups,
} from '../engine/features/features.js';
import { normalizeToken } from '../engine/features/normalize.js';
import { canonicalJson, sha256, writeBundle } from '../engine/bundle/bundle.js';
import { MANIFEST_FORMAT_VERSION, type Manifest } from '../contracts/bundle-manifest.js';
import { crfEmissionModel } from '../engine/runtimes/onnx-model.js';
import {
  EMBEDDING_VOCAB_FILE,
  EmbeddingVocabulary,
  SPECIAL_COLUMNS,
  embeddingTable,
} from '../engine/features/embedding-vocabulary.js';
import { DenseBranch } from './dense.js';
import { DEFAULT_EMBEDDING_OPTIONS, learnEmbeddings, type WordEmbeddings } from './embeddings.js';
import { assertReadable } from './input-files.js';
import {
  assertVectorsReadable,
  concatenateEmbeddings,
  readPretrainedVectors,
  type PretrainedVectors,
} from './pretrained-vectors.js';
import { loadEngine } from '../engine/bundle/load.js';
import { computeProfile } from '../engine/bundle/profile.js';
import { corpusKeepsHyphens } from '../engine/features/tokenize.js';
import type { EvaluationReport } from '../engine/types.js';
import { decodeWithWeights, trainCrfSgd, type CrfWeights, type EncodedSentence } from './crf-sgd.js';
import { evaluateEngine, evaluateSequences } from './evaluate.js';
import { learnClusters } from './clusters.js';
import { detokenize } from './detokenize.js';

export interface TrainOptions {
  trainFile: string;
  devFile?: string;
  outDir: string;
  seed?: number;
  epochs?: number;
  /** L2 strength on the whole-corpus objective (crfsuite's c2). */
  c2?: number;
  name?: string;
  version?: string;
  bucketBits?: number;
  /** Precomputed clusters (clusters.tsv from `ner-ops clusters`). */
  clustersFile?: string;
  /**
   * Unlabeled CoNLL or one-sentence-per-line text files: word embeddings are learned from them (with the
   * training text) for the dense branch. Never pass the text of the data the model is evaluated on.
   */
  unlabeledFiles?: string[];
  /**
   * Pretrained word vectors in text format (GloVe, word2vec, fastText: "word v1 … vd" per line): each
   * word's vector is appended to its learned one (trainer/pretrained-vectors.ts), for the words of the
   * training and unlabeled text. Turns the dense branch on.
   */
  pretrainedVectorsFile?: string;
  /**
   * External lexicons (`TYPE<TAB>phrase` per line: formularies, problem lists, MeSH exports): a match's
   * type, position and neighbouring words become features (feature version 6), and the bundle ships the tokenised lexicon.
   */
  lexiconFiles?: string[];
  /** A lexicon already in bundle form (`lexicon.tsv`: a retrain inherits its base bundle's); instead of lexiconFiles. */
  lexiconText?: string;
  /** Learn word clusters (sparse features) from the unlabeled files too. Measured: no gain. */
  learnClusters?: boolean;
  /** Dense branch settings (used when unlabeled files or pretrained vectors are given, or when `dense` is true). */
  dense?: boolean;
  hidden?: number;
  /** Tokens per window (odd). */
  window?: number;
  denseLr?: number;
  dropout?: number;
  /** Independently seeded models averaged into one graph. */
  ensemble?: number;
  /**
   * With the dense branch: linear CRF members (no MLP) averaged in beside the wide & deep ones. The
   * linear CRF's convex objective converges where the MLP's does not, and the two err differently.
   */
  linearMembers?: number;
  /** Epochs of the linear members (default DEFAULT_EPOCHS.linear). */
  linearEpochs?: number;
  /** Softmax-margin recall cost (see SgdOptions.missedEntityCost; default DEFAULT_MISSED_ENTITY_COST). */
  missedEntityCost?: number;
  embeddingDim?: number;
  skipBelow?: number;
  repairBio?: boolean;
  /**
   * Tag scheme the CRF trains and decodes in: 'bioes' (default) marks single-token entities (S-) and
   * entity ends (E-) with their own labels; output is converted back to BIO spans either way.
   */
  tagScheme?: 'bio' | 'bioes';
  /**
   * Gazetteer features from the training set's entity phrases (jackknifed over `gazetteerFolds` folds).
   * Default: on whenever a linear CRF is trained (see DEFAULT_GAZETTEER).
   */
  gazetteer?: boolean;
  gazetteerFolds?: number;
  outsideBias?: number;
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
  /** Progress lines (epochs, dev F1). Defaults to silence. */
  log?: (line: string) => void;
}

export interface TrainResult {
  outDir: string;
  digest: string;
  metrics: EvaluationReport;
  /** Wall-clock seconds of learning the embeddings and the SGD epochs (featurisation and export excluded). */
  trainSeconds: number;
  /** CPU seconds (user) of the same span: the honest number on a machine shared with other work. */
  trainCpuSeconds: number;
  /** Wall-clock seconds of everything. */
  totalSeconds: number;
}

/**
 * SGD epochs. The linear CRF's objective is convex, and 12 epochs left it far from its optimum: on
 * NCBI-disease dev, 12 → 40 → 80 → 160 epochs gave mean F1 0.819 → 0.828 → 0.833 → 0.836 with the
 * spread over seeds shrinking from 0.012 to 0.001, at about 4 µs per token and epoch. The dense branch
 * (the wide & deep members) keeps 12. With the WebAssembly kernels (dense-kernels.ts) 24 fits BeHealthy's
 * 60 s budget, and was measured: on a held-out fifth of BeHealthy train (with the linear member, recall
 * cost 1 and GloVe; seeds 1–5) 12 / 18 / 24 / 36 epochs gave 0.5948 / 0.5997 / 0.6007 / 0.6005, but on
 * dev 24 gave 0.6186 against 0.6251, every seed lower. Two samples of the same size that disagree are no
 * evidence for the change, and 12 costs half the MLP's time.
 */
export const DEFAULT_EPOCHS = { linear: 40, dense: 12 } as const;
/**
 * Gazetteer features by default: on whenever a linear CRF is trained (alone or as a member beside wide &
 * deep ones), off for wide & deep members alone, where they added nothing (see README).
 */
export const DEFAULT_GAZETTEER = { linear: true, denseOnly: false, folds: 10 } as const;
/**
 * Softmax-margin recall cost (see SgdOptions.missedEntityCost): off by default, because whether it helps
 * depends on the corpus. Measured on a held-out fifth of each training set, never on dev: BeHealthy wide
 * & deep, mean of seeds 1–3, cost 0 / 0.5 / 1 / 2 gave 0.555 / 0.561 / 0.566 / 0.569 (its annotation
 * misses many mentions and the model under-tags); NCBI-disease linear 0.848 at 0 and 0.836 at 1.
 */
export const DEFAULT_MISSED_ENTITY_COST = 0;
/**
 * Sentences of document context for short-form reuse. On a held-out fifth of NCBI-disease train (seeds
 * 1–3) reuse with 10 sentences gave 0.8515 against 0.8490 without (5: 0.849, 20: 0.851, 30: 0.851 on seed
 * 1); an abstract is about ten sentences, and a wider window starts to reach into the next abstract.
 */
export const DEFAULT_SHORT_FORM_CONTEXT = 10;
export const DEFAULT_TAG_SCHEME: 'bio' | 'bioes' = 'bioes';
export const DEFAULT_C2 = 0.5;
/**
 * `linearMembers`: linear CRFs averaged in beside the wide & deep member(s). On a held-out fifth of
 * BeHealthy train (seeds 1–3, with the recall cost) wide & deep alone gave 0.566, with one linear member 0.581.
 */
export const DEFAULT_DENSE = {
  hidden: 64,
  window: 5,
  lr: 0.02,
  lrDecay: 0.5,
  dropout: 0,
  ensemble: 1,
  linearMembers: 1,
  skipBelow: 1e-3,
} as const;

/** Read unlabeled sentences: CoNLL (first column) when lines contain tabs, else one sentence per line. */
export async function readUnlabeled(file: string): Promise<string[][]> {
  const text = await readFile(file, 'utf8');
  if (text.includes('\t')) {
    const out: string[][] = [];
    let cur: string[] = [];
    for (const line of text.split(/\r?\n/)) {
      if (line.trim() === '') {
        if (cur.length) out.push(cur);
        cur = [];
        continue;
      }
      const token = line.split('\t')[0] as string;
      if (token !== DOCUMENT_START) cur.push(token);
    }
    if (cur.length) out.push(cur);
    return out;
  }
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && l.trim() !== DOCUMENT_START)
    .map((l) => l.trim().split(/\s+/));
}

/** Where a lexicon came from, for the manifest: file names and digests, never a phrase. */
interface LexiconFileRecord {
  file: string;
  sha256: string;
  phrases: number;
  skipped: number;
}

/** The user's lexicon files, each read and tokenised the way the model tokenises text. */
async function readLexicons(
  files: readonly string[],
  splitHyphens: boolean,
  log: (line: string) => void,
): Promise<{ entries: LexiconEntry[]; files: LexiconFileRecord[] } | undefined> {
  if (files.length === 0) return undefined;
  const entries: LexiconEntry[] = [];
  const sources: LexiconFileRecord[] = [];
  for (const f of files) {
    const bytes = await readFile(f);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new LexiconError(`${f}: the lexicon is not UTF-8 text`);
    }
    const source = readLexiconSource(text, f, splitHyphens);
    for (const e of source.entries) entries.push(e);
    sources.push({ file: basename(f), sha256: sha256(bytes), phrases: source.entries.length, skipped: source.skipped });
    log(
      `${f}: ${source.entries.length} lexicon phrases${source.skipped > 0 ? ` (${source.skipped} longer than ${LEXICON_MAX_TOKENS} tokens skipped)` : ''}`,
    );
  }
  return { entries, files: sources };
}

/**
 * Encode sentences for SGD. `reuses`: per sentence, the short-form reuses to mark (feature version 4);
 * without it, no token is marked, which is the runtime's first pass.
 */
function encode(
  sentences: readonly LabeledSentence[],
  labels: readonly string[],
  config: FeatureConfig,
  lookupsOf: (sentence: number) => FeatureLookups,
  dense?: { vocabulary: EmbeddingVocabulary; window: number },
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
function goldShortFormReuses(
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

/**
 * Tags for the dev set under the current weights, decoded the way the runtime decodes: with short-form
 * reuse, the first pass's tags of the defining sentences decide what the reuses mean, and only the
 * sentences with a reuse are re-encoded and decoded again. (Gold tags there would flatter the progress log.)
 */
function decodeDev(
  dev: readonly LabeledSentence[],
  encodedDev: EncodedSentence[],
  model: CrfWeights,
  labels: readonly string[],
  config: FeatureConfig,
  lookups: FeatureLookups,
  table: Float32Array | undefined,
): string[][] {
  const slots = slotsPerToken(config);
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

/**
 * Average K models into one: sparse weights and transitions average linearly; the MLPs of the members
 * that have one are stacked side by side (hidden layers concatenated, output weights and biases divided
 * by K), so the single graph computes exactly the mean of the K models' emissions. A member without an
 * MLP (a linear CRF) contributes zero dense output, which the stacking expresses by leaving it out.
 */
export function mergeEnsemble(models: readonly CrfWeights[]): CrfWeights {
  const K = models.length;
  const first = models[0] as CrfWeights;
  if (K === 1) return first;
  const emission = new Float32Array(first.emission.length);
  for (const m of models)
    for (let k = 0; k < emission.length; k++) emission[k] = (emission[k] as number) + (m.emission[k] as number) / K;
  const avg = (pick: (m: CrfWeights) => Float64Array) => {
    const out = new Float64Array(pick(first).length);
    for (const m of models) pick(m).forEach((v, k) => (out[k] = (out[k] as number) + v / K));
    return out;
  };
  const transitions = {
    trans: avg((m) => m.transitions.trans),
    start: avg((m) => m.transitions.start),
    end: avg((m) => m.transitions.end),
  };
  const withDense = models.flatMap((m) => (m.dense ? [m.dense] : []));
  const firstDense = withDense[0];
  if (!firstDense) return { emission, transitions };
  const shape = firstDense.shape;
  const { hidden: H, labels: L } = shape;
  const inDim = firstDense.inDim;
  const merged = new DenseBranch({ ...shape, hidden: H * withDense.length });
  withDense.forEach((d, k) => {
    if (d.shape.hidden !== H || d.inDim !== inDim) throw new Error('ensemble members have different dense shapes');
    merged.w1.set(d.w1, k * H * inDim);
    for (let h = 0; h < H; h++) merged.b1[k * H + h] = d.b1[h] as number;
    for (let h = 0; h < H; h++)
      for (let y = 0; y < L; y++) merged.w2[(k * H + h) * L + y] = (d.w2[h * L + y] as number) / K;
    for (let y = 0; y < L; y++) merged.b2[y] = (merged.b2[y] as number) + (d.b2[y] as number) / K;
  });
  return { emission, transitions, dense: merged };
}

export async function trainBundle(options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage().user;
  const log = options.log ?? (() => {});
  const seed = options.seed ?? 1;
  const c2 = options.c2 ?? DEFAULT_C2;
  // Option errors before any work (reading corpora, learning embeddings).
  if (typeof options.shortFormContext === 'number') {
    if (!options.abbreviations)
      throw new Error('shortFormContext needs the abbreviation features (abbreviations: true)');
    if (!Number.isInteger(options.shortFormContext) || options.shortFormContext < 0)
      throw new Error(`shortFormContext must be a whole number of sentences ≥ 0, got ${options.shortFormContext}`);
  }
  for (const f of options.lexiconText !== undefined ? [] : (options.lexiconFiles ?? []))
    await assertReadable(f, 'lexicon', LexiconError);
  if (options.pretrainedVectorsFile !== undefined) {
    if (options.dense === false)
      throw new Error('pretrained vectors feed the dense branch; they cannot be used without it (dense: false)');
    await assertVectorsReadable(options.pretrainedVectorsFile);
  }
  const trainBio = await readConll(options.trainFile, { repairBio: options.repairBio ?? false });
  const dev = options.devFile ? await readConll(options.devFile, { repairBio: options.repairBio ?? false }) : undefined;
  const bioLabels = labelSetOf(trainBio);
  if (bioLabels.length < 3)
    throw new Error(`${options.trainFile}: no entities found (only O labels); nothing to learn`);
  if (dev) {
    const unknown = labelSetOf(dev).filter((l) => !bioLabels.includes(l));
    if (unknown.length > 0)
      throw new Error(
        `${options.devFile}: labels ${unknown.join(', ')} do not occur in the training file ${options.trainFile}`,
      );
  }

  const tagScheme = options.tagScheme ?? DEFAULT_TAG_SCHEME;
  const bioes = tagScheme === 'bioes';
  const labels = bioes ? bioesLabelSet(bioLabels) : bioLabels;
  const train = bioes ? trainBio.map((s) => ({ ...s, labels: bioToBioes(s.labels) })) : trainBio;
  const toBio = (tags: string[][]) => (bioes ? tags.map(bioesToBio) : tags);

  const unlabeled: string[][] = [];
  const devSha = options.devFile ? sha256(await readFile(options.devFile)) : undefined;
  for (const f of options.unlabeledFiles ?? []) {
    // The held-out numbers would be meaningless if the embeddings had seen the held-out text.
    if (devSha && sha256(await readFile(f)) === devSha)
      throw new Error(
        `${f}: the unlabeled text is the dev file ${options.devFile}; the held-out evaluation must not see it`,
      );
    unlabeled.push(...(await readUnlabeled(f)));
  }
  let clusters: WordClusters | undefined;
  if (options.clustersFile) {
    clusters = WordClusters.parse(await readFile(options.clustersFile, 'utf8'), options.clustersFile);
  } else if (options.learnClusters && unlabeled.length > 0) {
    const t0 = performance.now();
    clusters = learnClusters([...train.map((s) => s.tokens), ...unlabeled]);
    log(
      `learned ${clusters.size} word clusters from ${train.length + unlabeled.length} sentences in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }

  const splitHyphens = !corpusKeepsHyphens(trainBio);
  const readLexicon =
    options.lexiconText !== undefined ? undefined : await readLexicons(options.lexiconFiles ?? [], splitHyphens, log);
  const lexiconEntries = options.lexiconText !== undefined ? parseLexicon(options.lexiconText) : readLexicon?.entries;
  const lexicon = lexiconEntries ? Lexicon.fromEntries(lexiconEntries) : undefined;
  if (lexicon)
    log(`lexicon of ${lexicon.size} phrases, types ${lexicon.types.join(' ')}${readLexicon ? '' : ' (inherited)'}`);

  const useDense = options.dense ?? (unlabeled.length > 0 || options.pretrainedVectorsFile !== undefined);
  const epochs = options.epochs ?? (useDense ? DEFAULT_EPOCHS.dense : DEFAULT_EPOCHS.linear);
  let embeddings: WordEmbeddings | undefined;
  let pretrained: PretrainedVectors | undefined;
  let embeddingSeconds = 0;
  if (useDense) {
    const t0 = performance.now();
    const c0 = process.cpuUsage().user;
    const text = [...train.map((s) => s.tokens), ...unlabeled];
    embeddings = learnEmbeddings(text, { dim: options.embeddingDim ?? DEFAULT_EMBEDDING_OPTIONS.dim });
    log(`learned ${embeddings.dim}-d embeddings for ${embeddings.words.length} words from ${text.length} sentences`);
    if (options.pretrainedVectorsFile) {
      const corpusWords = new Set(text.flatMap((s) => s.map(normalizeToken)));
      pretrained = await readPretrainedVectors(options.pretrainedVectorsFile, (w) => corpusWords.has(w));
      log(
        `${options.pretrainedVectorsFile}: ${pretrained.dim}-d vectors for ${pretrained.words.length} of the ${corpusWords.size} words of the text (${pretrained.fileWords} in the file)`,
      );
      embeddings = concatenateEmbeddings(embeddings, pretrained);
    }
    embeddingSeconds = (performance.now() - t0) / 1000;
    log(
      `${embeddings.dim}-d embeddings for ${embeddings.words.length} words in ${embeddingSeconds.toFixed(1)} s (cpu ${((process.cpuUsage().user - c0) / 1e6).toFixed(1)} s)`,
    );
  }
  const denseSettings = embeddings
    ? {
        vocabulary: new EmbeddingVocabulary(embeddings.words),
        window: options.window ?? DEFAULT_DENSE.window,
        hidden: options.hidden ?? DEFAULT_DENSE.hidden,
        lr: options.denseLr ?? DEFAULT_DENSE.lr,
        dropout: options.dropout ?? DEFAULT_DENSE.dropout,
        ensemble: options.ensemble ?? DEFAULT_DENSE.ensemble,
        table: embeddingTable(embeddings.vectors, embeddings.words.length, embeddings.dim),
        cols: embeddings.dim + SPECIAL_COLUMNS,
      }
    : undefined;
  if (denseSettings && (denseSettings.window < 1 || denseSettings.window % 2 === 0))
    throw new Error(`window must be odd and positive, got ${denseSettings.window}`);

  // Measured: the gazetteer lifts the linear model (BeHealthy +0.02) but adds nothing to wide & deep.
  const linearMembers = denseSettings ? (options.linearMembers ?? DEFAULT_DENSE.linearMembers) : 0;
  const useGazetteer =
    options.gazetteer ??
    (denseSettings && linearMembers === 0 ? DEFAULT_GAZETTEER.denseOnly : DEFAULT_GAZETTEER.linear);
  const missedEntityCost = options.missedEntityCost ?? DEFAULT_MISSED_ENTITY_COST;
  const groups: Omit<FeatureConfig, 'featureVersion'> = {
    ...DEFAULT_FEATURE_CONFIG,
    bucketBits: options.bucketBits ?? DEFAULT_FEATURE_CONFIG.bucketBits,
    clusters: clusters !== undefined,
    ...(useGazetteer ? { gazetteer: true } : {}),
    ...(options.subwords ? { subwords: true } : {}),
    ...(options.abbreviations ? { abbreviations: true } : {}),
    ...(options.abbreviations && options.shortFormContext !== false
      ? { shortFormContext: options.shortFormContext ?? DEFAULT_SHORT_FORM_CONTEXT }
      : {}),
    ...(lexicon ? { lexicon: true } : {}),
  };
  // Features are computed with the layout of the version the bundle records, which its runtime reads back.
  const config: FeatureConfig = { ...groups, featureVersion: featureVersionOf(groups) };
  const slots = slotsPerToken(config);
  // Jackknifing: a training sentence's gazetteer features come from the other folds' entities.
  const gazetteer = useGazetteer ? Gazetteer.fromSentences(trainBio) : undefined;
  const folds = options.gazetteerFolds ?? DEFAULT_GAZETTEER.folds;
  // Folds are contiguous blocks, not interleaved: sentences of one document sit together in a CoNLL file,
  // and a name repeated within a document must not vouch for itself.
  const foldOf = (k: number) => Math.floor((k * folds) / trainBio.length);
  const foldGazetteers = useGazetteer
    ? Array.from({ length: folds }, (_, f) => Gazetteer.fromSentences(trainBio.filter((_, k) => foldOf(k) !== f)))
    : [];
  if (gazetteer) log(`gazetteer of ${gazetteer.size} phrases, ${folds} jackknife folds`);
  // The lexicon is not learnt from the labels, so unlike the gazetteer it needs no jackknifing.
  const lookups: FeatureLookups = { clusters, gazetteer, lexicon };
  const foldLookups = foldGazetteers.map((g) => ({ ...lookups, gazetteer: g }));
  const encodedTrain = encode(
    train,
    labels,
    config,
    (k) => foldLookups[foldOf(k)] ?? lookups,
    denseSettings,
    goldShortFormReuses(train, config),
  );
  const encodedDev =
    dev && options.log
      ? encode(
          bioes ? dev.map((s) => ({ ...s, labels: bioToBioes(s.labels) })) : dev,
          labels,
          config,
          () => lookups,
          denseSettings,
        )
      : undefined;
  const tokens = train.reduce((n, s) => n + s.tokens.length, 0);
  log(`training on ${train.length} sentences (${tokens} tokens), labels ${labels.join(' ')}, ${epochs} epochs`);

  const t0 = performance.now();
  const members: CrfWeights[] = [];
  const ensemble = denseSettings?.ensemble ?? 1;
  const linearEpochs = options.linearEpochs ?? DEFAULT_EPOCHS.linear;
  const memberCount = ensemble + linearMembers;
  // Progress only for a reader: the per-epoch dev F1 decodes the dev set with a snapshot of the weights,
  // which costs about a fifth of an epoch, and nothing but the log uses it.
  const devGold = encodedDev && dev?.map((s) => s.labels);
  const progress =
    (memberEpochs: number, table: Float32Array | undefined) =>
    (epoch: number, model: CrfWeights, stats: { loss: number; seconds: number; cpuSeconds: number }) => {
      let line = `epoch ${String(epoch + 1).padStart(2)}/${memberEpochs}  loss ${stats.loss.toFixed(1).padStart(9)}  ${stats.seconds.toFixed(2)} s (cpu ${stats.cpuSeconds.toFixed(2)} s)`;
      if (dev && encodedDev && devGold) {
        const f1 = evaluateSequences(devGold, toBio(decodeDev(dev, encodedDev, model, labels, config, lookups, table)))
          .micro.f1;
        line += `  dev F1 ${f1.toFixed(4)}`;
      }
      log(line);
    };
  for (let member = 0; member < memberCount; member++) {
    const memberSeed = seed + 7919 * member;
    // Members 0..ensemble-1 are wide & deep (when there is a dense branch), the rest linear.
    const withDense = member < ensemble ? denseSettings : undefined;
    const memberEpochs = withDense || !denseSettings ? epochs : linearEpochs;
    if (memberCount > 1)
      log(
        `ensemble member ${member + 1}/${memberCount} (${withDense ? 'wide & deep' : 'linear'}, seed ${memberSeed}, ${memberEpochs} epochs)`,
      );
    members.push(
      trainCrfSgd(encodedTrain, {
        labels,
        buckets: 1 << config.bucketBits,
        slots,
        epochs: memberEpochs,
        averageFrom: Math.floor(memberEpochs / 3),
        c2,
        eta0: 0.1,
        seed: memberSeed,
        missedEntityCost,
        ...(withDense
          ? {
              dense: {
                shape: {
                  window: withDense.window,
                  dim: withDense.cols,
                  hidden: withDense.hidden,
                  labels: labels.length,
                },
                table: withDense.table,
                lr: withDense.lr,
                lrDecay: DEFAULT_DENSE.lrDecay,
                dropout: withDense.dropout,
                seed: memberSeed + 1,
                skipBelow: options.skipBelow ?? DEFAULT_DENSE.skipBelow,
              },
            }
          : {}),
        ...(options.log ? { onEpoch: progress(memberEpochs, withDense?.table) } : {}),
      }),
    );
  }
  const weights = mergeEnsemble(members);
  const trainSeconds = (performance.now() - t0) / 1000 + embeddingSeconds;
  const trainCpuSeconds = (process.cpuUsage().user - cpuStarted) / 1e6;

  const L = labels.length;
  const vocabulary = [...new Set(train.flatMap((s) => s.tokens.map(normalizeToken)))].sort();
  const vocabText = vocabulary.join('\n') + '\n';
  const trainSha = sha256(await readFile(options.trainFile));
  const manifest: Omit<Manifest, 'files'> = {
    formatVersion: MANIFEST_FORMAT_VERSION,
    format: 'crf',
    name: options.name ?? basename(options.outDir),
    version: options.version ?? '0.1.0',
    entityTypes: labels.filter((l) => l.startsWith('B-')).map((l) => l.slice(2)),
    vocabularyFingerprint: sha256(vocabText),
    training: {
      algorithm: denseSettings ? 'crf-sgd-averaged+mlp' : 'crf-sgd-averaged',
      seed,
      epochs,
      tagScheme,
      c2,
      missedEntityCost,
      ...(gazetteer ? { gazetteer: { phrases: gazetteer.size, folds } } : {}),
      ...(lexicon
        ? {
            lexicon: {
              ...(readLexicon ? { files: readLexicon.files } : { inherited: true }),
              phrases: lexicon.size,
              types: [...lexicon.types],
            },
          }
        : {}),
      ...(denseSettings
        ? {
            dense: {
              hidden: denseSettings.hidden,
              window: denseSettings.window,
              lr: denseSettings.lr,
              lrDecay: DEFAULT_DENSE.lrDecay,
              dropout: denseSettings.dropout,
              ensemble,
            },
            ...(linearMembers > 0 ? { linearMembers: { count: linearMembers, epochs: linearEpochs } } : {}),
            unlabeled: (options.unlabeledFiles ?? []).map((f) => basename(f)),
            ...(pretrained && options.pretrainedVectorsFile
              ? {
                  pretrainedVectors: {
                    file: basename(options.pretrainedVectorsFile),
                    sha256: pretrained.sha256,
                    dim: pretrained.dim,
                    words: pretrained.words.length,
                  },
                }
              : {}),
          }
        : {}),
      trainFile: basename(options.trainFile),
      trainSha256: trainSha,
      ...(options.devFile
        ? { devFile: basename(options.devFile), devSha256: sha256(await readFile(options.devFile)) }
        : {}),
      sentences: train.length,
      tokens,
    },
    crf: {
      labels,
      features: {
        featureVersion: config.featureVersion,
        bucketBits: config.bucketBits,
        clusters: config.clusters,
        ...(config.gazetteer ? { gazetteer: true } : {}),
        ...(config.subwords ? { subwords: true } : {}),
        ...(config.abbreviations ? { abbreviations: true } : {}),
        ...(config.shortFormContext !== undefined ? { shortFormContext: config.shortFormContext } : {}),
        ...(config.lexicon ? { lexicon: true } : {}),
        slots,
      },
      tokenizer: { splitHyphens },
      transitions: {
        trans: Array.from({ length: L }, (_, i) =>
          Array.from(weights.transitions.trans.subarray(i * L, i * L + L), round6),
        ),
        start: Array.from(weights.transitions.start, round6),
        end: Array.from(weights.transitions.end, round6),
      },
      decoding: { outsideBias: options.outsideBias ?? 0 },
      ...(denseSettings && embeddings
        ? {
            dense: {
              window: denseSettings.window,
              embeddingDim: embeddings.dim,
              hidden: weights.dense?.shape.hidden ?? denseSettings.hidden * ensemble,
              ensemble,
              vocabulary: { file: EMBEDDING_VOCAB_FILE, words: embeddings.words.length },
            },
          }
        : {}),
    },
  };
  const files: Record<string, string | Uint8Array> = {
    'model.onnx': crfEmissionModel(
      weights.emission,
      (1 << config.bucketBits) + 1,
      L,
      slots,
      weights.dense && denseSettings
        ? {
            table: denseSettings.table,
            tableRows: denseSettings.vocabulary.rows,
            tableCols: denseSettings.cols,
            window: denseSettings.window,
            hidden: weights.dense.shape.hidden,
            w1: weights.dense.w1ForExport(),
            b1: Float32Array.from(weights.dense.b1),
            w2: Float32Array.from(weights.dense.w2),
            b2: Float32Array.from(weights.dense.b2),
          }
        : undefined,
    ),
    'vocab.txt': vocabText,
  };
  if (embeddings) files[EMBEDDING_VOCAB_FILE] = EmbeddingVocabulary.format(embeddings.words);
  if (clusters) files['clusters.tsv'] = clusters.format();
  if (gazetteer) files[GAZETTEER_FILE] = gazetteer.format();
  if (lexiconEntries) files[LEXICON_FILE] = formatLexicon(lexiconEntries);

  // Phase 1: write the model so the real runtime can load it; evaluation and the drift profile then
  // come from exactly the code path that will serve it.
  await mkdir(options.outDir, { recursive: true });
  await writeBundle(options.outDir, manifest, files);
  const engine = await loadEngine(options.outDir);
  const held = dev ?? trainBio;
  let metrics: EvaluationReport;
  let profileResults;
  try {
    metrics = await evaluateEngine(engine, held);
    profileResults = await engine.extractBatch(held.map((s) => detokenize(s.tokens)));
  } finally {
    await engine.close();
  }
  const profile = computeProfile(profileResults);
  const metricsFile = {
    heldOut: dev
      ? { file: basename(options.devFile as string), split: 'dev' }
      : { file: basename(options.trainFile), split: 'train (no dev file given: optimistic)' },
    ...metrics,
  };
  files['profile.json'] = canonicalJson(profile);
  files['metrics.json'] = canonicalJson(metricsFile);
  // Phase 2: the final manifest pins the profile and metrics too.
  const digest = await writeBundle(options.outDir, manifest, files);
  return {
    outDir: options.outDir,
    digest,
    metrics,
    trainSeconds,
    trainCpuSeconds,
    totalSeconds: (performance.now() - started) / 1000,
  };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
