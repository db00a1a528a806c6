import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAssertionTagger, defaultAssertionRules } from '../engine/assertions/index.js';
import { formatConll } from '../engine/corpus/conll.js';
import { tokenize } from '../engine/features/tokenize.js';
import { generateNotes, type Vocabulary } from './synthetic.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const VOCABULARIES: Vocabulary[] = ['base', 'shifted'];

describe('generateNotes', () => {
  // Recorded from the generator before the `assertions` option existed: bundle digests depend on these bytes.
  it.each([
    ['base', 'edc44041087d41a4ec78ec7b047a82fc0cac00da8eecb880d3fcaec0421248a6'],
    ['shifted', '8aab2134425f9fdf037fb9f5c1e5b305aac6061e3641dfec1debfa8b6f1f1856'],
  ] as const)('keeps the default %s output byte-identical', (vocabulary, digest) => {
    const notes = generateNotes({ count: 500, seed: 7, vocabulary });
    expect(sha256(formatConll(notes) + JSON.stringify(notes))).toBe(digest);
    expect(notes.some((n) => 'entities' in n)).toBe(false);
  });

  describe.each(VOCABULARIES)('with assertions, %s vocabulary', (vocabulary) => {
    const notes = generateNotes({ count: 400, seed: 11, vocabulary, assertions: true });
    const gold = notes.flatMap((n) => n.entities ?? []);

    it('gives every note gold entities that are exactly its BIO spans', () => {
      for (const n of notes) {
        const toks = tokenize(n.text, { splitHyphens: true });
        const fromBio = toks.flatMap((t, i) =>
          n.labels[i]?.startsWith('B-') ? [{ label: n.labels[i]!.slice(2), start: t.start }] : [],
        );
        expect(n.entities?.map((e) => ({ label: e.label, start: e.start }))).toEqual(fromBio);
        for (const e of n.entities ?? [])
          expect(n.text.slice(e.start, e.end).trim()).toBe(n.text.slice(e.start, e.end));
      }
    });

    it('has negated, relatives’, uncertain and historical findings besides plain ones', () => {
      const share = (f: (e: (typeof gold)[number]) => boolean) => gold.filter(f).length / gold.length;
      expect(share((e) => e.assertion.negated)).toBeGreaterThan(0.05);
      expect(share((e) => e.assertion.experiencer === 'other')).toBeGreaterThan(0.05);
      expect(share((e) => e.assertion.certainty !== 'certain')).toBeGreaterThan(0.03);
      expect(share((e) => e.assertion.temporality === 'historical')).toBeGreaterThan(0.03);
      expect(share((e) => !e.assertion.negated && e.assertion.experiencer === 'patient')).toBeGreaterThan(0.5);
    });

    it('reads as the shipped English rules read it on negation and experiencer', () => {
      // The demo's summary compares these with what the served model reports; the stage must agree here.
      const tagger = createAssertionTagger(defaultAssertionRules('en'));
      for (const n of notes) {
        const got = tagger.assert(n.text, n.entities ?? []);
        expect(got.map((a) => [a.negated, a.experiencer])).toEqual(
          n.entities?.map((e) => [e.assertion.negated, e.assertion.experiencer]),
        );
      }
    });
  });
});
