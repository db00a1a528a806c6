import { describe, expect, it } from 'vitest';
import { Gazetteer, GazetteerParseError } from './gazetteer.js';
import { DEFAULT_FEATURE_CONFIG, featurizeSentence, slotsPerToken } from './features.js';

const TRAIN = [
  { tokens: ['Ovarian', 'cancer', 'and', 'breast', 'cancer'], labels: ['B-D', 'I-D', 'O', 'B-D', 'I-D'] },
  { tokens: ['cancer', 'risk', 'after', 'aspirin'], labels: ['B-D', 'O', 'O', 'B-T'] },
  { tokens: ['The', 'cancer', 'registry'], labels: ['O', 'O', 'O'] },
  { tokens: ['DMD', 'in', '1999'], labels: ['B-D', 'O', 'O'] },
];

describe('Gazetteer', () => {
  const g = Gazetteer.fromSentences(TRAIN);

  it('counts entity phrases per type and all their occurrences in the text', () => {
    expect(g.size).toBe(5); // ovarian cancer, breast cancer, cancer, aspirin, dmd
    const m = g.match(['the', 'cancer']);
    // "cancer": an entity once (alone), occurring four times (also inside two longer entities).
    expect(m).toEqual([{ type: 'D', count: 1, occurrences: 4, start: 1, end: 2 }]);
  });

  it('matches greedily, longest phrase first, without overlaps', () => {
    expect(
      g.match(['ovarian', 'cancer', 'cancer', 'x', 'aspirin', 'dmd']).map((m) => [m.start, m.end, m.type]),
    ).toEqual([
      [0, 2, 'D'],
      [2, 3, 'D'],
      [4, 5, 'T'],
      [5, 6, 'D'],
    ]);
    expect(g.match([])).toEqual([]);
    expect(g.match(['ovarian'])).toEqual([]); // a prefix of a phrase is no match
  });

  it('skips phrases below the minimum ratio', () => {
    expect(g.match(['cancer'], 0.5)).toEqual([]);
    expect(g.match(['aspirin'], 0.5)).toHaveLength(1);
  });

  it('round-trips through its file format, sorted and deterministic', () => {
    const text = g.format();
    expect(text.split('\n')[0]).toBe('T\t1\t1\taspirin');
    const back = Gazetteer.parse(text);
    expect(back.format()).toBe(text);
    expect(back.match(['breast', 'cancer'])).toEqual(g.match(['breast', 'cancer']));
    expect(Gazetteer.fromSentences([...TRAIN].reverse()).format()).toBe(text);
  });

  it('rejects malformed lines', () => {
    expect(() => Gazetteer.parse('D\t2\t1\tcancer\n')).toThrow(GazetteerParseError);
    expect(() => Gazetteer.parse('D\tx\t1\tcancer\n')).toThrow(/:1:/);
    expect(() => Gazetteer.parse('D\t1\t1\n')).toThrow(GazetteerParseError);
  });

  it('feeds gazetteer slots to the features (padding when no phrase matches)', () => {
    const config = { ...DEFAULT_FEATURE_CONFIG, gazetteer: true };
    const slots = slotsPerToken(config);
    expect(slots).toBe(slotsPerToken(DEFAULT_FEATURE_CONFIG) + 4);
    const tokens = ['Breast', 'cancer', 'risk'];
    const withGaz = new Int32Array(tokens.length * slots);
    featurizeSentence(tokens, config, { gazetteer: g }, withGaz, 0);
    const without = new Int32Array(tokens.length * slots);
    featurizeSentence(tokens, config, { gazetteer: Gazetteer.parse('') }, without, 0);
    const pad = 1 << config.bucketBits; // the padding row
    const gazSlots = (row: Int32Array, k: number) => Array.from(row.subarray(k * slots + slots - 4, (k + 1) * slots));
    expect(gazSlots(without, 0)).toEqual([pad, pad, pad, pad]);
    expect(gazSlots(withGaz, 0).every((v) => v !== pad)).toBe(true);
    expect(gazSlots(withGaz, 2).slice(0, 3)).toEqual([pad, pad, pad]); // "risk": no match, but next to one
    expect(gazSlots(withGaz, 2)[3]).not.toBe(pad);
    // The other slots do not depend on the gazetteer.
    expect(Array.from(withGaz.subarray(0, slots - 4))).toEqual(Array.from(without.subarray(0, slots - 4)));
  });
});
