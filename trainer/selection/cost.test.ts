/**
 * The selection's cost model: what it estimates decides how far the search goes, so its shape (tokens ×
 * epochs × a rate that grows with the label count) is worth pinning.
 */
import { describe, expect, it } from 'vitest';
import type { Candidate } from './grid.js';
import { COST_RATES, runCost } from './cost.js';

const linear: Candidate = { model: 'linear', missedEntityCost: 0, rich: false, epochs: 40 };
const wideDeep: Candidate = { model: 'wide-deep', missedEntityCost: 0, rich: true, epochs: 12 };

describe('runCost', () => {
  it('estimates a linear run as tokens × (epochs + the decoding overhead) × the rate', () => {
    const tokens = 100_000;
    const us = COST_RATES.linear.base * (40 + COST_RATES.overheadEpochs);
    expect(runCost(linear, tokens, COST_RATES.labels, 1, 40)).toBeCloseTo((us * tokens) / 1e6, 9);
    // A short run (a quarter of the epochs) costs its own epochs, not the candidate's.
    const short = COST_RATES.linear.base * (10 + COST_RATES.overheadEpochs);
    expect(runCost(linear, tokens, COST_RATES.labels, 0.25, 40)).toBeCloseTo((short * tokens) / 1e6, 9);
  });

  it('scales both model kinds in proportion to the label count', () => {
    for (const c of [linear, wideDeep]) {
      const at9 = runCost(c, 50_000, 9, 1, 40);
      expect(runCost(c, 50_000, 5, 1, 40)).toBeCloseTo((at9 * 5) / 9, 9);
      expect(runCost(c, 50_000, 13, 1, 40)).toBeCloseTo((at9 * 13) / 9, 9);
    }
  });

  it('counts a wide & deep candidate as its dense epochs plus its linear member', () => {
    const tokens = 40_000;
    const dense = COST_RATES.denseEpoch.rich * 12;
    const member = COST_RATES.linear.rich * (40 + COST_RATES.overheadEpochs);
    expect(runCost(wideDeep, tokens, COST_RATES.labels, 1, 40)).toBeCloseTo(((dense + member) * tokens) / 1e6, 9);
    expect(runCost(wideDeep, tokens, COST_RATES.labels, 1, 160)).toBeGreaterThan(
      runCost(wideDeep, tokens, COST_RATES.labels, 1, 40),
    );
  });
});
