import { describe, expect, it } from 'vitest';
import { corpusKeepsHyphens, tokenize } from './tokenize.js';

const texts = (text: string, splitHyphens = true) => tokenize(text, { splitHyphens }).map((t) => t.text);

describe('tokenize', () => {
  it.each([
    ['Started metformin 500mg b.i.d. for DM2.', ['Started', 'metformin', '500', 'mg', 'b.i.d.', 'for', 'DM2', '.']],
    ['BP 128/82, HR 76.', ['BP', '128', '/', '82', ',', 'HR', '76', '.']],
    ['Creatinine 1.2 mg/dL; WBC 10,500.', ['Creatinine', '1.2', 'mg', '/', 'dL', ';', 'WBC', '10,500', '.']],
    [
      "Dr. Smith's patient (age 54) vs. control",
      ['Dr.', 'Smith', "'s", 'patient', '(', 'age', '54', ')', 'vs.', 'control'],
    ],
    ['Café-au-lait spots', ['Café', '-', 'au', '-', 'lait', 'spots']],
    ['BRCA1-associated cancer', ['BRCA1', '-', 'associated', 'cancer']],
  ])('splits %j', (text, expected) => {
    expect(texts(text)).toEqual(expected);
  });

  it('keeps hyphenated words whole when the bundle says so', () => {
    expect(texts('beta-blocker and Café-au-lait', false)).toEqual(['beta-blocker', 'and', 'Café-au-lait']);
  });

  it('reports offsets such that text.slice(start, end) is the token, for any input', () => {
    const samples = [
      '  Pt c/o 😷 cough x3d;  temp 38.5°C\n\tRx: amoxicillin 875 mg PO q12h',
      'ÉPISODE d’hypertension — traitée par IECA.',
      '\u0000\u0001 odd \ud800 lone surrogate \u200b zero width',
      '',
      '...',
    ];
    for (const text of samples) {
      const tokens = tokenize(text, { splitHyphens: true });
      let last = 0;
      for (const t of tokens) {
        expect(text.slice(t.start, t.end)).toBe(t.text);
        expect(t.start).toBeGreaterThanOrEqual(last);
        expect(t.end).toBeGreaterThan(t.start);
        expect(t.text.trim()).toBe(t.text);
        last = t.end;
      }
      // Nothing but whitespace is dropped.
      expect(tokens.map((t) => t.text).join('')).toBe(text.replace(/[\s\u200b\ufeff]+/g, ''));
    }
  });

  it('keeps an emoji (surrogate pair) in one token', () => {
    expect(texts('pain 😷 now')).toEqual(['pain', '😷', 'now']);
  });

  it('learns the hyphen rule from a corpus', () => {
    expect(corpusKeepsHyphens([{ tokens: ['beta-blocker', 'therapy', 'anti-inflammatory'] }])).toBe(true);
    expect(corpusKeepsHyphens([{ tokens: ['beta', '-', 'blocker', 'therapy'] }])).toBe(false);
  });
});
