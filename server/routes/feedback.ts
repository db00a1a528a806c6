/**
 * `POST /v1/feedback`: a note with the entities a person verified. The server tags the note with its own
 * model (through the micro-batcher, like any extraction), counts true positives, false positives and false
 * negatives per entity type in `nerops_feedback_entities_total`, and, with a feedback store, appends the
 * document as CoNLL before answering. When the model has an assertion stage and the person verified an
 * entity's assertion, the attributes of the entities both found are compared in
 * `nerops_feedback_assertions_total`. The answer carries counts only; the text goes nowhere but the store.
 * See docs/feedback.md.
 */
import { Router } from 'express';
import { conllDocument, bioLabels } from '../../engine/feedback/record.js';
import { StoreFullError, type FeedbackStore } from '../../engine/feedback/store.js';
import { tokenize } from '../../engine/features/tokenize.js';
import type { TextSpan } from '../../engine/types.js';
import { readJson } from '../body.js';
import { checkRequestTokens, ensureServing, requestLanguage, type AppContext } from '../context.js';
import { sendJson, type Exchange } from '../exchange.js';
import { assertionAgreement, scoreEntities, totalCounts } from '../feedback/score.js';
import { HttpProblem } from '../problem.js';
import { checkFeedback, feedbackSchema, invalid } from '../schemas/feedback.js';
import { parseOrThrow } from '../schemas/extract.js';
import { modelJson, setContentLanguage } from './v1.js';
import { expressHandler, methodNotAllowed, routeLabel } from './util.js';

export const V1_FEEDBACK = '/v1/feedback';

/** Most verified entities in one feedback document (413 beyond). */
export const DEFAULT_MAX_FEEDBACK_ENTITIES = 1_000;

export interface FeedbackDeps {
  /** Where accepted documents are appended; absent, feedback is scored and counted but not kept. */
  store: FeedbackStore | undefined;
  /**
   * Token check of the feedback scope. Absent: with extract auth on, feedback is refused (403) since an
   * extract token must not write training data; with auth off, feedback is open like the rest of the API.
   */
  auth: ((authorization: string | undefined) => boolean) | undefined;
  maxEntities: number;
}

/** 401/403 unless the request may post feedback. Called before the body is read. */
function checkFeedbackAuth(ctx: AppContext, deps: FeedbackDeps, authorization: string | undefined): void {
  if (deps.auth) {
    if (!deps.auth(authorization))
      throw new HttpProblem('unauthorized', 'a bearer token of the feedback scope is required (--feedback-token-file)');
    return;
  }
  if (!ctx.auth) return;
  if (!ctx.auth(authorization))
    throw new HttpProblem('unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)');
  throw new HttpProblem(
    'forbidden',
    'feedback needs a token of the feedback scope; this server has none configured (--feedback-token-file)',
  );
}

/** The tokens the stored document is written in: the model's own, else the default crf tokenizer. */
function modelTokens(ctx: AppContext, text: string): TextSpan[] {
  return ctx.engine.tokenize ? ctx.engine.tokenize(text) : tokenize(text, { splitHyphens: true });
}

export async function handleFeedback(ctx: AppContext, ex: Exchange, deps: FeedbackDeps): Promise<void> {
  ex.route = V1_FEEDBACK;
  checkFeedbackAuth(ctx, deps, ex.req.headers.authorization);
  const language = requestLanguage(ctx, ex.req.headers['content-language']);
  const body = parseOrThrow(feedbackSchema, await readJson(ex.req, ctx.maxBodyBytes));
  const info = ctx.engine.info;
  checkFeedback(body, info.entityTypes, { ...ctx.limits, maxEntities: deps.maxEntities });
  const digest = body.model?.digest?.replace(/^sha256:/, '').toLowerCase();
  if (digest !== undefined && digest !== info.digest)
    throw new HttpProblem(
      'conflict',
      `model.digest names another model than this server's (${info.digest}); omit it to score against whichever model answers`,
    );
  // The same document is accepted or refused whether or not this pod keeps it: a correction the model's
  // tokens cannot express would not train, so it is refused here, before any work.
  const tokens = modelTokens(ctx, body.text);
  if (tokens.length === 0) throw invalid([{ path: 'text', message: 'text has no tokens' }]);
  const bio = bioLabels(tokens, body.entities);
  if ('misfit' in bio)
    throw invalid([
      {
        path: `entities.${bio.misfit.index}`,
        message: `${bio.misfit.problem} of the model's tokenizer; align the span with whole words`,
      },
    ]);
  ensureServing(ctx);
  checkRequestTokens(ctx, [body.text]);
  // Not extractTexts: a feedback note was usually extracted before, and must not count twice in drift.
  const [result] = await ctx.batcher.submit([body.text], ctx.requestTimeoutMs);
  const stage = ctx.assertions;
  const predicted =
    stage && language !== undefined ? stage.tag(language, body.text, result!.entities) : result!.entities;
  const perLabel = scoreEntities(body.entities, predicted);
  // Without a stage the model says nothing about assertions: nothing to agree or disagree with.
  const agreement = stage ? assertionAgreement(body.entities, predicted) : undefined;
  // Audited with the verified entities: what the person asserted is what this request wrote.
  ex.audit = { texts: [body.text], entities: [body.entities] };
  let stored = false;
  if (deps.store) {
    try {
      await deps.store.append(conllDocument(tokens, bio.labels));
      stored = true;
    } catch (err) {
      if (err instanceof StoreFullError)
        throw new HttpProblem('insufficientStorage', 'the feedback store is full; the document was not stored');
      ctx.log.error(
        { requestId: ex.id, errType: (err as Error).name, code: (err as { code?: string }).code },
        'feedback store write failed',
      );
      throw new HttpProblem('storeUnavailable', 'the feedback store could not be written; retry later', {
        retryAfterSeconds: 5,
      });
    }
  }
  // Counted once the document is accepted: a refused one is retried by the client and must not count twice.
  const m = ctx.metrics;
  for (const [label, c] of Object.entries(perLabel)) {
    if (c.tp) m.feedbackEntities.inc({ label, outcome: 'tp' }, c.tp);
    if (c.fp) m.feedbackEntities.inc({ label, outcome: 'fp' }, c.fp);
    if (c.fn) m.feedbackEntities.inc({ label, outcome: 'fn' }, c.fn);
  }
  for (const [attribute, c] of Object.entries(agreement ?? {})) {
    if (c.agree) m.feedbackAssertions.inc({ attribute, outcome: 'agree' }, c.agree);
    if (c.disagree) m.feedbackAssertions.inc({ attribute, outcome: 'disagree' }, c.disagree);
  }
  m.feedbackDocuments.inc({ stored: String(stored) });
  setContentLanguage(ex, language);
  sendJson(
    ex.res,
    JSON.stringify({
      model: modelJson(ctx),
      counts: totalCounts(perLabel),
      labels: perLabel,
      ...(agreement ? { assertions: agreement } : {}),
      stored,
    }),
  );
}

export function feedbackRouter(ctx: AppContext, deps: FeedbackDeps): Router {
  const r = Router();
  r.route(V1_FEEDBACK)
    .all(routeLabel(ctx, V1_FEEDBACK))
    .post(expressHandler(ctx, (c, ex) => handleFeedback(c, ex, deps)))
    .all(methodNotAllowed(['POST']));
  return r;
}
