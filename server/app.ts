/**
 * `createApp(deps)`: the inference server as an express app that does not listen. `main.ts` listens and
 * handles signals; tests mount the same app on an ephemeral port. Everything the app needs comes in
 * through `deps`, so several apps can coexist in one process (primary and shadow in the tests).
 */
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ExtractResult, NerEngine } from '../engine/types.js';
import { TokenFile } from './auth.js';
import { MicroBatcher } from './batcher.js';
import { problemFromHttpError } from './body.js';
import type { AppContext, ServerState } from './context.js';
import { createLogger, httpLogger } from './logger.js';
import { ServerMetrics, type ConstantLabels } from './metrics.js';
import { HttpProblem, sendProblem } from './problem.js';
import { healthRouter, PROBE_PATHS } from './routes/health.js';
import { v1Router } from './routes/v1.js';
import { v2Router } from './routes/v2.js';
import { ShadowClient, type ShadowOptions } from './shadow.js';

/** Tunables of the HTTP layer. Defaults are documented in the README ("Inference server API"). */
export interface ServerOptions {
  /** Most documents per engine call. */
  maxBatchSize: number;
  /** Longest a request waits for its batch to fill while the engine is idle. */
  maxBatchWaitMs: number;
  /** Most documents queued for the engine; beyond it requests get 503 + Retry-After. */
  maxQueue: number;
  /**
   * Engine calls in flight at once. 2 pipelines the work: ONNX Runtime scores one batch on its own thread
   * while the event loop tokenizes, featurizes and decodes the next.
   */
  maxConcurrentBatches: number;
  /** Deadline for a request's documents to be extracted; past it, 503. */
  requestTimeoutMs: number;
  /** Largest request body in bytes (after decompression); beyond it, 413. */
  maxBodyBytes: number;
  /** Largest document in characters (UTF-16 code units); beyond it, 413. */
  maxDocumentChars: number;
  /** Most documents in one request; beyond it, 413. */
  maxDocuments: number;
}

export const DEFAULT_SERVER_OPTIONS: Readonly<ServerOptions> = Object.freeze({
  maxBatchSize: 32,
  maxBatchWaitMs: 0,
  maxQueue: 512,
  maxConcurrentBatches: 2,
  requestTimeoutMs: 5_000,
  maxBodyBytes: 1024 * 1024,
  maxDocumentChars: 20_000,
  maxDocuments: 64,
});

export interface AppDeps {
  /** A loaded, verified engine. The app warms it up and reports ready afterwards; it never closes it. */
  engine: NerEngine;
  options?: Partial<ServerOptions>;
  /** Constant metric labels; unset ones default to "" (namespace, deployment, track) or the bundle's name/version. */
  labels?: Partial<ConstantLabels>;
  logger?: Logger;
  /** Bearer-token check; when absent the API is open. Accepts a token-hash file path or a loaded TokenFile. */
  auth?: string | Pick<TokenFile, 'verify'>;
  shadow?: ShadowOptions;
  /** Collect Node process metrics (CPU, RSS, event-loop lag) into the registry; default true. */
  processMetrics?: boolean;
  /** Source of randomness for shadow sampling (tests). */
  random?: () => number;
}

export interface ServerApp {
  app: Express;
  metrics: ServerMetrics;
  batcher: MicroBatcher<ExtractResult>;
  shadow: ShadowClient | undefined;
  state: ServerState;
  log: Logger;
  /** Resolves when the warm-up batch has run and the app reports ready (rejects if warm-up fails). */
  ready: Promise<void>;
  /** Stop taking work and wait for queued documents and shadow requests (bounded by the caller). */
  drain(): Promise<void>;
}

/** Route patterns that are probes: not counted in the request metrics, not logged per request. */
const PROBE_ROUTES = new Set(['/v2/models/:name/ready', '/v2/models/:name/versions/:version/ready']);

/** Documents the warm-up batch runs, so the first real request does not pay for lazy initialisation. */
const WARMUP_TEXTS = [
  'Patient presents with chest pain and shortness of breath.',
  'Started metformin 500 mg twice daily for type 2 diabetes.',
  'No known drug allergies.',
];

