/** Probe and metrics endpoints. Always open (no auth), never counted in the request metrics or access-logged. */
import { Router, type RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import { sendJson } from '../exchange.js';
import { methodNotAllowed, routeLabel } from './util.js';

export function healthRouter(ctx: AppContext): Router {
  const r = Router();
  const isReady = () => ctx.state.ready && !ctx.state.draining;
  const get = (path: string, handler: RequestHandler) =>
    r
      .route(path)
      .all(routeLabel(ctx, path))
      .get(handler)
      .all(methodNotAllowed(['GET', 'HEAD']));
  get('/healthz', (_req, res) => sendJson(res, '{"status":"alive"}'));
  get('/readyz', (_req, res) => {
    const ready = isReady();
    sendJson(
      res,
      JSON.stringify({ status: ready ? 'ready' : ctx.state.draining ? 'draining' : 'loading' }),
      ready ? 200 : 503,
    );
  });
  get('/v2/health/live', (_req, res) => sendJson(res, '{"live":true}'));
  get('/v2/health/ready', (_req, res) => {
    const ready = isReady();
    sendJson(res, JSON.stringify({ ready }), ready ? 200 : 503);
  });
  get('/metrics', async (_req, res) => {
    ctx.metrics.queueDepth.set(ctx.batcher.queueDepth);
    ctx.metrics.ready.set(isReady() ? 1 : 0);
    const body = await ctx.metrics.registry.metrics();
    res.statusCode = 200;
    res.setHeader('content-type', ctx.metrics.registry.contentType);
    res.end(body);
  });
  return r;
}
