/**
 * `ner-ops train --select auto`: choose the setup per corpus on held-out folds of the training set (never
 * the dev file, which stays for the report), then train the winner on all of train with `trainBundle`,
 * recording the choice and its fold scores in the manifest. `trainBundle` itself is untouched: with
 * selection off, or for the final run, it trains exactly the options it is given.
 */
import { DEFAULT_EPOCHS } from '../defaults.js';
import { readCorpus } from '../stages/corpus.js';
import { checkFeatureOptions } from '../stages/feature-space.js';
import { trainBundle, type TrainOptions, type TrainResult } from '../train.js';
import { runCost } from './cost.js';
import { FoldScorer } from './folds.js';
import { candidateGrid, candidateLabel, candidateOptions, type Candidate, type GridPins } from './grid.js';
import { fullRuns, mean, successiveHalving, type HalvingResult } from './halving.js';

export type SelectMode = 'auto' | 'off';

export interface SelectOptions {
  mode: SelectMode;
  /** Held-out folds of the training set (default SELECTION_DEFAULTS.folds). */
  folds?: number;
  /** Estimated CPU seconds for selection and final training together (default: selectionBudget(tokens)). */
  budgetSeconds?: number;
  /** Grid dimensions the user fixed with flags. */
  pins?: GridPins;
}

export const SELECTION_DEFAULTS = {
  folds: 3,
  /**
   * Budget: a fixed part plus a part per training token, in estimated one-core CPU seconds: about 139 for
   * BeHealthy (40k tokens) and 428 for NCBI-disease (136k). The whole `ner-ops train` also reads the corpus,
   * learns each fold's embeddings, decodes dev for its progress lines and exports the bundle, which the
   * estimate leaves out; the margin between the budget and the three and eight minutes it must fit in is
   * for that.
   */
  budgetFixedSeconds: 20,
  budgetSecondsPerToken: 0.003,
} as const;

/** Below this many sentences per fold the selection is skipped. */
export const MIN_SENTENCES_PER_FOLD = 10;

export function selectionBudget(tokens: number): number {
  return SELECTION_DEFAULTS.budgetFixedSeconds + SELECTION_DEFAULTS.budgetSecondsPerToken * tokens;
}

export interface SelectionSummary {
  winner: Candidate;
  foldF1: number;
  result: HalvingResult;
  /** Measured CPU seconds (user) of the fold runs. */
  cpuSeconds: number;
}

export interface SelectTrainResult extends TrainResult {
  selection?: SelectionSummary;
}

/** The manifest's `training.selection`: deterministic (no times), so the digest stays a function of the inputs. */
export function selectionRecord(result: HalvingResult, folds: number, budgetSeconds: number): Record<string, unknown> {
  return {
    method: 'successive-halving',
    folds,
    seeds: result.seeds,
    budgetSeconds: Math.round(budgetSeconds),
    estimatedSeconds: Math.round(result.estimatedSeconds),
    stopped: result.stopped,
    chosen: { ...result.winner, label: candidateLabel(result.winner) },
    foldF1: round4(result.foldF1),
    candidates: result.records
      .filter((r) => r.runs.length > 0)
      .map((r) => ({
        label: candidateLabel(r.candidate),
        ...(fullRuns(r).length > 0 ? { meanF1: round4(mean(fullRuns(r).map((s) => s.f1))) } : {}),
        runs: r.runs.map((s) => ({ ...s, f1: round4(s.f1) })),
      })),
  };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** Train with the setup chosen on folds of train (`select.mode` 'auto'), or exactly as given ('off'). */
export async function trainSelected(options: TrainOptions, select: SelectOptions): Promise<SelectTrainResult> {
  if (select.mode === 'off') return trainBundle(options);
  const log = options.log ?? (() => {});
  await checkFeatureOptions(options.features ?? {});
  const corpus = await readCorpus(options.corpus);
  const folds = select.folds ?? SELECTION_DEFAULTS.folds;
  if (corpus.trainBio.length < MIN_SENTENCES_PER_FOLD * folds) {
    // Folds of a handful of sentences would choose by chance: the flags as given are the honest answer.
    log(
      `select: ${corpus.trainBio.length} training sentences are too few for ${folds} folds; training the flags as given`,
    );
    return trainBundle(options);
  }
  const candidates = candidateGrid(select.pins);
  const base = { features: options.features ?? {}, members: options.members ?? {} };
  const budgetSeconds = select.budgetSeconds ?? selectionBudget(corpus.tokens);
  const seed = base.members.seed ?? 1;
  const foldTokens = (corpus.tokens * (folds - 1)) / folds;
  const linearEpochs = base.members.linearEpochs ?? DEFAULT_EPOCHS.linear;
  log(
    `select: ${candidates.length} candidates, ${folds} folds of the training set, budget ~${Math.round(budgetSeconds)} CPU s`,
  );
  const dense = candidates.some((c) => c.model === 'wide-deep') ? (base.features.dense ?? {}) : undefined;
  const scorer = new FoldScorer(corpus, folds, dense);
  const c0 = process.cpuUsage().user;
  const result = await successiveHalving(
    candidates,
    (c, fold, s, scale) => scorer.run(fold, candidateOptions(c, base, scale), s),
    {
      folds,
      seed,
      budgetSeconds,
      cost: (c, scale) => runCost(c, foldTokens, corpus.labels.length, scale, linearEpochs),
      finalCost: (c) => runCost(c, corpus.tokens, corpus.labels.length, 1, linearEpochs),
      log,
    },
  );
  const cpuSeconds = (process.cpuUsage().user - c0) / 1e6;
  log(
    `select: chose ${candidateLabel(result.winner)} (fold F1 ${result.foldF1.toFixed(4)}; ${result.stopped}; selection cpu ${cpuSeconds.toFixed(1)} s)`,
  );
  const chosen = candidateOptions(result.winner, base);
  const trained = await trainBundle({
    ...options,
    features: chosen.features,
    members: chosen.members,
    export: { ...options.export, selection: selectionRecord(result, folds, budgetSeconds) },
  });
  return { ...trained, selection: { winner: result.winner, foldF1: result.foldF1, result, cpuSeconds } };
}
