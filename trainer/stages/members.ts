/**
 * Stage 3 of training, the fitted members: one CRF per member trained by SGD in the feature space (wide
 * & deep members with an MLP over the embedding window, linear members without), merged into one model.
 */
import { trainCrfSgd, type CrfWeights, type SgdOptions } from '../crf-sgd.js';
import { DEFAULT_C2, DEFAULT_DENSE, DEFAULT_EPOCHS, DEFAULT_MISSED_ENTITY_COST } from '../defaults.js';
import type { Corpus } from './corpus.js';
import { epochProgress } from './dev-progress.js';
import type { DenseInput } from './dense-input.js';
import type { FeatureSpace } from './feature-space.js';
import { mergeEnsemble } from './merge-ensemble.js';

export interface MemberOptions {
  seed?: number;
  /** SGD epochs (default DEFAULT_EPOCHS: `linear` for a linear model, `dense` with the dense branch). */
  epochs?: number;
  /** L2 strength on the whole-corpus objective (crfsuite's c2). */
  c2?: number;
  /** Softmax-margin recall cost (see SgdOptions.missedEntityCost; default DEFAULT_MISSED_ENTITY_COST). */
  missedEntityCost?: number;
  /** Independently seeded wide & deep models averaged into one graph. */
  ensemble?: number;
  /**
   * With the dense branch: linear CRF members (no MLP) averaged in beside the wide & deep ones. The
   * linear CRF's convex objective converges where the MLP's does not, and the two err differently.
   */
  linearMembers?: number;
  /** Epochs of the linear members (default DEFAULT_EPOCHS.linear). */
  linearEpochs?: number;
  /** The MLP of the wide & deep members. */
  mlp?: MlpOptions;
}

export interface MlpOptions {
  /** Hidden units per member. */
  hidden?: number;
  /** Learning rate at epoch 0. */
  lr?: number;
  dropout?: number;
  /** See DenseTrainOptions.skipBelow. */
  skipBelow?: number;
}

/** What will be trained: resolved from the options and whether there is a dense branch. */
export interface MemberPlan {
  seed: number;
  c2: number;
  missedEntityCost: number;
  /** Epochs of the first `ensemble` members: the wide & deep ones, or the one linear model without a dense branch. */
  epochs: number;
  /** Wide & deep members (1, a linear model, without a dense branch). */
  ensemble: number;
  /** Linear members beside the wide & deep ones (0 without a dense branch). */
  linearMembers: number;
  linearEpochs: number;
  /** The MLP settings, with a dense branch. */
  mlp?: { hidden: number; lr: number; lrDecay: number; dropout: number; skipBelow: number };
}

export function planMembers(options: MemberOptions, dense: boolean): MemberPlan {
  const mlp = options.mlp ?? {};
  return {
    seed: options.seed ?? 1,
    c2: options.c2 ?? DEFAULT_C2,
    missedEntityCost: options.missedEntityCost ?? DEFAULT_MISSED_ENTITY_COST,
    epochs: options.epochs ?? (dense ? DEFAULT_EPOCHS.dense : DEFAULT_EPOCHS.linear),
    ensemble: dense ? (options.ensemble ?? DEFAULT_DENSE.ensemble) : 1,
    linearMembers: dense ? (options.linearMembers ?? DEFAULT_DENSE.linearMembers) : 0,
    linearEpochs: options.linearEpochs ?? DEFAULT_EPOCHS.linear,
    ...(dense
      ? {
          mlp: {
            hidden: mlp.hidden ?? DEFAULT_DENSE.hidden,
            lr: mlp.lr ?? DEFAULT_DENSE.lr,
            lrDecay: DEFAULT_DENSE.lrDecay,
            dropout: mlp.dropout ?? DEFAULT_DENSE.dropout,
            skipBelow: mlp.skipBelow ?? DEFAULT_DENSE.skipBelow,
          },
        }
      : {}),
  };
}

/** Whether a linear CRF is among the members (alone, or beside wide & deep ones). */
export function trainsLinearCrf(plan: Pick<MemberPlan, 'mlp' | 'linearMembers'>): boolean {
  return !plan.mlp || plan.linearMembers > 0;
}

/** The members merged into one model. */
export interface FittedMembers {
  weights: CrfWeights;
  /** Wall-clock seconds of the SGD epochs. */
  seconds: number;
}

/**
 * Train every member. `progress`: the log for per-epoch lines (with dev F1), when someone reads them;
 * `log`: the other progress lines.
 */
export function fitMembers(
  corpus: Corpus,
  space: FeatureSpace,
  plan: MemberPlan,
  log: (line: string) => void,
  progress?: (line: string) => void,
): FittedMembers {
  log(
    `training on ${corpus.train.length} sentences (${corpus.tokens} tokens), labels ${corpus.labels.join(' ')}, ${plan.epochs} epochs`,
  );
  const t0 = performance.now();
  const onEpoch = progress && epochProgress(corpus, space, progress);
  const memberCount = plan.ensemble + plan.linearMembers;
  const members: CrfWeights[] = [];
  for (let member = 0; member < memberCount; member++) {
    const memberSeed = plan.seed + 7919 * member;
    // Members 0..ensemble-1 are wide & deep (when there is a dense branch), the rest linear.
    const withDense = member < plan.ensemble ? space.dense : undefined;
    const memberEpochs = withDense || !space.dense ? plan.epochs : plan.linearEpochs;
    if (memberCount > 1)
      log(
        `ensemble member ${member + 1}/${memberCount} (${withDense ? 'wide & deep' : 'linear'}, seed ${memberSeed}, ${memberEpochs} epochs)`,
      );
    members.push(
      trainCrfSgd(space.encodedTrain, {
        labels: corpus.labels,
        buckets: 1 << space.config.bucketBits,
        slots: space.slots,
        epochs: memberEpochs,
        averageFrom: Math.floor(memberEpochs / 3),
        c2: plan.c2,
        eta0: 0.1,
        seed: memberSeed,
        missedEntityCost: plan.missedEntityCost,
        ...(withDense && plan.mlp ? { dense: mlpTraining(withDense, plan.mlp, corpus.labels.length, memberSeed) } : {}),
        ...(onEpoch ? { onEpoch: onEpoch(memberEpochs, withDense?.table) } : {}),
      }),
    );
  }
  return { weights: mergeEnsemble(members), seconds: (performance.now() - t0) / 1000 };
}

function mlpTraining(
  input: DenseInput,
  mlp: NonNullable<MemberPlan['mlp']>,
  labels: number,
  memberSeed: number,
): NonNullable<SgdOptions['dense']> {
  return {
    shape: { window: input.window, dim: input.cols, hidden: mlp.hidden, labels },
    table: input.table,
    lr: mlp.lr,
    lrDecay: mlp.lrDecay,
    dropout: mlp.dropout,
    seed: memberSeed + 1,
    skipBelow: mlp.skipBelow,
  };
}