export function createApp(deps: AppDeps): ServerApp {
  const options: ServerOptions = { ...DEFAULT_SERVER_OPTIONS, ...definedOnly(deps.options ?? {}) };
  const log = deps.logger ?? createLogger();
  const { engine } = deps;
  const labels: ConstantLabels = {
    namespace: deps.labels?.namespace ?? '',
    deployment: deps.labels?.deployment ?? '',
    model: deps.labels?.model || engine.info.name,
    version: deps.labels?.version || engine.info.version,
    track: deps.labels?.track ?? 'stable',
  };
  const metrics = new ServerMetrics(labels, engine.info, engine.profile, { processMetrics: deps.processMetrics });
  const batcher = new MicroBatcher<ExtractResult>(
    (texts) => engine.extractBatch(texts),
    {
      maxBatchSize: options.maxBatchSize,
      maxWaitMs: options.maxBatchWaitMs,
      maxQueue: options.maxQueue,
      maxConcurrentBatches: options.maxConcurrentBatches,
    },
    { onBatch: (n) => metrics.batchSize.observe(n), onQueueDepth: (d) => metrics.queueDepth.set(d) },
  );
  const state: ServerState = { ready: false, draining: false, inflight: 0 };
  const shadow = deps.shadow ? new ShadowClient(deps.shadow, metrics, log.child({ component: 'shadow' }), deps.random) : undefined;
  const authCheck = typeof deps.auth === 'string' ? new TokenFile(deps.auth) : deps.auth;

  const ctx: AppContext = {
    engine,
    batcher,
    metrics,
    shadow,
    state,
    log,
    limits: { maxDocumentChars: options.maxDocumentChars, maxDocuments: options.maxDocuments },
    requestTimeoutMs: options.requestTimeoutMs,
    modelNames: new Set([engine.info.name, labels.model].filter((n) => n !== '')),
  };

  const auth: RequestHandler[] = authCheck
    ? [
        (req, _res, next) => {
          if (authCheck.verify(req.headers.authorization)) next();
          else next(new HttpProblem('unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)'));
        },
      ]
    : [];

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Request metrics first, so every response (including errors) is counted with its final status code.
  app.use((_req, res, next) => {
    const started = process.hrtime.bigint();
    state.inflight++;
    metrics.inflight.inc();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      state.inflight--;
      metrics.inflight.dec();
      const route = (res.locals.route as string | undefined) ?? 'unmatched';
      if (PROBE_PATHS.has(route) || PROBE_ROUTES.has(route)) return;
      metrics.requests.inc({ route, code: String(res.statusCode) });
      metrics.requestDuration.observe({ route }, Number(process.hrtime.bigint() - started) / 1e9);
    };
    res.once('finish', finish);
    res.once('close', finish);
    if (state.draining) res.setHeader('Connection', 'close');
    next();
  });
  app.use(httpLogger(log, PROBE_PATHS));
  app.use((req, res, next) => {
    // Probe paths label themselves so they stay out of the request metrics.
    if (PROBE_PATHS.has(req.path)) res.locals.route = req.path;
    next();
  });
  app.use(healthRouter(ctx));
  app.use(v1Router(ctx, auth, options.maxBodyBytes));
  app.use(v2Router(ctx, auth, options.maxBodyBytes));
  app.use((req, _res, next) => {
    next(new HttpProblem('notFound', `no route for ${req.method} ${req.path.slice(0, 128)}`));
  });
  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    const problem = problemFromHttpError(err, options.maxBodyBytes);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (problem) {
      res.locals.problem = problem.kind;
      sendProblem(res, problem, req.path.slice(0, 256), String(req.id));
      return;
    }
    // Unexpected: log the error's type and stack frames but not its message, which could quote input.
    const e = err instanceof Error ? err : new Error('non-error thrown');
    log.error({ requestId: req.id, errType: e.name, stack: (e.stack ?? '').split('\n').slice(1, 8).join('\n') }, 'unhandled error while serving a request');
    res.locals.problem = 'internal';
    sendProblem(res, new HttpProblem('internal', 'the server failed to process the request'), req.path.slice(0, 256), String(req.id));
  };
  app.use(onError);

  const ready = (async () => {
    await engine.extractBatch(WARMUP_TEXTS);
    state.ready = true;
    metrics.ready.set(1);
    log.info({ model: engine.info.name, version: engine.info.version, digest: engine.info.digest }, 'model warmed up; ready');
  })();
  ready.catch((err: unknown) => {
    log.error({ errType: (err as Error).name }, 'model warm-up failed; staying unready');
  });

  return {
    app,
    metrics,
    batcher,
    shadow,
    state,
    log,
    ready,
    async drain() {
      state.draining = true;
      metrics.ready.set(0);
      await batcher.drain();
      if (shadow) await shadow.idle();
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
