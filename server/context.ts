/**
 * What every route handler needs, built once by `createApp`. Routes receive it explicitly instead of
 * reaching for module globals, so several apps (primary and shadow in one test) can live in one process.
 */
import type { Logger } from 'pino';
import type { ExtractResult, NerEngine } from '../engine/types.js';
import { UnsupportedLanguageError, type AssertionStage } from './assertions.js';
import type { FhirMapping } from './fhir/mapping.js';
import type { MicroBatcher } from './batcher.js';
import { HttpProblem } from './problem.js';
import type { ServerMetrics } from './metrics.js';
import type { InputLimits } from './schemas/extract.js';
import type { ShadowClient } from './shadow.js';
import { markExtracted, markParsed } from './tracing.js';
import type { AuditLog } from './audit/audit-log.js';

/** Liveness/readiness state shared by the routes and `main.ts`. */
export interface ServerState {
  /** The model is loaded and the warm-up batch has run. */
  ready: boolean;
  /** SIGTERM received: readiness fails, responses close their connection, in-flight work finishes. */
  draining: boolean;
  /** HTTP requests currently being served (all routes). */
  inflight: number;
}

export interface AppContext {
  /** The audit log (`--audit-log`); undefined when off. */
  audit?: AuditLog | undefined;
  engine: NerEngine;
  batcher: MicroBatcher<ExtractResult>;
  metrics: ServerMetrics;
  shadow: ShadowClient | undefined;
  state: ServerState;
  log: Logger;
  limits: InputLimits;
  requestTimeoutMs: number;
  /** Names under which the v2 API answers for the model (the bundle's name, plus the configured model label). */
  modelNames: ReadonlySet<string>;
  /** Largest request body in bytes. */
  maxBodyBytes: number;
  /** Bearer-token check of an `Authorization` header; undefined when the API is open. */
  auth: ((authorization: string | undefined) => boolean) | undefined;
  /** The assertion stage; undefined when the model has none (entities then carry no `assertion`). */
  assertions: AssertionStage | undefined;
  /** Label → FHIR resource mapping of `Accept: application/fhir+json` answers. */
  fhirMapping: FhirMapping;
}

/**
 * The assertion language of a request (its `Content-Language`, else the stage's default), or undefined when the
 * model has no assertion stage (the header is then ignored, as before the stage existed). 400 naming the header
 * for a language without rules; the message lists the supported ones, never the header's value.
 */
export function requestLanguage(ctx: AppContext, header: string | undefined): string | undefined {
  if (!ctx.assertions) return undefined;
  try {
    return ctx.assertions.languageFor(header);
  } catch (err) {
    if (err instanceof UnsupportedLanguageError)
      throw new HttpProblem('invalidRequest', `Content-Language: ${err.message}`, {
        errors: [{ path: 'Content-Language', message: err.message }],
      });
    throw err;
  }
}

/** 401 unless auth is off or the request carries a listed bearer token. Called before the body is read. */
export function checkAuth(ctx: AppContext, authorization: string | undefined): void {
  if (ctx.auth && !ctx.auth(authorization)) {
    throw new HttpProblem('unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)');
  }
}

/** 503 while warming up; a load balancer retries elsewhere. */
export function ensureServing(ctx: AppContext): void {
  if (!ctx.state.ready)
    throw new HttpProblem('notReady', 'the model is still loading; retry shortly', { retryAfterSeconds: 1 });
}

/**
 * 413 when `texts` hold more tokens than the per-request cap. Characters bound tokens from above for every
 * tokenizer here, so a request within the cap in characters is not tokenized twice; otherwise the engine
 * counts (an engine without `countTokens` is held to the character count).
 */
export function checkRequestTokens(ctx: AppContext, texts: readonly string[]): void {
  const max = ctx.limits.maxRequestTokens;
  let chars = 0;
  for (const t of texts) chars += t.length;
  if (chars <= max) return;
  const engine = ctx.engine;
  let tokens = 0;
  for (const t of texts) {
    tokens += engine.countTokens ? engine.countTokens(t) : t.length;
    if (tokens > max)
      throw new HttpProblem(
        'tooLarge',
        `the request has more than ${max} tokens, the per-request limit (--max-request-tokens); send fewer or shorter documents`,
      );
  }
}

/**
 * Check the request's token count, run `texts` through the micro-batcher, tag the entities' assertions in
 * `language` (when the model has the stage) and record their aggregate metrics.
 */
export async function extractTexts(
  ctx: AppContext,
  texts: readonly string[],
  language?: string,
): Promise<ExtractResult[]> {
  checkRequestTokens(ctx, texts);
  markParsed(texts);
  let results = await ctx.batcher.submit(texts, ctx.requestTimeoutMs);
  const stage = ctx.assertions;
  if (stage && language !== undefined)
    results = results.map((r, i) => ({ ...r, entities: stage.tag(language, texts[i]!, r.entities) }));
  for (const r of results) ctx.metrics.observeDocument(r);
  markExtracted(results);
  return results;
}
