import { describe, expect, it } from 'vitest';
import { learnClusters } from './clusters.js';

// Two kinds of words in disjoint contexts: drugs after "took … daily", diseases after "diagnosed with … today".
const drugs = ['aspirin', 'metformin', 'warfarin', 'insulin'];
const diseases = ['asthma', 'gout', 'sepsis', 'anemia'];
const corpus: string[][] = [];
for (let r = 0; r < 6; r++) {
  for (const d of drugs) corpus.push(['patient', 'took', d, 'daily']);
  for (const d of diseases) corpus.push(['diagnosed', 'with', d, 'today']);
}

describe('learnClusters', () => {
  it('puts words that share contexts in the same cluster, and others apart', () => {
    // Level 1 separates the slot words from the context words; level 2 separates the two slots.
    const c = learnClusters(corpus, { levels: [1, 2], branching: 2, contextWords: 50 });
    const fine = (w: string) => c.lookup(w)?.[1];
    expect(new Set(drugs.map(fine)).size).toBe(1);
    expect(new Set(diseases.map(fine)).size).toBe(1);
    expect(fine('aspirin')).not.toBe(fine('asthma'));
  });

  it('is deterministic, covers every frequent word at every level, and skips rare ones', () => {
    const a = learnClusters([...corpus, ['once', 'only']]);
    const b = learnClusters([...corpus, ['once', 'only']]);
    expect(a.format()).toBe(b.format());
    for (const w of [...drugs, ...diseases, 'patient']) expect(a.lookup(w)).toHaveLength(3);
    expect(a.lookup('once')).toBeUndefined();
  });
});
