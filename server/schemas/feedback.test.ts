import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../problem.js';
import { parseOrThrow } from './extract.js';
import { checkFeedback, feedbackSchema } from './feedback.js';

const limits = { maxDocumentChars: 100, maxDocuments: 1, maxRequestTokens: 1000, maxEntities: 3 };
const TYPES = ['DISEASE', 'TREATMENT'];
const TEXT = 'Asthma treated with albuterol.';

function problemOf(fn: () => unknown): HttpProblem {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpProblem) return err;
    throw err;
  }
  throw new Error('expected a problem');
}

describe('feedbackSchema', () => {
  it('accepts the documented body', () => {
    const body = {
      text: TEXT,
      entities: [{ label: 'DISEASE', start: 0, end: 6 }],
      model: { name: 'm', digest: 'a'.repeat(64) },
      source: 'validation-team',
    };
    expect(parseOrThrow(feedbackSchema, body)).toEqual(body);
  });

  it.each([
    [{ entities: [] }, 'text', 'text is required'],
    [{ text: TEXT }, 'entities', 'entities is required (may be empty)'],
    [{ text: TEXT, entities: [{ label: 'DISEASE', start: -1, end: 2 }] }, 'entities.0.start', 'start must be >= 0'],
    [
      { text: TEXT, entities: [{ label: 'DISEASE', start: 0.5, end: 2 }] },
      'entities.0.start',
      'start must be an integer',
    ],
    [{ text: TEXT, entities: [], model: { digest: 'nope' } }, 'model.digest', 'digest must be a sha256 hex digest'],
    [{ text: TEXT, entities: [], source: 'has spaces in it' }, 'source', expect.stringMatching(/^source must be/)],
    [
      { text: TEXT, entities: [{ label: 'DISEASE', start: 0, end: 6, assertion: { certainty: 'maybe' } }] },
      'entities.0.assertion.certainty',
      'certainty must be one of certain, uncertain, hypothetical',
    ],
    [
      { text: TEXT, entities: [{ label: 'DISEASE', start: 0, end: 6, assertion: { negated: 'yes' } }] },
      'entities.0.assertion.negated',
      'negated must be true or false',
    ],
    [
      { text: TEXT, entities: [{ label: 'DISEASE', start: 0, end: 6, assertion: true }] },
      'entities.0.assertion',
      'assertion must be an object {negated, certainty, temporality, experiencer}',
    ],
  ])('names the field: %j', (body, path, message) => {
    expect(problemOf(() => parseOrThrow(feedbackSchema, body)).extra.errors?.[0]).toEqual({ path, message });
  });

  it('accepts an assertion with any of its attributes, as /v1/extract spells them', () => {
    const entities = [
      {
        label: 'DISEASE',
        start: 0,
        end: 6,
        assertion: { negated: true, certainty: 'certain', temporality: 'current', experiencer: 'patient' },
      },
      { label: 'TREATMENT', start: 20, end: 29, assertion: { experiencer: 'other' } },
    ];
    expect(parseOrThrow(feedbackSchema, { text: TEXT, entities }).entities).toEqual(entities);
  });

  it('never echoes an unknown key the client chose', () => {
    const p = problemOf(() => parseOrThrow(feedbackSchema, { text: TEXT, entities: [], 'Mrs Smith': 1 }));
    expect(JSON.stringify(p.extra)).not.toContain('Smith');
    expect(p.detail).not.toContain('Smith');
    const q = problemOf(() =>
      parseOrThrow(feedbackSchema, {
        text: TEXT,
        entities: [{ label: 'DISEASE', start: 0, end: 6, assertion: { 'Mrs Smith': true } }],
      }),
    );
    expect(q.extra.errors?.[0]).toMatchObject({ path: 'entities.0.assertion' });
    expect(JSON.stringify(q.extra)).not.toContain('Smith');
  });
});

describe('checkFeedback', () => {
  const check = (entities: { label: string; start: number; end: number }[], text = TEXT) =>
    checkFeedback({ text, entities }, TYPES, limits);

  it('accepts entities inside the text, of known types, not overlapping', () => {
    expect(() =>
      check([
        { label: 'TREATMENT', start: 20, end: 29 },
        { label: 'DISEASE', start: 0, end: 6 },
      ]),
    ).not.toThrow();
  });

  it('reports every entity problem together, naming fields, never the text', () => {
    const p = problemOf(() =>
      check([
        { label: 'DISEASE', start: 0, end: 6 },
        { label: 'DISEASE', start: 3, end: 10 },
        { label: 'Asthma', start: 20, end: 29 },
        { label: 'TREATMENT', start: 25, end: 99 },
      ]),
    );
    expect(p.status).toBe(413); // 4 entities > 3 come first
    const q = problemOf(() =>
      check([
        { label: 'DISEASE', start: 3, end: 10 },
        { label: 'Lung', start: 20, end: 29 },
        { label: 'TREATMENT', start: 25, end: 99 },
      ]),
    );
    expect(q.status).toBe(400);
    expect(q.extra.errors).toEqual([
      { path: 'entities.1.label', message: 'not an entity type of the model; the types are DISEASE, TREATMENT' },
      { path: 'entities.2.end', message: `end is past the end of the text (${TEXT.length})` },
      { path: 'entities.2', message: 'overlaps entities.1' },
    ]);
    expect(JSON.stringify(q.extra)).not.toContain('Lung');
  });

  it('refuses an empty span', () => {
    expect(problemOf(() => check([{ label: 'DISEASE', start: 4, end: 4 }])).extra.errors).toEqual([
      { path: 'entities.0.end', message: 'end must be greater than start' },
    ]);
  });

  it('holds the text to the extract limits (413)', () => {
    expect(problemOf(() => check([], 'x'.repeat(101))).status).toBe(413);
  });
});
