/**
 * The server's audit log: after each inference request ends, one record (record.ts) to the sink (sink.ts),
 * apart from the operational log. The routes leave the request's documents and answers on the exchange
 * (`ex.audit`); this module reads them once the response is finished and never keeps them.
 */
import { readFileSync } from 'node:fs';
import { bearerToken } from '../auth.js';
import { auditRecord, callerId } from './record.js';
import type { AuditSink } from './sink.js';

/** The routes whose requests are audited: everything that reads a clinical note. */
export const AUDITED_ROUTES: ReadonlySet<string> = new Set([
  '/v1/extract',
  '/v1/feedback',
  '/v2/models/:name/infer',
  '/v2/models/:name/versions/:version/infer',
]);

export interface AuditLog {
  sink: AuditSink;
  /** HMAC key of the input hashes; without one, records carry no hashes. */
  hmacKey: Buffer | undefined;
  model: { name: string; version: string; digest: string };
  track: string;
}

/** What a route leaves on its exchange for the audit record. */
export interface ExchangeAudit {
  texts: readonly string[];
  entities?: ReadonlyArray<ReadonlyArray<{ label: string; assertion?: object }>>;
}

/**
 * The key file as mounted from a Secret; an absent file (an optional Secret volume whose Secret does not
 * exist) means no key. Fewer than 16 bytes is refused: a short key makes the hashes guessable.
 */
export function readHmacKey(path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const trimmed = Buffer.from(key.toString('utf8').trim(), 'utf8');
  if (trimmed.length < 16) throw new Error(`the audit HMAC key in ${path} is shorter than 16 bytes`);
  return trimmed;
}

/** What the exchange knows of a finished request (passed in, so this module does not import the exchange). */
export interface FinishedRequest {
  id: string;
  route: string;
  authorization: string | undefined;
  audit: ExchangeAudit | undefined;
}

export function writeAudit(log: AuditLog, ex: FinishedRequest, status: number, seconds: number, shadow: boolean): void {
  if (!AUDITED_ROUTES.has(ex.route)) return;
  const audit = ex.audit;
  log.sink.write(
    auditRecord(
      {
        time: new Date(),
        requestId: ex.id,
        route: ex.route,
        caller: callerId(bearerToken(ex.authorization)),
        model: log.model,
        track: shadow ? 'shadow' : log.track,
        status,
        latencyMs: seconds * 1000,
        texts: audit?.texts,
        entities: audit?.entities,
      },
      log.hmacKey,
    ),
  );
}
