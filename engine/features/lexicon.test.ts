import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FEATURE_CONFIG,
  LEXICON_FEATURE_VERSION,
  LEXICON_WORDS_FEATURE_VERSION,
  featureVersionOf,
  featurizeSentence,
  slotsPerToken,
  type FeatureConfig,
} from './features.js';
import { normalizeToken } from './normalize.js';
import {
  LEXICON_MAX_TOKENS,
  Lexicon,
  LexiconError,
  formatLexicon,
  parseLexicon,
  readLexiconSource,
} from './lexicon.js';

const entriesOf = (text: string, splitHyphens = false) => readLexiconSource(text, 'drugs.tsv', splitHyphens).entries;
const lexiconOf = (text: string, splitHyphens = false) => Lexicon.fromEntries(entriesOf(text, splitHyphens));
const norms = (sentence: string) => sentence.split(' ').map(normalizeToken);

describe('readLexiconSource', () => {
  it('reads TYPE<TAB>phrase lines, skipping comments and blank lines, and tokenises and normalises each phrase', () => {
    const source = readLexiconSource(
      '# formulary\r\nDRUG\tAcetylsalicylic Acid\r\n\nDISEASE\tType 2 diabetes\n   \nDRUG\tCo-trimoxazole\n',
      'f.tsv',
      false,
    );
    expect(source.entries).toEqual([
      { type: 'DRUG', tokens: ['acetylsalicylic', 'acid'] },
      { type: 'DISEASE', tokens: ['type', '0', 'diabetes'] },
      { type: 'DRUG', tokens: ['co-trimoxazole'] },
    ]);
    expect(source.skipped).toBe(0);
  });

  it('splits hyphens the way the model does', () => {
    expect(readLexiconSource('DRUG\tco-trimoxazole\n', 'f.tsv', true).entries[0]?.tokens).toEqual([
      'co',
      '-',
      'trimoxazole',
    ]);
  });

  it(`skips phrases longer than ${LEXICON_MAX_TOKENS} tokens and counts them`, () => {
    const long = Array.from({ length: LEXICON_MAX_TOKENS + 1 }, (_, k) => `w${k}`).join(' ');
    const source = readLexiconSource(`DISEASE\t${long}\nDISEASE\tgout\n`, 'f.tsv', false);
    expect(source.entries).toHaveLength(1);
    expect(source.skipped).toBe(1);
  });

  it('refuses malformed lines with the file and line, without echoing the phrase', () => {
    const error = (text: string) => {
      try {
        readLexiconSource(text, 'ward7.tsv', false);
      } catch (err) {
        expect(err).toBeInstanceOf(LexiconError);
        return (err as Error).message;
      }
      throw new Error('expected a LexiconError');
    };
    expect(error('DRUG\taspirin\nJohn Smith aspirin\n')).toBe(
      "ward7.tsv:2: expected 'TYPE<TAB>phrase', found 1 tab-separated columns",
    );
    expect(error('DRUG\taspirin\tdaily\n')).toBe(
      "ward7.tsv:1: expected 'TYPE<TAB>phrase', found 3 tab-separated columns",
    );
    expect(error('# x\n2DRUG\taspirin\n')).toMatch(/^ward7\.tsv:2: the type must be a letter/);
    expect(error('DRUG\t  \n')).toBe('ward7.tsv:1: the phrase is empty');
    expect(error('# only a comment\n\n')).toBe('ward7.tsv: no phrases');
    expect(error(`DRUG\t${'a '.repeat(LEXICON_MAX_TOKENS + 1)}\n`)).toBe(
      `ward7.tsv: no phrases (1 longer than ${LEXICON_MAX_TOKENS} tokens were skipped)`,
    );
    expect(error('DRUG\tJohn Smith aspirin\tx\n')).not.toMatch(/John|Smith|aspirin/);
  });
});

