/**
 * The Open Inference Protocol (KServe v2 / Triton HTTP) subset a text model needs, so existing clients
 * work unchanged. The model takes one BYTES input `text` (shape [N], one document per element) and returns
 * one BYTES output `entities` (shape [N]), each element the JSON array of that document's entities; a model
 * with an assertion stage adds the `assertion_*` tensors ({@link V2_ASSERTION_OUTPUTS}).
 */
import { Router, type RequestHandler } from 'express';
import { readJson } from '../body.js';
import type { Entity, ExtractResult } from '../../engine/types.js';
import { checkAuth, ensureServing, extractTexts, requestLanguage, type AppContext } from '../context.js';
import { sendJson, type Exchange } from '../exchange.js';
import { HttpProblem } from '../problem.js';
import { checkTexts, flattenTensorData, parseOrThrow, v2InferSchema } from '../schemas/extract.js';
import { entityJson, offerShadow, setContentLanguage } from './v1.js';
import { expressHandler, methodNotAllowed, routeLabel } from './util.js';

export const V2_INPUT = 'text';
export const V2_OUTPUT = 'entities';

/**
 * The assertion stage's output tensors (models with the stage only): one element per entity, over every
 * document's entities in order (document 0's first, in the order of its `entities` element), so shape [E]
 * where E is the total entity count; the i-th element belongs to the i-th entity of that flattened list.
 */
export const V2_ASSERTION_OUTPUTS = [
  { name: 'assertion_negated', datatype: 'BOOL' },
  { name: 'assertion_certainty', datatype: 'BYTES' },
  { name: 'assertion_temporality', datatype: 'BYTES' },
  { name: 'assertion_experiencer', datatype: 'BYTES' },
] as const;

/** The model's output tensors: `entities`, plus the assertion tensors when it has the stage. */
function outputNames(ctx: AppContext): string[] {
  return [V2_OUTPUT, ...(ctx.assertions ? V2_ASSERTION_OUTPUTS.map((o) => o.name) : [])];
}

/** Every output tensor of `results`, in {@link outputNames} order. */
function outputTensors(ctx: AppContext, results: readonly ExtractResult[]) {
  const out: { name: string; datatype: string; shape: number[]; data: unknown[] }[] = [
    {
      name: V2_OUTPUT,
      datatype: 'BYTES',
      shape: [results.length],
      data: results.map((r) => JSON.stringify(r.entities.map(entityJson))),
    },
  ];
  if (!ctx.assertions) return out;
  const entities = results.flatMap((r) => r.entities);
  const column = (pick: (e: Entity) => unknown) => entities.map(pick);
  const values: Record<(typeof V2_ASSERTION_OUTPUTS)[number]['name'], unknown[]> = {
    assertion_negated: column((e) => e.assertion?.negated ?? false),
    assertion_certainty: column((e) => e.assertion?.certainty ?? 'certain'),
    assertion_temporality: column((e) => e.assertion?.temporality ?? 'current'),
    assertion_experiencer: column((e) => e.assertion?.experiencer ?? 'patient'),
  };
  for (const o of V2_ASSERTION_OUTPUTS)
    out.push({ name: o.name, datatype: o.datatype, shape: [entities.length], data: values[o.name] });
  return out;
}

const SERVER_VERSION = '0.1.0';

/**
 * 404 unless `name` (and `version`, when given) is the model this server serves. The message names what
 * is served, never the requested name or version (path text is client input).
 */
export function checkModel(ctx: AppContext, name: string, version: string | undefined): void {
  const info = ctx.engine.info;
  if (!ctx.modelNames.has(name))
    throw new HttpProblem('notFound', `the requested model is not served here; this server serves '${info.name}'`);
  if (version !== undefined && version !== info.version) {
    throw new HttpProblem(
      'notFound',
      `the requested model version is not served here; this server serves version '${info.version}'`,
    );
  }
}

export const V2_INFER = '/v2/models/:name/infer';
export const V2_INFER_VERSION = '/v2/models/:name/versions/:version/infer';

