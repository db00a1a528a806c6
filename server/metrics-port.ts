/**
 * The handler of the metrics port (`ner-ops serve --metrics-port`): `GET /metrics` and `GET /healthz`,
 * nothing else. It exists so that the scrape can be opened to Prometheus (a NetworkPolicy rule on this port)
 * without opening the inference API, which stays on the API port only.
 *
 * No inference route, no auth (like `/metrics` on the API port), and nothing here is counted in the request
 * metrics or access-logged: a scan of this port must not move the error rate the canary analysis reads.
 * Any other path is a 404 problem, a known path with another method a 405; neither echoes the path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from './context.js';
import { requestPath, sendJson } from './exchange.js';
import { HttpProblem, sendProblem } from './problem.js';
import { ALIVE_BODY, sendMetrics } from './routes/health.js';

/** Paths the metrics port answers. `/healthz` tells a human or a probe that this listener is up. */
export const METRICS_PORT_PATHS = ['/metrics', '/healthz'] as const;

export function metricsPortHandler(ctx: AppContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = requestPath(req.url);
    // Draining: let keep-alive scrapers go, so the listener can close.
    if (ctx.state.draining) res.setHeader('connection', 'close');
    if (!(METRICS_PORT_PATHS as readonly string[]).includes(path)) {
      refuse(req, res);
      sendProblem(
        res,
        new HttpProblem('notFound', 'the metrics port serves only GET /metrics and GET /healthz'),
        undefined,
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refuse(req, res);
      sendProblem(
        res,
        new HttpProblem('methodNotAllowed', 'this method is not allowed here; use GET or HEAD', {
          allow: ['GET', 'HEAD'],
        }),
        path,
      );
      return;
    }
    if (path === '/healthz') {
      sendJson(res, ALIVE_BODY);
      return;
    }
    sendMetrics(ctx, res).catch((err: unknown) => {
      ctx.log.error({ errType: (err as Error).name }, 'metrics collection failed');
      if (res.headersSent) res.destroy();
      else sendProblem(res, new HttpProblem('internal', 'the server failed to collect its metrics'), path);
    });
  };
}

/** Refused before any body was read: close the connection rather than read the rest. */
function refuse(req: IncomingMessage, res: ServerResponse): void {
  if (!req.complete) res.setHeader('connection', 'close');
}