describe('Lexicon', () => {
  const entries = entriesOf(
    'DISEASE\tiron deficiency anemia\nDRUG\tiron\nDISEASE\tbreast cancer\nDRUG\tinsulin\nDISEASE\tinsulin resistance\nDRUG\tgold\nDISEASE\tgold\n',
  );
  const lexicon = Lexicon.fromEntries(entries);

  it('sorts its types and counts distinct phrases', () => {
    expect(lexicon.types).toEqual(['DISEASE', 'DRUG']);
    expect(lexicon.size).toBe(6); // "gold" is one phrase under two types
  });

  it('matches left to right, longest phrase first, without overlaps', () => {
    const disease = 1;
    const drug = 2;
    expect(lexicon.match(norms('Iron deficiency anemia treated with iron and insulin'))).toEqual([
      { start: 0, end: 3, types: disease },
      { start: 5, end: 6, types: drug },
      { start: 7, end: 8, types: drug },
    ]);
    // A prefix of a longer phrase that is not itself a phrase matches nothing ("breast" alone, "iron deficiency").
    expect(lexicon.match(norms('breast pain and iron deficiency'))).toEqual([{ start: 3, end: 4, types: drug }]);
    // The longer phrase runs off the end of the sentence: the shorter one still matches.
    expect(lexicon.match(norms('insulin'))).toEqual([{ start: 0, end: 1, types: drug }]);
    expect(lexicon.match(norms('insulin resistance'))).toEqual([{ start: 0, end: 2, types: disease }]);
    expect(lexicon.match(norms('gold'))).toEqual([{ start: 0, end: 1, types: disease | drug }]);
    expect(lexicon.match([])).toEqual([]);
  });

  it('round-trips through its bundle form: sorted, one line per phrase and type, duplicates dropped', () => {
    const text = formatLexicon(entries);
    expect(text.split('\n').slice(0, 3)).toEqual([
      'DISEASE\tbreast cancer',
      'DISEASE\tgold',
      'DISEASE\tinsulin resistance',
    ]);
    expect(formatLexicon([...entries, ...entries])).toBe(text);
    expect(formatLexicon(parseLexicon(text))).toBe(text);
    const parsed = Lexicon.parse(text);
    expect(parsed.size).toBe(lexicon.size);
    expect(parsed.types).toEqual(lexicon.types);
    const sentence = norms('gold and iron deficiency anemia with breast cancer');
    expect(parsed.match(sentence)).toEqual(lexicon.match(sentence));
  });

  it('refuses a malformed bundle file with the file and line', () => {
    expect(() => Lexicon.parse('DRUG\tiron\nDRUG\tiron  sulfate\n')).toThrow(
      "lexicon.tsv:2: expected 'type<TAB>tokens'",
    );
    expect(() => Lexicon.parse('DRUG iron\n')).toThrow('lexicon.tsv:1:');
    expect(() => Lexicon.parse('DRUG\ta b c d e f g h i\n', 'base/lexicon.tsv')).toThrow('base/lexicon.tsv:1:');
    expect(() => Lexicon.parse('')).toThrow('lexicon.tsv: the lexicon has no phrases');
  });

  it('holds at most 8 types (a bit mask per phrase) and phrases of 1 to 8 tokens', () => {
    const nine = Array.from({ length: 9 }, (_, k) => ({ type: `T${k}`, tokens: ['x'] }));
    expect(() => Lexicon.fromEntries(nine)).toThrow('at most 8 types, this one has 9');
    expect(() => Lexicon.fromEntries([{ type: 'T', tokens: [] }])).toThrow('1 to 8 tokens');
  });

  it('keeps matching exactly after its table has grown many times', () => {
    // 20,000 three-word phrases (60,000 keys with their prefixes) against sequences one word off.
    const word = (k: number) => `w${k}`;
    const many = Array.from({ length: 20_000 }, (_, k) => ({
      type: k % 2 ? 'DRUG' : 'DISEASE',
      tokens: [word(k), word(k + 1), word(k + 2)],
    }));
    const big = Lexicon.fromEntries(many);
    expect(big.size).toBe(20_000);
    for (let k = 0; k < 20_000; k += 997) {
      expect(big.match([word(k), word(k + 1), word(k + 2)])).toEqual([{ start: 0, end: 3, types: k % 2 ? 2 : 1 }]);
      expect(big.match([word(k), word(k + 2), word(k + 1)])).toEqual([]);
      expect(big.match([word(k), word(k + 1)])).toEqual([]);
    }
  });
});

