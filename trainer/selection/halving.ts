/**
 * Successive halving over the grid, judged on held-out folds of the training set.
 *
 * - Rung 0: every candidate, one fold, a quarter of its epochs: cheap, and enough to drop the clearly
 *   worse (a fifth survive). One run on a few hundred sentences moves by ±0.015 with the seed, so a
 *   candidate is ranked by its own score averaged with what the grid's main effects predict for it
 *   (each dimension's level judged on every run that has it): the grid is a factorial design, and the
 *   main effects are averages over many runs.
 *   When every candidate scores within the noise of every other (an easy corpus: the grid does not
 *   matter), the search stops there and takes the cheapest.
 * - Rung 1: the survivors at full epochs on another fold, best first, as long as the budget lasts.
 * - Rung 2: the best two on the remaining folds too, unless the leader is ahead by more than the noise
 *   on both earlier rungs (the folds agree: the grid is cut there). If the two are still within the
 *   spread of their per-fold differences, a second seed on every fold decides.
 *
 * The budget is in estimated CPU seconds from a cost model (tokens × epochs × a per-setup rate), not
 * measured time, so the same data and seed choose the same setup however busy the machine is: a bundle's
 * digest stays a function of its inputs.
 */
import { candidateLabel, type Candidate } from './grid.js';

export interface RunScore {
  fold: number;
  seed: number;
  /** Fraction of the candidate's epochs trained (rung 0 trains fewer). */
  epochScale: number;
  f1: number;
}

export interface CandidateRecord {
  candidate: Candidate;
  runs: RunScore[];
}

export type Scorer = (
  candidate: Candidate,
  fold: number,
  seed: number,
  epochScale: number,
) => Promise<{ f1: number; cpuSeconds?: number }>;

export interface HalvingOptions {
  folds: number;
  seed: number;
  /** Estimated CPU seconds the selection may spend, the final training's estimate included. */
  budgetSeconds: number;
  /** Estimated CPU seconds of one run (one fold, `epochScale` of the epochs). */
  cost: (candidate: Candidate, epochScale: number) => number;
  /** Estimated CPU seconds of training the winner on all of train. */
  finalCost: (candidate: Candidate) => number;
  log?: (line: string) => void;
}

export interface HalvingResult {
  winner: Candidate;
  /** Mean fold F1 of the winner's full-epoch runs (of its short runs when it has none). */
  foldF1: number;
  records: CandidateRecord[];
  /** Estimated CPU seconds spent on fold runs. */
  estimatedSeconds: number;
  seeds: number[];
  /** Why the search stopped where it did. */
  stopped: 'decided' | 'budget' | 'exhausted' | 'agree';
}

export const FIRST_RUNG_EPOCH_SCALE = 0.25;
/** Fraction of rung 0 that goes on to full epochs (1 in ETA, at least two). */
const ETA = 5;
/** A lead smaller than this (entity F1) is never taken as settled: a seed moves small corpora by more. */
export const MIN_NOISE = 0.005;

