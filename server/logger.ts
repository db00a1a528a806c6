/**
 * Logging. One pino instance per process (JSON to stdout). The access-log line (exchange.ts) carries the
 * request id, method, matched route pattern, status and duration: never the raw path or query (client
 * input), never headers (tokens). Bodies, texts and entity strings are never passed to the logger
 * anywhere in the server.
 */
import { randomUUID } from 'node:crypto';
import { pino, type DestinationStream, type Logger } from 'pino';
import { ServeEnv, ServeEnvFallback } from '../contracts/serve.js';

export function createLogger(
  level = process.env[ServeEnv.logLevel] ?? process.env[ServeEnvFallback.logLevel] ?? 'info',
  destination?: DestinationStream,
): Logger {
  const opts = { level, base: { service: 'ner-ops-serve' }, timestamp: pino.stdTimeFunctions.isoTime };
  // Asynchronous stdout: under load, lines written while a write is pending are coalesced into one syscall.
  // `ner-ops serve` flushes before exiting.
  return pino(opts, destination ?? pino.destination({ dest: 1, sync: false }));
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A client's `x-request-id` when it is a plausible id, otherwise a fresh UUID. */
export function requestId(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return v !== undefined && REQUEST_ID.test(v) ? v : randomUUID();
}
