/**
 * Request schemas of the two APIs. zod checks the shape; size limits are checked after, so they can
 * answer 413 rather than 400. Messages name the field and the rule, never the value.
 */
import { z } from 'zod';
import { HttpProblem } from '../problem.js';

/** Size limits on what a client may send. */
export interface InputLimits {
  /** Most UTF-16 code units in one document's text. */
  maxDocumentChars: number;
  /** Most documents in one request (either API). */
  maxDocuments: number;
  /** Most tokens in one request, as the model tokenizes (either API). */
  maxRequestTokens: number;
}

const text = z
  .string({ error: (iss) => (iss.input === undefined ? 'text is required' : 'text must be a string') })
  .min(1, 'text must not be empty');

/**
 * The message of an unknown-field issue: the allowed fields, never the unknown names (zod's default message
 * lists them, and a body of many long keys would come back several times its size).
 */
const unknownFields = (allowed: string) => (iss: { code?: string; input?: unknown }) =>
  iss.code === 'unrecognized_keys' ? `unknown field; the allowed fields are ${allowed}` : undefined;

/**
 * The patient a text is about, as a FHIR Reference: `{"reference": "Patient/<id>"}` or
 * `{"identifier": {"system": "<uri>", "value": "<id>"}}`. Used only by `Accept: application/fhir+json` answers,
 * whose resources require a subject (docs/assertions.md, "HTTP and FHIR output").
 */
export const subjectSchema = z
  .strictObject(
    {
      reference: z
        .string({ error: 'reference must be a string' })
        .regex(/^Patient\/[A-Za-z0-9\-.]{1,64}$/, 'reference must be Patient/<id> (a FHIR id: 1-64 of A-Z a-z 0-9 - .)')
        .optional(),
      identifier: z
        .strictObject(
          {
            system: z
              .string({ error: 'system must be a string' })
              .regex(/^[A-Za-z][A-Za-z0-9+.-]*:\S{1,250}$/, 'system must be an absolute URI without spaces'),
            value: z
              .string({ error: 'value must be a string' })
              .min(1, 'value must not be empty')
              .max(256, 'value must be at most 256 characters')
              .regex(/^[^\p{Cc}]*$/u, 'value must not contain control characters'),
          },
          { error: unknownFields('"system" and "value"') },
        )
        .optional(),
    },
    { error: unknownFields('"reference" and "identifier"') },
  )
  .refine((s) => (s.reference === undefined) !== (s.identifier === undefined), {
    message: 'subject needs exactly one of "reference" or "identifier"',
  });

export type Subject = z.infer<typeof subjectSchema>;

const documentSchema = z.strictObject(
  {
    id: z
      .string({ error: 'id must be a string' })
      .min(1, 'id must not be empty')
      .max(256, 'id must be at most 256 characters'),
    text,
    subject: subjectSchema.optional(),
  },
  { error: unknownFields('"id", "text" and "subject"') },
);

/** `POST /v1/extract`: exactly one of `text` or `documents`. */
export const v1ExtractSchema = z
  .strictObject(
    {
      text: text.optional(),
      documents: z
        .array(documentSchema, { error: 'documents must be an array' })
        .min(1, 'documents must not be empty')
        .optional(),
      /** The patient of `text`, or of every document that does not name its own. */
      subject: subjectSchema.optional(),
    },
    {
      error: (iss) =>
        iss.code === 'invalid_type'
          ? 'the body must be a JSON object'
          : unknownFields('"text", "documents" and "subject"')(iss),
    },
  )
  .superRefine((body, ctx) => {
    if (body.text === undefined && body.documents === undefined) {
      ctx.addIssue({ code: 'custom', message: 'send either "text" or "documents"', path: [] });
    } else if (body.text !== undefined && body.documents !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'send either "text" or "documents", not both', path: [] });
    }
    if (body.documents) {
      const seen = new Set<string>();
      body.documents.forEach((d, i) => {
        if (seen.has(d.id))
          ctx.addIssue({ code: 'custom', message: 'document ids must be unique', path: ['documents', i, 'id'] });
        seen.add(d.id);
      });
    }
  });

export type V1ExtractRequest = z.infer<typeof v1ExtractSchema>;

const tensorData = z.array(z.unknown(), { error: 'data must be an array' });

