/**
 * The Open Inference Protocol (KServe v2 / Triton HTTP) subset a text model needs, so existing clients
 * work unchanged. The model takes one BYTES input `text` (shape [N], one document per element) and returns
 * one BYTES output `entities` (shape [N]), each element the JSON array of that document's entities.
 */
import { Router, type RequestHandler } from 'express';
import { jsonBody, requireJsonContentType } from '../body.js';
import { extractTexts, type AppContext } from '../context.js';
import { HttpProblem } from '../problem.js';
import { checkTexts, flattenTensorData, parseOrThrow, v2InferSchema } from '../schemas/extract.js';
import { ensureServing, entityJson, offerShadow } from './v1.js';
import { methodNotAllowed, routeLabel } from './util.js';

export const V2_INPUT = 'text';
export const V2_OUTPUT = 'entities';

const SERVER_VERSION = '0.1.0';

export function v2Router(ctx: AppContext, auth: RequestHandler[], maxBodyBytes: number): Router {
  const r = Router();
  const info = ctx.engine.info;

  const findModel: RequestHandler = (req, _res, next) => {
    const name = String(req.params.name);
    const version = req.params.version === undefined ? undefined : String(req.params.version);
    if (!ctx.modelNames.has(name)) {
      next(new HttpProblem('notFound', `no model named '${name}' is served here; this server serves '${info.name}'`));
      return;
    }
    if (version !== undefined && version !== info.version) {
      next(new HttpProblem('notFound', `model '${name}' has no version '${version}'; this server serves version '${info.version}'`));
      return;
    }
    next();
  };

  const metadata: RequestHandler = (_req, res) => {
    res.json({
      name: info.name,
      versions: [info.version],
      platform: `nerops_${info.format.replace(/-/g, '_')}`,
      inputs: [{ name: V2_INPUT, datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: V2_OUTPUT, datatype: 'BYTES', shape: [-1] }],
      parameters: { digest: info.digest, entity_types: info.entityTypes },
    });
  };

  const modelReady: RequestHandler = (_req, res) => {
    const ready = ctx.state.ready && !ctx.state.draining;
    res.status(ready ? 200 : 503).json({ name: info.name, ready });
  };

  const infer: RequestHandler = async (req, res) => {
    ensureServing(ctx);
    const body = parseOrThrow(v2InferSchema, req.body);
    const input = body.inputs[0]!;
    if (input.name !== V2_INPUT) throw new HttpProblem('invalidRequest', `inputs.0.name: unknown input; the model's input is '${V2_INPUT}'`);
    if (input.datatype !== 'BYTES') throw new HttpProblem('invalidRequest', `inputs.0.datatype: must be BYTES, got ${input.datatype.slice(0, 16)}`);
    for (const o of body.outputs ?? []) {
      if (o.name !== V2_OUTPUT) throw new HttpProblem('invalidRequest', `outputs: unknown output; the model's output is '${V2_OUTPUT}'`);
    }
    const data = flattenTensorData(input.data, ctx.limits.maxDocuments);
    const expected = input.shape.reduce((a, b) => a * b, 1);
    if (input.shape.length === 0 || expected !== data.length) {
      throw new HttpProblem('invalidRequest', `inputs.0.shape ${JSON.stringify(input.shape.slice(0, 8))} does not match ${data.length} data elements`);
    }
    const texts: string[] = [];
    data.forEach((d, i) => {
      if (typeof d !== 'string') throw new HttpProblem('invalidRequest', `inputs.0.data.${i}: BYTES elements must be strings`);
      if (d.length === 0) throw new HttpProblem('invalidRequest', `inputs.0.data.${i}: text must not be empty`);
      texts.push(d);
    });
    checkTexts(texts, ctx.limits, (i) => `inputs.0.data.${i}`);
    const results = await extractTexts(ctx, texts);
    offerShadow(ctx, req, res, texts, results);
    const out: Record<string, unknown> = {
      model_name: info.name,
      model_version: info.version,
      outputs: [
        {
          name: V2_OUTPUT,
          datatype: 'BYTES',
          shape: [texts.length],
          data: results.map((r) => JSON.stringify(r.entities.map(entityJson))),
        },
      ],
    };
    if (body.id !== undefined) out.id = body.id;
    res.type('application/json').send(JSON.stringify(out));
  };

  r.route('/v2')
    .all(routeLabel('/v2'))
    .get(...auth, (_req, res) => {
      res.json({ name: 'nerops', version: SERVER_VERSION, extensions: [] });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    r.route(base)
      .all(routeLabel(base))
      .get(...auth, findModel, metadata)
      .all(methodNotAllowed(['GET', 'HEAD']));
    r.route(`${base}/ready`)
      .all(routeLabel(`${base}/ready`))
      .get(findModel, modelReady)
      .all(methodNotAllowed(['GET', 'HEAD']));
    r.route(`${base}/infer`)
      .all(routeLabel(`${base}/infer`))
      .post(...auth, findModel, requireJsonContentType, ...jsonBody(maxBodyBytes), infer)
      .all(methodNotAllowed(['POST']));
  }
  return r;
}
