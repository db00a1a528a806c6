/**
 * The per-request plumbing shared by the express app and the fast path in `app.ts`: request id, one
 * access-log line, request metrics, JSON and problem responses, and turning any error into a problem.
 * It works on plain `IncomingMessage`/`ServerResponse`, so the hot endpoints run the exact same code
 * whether they are reached through express (tests, `createApp`) or directly (the listening server).
 *
 * The access log is one line per API request with the request id, method, route pattern, status and
 * duration; never the raw path, query, headers or body (see logger.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from './context.js';
import { requestId } from './logger.js';
import { HttpProblem, sendProblem } from './problem.js';
import { writeAudit, type ExchangeAudit } from './audit/audit-log.js';
import { SHADOW_HEADER } from './shadow.js';

/** One request being served. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  id: string;
  /** Route pattern for metrics and logs (bounded cardinality); `unmatched` until a route claims it. */
  route: string;
  /** Problem kind when the answer was an error, for the log line. */
  problem?: string;
  started: bigint;
  /** The documents and answers, for the audit record written when the response ends (audit/audit-log.ts). */
  audit?: ExchangeAudit;
}

/** Route patterns that are probes or scrapes: not counted in the request metrics, not access-logged. */
export const QUIET_ROUTES: ReadonlySet<string> = new Set([
  '/healthz',
  '/readyz',
  '/metrics',
  '/v2/health/live',
  '/v2/health/ready',
  '/v2/models/:name/ready',
  '/v2/models/:name/versions/:version/ready',
]);

const EXCHANGE = Symbol('nerops.exchange');

/** The exchange started for `res`, if any. */
export function exchangeOf(res: ServerResponse): Exchange | undefined {
  return (res as ServerResponse & { [EXCHANGE]?: Exchange })[EXCHANGE];
}

/** Start serving a request: assign its id, and arrange for metrics and the log line when it ends. */
export function beginExchange(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Exchange {
  const existing = exchangeOf(res);
  if (existing) return existing;
  const id = requestId(req.headers['x-request-id']);
  const ex: Exchange = { req, res, id, route: 'unmatched', started: process.hrtime.bigint() };
  (res as ServerResponse & { [EXCHANGE]?: Exchange })[EXCHANGE] = ex;
  (req as IncomingMessage & { id?: string }).id = id;
  res.setHeader('x-request-id', id);
  if (ctx.state.draining) res.setHeader('connection', 'close');
  ctx.state.inflight++;
  ctx.metrics.inflight.inc();
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    ctx.state.inflight--;
    ctx.metrics.inflight.dec();
    if (QUIET_ROUTES.has(ex.route)) return;
    const seconds = Number(process.hrtime.bigint() - ex.started) / 1e9;
    const code = res.writableFinished ? res.statusCode : 499; // 499: the client went away first
    ctx.metrics.requests.inc({ route: ex.route, code: String(code) });
    ctx.metrics.requestDuration.observe({ route: ex.route }, seconds);
    const line = {
      req: { id, method: req.method },
      route: ex.route,
      res: { statusCode: code },
      responseTime: Math.round(seconds * 1e4) / 10,
      ...(ex.problem ? { problem: ex.problem } : {}),
    };
    if (code >= 500) ctx.log.error(line, 'request errored');
    else if (code >= 400) ctx.log.warn(line, 'request completed');
    else ctx.log.info(line, 'request completed');
    if (ctx.audit)
      writeAudit(
        ctx.audit,
        { id, route: ex.route, authorization: req.headers.authorization, audit: ex.audit },
        code,
        seconds,
        req.headers[SHADOW_HEADER] !== undefined,
      );
    ex.audit = undefined;
  };
  res.once('finish', finish);
  res.once('close', finish);
  return ex;
}

/** 200 (or `status`) with a JSON body that is already serialised. */
export function sendJson(res: ServerResponse, body: string, status = 200): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * Answer `err` as a problem. Client errors (HttpProblem and body-reading errors) keep their message;
 * anything else is a bug: a generic 500, logged with its type and stack frames but not its message,
 * which could quote input.
 */
export function respondError(
  ctx: AppContext,
  ex: Exchange,
  err: unknown,
  toProblem: (err: unknown) => HttpProblem | undefined,
): void {
  const { res } = ex;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  let problem = toProblem(err);
  if (!problem) {
    const e = err instanceof Error ? err : new Error('non-error thrown');
    ctx.log.error(
      { requestId: ex.id, errType: e.name, stack: (e.stack ?? '').split('\n').slice(1, 8).join('\n') },
      'unhandled error while serving a request',
    );
    problem = new HttpProblem('internal', 'the server failed to process the request');
  }
  ex.problem = problem.kind;
  // Refused before the body was read (413, 415, 401…): close the connection rather than read the rest.
  if (!ex.req.complete) res.setHeader('connection', 'close');
  // The route pattern, not the path: a path carries client text (a v2 model name, an unknown route).
  sendProblem(res, problem, ex.route === 'unmatched' ? undefined : ex.route, ex.id);
}

/** The path of a request URL, without its query string (both listeners route on it before any parsing). */
export function requestPath(url: string | undefined): string {
  const u = url ?? '';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}
