import { describe, expect, it } from 'vitest';
import { findAbbreviations, shortFormReuses } from './abbreviations.js';

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

describe('shortFormReuses', () => {
  const doc = [
    tok('Increased risk of coronary heart disease ( CHD ) in men'),
    tok('The APC gene ( APC ) was sequenced'),
    tok('CHD was more frequent , APC less'),
    tok('no abbreviations here'),
  ];
  const labels = [
    tok('O O O B-Disease I-Disease E-Disease O O O O O'),
    tok('O O O O O O O O'),
    tok('O O O O O O O'),
    tok('O O O'),
  ];

  it('marks later uses with the long form head and the type the long form was tagged with', () => {
    const reuses = shortFormReuses(doc, (k) => labels[k], 10);
    expect(reuses[0]?.size).toBe(0);
    expect(reuses[1]?.size).toBe(0);
    expect([...(reuses[2] as Map<number, unknown>)]).toEqual([
      [0, { head: 'disease', type: 'Disease' }],
      [5, { head: 'gene', type: 'O' }],
    ]);
    expect(reuses[3]?.size).toBe(0);
  });

  it('asks for the tags of defining sentences only', () => {
    const asked: number[] = [];
    shortFormReuses(
      doc,
      (k) => {
        asked.push(k);
        return labels[k];
      },
      10,
    );
    expect(asked).toEqual([0, 1]);
  });

  it('looks back only `window` sentences', () => {
    expect(shortFormReuses(doc, (k) => labels[k], 1)[2]).toEqual(new Map([[5, { head: 'gene', type: 'O' }]]));
    expect(shortFormReuses(doc, (k) => labels[k], 0)[2]?.size).toBe(0);
  });

  it("looks back only within the sentence's own document when documents are given", () => {
    // CHD is defined in document 0 and reused at the start of document 1: not a reuse there.
    expect(shortFormReuses(doc, (k) => labels[k], 10, [0, 1, 1, 1])[2]).toEqual(
      new Map([[5, { head: 'gene', type: 'O' }]]),
    );
    expect(shortFormReuses(doc, (k) => labels[k], 10, [0, 0, 1, 1])[2]?.size).toBe(0);
    expect(shortFormReuses(doc, (k) => labels[k], 10, [0, 0, 0, 0])).toEqual(
      shortFormReuses(doc, (k) => labels[k], 10),
    );
  });

  it('counts a definition in its own sentence after its closing parenthesis, never on the definition itself', () => {
    const one = [tok('HD before ; Huntington disease ( HD ) and HD after')];
    const reuses = shortFormReuses(one, () => tok('O O O B-D E-D O O O O S-D O'), 0);
    expect([...(reuses[0] as Map<number, unknown>).keys()]).toEqual([9]);
    expect(reuses[0]?.get(9)).toEqual({ head: 'disease', type: 'D' });
  });

  it('lets the most recent definition win, and reads O when no tags are known', () => {
    const redefined = [tok('atopic dermatitis ( AD ) .'), tok('Alzheimer disease ( AD ) .'), tok('AD progressed')];
    const reuses = shortFormReuses(redefined, () => undefined, 10);
    expect(reuses[2]?.get(0)).toEqual({ head: 'disease', type: 'O' });
  });
});