/** Open Inference Protocol v2 `POST /v2/models/{name}/infer` request (JSON tensor form). */
export const v2InferSchema = z.object(
  {
    id: z.string({ error: 'id must be a string' }).max(256, 'id must be at most 256 characters').optional(),
    parameters: z.record(z.string(), z.unknown(), { error: 'parameters must be an object' }).optional(),
    inputs: z
      .array(
        z.object({
          name: z.string({ error: 'input name must be a string' }),
          shape: z.array(z.number().int('shape entries must be integers').min(0, 'shape entries must be >= 0'), {
            error: 'shape must be an array of integers',
          }),
          datatype: z.string({ error: 'datatype must be a string' }),
          parameters: z.record(z.string(), z.unknown()).optional(),
          data: tensorData,
        }),
        { error: 'inputs must be an array' },
      )
      .length(1, 'exactly one input tensor ("text", BYTES) is required'),
    outputs: z
      .array(
        z.object({
          name: z.string({ error: 'output name must be a string' }),
          parameters: z.record(z.string(), z.unknown()).optional(),
        }),
        {
          error: 'outputs must be an array',
        },
      )
      .optional(),
  },
  { error: (iss) => (iss.code === 'invalid_type' ? 'the body must be a JSON object' : undefined) },
);

export type V2InferRequest = z.infer<typeof v2InferSchema>;

/** Field names of the request schemas: the only path segments an error may name besides array indices. */
const SCHEMA_FIELDS: ReadonlySet<string> = new Set([
  'text',
  'documents',
  'id',
  'parameters',
  'inputs',
  'outputs',
  'name',
  'shape',
  'datatype',
  'data',
  'subject',
  'reference',
  'identifier',
  'system',
  'value',
  // POST /v1/feedback (schemas/feedback.ts)
  'entities',
  'label',
  'start',
  'end',
  'model',
  'digest',
  'source',
  'assertion',
  'negated',
  'certainty',
  'temporality',
  'experiencer',
]);

/** A path segment as an error may show it: an index or a schema field, anything else (a client's key) as `*`. */
function pathSegment(p: PropertyKey): string {
  return typeof p === 'number' || (typeof p === 'string' && SCHEMA_FIELDS.has(p)) ? String(p) : '*';
}

/**
 * Parse with `schema` or throw a 400 problem listing every issue as `{ path, message }`. Messages are the
 * schemas' own; an unknown-field issue without one gets a fixed message, and path segments that are not
 * schema fields are masked, so no key the client chose comes back.
 */
export function parseOrThrow<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const errors = r.error.issues.slice(0, 20).map((i) => ({
    path: i.path.map(pathSegment).join('.'),
    message: i.code === 'unrecognized_keys' && !i.message.startsWith('unknown field') ? 'unknown field' : i.message,
  }));
  const first = errors[0];
  const detail = first ? (first.path ? `${first.path}: ${first.message}` : first.message) : 'invalid request';
  throw new HttpProblem('invalidRequest', detail, { errors });
}

/** True when `s` has an unpaired UTF-16 surrogate (a JSON `\ud800` escape), which is not valid Unicode text. */
export function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** Check decoded texts against the limits and Unicode validity; throws 413 / 400 problems. */
export function checkTexts(texts: readonly string[], limits: InputLimits, where: (i: number) => string): void {
  if (texts.length > limits.maxDocuments) {
    throw new HttpProblem('tooLarge', `at most ${limits.maxDocuments} documents per request, got ${texts.length}`);
  }
  texts.forEach((t, i) => {
    if (t.length > limits.maxDocumentChars) {
      throw new HttpProblem(
        'tooLarge',
        `${where(i)} is ${t.length} characters; the limit is ${limits.maxDocumentChars}`,
      );
    }
    if (hasLoneSurrogate(t))
      throw new HttpProblem('invalidEncoding', `${where(i)} contains an unpaired UTF-16 surrogate (invalid Unicode)`);
  });
}

/** Flatten a v2 tensor's row-major `data`, which clients may send nested or flat. */
export function flattenTensorData(data: readonly unknown[], maxElements: number): unknown[] {
  const out: unknown[] = [];
  const stack: { arr: readonly unknown[]; i: number }[] = [{ arr: data, i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.i >= top.arr.length) {
      stack.pop();
      continue;
    }
    const v = top.arr[top.i++];
    if (Array.isArray(v)) {
      if (stack.length > 32) throw new HttpProblem('invalidRequest', 'inputs.0.data: nested too deeply');
      stack.push({ arr: v, i: 0 });
    } else {
      out.push(v);
      if (out.length > maxElements) throw new HttpProblem('tooLarge', `at most ${maxElements} documents per request`);
    }
  }
  return out;
}