export function fullRuns(r: CandidateRecord): RunScore[] {
  return r.runs.filter((s) => s.epochScale === 1);
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Mean F1 of two candidates on the (fold, seed) pairs both have run at full epochs. */
export function pairedScores(a: CandidateRecord, b: CandidateRecord): { a: number[]; b: number[] } {
  const key = (s: RunScore) => `${s.fold}/${s.seed}`;
  const bFull = new Map(fullRuns(b).map((s) => [key(s), s.f1]));
  const out = { a: [] as number[], b: [] as number[] };
  for (const s of fullRuns(a)) {
    const other = bFull.get(key(s));
    if (other !== undefined) {
      out.a.push(s.f1);
      out.b.push(other);
    }
  }
  return out;
}

/** The noise a lead is judged against: the standard error of the paired differences, at least MIN_NOISE. */
export function pairedNoise(diffs: readonly number[]): number {
  if (diffs.length < 2) return MIN_NOISE;
  const m = mean(diffs);
  const sd = Math.sqrt(diffs.reduce((s, d) => s + (d - m) ** 2, 0) / (diffs.length - 1));
  return Math.max(MIN_NOISE, sd / Math.sqrt(diffs.length));
}

/**
 * The dimensions of a candidate, as the main-effects model sees them. Not the epochs: they vary only
 * within one corner of the grid, so their level's mean would carry that corner's other effects too; the
 * candidate's own score judges them.
 */
function levels(c: Candidate): string[] {
  return [`model=${c.model}`, `cost=${c.missedEntityCost}`, `rich=${c.rich}`];
}

/**
 * Each candidate's score averaged with its main-effects prediction: the grand mean plus, per dimension,
 * how far the mean of the runs at the candidate's level lies from the grand mean.
 */
export function smoothedScores(candidates: readonly Candidate[], scores: readonly number[]): number[] {
  const grand = mean(scores);
  const byLevel = new Map<string, number[]>();
  candidates.forEach((c, i) => {
    for (const l of levels(c)) byLevel.set(l, [...(byLevel.get(l) ?? []), scores[i] as number]);
  });
  return candidates.map((c, i) => {
    const predicted = levels(c).reduce((p, l) => p + mean(byLevel.get(l) as number[]) - grand, grand);
    return ((scores[i] as number) + predicted) / 2;
  });
}

/**
 * The better of two candidates on the (fold, seed) runs both have: a budget stop can leave one with a
 * run on a fold the other lacks, and folds differ in difficulty more than candidates do.
 */
export function pairedBetter(a: CandidateRecord, b: CandidateRecord): CandidateRecord {
  const paired = pairedScores(a, b);
  return mean(paired.b) > mean(paired.a) ? b : a;
}

export async function successiveHalving(
  candidates: readonly Candidate[],
  score: Scorer,
  options: HalvingOptions,
): Promise<HalvingResult> {
  if (candidates.length === 0) throw new Error('no candidates to select from');
  const log = options.log ?? (() => {});
  const { folds, seed } = options;
  const records = candidates.map((candidate) => ({ candidate, runs: [] as RunScore[] }));
  let spent = 0;
  const affordable = (c: Candidate, scale: number, leader: Candidate) =>
    spent + options.cost(c, scale) + options.finalCost(leader) <= options.budgetSeconds;
  const run = async (r: CandidateRecord, fold: number, s: number, scale: number) => {
    const { f1, cpuSeconds } = await score(r.candidate, fold, s, scale);
    const cost = options.cost(r.candidate, scale);
    spent += cost;
    r.runs.push({ fold, seed: s, epochScale: scale, f1 });
    log(
      `select: ${candidateLabel(r.candidate)} fold ${fold + 1}/${folds} seed ${s}${scale < 1 ? ` ${Math.round(scale * 100)} % epochs` : ''}: F1 ${f1.toFixed(4)} (cpu ${cpuSeconds?.toFixed(1) ?? '?'} s, estimated ${cost.toFixed(1)} s)`,
    );
    return f1;
  };
  const result = (winner: CandidateRecord, stopped: HalvingResult['stopped']): HalvingResult => ({
    winner: winner.candidate,
    // With no full-epoch run (the folds agreed after the short round), the short runs are the estimate.
    foldF1: mean((fullRuns(winner).length > 0 ? fullRuns(winner) : winner.runs).map((s) => s.f1)),
    records,
    estimatedSeconds: spent,
    seeds: [...new Set(records.flatMap((r) => r.runs.map((s) => s.seed)))].sort((a, b) => a - b),
    stopped,
  });

  // Rung 0: everyone, short, on fold 0. A grid of one goes straight to full epochs.
  let ranked: CandidateRecord[] = records;
  const rung0 = new Map<CandidateRecord, number>();
  if (records.length > 1) {
    for (const r of records) rung0.set(r, await run(r, 0, seed, FIRST_RUNG_EPOCH_SCALE));
    const smoothed = smoothedScores(
      records.map((r) => r.candidate),
      records.map((r) => rung0.get(r) as number),
    );
    const at = new Map(records.map((r, i) => [r, smoothed[i] as number]));
    ranked = [...records].sort((a, b) => (at.get(b) as number) - (at.get(a) as number));
    const scores = [...rung0.values()];
    if (Math.max(...scores) - Math.min(...scores) <= MIN_NOISE) {
      const cheapest = [...records].sort((a, b) => options.cost(a.candidate, 1) - options.cost(b.candidate, 1))[0];
      return result(cheapest as CandidateRecord, 'agree');
    }
  }
  const survivors = ranked.slice(0, Math.max(2, Math.ceil(ranked.length / ETA)));

  // Rung 1: full epochs on fold 1 (fold 0 with one fold), best first, while the budget lasts.
  const rung1Fold = folds > 1 ? 1 : 0;
  const done: CandidateRecord[] = [];
  let stopped: HalvingResult['stopped'] = 'exhausted';
  for (const r of survivors) {
    if (done.length > 0 && !affordable(r.candidate, 1, (done[0] as CandidateRecord).candidate)) {
      stopped = 'budget';
      break;
    }
    await run(r, rung1Fold, seed, 1);
    done.push(r);
  }
  const byFull = (list: CandidateRecord[]) =>
    [...list].sort((a, b) => mean(fullRuns(b).map((s) => s.f1)) - mean(fullRuns(a).map((s) => s.f1)));
  let order = byFull(done);
  if (order.length < 2) return result(order[0] as CandidateRecord, stopped);
  let [first, second] = order as [CandidateRecord, CandidateRecord];
  const lead1 = mean(fullRuns(first).map((s) => s.f1)) - mean(fullRuns(second).map((s) => s.f1));
  const lead0 = rung0.size > 0 ? (rung0.get(first) as number) - (rung0.get(second) as number) : lead1;
  if (lead1 > 2 * MIN_NOISE && lead0 > MIN_NOISE) return result(first, 'decided');

  // Both finalists run on a fold or neither does, so they are always compared on the same folds.
  const pairAffordable = (a: CandidateRecord, b: CandidateRecord) =>
    spent +
      options.cost(a.candidate, 1) +
      options.cost(b.candidate, 1) +
      Math.max(options.finalCost(a.candidate), options.finalCost(b.candidate)) <=
    options.budgetSeconds;

  // Rung 2: the best two on every fold.
  for (let fold = 0; fold < folds; fold++) {
    if (fold === rung1Fold) continue;
    if (!pairAffordable(first, second)) return result(pairedBetter(first, second), 'budget');
    for (const r of [first, second]) await run(r, fold, seed, 1);
  }
  order = byFull([first, second]);
  [first, second] = order as [CandidateRecord, CandidateRecord];
  const paired = pairedScores(first, second);
  const diffs = paired.a.map((x, i) => x - (paired.b[i] as number));
  if (mean(diffs) > pairedNoise(diffs)) return result(first, 'decided');

  // Within the noise: a second seed on every fold.
  for (let fold = 0; fold < folds; fold++) {
    if (!pairAffordable(first, second)) return result(pairedBetter(first, second), 'budget');
    for (const r of [first, second]) await run(r, fold, seed + 1, 1);
  }
  return result(pairedBetter(first, second), 'decided');
}
