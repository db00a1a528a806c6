/**
 * The selection's cost model: estimated one-core CPU seconds of a fold run or of the final training. The
 * search's budget counts these estimates, not measured time, so the same data and seed always choose the
 * same setup however busy the machine is.
 */
import { scaledEpochs, type Candidate } from './grid.js';

/**
 * Estimated one-core CPU µs per training token and epoch, by setup, from the fold runs' own CPU times
 * (docs/engine-experiments.md compares the estimates with measured runs). Rates are for 9 BIOES labels
 * (BeHealthy) and scale in proportion to the label count: the CRF's work per token is per label (emission
 * sums and updates) or per label pair (forward-backward, transitions), and the dense branch's, measured,
 * shrank with the labels nearly as much (its backward pass skips tokens whose label gradients are small).
 * A wide & deep candidate also trains its linear member (`linearEpochs`).
 */
export const COST_RATES = {
  linear: { base: 6.4, rich: 7.0 },
  denseEpoch: { base: 24, rich: 26 },
  /** Decoding the held-out fold and the share of featurising, per token, as epochs of the linear model. */
  overheadEpochs: 2,
  /** The label count the rates were measured with. */
  labels: 9,
} as const;

export function runCost(
  c: Candidate,
  tokens: number,
  labels: number,
  epochScale: number,
  linearEpochs: number,
): number {
  const labelShare = labels / COST_RATES.labels;
  const linear = (c.rich ? COST_RATES.linear.rich : COST_RATES.linear.base) * labelShare;
  const dense = (c.rich ? COST_RATES.denseEpoch.rich : COST_RATES.denseEpoch.base) * labelShare;
  const scaled = (e: number) => scaledEpochs(e, epochScale);
  const us =
    c.model === 'linear'
      ? linear * (scaled(c.epochs) + COST_RATES.overheadEpochs)
      : dense * scaled(c.epochs) + linear * (scaled(linearEpochs) + COST_RATES.overheadEpochs);
  return (us * tokens) / 1e6;
}
