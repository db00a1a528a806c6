/**
 * Logging. One pino instance per process (JSON to stdout), one pino-http middleware per app. The request
 * serializer keeps only id and method, and the line carries the matched route pattern (never the raw path
 * or query, never headers, so no tokens); bodies, texts and entity strings are never passed to the logger
 * anywhere in the server.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type DestinationStream, type Logger } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';

export function createLogger(level = process.env.NEROPS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const opts = { level, base: { service: 'ner-ops-serve' }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(opts, destination) : pino(opts);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A client's `x-request-id` when it is a plausible id, otherwise a fresh UUID. */
export function requestId(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return v !== undefined && REQUEST_ID.test(v) ? v : randomUUID();
}

function pathOnly(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return (q === -1 ? url : url.slice(0, q)).slice(0, 256);
}

export function httpLogger(logger: Logger, quietPaths: ReadonlySet<string>): HttpLogger {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestId(req.headers['x-request-id']);
      res.setHeader('x-request-id', id);
      return id;
    },
    autoLogging: { ignore: (req: IncomingMessage) => quietPaths.has(pathOnly(req.url)) },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    // pino-http would otherwise attach the raw error (whose message may quote input) to the line.
    customAttributeKeys: { err: 'error' },
    serializers: {
      // No path: an unmatched path is client input and could carry text. The route pattern is logged instead.
      req: (req: { id?: unknown; method?: string }) => ({ id: req.id, method: req.method }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      error: (err: unknown) => ({ type: err instanceof Error ? err.name : typeof err }),
    },
    wrapSerializers: false,
    customProps: (_req, res) => {
      const route = (res as ServerResponse & { locals?: { route?: string; problem?: string } }).locals;
      return route?.problem ? { route: route.route ?? 'unmatched', problem: route.problem } : { route: route?.route ?? 'unmatched' };
    },
  });
}
