import { describe, expect, it } from 'vitest';
import type { ShortFormMeaning } from './abbreviations.js';
import {
  DEFAULT_FEATURE_CONFIG,
  EXTENDED_FEATURE_VERSION,
  FEATURE_VERSION,
  SHORT_FORM_REUSE_FEATURE_VERSION,
  featureVersionOf,
  featurizeSentence,
  slotsPerToken,
  type FeatureConfig,
} from './features.js';

function featurize(
  tokens: string[],
  config: FeatureConfig,
  reuses?: ReadonlyMap<number, ShortFormMeaning>,
): Int32Array[] {
  const slots = slotsPerToken(config);
  const out = new Int32Array(tokens.length * slots);
  featurizeSentence(tokens, config, {}, out, 0, reuses);
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
    plain.forEach((row, i) =>
      expect(Array.from((rich[i] as Int32Array).subarray(0, row.length))).toEqual(Array.from(row)),
    );
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

  it('mark a reused short form in the abbreviation slots, with its long form head and type, only with short-form reuse', () => {
    const reuse: FeatureConfig = { ...extended, shortFormContext: 10 };
    expect(featureVersionOf(reuse)).toBe(SHORT_FORM_REUSE_FEATURE_VERSION);
    expect(slotsPerToken(reuse)).toBe(slotsPerToken(extended));
    const tokens = 'CHD was frequent'.split(' ');
    const disease = new Map([[0, { head: 'disease', type: 'Disease' }]]);
    const last = slotsPerToken(reuse) - 2;
    const plain = featurize(tokens, reuse);
    const marked = featurize(tokens, reuse, disease);
    expect([plain[0]?.[last], plain[0]?.[last + 1]]).toEqual([pad, pad]);
    expect(marked[0]?.[last]).not.toBe(pad);
    expect(marked[0]?.[last + 1]).not.toBe(pad);
    // Everything else about the sentence is unchanged.
    expect(Array.from((marked[0] as Int32Array).subarray(0, last))).toEqual(
      Array.from((plain[0] as Int32Array).subarray(0, last)),
    );
    marked.slice(1).forEach((row, i) => expect(Array.from(row)).toEqual(Array.from(plain[i + 1] as Int32Array)));
    // The long form's type and head each reach a slot of their own.
    const gene = featurize(tokens, reuse, new Map([[0, { head: 'disease', type: 'O' }]]));
    expect(gene[0]?.[last]).not.toBe(marked[0]?.[last]);
    expect(gene[0]?.[last + 1]).toBe(marked[0]?.[last + 1]);
    const syndrome = featurize(tokens, reuse, new Map([[0, { head: 'syndrome', type: 'Disease' }]]));
    expect(syndrome[0]?.[last]).toBe(marked[0]?.[last]);
    expect(syndrome[0]?.[last + 1]).not.toBe(marked[0]?.[last + 1]);
    // A version-3 model (no short-form reuse) ignores reuses: its features must not change under it.
    expect(featurize(tokens, extended, disease).map((r) => Array.from(r))).toEqual(
      featurize(tokens, extended).map((r) => Array.from(r)),
    );
  });
});
