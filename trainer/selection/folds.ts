/**
 * Scoring a candidate on one held-out fold of the training set: the fold's complement is the training
 * corpus, the fold the held-out set, decoded the way the runtime decodes (short-form reuse included) and
 * scored by entity micro-F1. Nothing is exported to ONNX: the weights are decoded in process, which is
 * what the per-epoch dev line does too. The dev file is never read here.
 *
 * Folds are contiguous blocks, like the gazetteer's jackknife: sentences of one document sit together in
 * a CoNLL file, and a name repeated within a document must not vouch for itself across the split.
 */
import type { LabeledSentence } from '../../engine/corpus/conll.js';
import { evaluateSequences } from '../evaluate.js';
import { inTagScheme, toBio, type Corpus } from '../stages/corpus.js';
import { decodeDev } from '../stages/dev-progress.js';
import type { DenseInputOptions } from '../stages/dense-input.js';
import { buildFeatureSpace, type FeatureSpace, type FeatureSpaceOptions } from '../stages/feature-space.js';
import { fitMembers, planMembers, type MemberOptions } from '../stages/members.js';

/**
 * Sentences go to folds in blocks: whole documents (`-DOCSTART-`) when the file marks them, else runs
 * of FOLD_BLOCK sentences, dealt round-robin. Blocks keep a document's repeated names on one side of the
 * split; dealing them round-robin makes every fold span the whole file, so a file sorted by topic (the
 * BeHealthy training file ends with a block of relation-heavy sentences) gives folds alike.
 *
 * Why 50: abstracts run about ten sentences, and every block boundary cuts the abstract it falls in, whose
 * topic disease then sits on both sides of the split and vouches for itself. How many held-out entity
 * mentions the fold's training part has already seen falls as the blocks grow and stops falling at about
 * 50 sentences (docs/engine-experiments.md, "Blocks of 50"), so from there on the folds no longer reward
 * memorising the held-out documents.
 */
export const FOLD_BLOCK = 50;

/** Block length for `n` sentences in `k` folds: FOLD_BLOCK, or shorter so every fold gets three blocks. */
export function foldBlockLength(n: number, k: number): number {
  return Math.max(1, Math.min(FOLD_BLOCK, Math.floor(n / (3 * k))));
}

/** The block each sentence belongs to. */
export function foldBlocks(sentences: readonly Pick<LabeledSentence, 'document'>[], k: number): number[] {
  const documents = new Set(sentences.map((s) => s.document ?? 0));
  if (documents.size > 1) return sentences.map((s) => s.document ?? 0);
  const block = foldBlockLength(sentences.length, k);
  return sentences.map((_, i) => Math.floor(i / block));
}

/** The fold (0..k-1) of each sentence. */
export function foldOf(sentences: readonly Pick<LabeledSentence, 'document'>[], k: number): number[] {
  return dealBlocks(foldBlocks(sentences, k), k);
}

/** Blocks dealt round-robin to `k` folds, in the order they first appear. */
function dealBlocks(blocks: readonly number[], k: number): number[] {
  const order = new Map<number, number>();
  for (const b of blocks) if (!order.has(b)) order.set(b, order.size);
  return blocks.map((b) => (order.get(b) as number) % k);
}

/**
 * The corpus with fold `f` of `k` held out: the other folds train, the fold is its `dev`. Each block is
 * its own document, so short-form context never reaches across a block boundary the split created.
 */
export function foldCorpus(corpus: Corpus, k: number, f: number): Corpus {
  const blocks = foldBlocks(corpus.trainBio, k);
  const folds = dealBlocks(blocks, k);
  const trainBio: LabeledSentence[] = [];
  const dev: LabeledSentence[] = [];
  corpus.trainBio.forEach((s, i) => (folds[i] === f ? dev : trainBio).push({ ...s, document: blocks[i] as number }));
  const train = inTagScheme(corpus.tagScheme, trainBio);
  const { devFile: _devFile, devSha256: _devSha256, ...rest } = corpus;
  return { ...rest, trainBio, train, dev, tokens: train.reduce((n, s) => n + s.tokens.length, 0) };
}

export interface FoldRun {
  f1: number;
  /** CPU seconds (user) of building the feature space (when not cached) and training. */
  cpuSeconds: number;
}

/**
 * Scores candidates on folds, caching each fold's feature space per feature options: the recall cost
 * and the epochs do not change the space, and a linear candidate reuses a wide & deep space without its
 * dense branch (the same sparse features and gazetteer, since a linear member is always trained).
 */
export class FoldScorer {
  private readonly spaces = new Map<string, Promise<{ corpus: Corpus; space: FeatureSpace }>>();

  constructor(
    private readonly corpus: Corpus,
    private readonly k: number,
    /** The dense branch of the wide & deep candidates; every space is built with it when there are any. */
    private readonly denseOptions: DenseInputOptions | undefined,
  ) {}

  async run(
    fold: number,
    options: { features: FeatureSpaceOptions; members: MemberOptions },
    seed: number,
  ): Promise<FoldRun> {
    const c0 = process.cpuUsage().user;
    const wantsDense = options.features.dense?.enabled === true;
    const { corpus, space: full } = await this.space(fold, options.features);
    const space: FeatureSpace = wantsDense ? full : withoutDense(full);
    const plan = planMembers({ ...options.members, seed }, wantsDense);
    const { weights } = fitMembers(corpus, space, plan, () => {});
    const dev = corpus.dev as LabeledSentence[];
    const tags = decodeDev(dev, space.encodedDev ?? [], weights, corpus.labels, space, space.dense?.table);
    const f1 = evaluateSequences(
      dev.map((s) => s.labels),
      toBio(corpus, tags),
    ).micro.f1;
    return { f1, cpuSeconds: (process.cpuUsage().user - c0) / 1e6 };
  }

  private space(fold: number, features: FeatureSpaceOptions): Promise<{ corpus: Corpus; space: FeatureSpace }> {
    const key = `${fold}|${features.subwords ? 1 : 0}${features.abbreviations ? 1 : 0}`;
    let entry = this.spaces.get(key);
    if (!entry) {
      const corpus = foldCorpus(this.corpus, this.k, fold);
      const dense = this.denseOptions ? { ...this.denseOptions, enabled: true } : { enabled: false };
      entry = buildFeatureSpace(
        corpus,
        { ...features, dense },
        { dense: this.denseOptions !== undefined, trainsLinearCrf: true, encodeDev: true },
        () => {},
      ).then((space) => ({ corpus, space }));
      this.spaces.set(key, entry);
    }
    return entry;
  }
}

function withoutDense(space: FeatureSpace): FeatureSpace {
  const { dense: _dense, ...rest } = space;
  return rest;
}
