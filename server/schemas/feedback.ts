/**
 * `POST /v1/feedback`: a note and the entities a person verified. zod checks the shape; what depends on the
 * model or the text (labels, offsets, overlaps, token boundaries, sizes) is checked by {@link checkFeedback}
 * after. Messages name the field and the rule, never a value the client sent.
 */
import { z } from 'zod';
import { ASSERTION_LABEL_VALUES } from '../../contracts/metrics.js';
import { HttpProblem } from '../problem.js';
import { checkTexts, type InputLimits } from './extract.js';

const unknownFields = (allowed: string) => (iss: { code?: string }) =>
  iss.code === 'unrecognized_keys' ? `unknown field; the allowed fields are ${allowed}` : undefined;

const offset = (name: string) =>
  z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(0, `${name} must be >= 0`);

const oneOf = <const T extends readonly [string, ...string[]]>(name: string, values: T) =>
  z.enum(values, { error: `${name} must be one of ${values.join(', ')}` }).optional();

/**
 * What the person verified about the entity, in the shape of `/v1/extract`'s `assertion`. Every attribute is
 * optional: one left out was not checked and is not compared.
 */
const assertionSchema = z.strictObject(
  {
    negated: z.boolean({ error: 'negated must be true or false' }).optional(),
    certainty: oneOf('certainty', ASSERTION_LABEL_VALUES.certainty),
    temporality: oneOf('temporality', ASSERTION_LABEL_VALUES.temporality),
    experiencer: oneOf('experiencer', ASSERTION_LABEL_VALUES.experiencer),
  },
  {
    error: (iss) =>
      iss.code === 'invalid_type'
        ? 'assertion must be an object {negated, certainty, temporality, experiencer}'
        : unknownFields('"negated", "certainty", "temporality" and "experiencer"')(iss),
  },
);

const entitySchema = z.strictObject(
  {
    label: z
      .string({ error: 'label must be a string' })
      .min(1, 'label must not be empty')
      .max(64, 'label must be at most 64 characters'),
    start: offset('start'),
    end: offset('end'),
    assertion: assertionSchema.optional(),
  },
  {
    error: (iss) =>
      iss.code === 'invalid_type'
        ? 'an entity must be an object {label, start, end}'
        : unknownFields('"label", "start", "end" and "assertion"')(iss),
  },
);

export const feedbackSchema = z.strictObject(
  {
    text: z
      .string({ error: (iss) => (iss.input === undefined ? 'text is required' : 'text must be a string') })
      .min(1, 'text must not be empty'),
    entities: z.array(entitySchema, {
      error: (iss) => (iss.input === undefined ? 'entities is required (may be empty)' : 'entities must be an array'),
    }),
    model: z
      .strictObject(
        {
          name: z.string({ error: 'name must be a string' }).max(256, 'name must be at most 256 characters').optional(),
          digest: z
            .string({ error: 'digest must be a string' })
            .regex(/^(sha256:)?[0-9a-fA-F]{64}$/, 'digest must be a sha256 hex digest')
            .optional(),
        },
        {
          error: (iss) =>
            iss.code === 'invalid_type' ? 'model must be an object' : unknownFields('"name" and "digest"')(iss),
        },
      )
      .optional(),
    source: z
      .string({ error: 'source must be a string' })
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/,
        'source must be 1-64 letters, digits, ".", "_", ":" or "-" (a team or tool name, never note text)',
      )
      .optional(),
  },
  {
    error: (iss) =>
      iss.code === 'invalid_type'
        ? 'the body must be a JSON object'
        : unknownFields('"text", "entities", "model" and "source"')(iss),
  },
);

export type FeedbackRequest = z.infer<typeof feedbackSchema>;

/** What the checks need to know about the server. */
export interface FeedbackLimits extends InputLimits {
  /** Most entities in one document; beyond it, 413. */
  maxEntities: number;
}

/**
 * Size limits (413), Unicode validity, then every entity: inside the text, end after start, a type the model
 * knows, no overlap with another. All entity problems are reported together (first 20), as 400.
 */
export function checkFeedback(body: FeedbackRequest, entityTypes: readonly string[], limits: FeedbackLimits): void {
  checkTexts([body.text], limits, () => 'text');
  if (body.entities.length > limits.maxEntities)
    throw new HttpProblem(
      'tooLarge',
      `at most ${limits.maxEntities} entities per document, got ${body.entities.length}`,
    );
  const known = new Set(entityTypes);
  const errors: { path: string; message: string }[] = [];
  body.entities.forEach((e, i) => {
    if (e.end > body.text.length)
      errors.push({ path: `entities.${i}.end`, message: `end is past the end of the text (${body.text.length})` });
    if (e.end <= e.start) errors.push({ path: `entities.${i}.end`, message: 'end must be greater than start' });
    if (!known.has(e.label))
      errors.push({
        path: `entities.${i}.label`,
        message: `not an entity type of the model; the types are ${entityTypes.join(', ')}`,
      });
  });
  const order = body.entities.map((_, i) => i).sort((a, b) => body.entities[a]!.start - body.entities[b]!.start);
  for (let k = 1; k < order.length; k++) {
    const prev = body.entities[order[k - 1]!]!;
    const cur = body.entities[order[k]!]!;
    if (cur.start < prev.end)
      errors.push({ path: `entities.${order[k]}`, message: `overlaps entities.${order[k - 1]}` });
  }
  if (errors.length > 0) throw invalid(errors);
}

/** A 400 listing `errors`, the first as the detail. */
export function invalid(errors: { path: string; message: string }[]): HttpProblem {
  const first = errors[0]!;
  return new HttpProblem('invalidRequest', `${first.path}: ${first.message}`, { errors: errors.slice(0, 20) });
}
