import { describe, expect, it } from 'vitest';
import { tokenize } from '../features/tokenize.js';
import { bioLabels, conllDocument } from './record.js';

const TEXT = 'Started metformin 500mg for type 2 diabetes.';
const tokens = tokenize(TEXT, { splitHyphens: true });
const at = (s: string) => ({ start: TEXT.indexOf(s), end: TEXT.indexOf(s) + s.length });

describe('bioLabels', () => {
  it('labels whole-token spans B- then I-, everything else O', () => {
    const r = bioLabels(tokens, [
      { label: 'TREATMENT', ...at('metformin') },
      { label: 'DISEASE', ...at('type 2 diabetes') },
    ]);
    expect(r).toEqual({ labels: ['O', 'B-TREATMENT', 'O', 'O', 'O', 'B-DISEASE', 'I-DISEASE', 'I-DISEASE', 'O'] });
  });

  it.each([
    ['starts inside a token', { start: TEXT.indexOf('formin'), end: TEXT.indexOf('formin') + 6 }],
    ['ends inside a token', { start: TEXT.indexOf('metformin'), end: TEXT.indexOf('metformin') + 4 }],
    ['covers no token', { start: 7, end: 8 }],
  ])('refuses a span that %s, naming its index', (problem, span) => {
    expect(
      bioLabels(tokens, [
        { label: 'DISEASE', ...at('diabetes') },
        { label: 'X', ...span },
      ]),
    ).toEqual({
      misfit: { index: 1, problem },
    });
  });

  it('accepts whitespace at a span edge (it lies between tokens)', () => {
    const s = at(' metformin ');
    expect(bioLabels(tokens, [{ label: 'TREATMENT', ...s }])).toHaveProperty('labels.1', 'B-TREATMENT');
  });
});

describe('conllDocument', () => {
  it('writes one -DOCSTART- document of one sentence', () => {
    const few = tokenize('No asthma.', { splitHyphens: true });
    expect(conllDocument(few, ['O', 'B-DISEASE', 'O'])).toBe('-DOCSTART-\tO\n\nNo\tO\nasthma\tB-DISEASE\n.\tO\n\n');
  });
});
