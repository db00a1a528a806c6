/** Probe and metrics endpoints. Always open (no auth), never counted in the request metrics. */
import { Router } from 'express';
import type { AppContext } from '../context.js';
import { methodNotAllowed } from './util.js';

export function healthRouter(ctx: AppContext): Router {
  const r = Router();
  const isReady = () => ctx.state.ready && !ctx.state.draining;
  const readiness = (_req: unknown, res: import('express').Response) => {
    const ready = isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : ctx.state.draining ? 'draining' : 'loading' });
  };
  r.route('/healthz')
    .get((_req, res) => {
      res.json({ status: 'alive' });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  r.route('/readyz').get(readiness).all(methodNotAllowed(['GET', 'HEAD']));
  r.route('/v2/health/live')
    .get((_req, res) => {
      res.json({ live: true });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  r.route('/v2/health/ready')
    .get((_req, res) => {
      const ready = isReady();
      res.status(ready ? 200 : 503).json({ ready });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  r.route('/metrics')
    .get(async (_req, res) => {
      ctx.metrics.queueDepth.set(ctx.batcher.queueDepth);
      ctx.metrics.ready.set(isReady() ? 1 : 0);
      const body = await ctx.metrics.registry.metrics();
      res.type(ctx.metrics.registry.contentType).send(body);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return r;
}

/** Paths served by this router: excluded from request logs and request metrics. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/v2/health/live', '/v2/health/ready', '/metrics']);
