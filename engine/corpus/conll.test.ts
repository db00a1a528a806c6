import { describe, expect, it } from 'vitest';
import { ConllError, formatConll, labelSetOf, parseConll } from './conll.js';

describe('parseConll', () => {
  it('reads sentences separated by blank lines, with line numbers', () => {
    const s = parseConll('Fever\tB-DISEASE\nonset\tO\n\n\nAspirin\tB-TREATMENT\n', 'a.conll');
    expect(s).toEqual([
      { tokens: ['Fever', 'onset'], labels: ['B-DISEASE', 'O'], line: 1, document: 0 },
      { tokens: ['Aspirin'], labels: ['B-TREATMENT'], line: 5, document: 0 },
    ]);
    expect(labelSetOf(s)).toEqual(['O', 'B-DISEASE', 'I-DISEASE', 'B-TREATMENT', 'I-TREATMENT']);
    expect(parseConll(formatConll(s), 'b').map(({ tokens, labels }) => ({ tokens, labels }))).toEqual(
      s.map(({ tokens, labels }) => ({ tokens, labels })),
    );
  });

  it.each([
    ['a\tO\tX\n', 'a.conll:1: expected 2 tab-separated columns (token<TAB>label), found 3'],
    ['a O\n', 'a.conll:1: expected 2 tab-separated columns (token<TAB>label), found 1'],
    ['a\tO\n\tO\n', 'a.conll:2: token is empty or contains whitespace'],
    ['a\tDISEASE\n', "a.conll:1: label 'DISEASE' is not a BIO label (expected O, B-TYPE or I-TYPE)"],
    [
      'a\tS-DISEASE\n',
      "a.conll:1: label 'S-DISEASE' is not BIO (IOBES/BILOU labels are not supported; convert to B-/I-/O)",
    ],
    ['a\tO\nb\tI-DISEASE\n', "a.conll:2: invalid BIO sequence: 'I-DISEASE' follows 'O'"],
    ['a\tB-DRUG\nb\tI-DISEASE\n', "a.conll:2: invalid BIO sequence: 'I-DISEASE' follows 'B-DRUG'"],
    ['', 'a.conll: file has no sentences (empty or only blank lines)'],
    ['\n\n  \n', 'a.conll: file has no sentences (empty or only blank lines)'],
    ['-DOCSTART-\tO\n\n-DOCSTART-\tO\n\n', 'a.conll: file has no sentences (empty or only blank lines)'],
    [
      '-DOCSTART-\tB-X\n\na\tO\n',
      "a.conll:1: -DOCSTART- marks where a document begins and must be labelled O, not 'B-X'",
    ],
    [
      'a\tO\n-DOCSTART-\tO\n\nb\tO\n',
      'a.conll:2: -DOCSTART- inside a sentence: end the sentence above it with a blank line',
    ],
  ])('refuses %j', (text, message) => {
    expect(() => parseConll(text, 'a.conll')).toThrow(ConllError);
    expect(() => parseConll(text, 'a.conll')).toThrow(message);
  });

  it('repairs I- after O only when asked', () => {
    const s = parseConll('a\tO\nb\tI-DISEASE\nc\tI-DISEASE\n', 'a.conll', { repairBio: true });
    expect(s[0]?.labels).toEqual(['O', 'B-DISEASE', 'I-DISEASE']);
  });

  it('accepts CRLF line endings and a byte-order mark', () => {
    expect(parseConll('\ufeffa\tO\r\nb\tB-X\r\n\r\n', 'w.conll')).toEqual([
      { tokens: ['a', 'b'], labels: ['O', 'B-X'], line: 1, document: 0 },
    ]);
  });

  it('reads -DOCSTART- lines as document boundaries, not as sentences', () => {
    const text = 'a\tO\n\n-DOCSTART-\tO\n\nb\tB-X\n\nc\tO\n\n-DOCSTART-\tO\n-DOCSTART-\tO\nd\tO\n';
    const s = parseConll(text, 'd.conll');
    expect(s.map((x) => [x.tokens[0], x.line, x.document])).toEqual([
      ['a', 1, 0],
      ['b', 5, 1],
      ['c', 7, 1],
      ['d', 11, 3],
    ]);
    // An I- tag after a marker still has to continue an entity: the marker is no token of a sentence.
    expect(() => parseConll('-DOCSTART-\tO\nb\tI-X\n', 'd.conll')).toThrow(
      "d.conll:2: invalid BIO sequence: 'I-X' follows 'O'",
    );
  });
});

describe('formatConll', () => {
  const text = '-DOCSTART-\tO\n\na\tB-X\n\nb\tO\n\n-DOCSTART-\tO\n\nc\tO\n\n';

  it('writes the document boundaries a file was read with, and none for sentences without them', () => {
    expect(formatConll(parseConll(text, 'd.conll'))).toBe(text);
    expect(
      formatConll([
        { tokens: ['a'], labels: ['O'] },
        { tokens: ['b'], labels: ['O'] },
      ]),
    ).toBe('a\tO\n\nb\tO\n\n');
    expect(formatConll(parseConll('a\tO\n\nb\tO\n', 'plain.conll'))).toBe('a\tO\n\nb\tO\n\n');
  });

  it('keeps the boundaries of a subset of the sentences (a held-out split)', () => {
    const [a, b, c, d] = parseConll(text + 'd\tO\n', 'd.conll');
    expect([a, b, c, d].map((x) => x?.document)).toEqual([1, 1, 2, 2]);
    // c, the first sentence of the second document, is held out: d still starts a document of its own.
    expect(formatConll([a!, b!, d!])).toBe('-DOCSTART-\tO\n\na\tB-X\n\nb\tO\n\n-DOCSTART-\tO\n\nd\tO\n\n');
    expect(parseConll(formatConll([b!, d!]), 'x').map((x) => x.document)).toEqual([1, 2]);
  });
});
