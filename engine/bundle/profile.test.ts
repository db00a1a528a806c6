/** A drift baseline accumulated batch by batch equals the one computed over all results at once. */
import { describe, expect, it } from 'vitest';
import type { ExtractResult } from '../types.js';
import { computeProfile, ProfileAccumulator } from './profile.js';

function results(n: number): ExtractResult[] {
  return Array.from({ length: n }, (_, i) => ({
    entities: Array.from({ length: i % 4 }, (_, k) => ({
      label: k % 2 ? 'DISEASE' : 'TREATMENT',
      start: k,
      end: k + 1,
      text: 'x',
      score: ((i * 7 + k * 13) % 100) / 100,
    })),
    stats: { tokens: (i * 37) % 900, unknownTokens: i % 5 },
  }));
}

describe('ProfileAccumulator', () => {
  it('gives computeProfile of all results, however they are batched', () => {
    const all = results(500);
    const acc = new ProfileAccumulator();
    for (let i = 0; i < all.length; i += 37) acc.add(all.slice(i, i + 37));
    expect(acc.profile()).toEqual(computeProfile(all));
    expect(new ProfileAccumulator().profile()).toEqual(computeProfile([]));
  });
});
