import { describe, expect, it } from 'vitest';
import { DEFAULT_FEATURE_CONFIG, EXTENDED_FEATURE_VERSION, FEATURE_VERSION, featureVersionOf, featurizeSentence, slotsPerToken, type FeatureConfig } from './features.js';

function featurize(tokens: string[], config: FeatureConfig): Int32Array[] {
  const slots = slotsPerToken(config);
  const out = new Int32Array(tokens.length * slots);
  featurizeSentence(tokens, config, undefined, out);
  return tokens.map((_, i) => out.subarray(i * slots, (i + 1) * slots));
}

describe('optional feature groups', () => {
  const base = DEFAULT_FEATURE_CONFIG;
  const extended: FeatureConfig = { ...base, subwords: true, abbreviations: true };
  const pad = 1 << base.bucketBits;

  it('record version 3 only when used, and add their slots after the version-2 ones', () => {
    expect(featureVersionOf(base)).toBe(FEATURE_VERSION);
    expect(featureVersionOf({ ...base, subwords: true })).toBe(EXTENDED_FEATURE_VERSION);
    expect(featureVersionOf({ ...base, abbreviations: true })).toBe(EXTENDED_FEATURE_VERSION);
    const tokens = 'Huntington disease ( HD ) is inherited'.split(' ');
    const plain = featurize(tokens, base);
    const rich = featurize(tokens, extended);
    expect(slotsPerToken(extended)).toBe(slotsPerToken(base) + 16 + 2);
    // A version-2 bundle's features are unchanged: the new slots only append.
    plain.forEach((row, i) => expect(Array.from((rich[i] as Int32Array).subarray(0, row.length))).toEqual(Array.from(row)));
  });

  it('give words sharing a suffix of 6 characters a shared slot, and short words padding', () => {
    const [a, b, c] = featurize(['cardiomyopathy', 'neuropathy', 'flu'], extended) as Int32Array[];
    const n = slotsPerToken(base);
    // slots n..n+3: prefix 5, prefix 6, suffix 5, suffix 6
    expect(a?.[n + 3]).toBe(b?.[n + 3]); // "opathy"
    expect(a?.[n]).not.toBe(b?.[n]);
    expect(Array.from((c as Int32Array).subarray(n, n + 4))).toEqual([pad, pad, pad, pad]);
  });

  it('mark an abbreviation definition on the short form and its long form, and nothing elsewhere', () => {
    const rows = featurize('Huntington disease ( HD ) is inherited'.split(' '), extended);
    const last = slotsPerToken(extended) - 2;
    const roles = rows.map((r) => (r[last] === pad ? '-' : 'x'));
    expect(roles).toEqual(['x', 'x', '-', 'x', '-', '-', '-']);
    // Long-form start and end differ; the short form differs from both.
    const ids = rows.map((r) => r[last]);
    expect(new Set([ids[0], ids[1], ids[3]]).size).toBe(3);
    const none = featurize('the risk ( 95 % ) was low'.split(' '), extended);
    expect(none.every((r) => r[last] === pad && r[last + 1] === pad)).toBe(true);
  });
});