describe('lexicon features', () => {
  const config: FeatureConfig = {
    ...DEFAULT_FEATURE_CONFIG,
    lexicon: true,
    featureVersion: LEXICON_WORDS_FEATURE_VERSION,
  };
  const version5: FeatureConfig = { ...config, featureVersion: LEXICON_FEATURE_VERSION };
  const lexicon = lexiconOf('DISEASE\tbreast cancer\nDRUG\ttamoxifen\n');
  const featurize = (tokens: string[], withLexicon: Lexicon | undefined, layout = config) => {
    const slots = slotsPerToken(layout);
    const out = new Int32Array(tokens.length * slots);
    featurizeSentence(tokens, layout, { lexicon: withLexicon }, out, 0);
    return tokens.map((_, i) => Array.from(out.subarray(i * slots, (i + 1) * slots)));
  };
  const pad = 1 << config.bucketBits;
  const tokens = ['Breast', 'cancer', 'on', 'tamoxifen', 'daily', 'today'];

  it('adds seven slots and needs feature version 6; version-5 bundles keep their three', () => {
    expect(slotsPerToken(config)).toBe(slotsPerToken(DEFAULT_FEATURE_CONFIG) + 7);
    expect(slotsPerToken(version5)).toBe(slotsPerToken(DEFAULT_FEATURE_CONFIG) + 3);
    expect(featureVersionOf({ ...DEFAULT_FEATURE_CONFIG, lexicon: true })).toBe(LEXICON_WORDS_FEATURE_VERSION);
    expect(featureVersionOf(DEFAULT_FEATURE_CONFIG)).toBeLessThan(LEXICON_FEATURE_VERSION);
    // The version-5 layout is the version-6 one without the four word slots: old bundles score as before.
    const rows5 = featurize(tokens, lexicon, version5);
    featurize(tokens, lexicon).forEach((row, i) => expect(row.slice(0, -4)).toEqual(rows5[i]));
  });

  it('fills the match slots for matched tokens and their neighbours, and leaves the rest at the padding row', () => {
    const rows = featurize(tokens, lexicon);
    const lex = (row: number[]) => row.slice(-7, -4);
    const base = featurize(tokens, undefined);
    // Everything before the lexicon slots is the same with or without the lexicon.
    rows.forEach((row, i) => expect(row.slice(0, -7)).toEqual((base[i] as number[]).slice(0, -7)));
    for (const i of [0, 1, 3]) expect(lex(rows[i] as number[]).every((id) => id !== pad)).toBe(true);
    // "on" and "daily" match nothing but sit next to a match: only the context slot is filled.
    for (const i of [2, 4]) {
      const [tag, context, length] = lex(rows[i] as number[]);
      expect([tag, length]).toEqual([pad, pad]);
      expect(context).not.toBe(pad);
    }
    expect(lex(rows[5] as number[])).toEqual([pad, pad, pad]);
    // The begin and end of "breast cancer" are told apart, and both differ from the one-token drug.
    expect(new Set([rows[0], rows[1], rows[3]].map((r) => (r as number[]).at(-7))).size).toBe(3);
    expect(base.every((row) => row.slice(-7).every((id) => id === pad))).toBe(true);
  });

  it('pairs a match with the words beside it, and a word with the match states beside it', () => {
    const rows = featurize(tokens, lexicon);
    const words = (i: number) => (rows[i] as number[]).slice(-4);
    const filled = (i: number) => words(i).map((id) => id !== pad);
    // [match × word before, match × word after, word × match state after it, word × match state before it]
    expect(filled(0)).toEqual([true, true, true, false]); // "Breast": B of a match that "cancer" continues
    expect(filled(1)).toEqual([true, true, false, true]); // "cancer": E; "on" after it is no match
    expect(filled(2)).toEqual([false, false, true, true]); // "on": between two matches
    expect(filled(3)).toEqual([true, true, false, false]); // "tamoxifen"
    expect(filled(4)).toEqual([false, false, false, true]); // "daily": after a match
    expect(filled(5)).toEqual([false, false, false, false]); // "today": two tokens away
    // The word counts: the same match beside another word is another feature.
    const other = featurize(['Breast', 'cancer', 'with', 'tamoxifen', 'daily', 'today'], lexicon);
    expect((other[1] as number[]).at(-3)).not.toBe(words(1)[1]);
    expect((other[1] as number[]).at(-4)).toBe(words(1)[0]);
  });
});
