import { describe, expect, it } from 'vitest';
import { candidateGrid, candidateLabel, type Candidate } from './grid.js';
import {
  MIN_NOISE,
  pairedBetter,
  pairedNoise,
  smoothedScores,
  successiveHalving,
  type HalvingOptions,
} from './halving.js';

/** A made-up response surface: wide & deep + cost 0.5 + rich is best; noise per (fold, seed). */
function truth(c: Candidate): number {
  return (
    0.5 +
    (c.model === 'wide-deep' ? 0.03 : 0) +
    (c.missedEntityCost === 0.5 ? 0.02 : c.missedEntityCost === 1 ? 0.01 : 0) +
    (c.rich ? 0.015 : 0) +
    (c.epochs === 160 ? 0.005 : 0)
  );
}

function noise(fold: number, seed: number, c: Candidate): number {
  // Deterministic, small: a hash of the run.
  let h = fold * 31 + seed * 17 + candidateLabel(c).length * 7 + c.missedEntityCost * 13;
  h = (h * 2654435761) % 1000;
  return (h / 1000 - 0.5) * 0.004;
}

const options = (over: Partial<HalvingOptions> = {}): HalvingOptions => ({
  folds: 3,
  seed: 1,
  budgetSeconds: 1e9,
  cost: (c, scale) => (c.model === 'wide-deep' ? 3 : 1) * 10 * scale,
  finalCost: () => 15,
  ...over,
});

describe('successive halving', () => {
  it('finds the best candidate of the grid, with short runs for all and full runs for few', async () => {
    const runs: { label: string; scale: number }[] = [];
    const result = await successiveHalving(
      candidateGrid(),
      async (c, fold, seed, scale) => {
        runs.push({ label: candidateLabel(c), scale });
        return { f1: truth(c) * (scale < 1 ? 0.9 : 1) + noise(fold, seed, c) };
      },
      options(),
    );
    expect(result.winner).toEqual({ model: 'wide-deep', missedEntityCost: 0.5, rich: true, epochs: 12 });
    const grid = candidateGrid().length;
    expect(runs.filter((r) => r.scale < 1)).toHaveLength(grid);
    // A fifth of the grid goes on to full epochs, the best two to every fold at most.
    expect(new Set(runs.filter((r) => r.scale === 1).map((r) => r.label)).size).toBeLessThanOrEqual(
      Math.ceil(grid / 5),
    );
    expect(result.foldF1).toBeGreaterThan(0.55);
  });

  it('stops at rung 1 when the leader is clearly ahead, and asks a second seed when two are within the noise', async () => {
    const two: Candidate[] = [
      { model: 'linear', missedEntityCost: 0, rich: false, epochs: 40 },
      { model: 'linear', missedEntityCost: 1, rich: false, epochs: 40 },
    ];
    const clear = await successiveHalving(two, async (c) => ({ f1: c.missedEntityCost === 1 ? 0.6 : 0.5 }), options());
    expect(clear.stopped).toBe('decided');
    expect(clear.winner.missedEntityCost).toBe(1);
    expect(clear.seeds).toEqual([1]);

    const close = await successiveHalving(
      two,
      async (c, fold, seed, scale) => ({
        f1:
          scale < 1
            ? c.missedEntityCost === 1
              ? 0.52
              : 0.5
            : 0.5 + (c.missedEntityCost === 1 ? 0.001 : 0) + 0.01 * fold + 0.001 * seed,
      }),
      options(),
    );
    expect(close.seeds).toEqual([1, 2]);
    // Every fold with both seeds for the two finalists.
    for (const r of close.records) expect(r.runs.filter((s) => s.epochScale === 1)).toHaveLength(6);
    expect(close.winner.missedEntityCost).toBe(1);
  });

  it('keeps to the budget: full-epoch runs stop when they and the final training would not fit', async () => {
    let spent = 0;
    const result = await successiveHalving(
      candidateGrid(),
      async (c) => {
        return { f1: truth(c) };
      },
      options({
        budgetSeconds: 15 * 2.5 + 10 + 15,
        cost: (_c, scale) => {
          spent += 10 * scale;
          return 10 * scale;
        },
      }),
    );
    expect(result.stopped).toBe('budget');
    // Rung 0 (15 × 2.5) always runs; then one full run fits beside the final training.
    expect(result.estimatedSeconds).toBeLessThanOrEqual(15 * 2.5 + 10);
    expect(result.records.flatMap((r) => r.runs.filter((s) => s.epochScale === 1))).toHaveLength(1);
    expect(spent).toBeGreaterThan(0);
  });

  it('a grid of one trains it at full epochs only', async () => {
    const only: Candidate = { model: 'linear', missedEntityCost: 0.5, rich: true, epochs: 3 };
    const result = await successiveHalving([only], async () => ({ f1: 0.7 }), options());
    expect(result.winner).toEqual(only);
    expect(result.records[0]?.runs).toEqual([{ fold: 1, seed: 1, epochScale: 1, f1: 0.7 }]);
  });
});

describe('smoothed rung-0 scores', () => {
  it('pull a lucky run towards what its dimensions predict', () => {
    const grid = candidateGrid({ epochs: 10 });
    const scores = grid.map(truth);
    const lucky = grid.findIndex((c) => c.model === 'linear' && c.missedEntityCost === 0 && !c.rich);
    scores[lucky] = (scores[lucky] as number) + 0.1;
    const smoothed = smoothedScores(grid, scores);
    expect(smoothed[lucky]).toBeLessThan(scores[lucky] as number);
    // Without noise, the additive surface is its own prediction.
    const clean = grid.map(truth);
    smoothedScores(grid, clean).forEach((s, i) => expect(s).toBeCloseTo(clean[i] as number, 10));
  });

  it('paired noise is at least MIN_NOISE and grows with the spread of the differences', () => {
    expect(pairedNoise([0.01])).toBe(MIN_NOISE);
    expect(pairedNoise([0.001, 0.001, 0.001])).toBe(MIN_NOISE);
    expect(pairedNoise([0.05, -0.05, 0.04])).toBeGreaterThan(0.02);
  });
});

describe('folds that agree', () => {
  it('stop the search after the short round and take the cheapest candidate', async () => {
    const result = await successiveHalving(candidateGrid(), async () => ({ f1: 0.99 }), {
      ...options(),
      cost: (c, scale) => (c.model === 'wide-deep' ? 30 : c.rich ? 12 : 10) * scale * (1 + c.missedEntityCost),
    });
    expect(result.stopped).toBe('agree');
    expect(result.winner).toEqual({ model: 'linear', missedEntityCost: 0, rich: false, epochs: 40 });
    expect(result.records.every((r) => r.runs.every((s) => s.epochScale < 1))).toBe(true);
    expect(result.foldF1).toBe(0.99);
  });
});

describe('a budget stop between the finalists', () => {
  it('compares them on the folds both have run', () => {
    const a = {
      candidate: { model: 'linear', missedEntityCost: 0, rich: true, epochs: 160 } as Candidate,
      runs: [{ fold: 1, seed: 1, epochScale: 1, f1: 0.8429 }],
    };
    const b = {
      candidate: { model: 'linear', missedEntityCost: 0.5, rich: true, epochs: 40 } as Candidate,
      runs: [
        { fold: 1, seed: 1, epochScale: 1, f1: 0.8435 },
        { fold: 0, seed: 1, epochScale: 1, f1: 0.8309 },
      ],
    };
    // b's mean over its two folds is lower, but on the fold both have it is ahead.
    expect(pairedBetter(a, b)).toBe(b);
  });
});
