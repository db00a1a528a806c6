/**
 * Content negotiation of `POST /v1/extract`: the project's JSON, or a FHIR R4 Bundle when the client's `Accept`
 * names `application/fhir+json` at least as highly as JSON. Anything else (no header, `*∕*`, `application/json`,
 * types we do not produce) gets JSON, as before FHIR output existed: a client that never asked for FHIR never
 * gets it, and no client that worked before gets a 406 now.
 */
import type { ServerResponse } from 'node:http';

/** The FHIR JSON media type, with the version parameter R4 defines (http://hl7.org/fhir/R4/http.html#mime-type). */
export const FHIR_CONTENT_TYPE = 'application/fhir+json; fhirVersion=4.0; charset=utf-8';

const FHIR_TYPES = new Set(['application/fhir+json', 'application/json+fhir']);

export type ResponseFormat = 'json' | 'fhir';

/** Parse `Accept` into media ranges with their quality (malformed q: 1, as lenient servers read it). */
function ranges(accept: string): { type: string; q: number }[] {
  return accept.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim());
      if (k === 'q' && v !== undefined && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v)) q = Number(v);
    }
    return { type, q };
  });
}

/** Quality of the most specific range matching `matches`, falling back to `application/*` then `*∕*`. */
function quality(rs: { type: string; q: number }[], matches: (t: string) => boolean): number | undefined {
  const find = (pred: (t: string) => boolean) => {
    const hit = rs.filter((r) => pred(r.type));
    return hit.length ? Math.max(...hit.map((r) => r.q)) : undefined;
  };
  return find(matches) ?? find((t) => t === 'application/*') ?? find((t) => t === '*/*');
}

/** The format `accept` asks for: FHIR only when named explicitly with q > 0 and not below JSON's quality. */
export function responseFormat(accept: string | undefined): ResponseFormat {
  if (!accept) return 'json';
  const rs = ranges(accept);
  const fhir = rs.filter((r) => FHIR_TYPES.has(r.type));
  if (fhir.length === 0) return 'json';
  const qFhir = Math.max(...fhir.map((r) => r.q));
  const qJson = quality(rs, (t) => t === 'application/json') ?? 0;
  return qFhir > 0 && qFhir >= qJson ? 'fhir' : 'json';
}

/** 200 with a FHIR JSON body that is already serialised. */
export function sendFhir(res: ServerResponse, body: string): void {
  res.statusCode = 200;
  res.setHeader('content-type', FHIR_CONTENT_TYPE);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}
