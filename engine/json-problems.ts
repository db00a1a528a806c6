/**
 * Errors about JSON files of a bundle (manifest, profile, tokenizer) that name the file and the place, never
 * the content: V8's JSON.parse messages quote the text around the fault, and a path through a record names
 * its keys, and both can be whatever the file holds (docs/security.md, "PHI").
 */
import { z } from 'zod';

/** JSON.parse that throws `<what> is not valid JSON` without V8's quote of the text. */
export function parseJsonFile(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
}

/** The schema one step down `key`, or undefined where the path leaves what the schema names. */
function child(schema: z.ZodType | undefined, key: PropertyKey): z.ZodType | undefined {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault)
    s = s.unwrap() as z.ZodType;
  if (s instanceof z.ZodObject && typeof key === 'string' && Object.hasOwn(s.shape, key))
    return s.shape[key] as z.ZodType;
  if (s instanceof z.ZodArray) return s.element as z.ZodType;
  if (s instanceof z.ZodRecord) return s.valueType as z.ZodType;
  return undefined;
}

/**
 * Where a schema issue is, e.g. `crf.dense.file`, `labels[3]` or `files.*`: indices, and the property names
 * the schema itself declares; any other key (a record's, or one past what the schema names) is `*`, so no key
 * from the file reaches the message. The issue's own message is zod's description of the expected shape,
 * which does not quote the input (zod 4).
 */
export function issueWhere(schema: z.ZodType, issue: z.core.$ZodIssue | undefined): string {
  const path = issue?.path ?? [];
  if (path.length === 0) return '(root)';
  let at: z.ZodType | undefined = schema;
  let out = '';
  for (const key of path) {
    let s = at;
    while (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault)
      s = s.unwrap() as z.ZodType;
    const declared = s instanceof z.ZodObject && typeof key === 'string' && Object.hasOwn(s.shape, key);
    if (typeof key === 'number') out += `[${key}]`;
    else out += `${out ? '.' : ''}${declared ? key : '*'}`;
    at = child(at, key);
  }
  return out;
}

/** `<what> is invalid at <where>: <expected shape>`. */
export function schemaProblem(what: string, schema: z.ZodType, issue: z.core.$ZodIssue | undefined): string {
  return `${what} is invalid at '${issueWhere(schema, issue)}': ${issue?.message ?? 'invalid'}`;
}
