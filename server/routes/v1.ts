/** `POST /v1/extract`: the project's own JSON API. */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Entity, ExtractResult } from '../../engine/types.js';
import { requireJsonContentType, jsonBody } from '../body.js';
import { extractTexts, type AppContext } from '../context.js';
import { HttpProblem } from '../problem.js';
import { checkTexts, parseOrThrow, v1ExtractSchema } from '../schemas/extract.js';
import { SHADOW_HEADER } from '../shadow.js';
import { methodNotAllowed, routeLabel } from './util.js';

/** The response's view of an entity: exactly these fields, whatever else the engine adds. */
export function entityJson(e: Entity): Entity {
  return { label: e.label, start: e.start, end: e.end, text: e.text, score: e.score };
}

export function modelJson(ctx: AppContext): { name: string; version: string; digest: string } {
  const { name, version, digest } = ctx.engine.info;
  return { name, version, digest };
}

/** 503 while warming up or draining; a load balancer retries elsewhere. */
export function ensureServing(ctx: AppContext): void {
  if (!ctx.state.ready) throw new HttpProblem('notReady', 'the model is still loading; retry shortly', { retryAfterSeconds: 1 });
}

/** After the response is sent, offer the request to the shadow server (never for a request that is itself a shadow). */
export function offerShadow(ctx: AppContext, req: Request, res: Response, texts: readonly string[], results: readonly ExtractResult[]): void {
  const shadow = ctx.shadow;
  if (!shadow || req.headers[SHADOW_HEADER] !== undefined) return;
  res.once('finish', () => {
    setImmediate(() =>
      shadow.offer(
        texts,
        results.map((r) => r.entities),
        String(req.id),
      ),
    );
  });
}

export function v1Router(ctx: AppContext, auth: RequestHandler[], maxBodyBytes: number): Router {
  const r = Router();
  const handler: RequestHandler = async (req, res) => {
    ensureServing(ctx);
    const body = parseOrThrow(v1ExtractSchema, req.body);
    if (body.text !== undefined) {
      const texts = [body.text];
      checkTexts(texts, ctx.limits, () => 'text');
      const results = await extractTexts(ctx, texts);
      const result = results[0]!;
      offerShadow(ctx, req, res, texts, results);
      res.type('application/json').send(JSON.stringify({ entities: result.entities.map(entityJson), model: modelJson(ctx) }));
      return;
    }
    const docs = body.documents ?? [];
    const texts = docs.map((d) => d.text);
    checkTexts(texts, ctx.limits, (i) => `documents.${i}.text`);
    const results = await extractTexts(ctx, texts);
    offerShadow(ctx, req, res, texts, results);
    res.type('application/json').send(
      JSON.stringify({
        results: docs.map((d, i) => ({ id: d.id, entities: results[i]!.entities.map(entityJson) })),
        model: modelJson(ctx),
      }),
    );
  };
  r.route('/v1/extract')
    .all(routeLabel('/v1/extract'))
    .post(...auth, requireJsonContentType, ...jsonBody(maxBodyBytes), handler)
    .all(methodNotAllowed(['POST']));
  return r;
}
