import { describe, expect, it } from 'vitest';
import { ConllError, formatConll, labelSetOf, parseConll } from './conll.js';

describe('parseConll', () => {
  it('reads sentences separated by blank lines, with line numbers', () => {
    const s = parseConll('Fever\tB-DISEASE\nonset\tO\n\n\nAspirin\tB-TREATMENT\n', 'a.conll');
    expect(s).toEqual([
      { tokens: ['Fever', 'onset'], labels: ['B-DISEASE', 'O'], line: 1 },
      { tokens: ['Aspirin'], labels: ['B-TREATMENT'], line: 5 },
    ]);
    expect(labelSetOf(s)).toEqual(['O', 'B-DISEASE', 'I-DISEASE', 'B-TREATMENT', 'I-TREATMENT']);
    expect(parseConll(formatConll(s), 'b').map(({ tokens, labels }) => ({ tokens, labels }))).toEqual(s.map(({ tokens, labels }) => ({ tokens, labels })));
  });

  it.each([
    ['a\tO\tX\n', 'a.conll:1: expected 2 tab-separated columns (token<TAB>label), found 3'],
    ['a O\n', 'a.conll:1: expected 2 tab-separated columns (token<TAB>label), found 1'],
    ['a\tO\n\tO\n', 'a.conll:2: token is empty or contains whitespace'],
    ['a\tDISEASE\n', "a.conll:1: label 'DISEASE' is not a BIO label (expected O, B-TYPE or I-TYPE)"],
    ['a\tS-DISEASE\n', "a.conll:1: label 'S-DISEASE' is not BIO (IOBES/BILOU labels are not supported; convert to B-/I-/O)"],
    ['a\tO\nb\tI-DISEASE\n', "a.conll:2: invalid BIO sequence: 'I-DISEASE' follows 'O'"],
    ['a\tB-DRUG\nb\tI-DISEASE\n', "a.conll:2: invalid BIO sequence: 'I-DISEASE' follows 'B-DRUG'"],
    ['', 'a.conll: file has no sentences (empty or only blank lines)'],
    ['\n\n  \n', 'a.conll: file has no sentences (empty or only blank lines)'],
  ])('refuses %j', (text, message) => {
    expect(() => parseConll(text, 'a.conll')).toThrow(ConllError);
    expect(() => parseConll(text, 'a.conll')).toThrow(message);
  });

  it('repairs I- after O only when asked', () => {
    const s = parseConll('a\tO\nb\tI-DISEASE\nc\tI-DISEASE\n', 'a.conll', { repairBio: true });
    expect(s[0]?.labels).toEqual(['O', 'B-DISEASE', 'I-DISEASE']);
  });

  it('accepts CRLF line endings and a byte-order mark', () => {
    expect(parseConll('\ufeffa\tO\r\nb\tB-X\r\n\r\n', 'w.conll')).toEqual([{ tokens: ['a', 'b'], labels: ['O', 'B-X'], line: 1 }]);
  });
});
