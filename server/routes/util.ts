import type { RequestHandler } from 'express';
import { HttpProblem } from '../problem.js';

/** Terminal handler for a known path hit with the wrong method: 405 with an `Allow` header. */
export function methodNotAllowed(allow: readonly string[]): RequestHandler {
  return (req, _res, next) => {
    next(new HttpProblem('methodNotAllowed', `${req.method} is not allowed here; use ${allow.join(' or ')}`, { allow }));
  };
}

/** Labels the request for the metrics with its route pattern (bounded cardinality, never the raw path). */
export function routeLabel(route: string): RequestHandler {
  return (_req, res, next) => {
    res.locals.route = route;
    next();
  };
}
