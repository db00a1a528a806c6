/** Probe and metrics endpoints. Always open (no auth), never counted in the request metrics or access-logged. */
import type { ServerResponse } from 'node:http';
import { Router, type RequestHandler } from 'express';
import type { AppContext } from '../context.js';
import { sendJson } from '../exchange.js';
import { methodNotAllowed, routeLabel } from './util.js';

/** The liveness body, shared by the API port and the metrics port. */
export const ALIVE_BODY = '{"status":"alive"}';

/** Answer a scrape: the registry in Prometheus text format, with the gauges sampled now. */
export async function sendMetrics(ctx: AppContext, res: ServerResponse): Promise<void> {
  ctx.metrics.queueDepth.set(ctx.batcher.queueDepth);
  ctx.metrics.ready.set(ctx.state.ready && !ctx.state.draining ? 1 : 0);
  const body = await ctx.metrics.registry.metrics();
  res.statusCode = 200;
  res.setHeader('content-type', ctx.metrics.registry.contentType);
  res.end(body);
}

/**
 * The probes, and `/metrics` unless `metrics` is false: with a metrics port of its own (`--metrics-port`),
 * the API port answers `/metrics` 404 like any unknown path, so a NetworkPolicy can open the scrape
 * without opening the API.
 */
export function healthRouter(ctx: AppContext, { metrics = true }: { metrics?: boolean } = {}): Router {
  const r = Router();
  const isReady = () => ctx.state.ready && !ctx.state.draining;
  const get = (path: string, handler: RequestHandler) =>
    r
      .route(path)
      .all(routeLabel(ctx, path))
      .get(handler)
      .all(methodNotAllowed(['GET', 'HEAD']));
  get('/healthz', (_req, res) => sendJson(res, ALIVE_BODY));
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
  if (metrics) get('/metrics', (_req, res) => sendMetrics(ctx, res));
  return r;
}