/** `POST /v2/models/{name}[/versions/{version}]/infer`: auth, model, body, tensor checks, extraction. */
export async function handleInfer(ctx: AppContext, ex: Exchange, params: Record<string, string>): Promise<void> {
  const { name = '', version } = params;
  ex.route = version === undefined ? V2_INFER : V2_INFER_VERSION;
  checkAuth(ctx, ex.req.headers.authorization);
  checkModel(ctx, name, version);
  const language = requestLanguage(ctx, ex.req.headers['content-language']);
  const body = parseOrThrow(v2InferSchema, await readJson(ex.req, ctx.maxBodyBytes));
  const input = body.inputs[0]!;
  if (input.name !== V2_INPUT)
    throw new HttpProblem('invalidRequest', `inputs.0.name: unknown input; the model's input is '${V2_INPUT}'`);
  if (input.datatype !== 'BYTES') throw new HttpProblem('invalidRequest', 'inputs.0.datatype: must be BYTES');
  const names = outputNames(ctx);
  for (const o of body.outputs ?? []) {
    if (!names.includes(o.name))
      throw new HttpProblem(
        'invalidRequest',
        names.length === 1
          ? `outputs: unknown output; the model's output is '${V2_OUTPUT}'`
          : `outputs: unknown output; the model's outputs are ${names.map((n) => `'${n}'`).join(', ')}`,
      );
  }
  const data = flattenTensorData(input.data, ctx.limits.maxDocuments);
  const expected = input.shape.reduce((a, b) => a * b, 1);
  if (input.shape.length === 0 || expected !== data.length) {
    throw new HttpProblem(
      'invalidRequest',
      `inputs.0.shape: its ${input.shape.length} dimension(s) do not match the ${data.length} data elements`,
    );
  }
  const texts: string[] = [];
  data.forEach((d, i) => {
    if (typeof d !== 'string')
      throw new HttpProblem('invalidRequest', `inputs.0.data.${i}: BYTES elements must be strings`);
    if (d.length === 0) throw new HttpProblem('invalidRequest', `inputs.0.data.${i}: text must not be empty`);
    texts.push(d);
  });
  checkTexts(texts, ctx.limits, (i) => `inputs.0.data.${i}`);
  ensureServing(ctx);
  const results = await extractTexts(ctx, texts, language);
  ex.audit = { texts, entities: results.map((r) => r.entities) };
  offerShadow(ctx, ex, texts, results, language);
  setContentLanguage(ex, language);
  const info = ctx.engine.info;
  // Requested outputs only, when the request names some (Open Inference Protocol); all of them otherwise.
  const requested = body.outputs?.length ? new Set(body.outputs.map((o) => o.name)) : undefined;
  const out: Record<string, unknown> = {
    model_name: info.name,
    model_version: info.version,
    outputs: outputTensors(ctx, results).filter((o) => !requested || requested.has(o.name)),
  };
  if (body.id !== undefined) out.id = body.id;
  sendJson(ex.res, JSON.stringify(out));
}

export function v2Router(ctx: AppContext): Router {
  const r = Router();
  const info = ctx.engine.info;
  const auth: RequestHandler = (req, _res, next) => {
    checkAuth(ctx, req.headers.authorization);
    next();
  };
  const findModel: RequestHandler = (req, _res, next) => {
    checkModel(ctx, String(req.params.name), req.params.version === undefined ? undefined : String(req.params.version));
    next();
  };
  const metadata: RequestHandler = (_req, res) => {
    sendJson(
      res,
      JSON.stringify({
        name: info.name,
        versions: [info.version],
        platform: `nerops_${info.format.replace(/-/g, '_')}`,
        inputs: [{ name: V2_INPUT, datatype: 'BYTES', shape: [-1] }],
        outputs: [
          { name: V2_OUTPUT, datatype: 'BYTES', shape: [-1] },
          ...(ctx.assertions ? V2_ASSERTION_OUTPUTS.map((o) => ({ ...o, shape: [-1] })) : []),
        ],
        parameters: {
          digest: info.digest,
          entity_types: info.entityTypes,
          ...(ctx.assertions ? { assertion_languages: ctx.assertions.languages } : {}),
        },
      }),
    );
  };
  const modelReady: RequestHandler = (_req, res) => {
    const ready = ctx.state.ready && !ctx.state.draining;
    sendJson(res, JSON.stringify({ name: info.name, ready }), ready ? 200 : 503);
  };

  r.route('/v2')
    .all(routeLabel(ctx, '/v2'))
    .get(auth, (_req, res) => {
      sendJson(res, JSON.stringify({ name: 'nerops', version: SERVER_VERSION, extensions: [] }));
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    r.route(base)
      .all(routeLabel(ctx, base))
      .get(auth, findModel, metadata)
      .all(methodNotAllowed(['GET', 'HEAD']));
    r.route(`${base}/ready`)
      .all(routeLabel(ctx, `${base}/ready`))
      .get(findModel, modelReady)
      .all(methodNotAllowed(['GET', 'HEAD']));
    r.route(`${base}/infer`)
      .all(routeLabel(ctx, `${base}/infer`))
      .post(expressHandler(ctx, handleInfer))
      .all(methodNotAllowed(['POST']));
  }
  return r;
}
