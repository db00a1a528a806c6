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
    ['a\tO\n\tO\n', 'a.conll:2, column 1 (token): empty or contains whitespace'],
    ['a\tDISEASE\n', 'a.conll:1, column 2 (label): not a BIO label (expected O, B-TYPE or I-TYPE)'],
    [
      'a\tS-DISEASE\n',
      'a.conll:1, column 2 (label): not a BIO label (IOBES/BILOU labels are not supported; convert to B-/I-/O)',
    ],
    [
      'a\tO\nb\tI-DISEASE\n',
      'a.conll:2, column 2 (label): invalid BIO sequence: an I- label must continue an entity of its type, and the line above is O',
    ],
    [
      'a\tB-DRUG\nb\tI-DISEASE\n',
      'a.conll:2, column 2 (label): invalid BIO sequence: an I- label must continue an entity of its type, and the line above is an entity of another type',
    ],
    ['', 'a.conll: file has no sentences (empty or only blank lines)'],
    ['\n\n  \n', 'a.conll: file has no sentences (empty or only blank lines)'],
    ['-DOCSTART-\tO\n\n-DOCSTART-\tO\n\n', 'a.conll: file has no sentences (empty or only blank lines)'],
    [
      '-DOCSTART-\tB-X\n\na\tO\n',
      'a.conll:1, column 2 (label): -DOCSTART- marks where a document begins and must be labelled O',
    ],
    [
      'a\tO\n-DOCSTART-\tO\n\nb\tO\n',
      'a.conll:2: -DOCSTART- inside a sentence: end the sentence above it with a blank line',
    ],
  ])('refuses %j', (text, message) => {
    expect(() => parseConll(text, 'a.conll')).toThrow(ConllError);
    expect(() => parseConll(text, 'a.conll')).toThrow(message);
  });

  // Labels and tokens are dataset content: a label column that holds text holds patient text, and these
  // messages reach Job results, status, Events and logs.
  it.each([
    ['a label column holding text', 'a\tZyxwvut Qqqmarker\n', 'a.conll:1, column 2 (label)'],
    ['a label in another scheme', 'a\tS-Qqqmarker\n', 'a.conll:1, column 2 (label)'],
    ['a label-shaped marker on -DOCSTART-', '-DOCSTART-\tB-Qqqmarker\n', 'a.conll:1, column 2 (label)'],
    ['an I- label after O', 'a\tO\nb\tI-Qqqmarker\n', 'a.conll:2, column 2 (label)'],
    ['an I- label after another type', 'a\tB-Qqqmarkerx\nb\tI-Qqqmarker\n', 'a.conll:2, column 2 (label)'],
    ['a token with a space', 'Zyxwvut Qqqmarker\tO\tO\n', 'a.conll:1'],
    ['three columns', 'Zyxwvut\tO\tQqqmarker\n', 'a.conll:1'],
  ])('names the position of %s, never its content', (_what, text, position) => {
    let message = '';
    try {
      parseConll(text, 'a.conll');
    } catch (err) {
      expect(err).toBeInstanceOf(ConllError);
      message = (err as Error).message;
    }
    expect(message.startsWith(`${position}`)).toBe(true);
    expect(message).not.toMatch(/Qqqmarker|Zyxwvut/);
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
      'd.conll:2, column 2 (label): invalid BIO sequence',
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
