/** `POST /v1/extract`: the project's own JSON API. */
import { Router } from 'express';
import type { Entity, ExtractResult } from '../../engine/types.js';
import { readJson } from '../body.js';
import { checkAuth, ensureServing, extractTexts, requestLanguage, type AppContext } from '../context.js';
import { sendJson, type Exchange } from '../exchange.js';
import { toFhirBundle, type FhirDocument } from '../fhir/bundle.js';
import { responseFormat, sendFhir } from '../negotiate.js';
import { checkTexts, parseOrThrow, v1ExtractSchema } from '../schemas/extract.js';
import { SHADOW_HEADER } from '../shadow.js';
import { expressHandler, methodNotAllowed, routeLabel } from './util.js';

export const V1_EXTRACT = '/v1/extract';

/**
 * The response's view of an entity: exactly these fields, whatever else the engine adds; `assertion` only when
 * the model has an assertion stage (clients of models without one see the same answer as before).
 */
export function entityJson(e: Entity): Entity {
  const out: Entity = { label: e.label, start: e.start, end: e.end, text: e.text, score: e.score };
  const a = e.assertion;
  if (a)
    out.assertion = {
      negated: a.negated,
      certainty: a.certainty,
      temporality: a.temporality,
      experiencer: a.experiencer,
    };
  return out;
}

/** Say which language the assertions were made in (only when they were). */
export function setContentLanguage(ex: Exchange, language: string | undefined): void {
  if (language !== undefined) ex.res.setHeader('content-language', language);
}

export function modelJson(ctx: AppContext): { name: string; version: string; digest: string } {
  const { name, version, digest } = ctx.engine.info;
  return { name, version, digest };
}

/** After the response is sent, offer the request to the shadow server (never for a request that is itself a shadow). */
export function offerShadow(
  ctx: AppContext,
  ex: Exchange,
  texts: readonly string[],
  results: readonly ExtractResult[],
  language?: string,
): void {
  const shadow = ctx.shadow;
  if (!shadow || ex.req.headers[SHADOW_HEADER] !== undefined) return;
  ex.res.once('finish', () => {
    setImmediate(() =>
      shadow.offer(
        texts,
        results.map((r) => r.entities),
        ex.id,
        language,
      ),
    );
  });
}

/** The whole request: auth, body, validation, extraction, response. Throws problems for the caller to send. */
export async function handleExtract(ctx: AppContext, ex: Exchange): Promise<void> {
  ex.route = V1_EXTRACT;
  checkAuth(ctx, ex.req.headers.authorization);
  const format = responseFormat(ex.req.headers.accept);
  const language = requestLanguage(ctx, ex.req.headers['content-language']);
  const body = parseOrThrow(v1ExtractSchema, await readJson(ex.req, ctx.maxBodyBytes));
  if (body.text !== undefined) {
    const texts = [body.text];
    checkTexts(texts, ctx.limits, () => 'text');
    ensureServing(ctx);
    const results = await extractTexts(ctx, texts, language);
    ex.audit = { texts, entities: results.map((r) => r.entities) };
    offerShadow(ctx, ex, texts, results, language);
    setContentLanguage(ex, language);
    if (format === 'fhir') {
      sendBundle(ctx, ex, [{ entities: results[0]!.entities, subject: body.subject }]);
      return;
    }
    sendJson(ex.res, JSON.stringify({ entities: results[0]!.entities.map(entityJson), model: modelJson(ctx) }));
    return;
  }
  const docs = body.documents ?? [];
  const texts = docs.map((d) => d.text);
  checkTexts(texts, ctx.limits, (i) => `documents.${i}.text`);
  ensureServing(ctx);
  const results = await extractTexts(ctx, texts, language);
  ex.audit = { texts, entities: results.map((r) => r.entities) };
  offerShadow(ctx, ex, texts, results, language);
  setContentLanguage(ex, language);
  if (format === 'fhir') {
    sendBundle(
      ctx,
      ex,
      docs.map((d, i) => ({ id: d.id, entities: results[i]!.entities, subject: d.subject ?? body.subject })),
    );
    return;
  }
  sendJson(
    ex.res,
    JSON.stringify({
      results: docs.map((d, i) => ({ id: d.id, entities: results[i]!.entities.map(entityJson) })),
      model: modelJson(ctx),
    }),
  );
}

/** The FHIR R4 Bundle of the request's documents (server/fhir/bundle.ts). */
function sendBundle(ctx: AppContext, ex: Exchange, documents: FhirDocument[]): void {
  const bundle = toFhirBundle(documents, modelJson(ctx), { mapping: ctx.fhirMapping, now: new Date() });
  sendFhir(ex.res, JSON.stringify(bundle));
}

export function v1Router(ctx: AppContext): Router {
  const r = Router();
  r.route(V1_EXTRACT)
    .all(routeLabel(ctx, V1_EXTRACT))
    .post(expressHandler(ctx, handleExtract))
    .all(methodNotAllowed(['POST']));
  return r;
}
