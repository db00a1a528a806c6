import type { RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import { beginExchange, type Exchange } from '../exchange.js';
import { HttpProblem } from '../problem.js';
import { traceRequest } from '../tracing.js';

/** Terminal handler for a known path hit with the wrong method: 405 with an `Allow` header. */
export function methodNotAllowed(allow: readonly string[]): RequestHandler {
  return (_req, _res, next) => {
    next(new HttpProblem('methodNotAllowed', `this method is not allowed here; use ${allow.join(' or ')}`, { allow }));
  };
}

/** Labels the request for metrics and logs with its route pattern (bounded cardinality, never the raw path). */
export function routeLabel(ctx: AppContext, route: string): RequestHandler {
  return (req, res, next) => {
    beginExchange(ctx, req, res).route = route;
    next();
  };
}

/** Mount a node-level handler (shared with the fast path) as an express handler; errors go to the error handler. */
export function expressHandler(
  ctx: AppContext,
  fn: (ctx: AppContext, ex: Exchange, params: Record<string, string>) => Promise<void>,
): RequestHandler {
  return (req, res, next) => {
    const ex = beginExchange(ctx, req, res);
    traceRequest(ctx, ex, () => fn(ctx, ex, req.params as Record<string, string>)).catch(next);
  };
}
