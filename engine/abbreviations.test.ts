import { describe, expect, it } from 'vitest';
import { findAbbreviations } from './abbreviations.js';

const tok = (s: string) => s.split(' ');

describe('findAbbreviations', () => {
  it('finds the shortest long form whose words spell the short form', () => {
    const t = tok('patients with ataxia - telangiectasia ( A-T ) were studied');
    expect(findAbbreviations(t)).toEqual([{ shortForm: 6, start: 2, end: 5 }]);
  });

  it('matches letters inside words and digits', () => {
    const t = tok('atelosteogenesis type 2 ( AO2 ) and achondrogenesis type 1B ( ACG1B ) .');
    expect(findAbbreviations(t)).toEqual([
      { shortForm: 4, start: 0, end: 3 },
      { shortForm: 11, start: 7, end: 10 },
    ]);
  });

  it('ignores parentheses that hold no abbreviation or whose letters are not found', () => {
    expect(findAbbreviations(tok('the risk ( 95 % ) was low'))).toEqual([]);
    expect(findAbbreviations(tok('the risk ( see below ) was low'))).toEqual([]);
    expect(findAbbreviations(tok('blood pressure ( XYZ ) rose'))).toEqual([]);
  });

  it('requires the first character to start a word', () => {
    // "H" occurs only inside "with" and "the", never at a word start.
    expect(findAbbreviations(tok('with the ( HT ) thing'))).toEqual([]);
    expect(findAbbreviations(tok('Huntington disease ( HD ) is'))).toEqual([{ shortForm: 3, start: 0, end: 2 }]);
  });
});
