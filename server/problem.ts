/**
 * RFC 9457 problem details. Every error the server returns is `application/problem+json` built here, so
 * clients get one shape and a specific message, and so no error path can echo request text back by
 * accident (details are fixed strings or numbers, never input).
 */
import type { ServerResponse } from 'node:http';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://nerops.io/problems/';

/** Problem kinds the server emits; the slug becomes the `type` URI and is documented in docs/server.md ("Errors"). */
export const ProblemKind = {
  invalidJson: { slug: 'invalid-json', status: 400, title: 'Malformed JSON body' },
  invalidEncoding: { slug: 'invalid-encoding', status: 400, title: 'Body is not valid UTF-8' },
  invalidRequest: { slug: 'invalid-request', status: 400, title: 'Request failed validation' },
  unauthorized: { slug: 'unauthorized', status: 401, title: 'Missing or invalid bearer token' },
  forbidden: { slug: 'forbidden', status: 403, title: 'Not allowed for this token' },
  notFound: { slug: 'not-found', status: 404, title: 'Not found' },
  methodNotAllowed: { slug: 'method-not-allowed', status: 405, title: 'Method not allowed' },
  conflict: { slug: 'model-mismatch', status: 409, title: 'Request names another model' },
  tooLarge: { slug: 'payload-too-large', status: 413, title: 'Payload too large' },
  unsupportedMediaType: { slug: 'unsupported-media-type', status: 415, title: 'Unsupported media type' },
  internal: { slug: 'internal', status: 500, title: 'Internal server error' },
  overloaded: { slug: 'overloaded', status: 503, title: 'Server overloaded' },
  timeout: { slug: 'timeout', status: 503, title: 'Request timed out' },
  notReady: { slug: 'not-ready', status: 503, title: 'Model not ready' },
  shuttingDown: { slug: 'shutting-down', status: 503, title: 'Server shutting down' },
  storeUnavailable: { slug: 'store-unavailable', status: 503, title: 'Feedback store unavailable' },
  insufficientStorage: { slug: 'store-full', status: 507, title: 'Feedback store full' },
} as const satisfies Record<string, { slug: string; status: number; title: string }>;

export type ProblemKindName = keyof typeof ProblemKind;

/** An error that maps to a problem response. Thrown by validation and batching, caught by the error handler. */
export class HttpProblem extends Error {
  readonly status: number;
  constructor(
    readonly kind: ProblemKindName,
    /** Human-readable, specific, and never containing request text. */
    readonly detail: string,
    readonly extra: { retryAfterSeconds?: number; allow?: readonly string[]; errors?: unknown[] } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
    this.status = ProblemKind[kind].status;
  }
}

/**
 * Writes `problem` as the response. `instance` is the route pattern that answered (`/v2/models/:name/infer`),
 * never the request's path or query, which are client input; absent when no route matched.
 */
export function sendProblem(
  res: ServerResponse,
  problem: HttpProblem,
  instance: string | undefined,
  requestId?: string,
): void {
  const kind = ProblemKind[problem.kind];
  if (problem.extra.retryAfterSeconds !== undefined)
    res.setHeader('retry-after', String(problem.extra.retryAfterSeconds));
  if (problem.extra.allow) res.setHeader('allow', problem.extra.allow.join(', '));
  if (problem.kind === 'unauthorized') res.setHeader('www-authenticate', 'Bearer realm="nerops"');
  const body: Record<string, unknown> = {
    type: TYPE_BASE + kind.slug,
    title: kind.title,
    status: kind.status,
    detail: problem.detail,
  };
  if (instance !== undefined) body.instance = instance;
  if (requestId) body.requestId = requestId;
  if (problem.extra.errors) body.errors = problem.extra.errors;
  // Open Inference Protocol clients read `error`; an extension member keeps one body shape for both APIs.
  // Every member is the server's own text: details are fixed strings, counts and limits, never input.
  body.error = problem.detail;
  const text = JSON.stringify(body);
  res.statusCode = kind.status;
  res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}
