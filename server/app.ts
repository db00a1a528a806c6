/**
 * `createApp(deps)`: the inference server as an express app that does not listen. `main.ts` listens and
 * handles signals; tests mount the same app on an ephemeral port. Everything the app needs comes in
 * through `deps`, so several apps can coexist in one process (primary and shadow in the tests).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from 'pino';
import type { ExtractResult, NerEngine } from '../engine/types.js';
import { AssertionStage } from './assertions.js';
import type { FeedbackStore } from '../engine/feedback/store.js';
import { TokenFile } from './auth.js';
import type { AuditLog } from './audit/audit-log.js';
import { createAuditSink, type AuditSinkSpec } from './audit/sink.js';
import { MicroBatcher } from './batcher.js';
import { clientProblem } from './body.js';
import type { AppContext, ServerState } from './context.js';
import { beginExchange, requestPath, respondError } from './exchange.js';
import { createLogger } from './logger.js';
import type { ConstantLabels } from '../contracts/metrics.js';
import { ServerMetrics } from './metrics.js';
import { metricsPortHandler } from './metrics-port.js';
import { DEFAULT_FHIR_MAPPING, type FhirMapping } from './fhir/mapping.js';
import { HttpProblem } from './problem.js';
import { DEFAULT_MAX_FEEDBACK_ENTITIES, feedbackRouter } from './routes/feedback.js';
import { healthRouter } from './routes/health.js';
import { handleExtract, V1_EXTRACT, v1Router } from './routes/v1.js';
import { handleInfer, v2Router } from './routes/v2.js';
import { ShadowClient, type ShadowOptions } from './shadow.js';
import { traceRequest } from './tracing.js';

/** Tunables of the HTTP layer. Defaults are documented in docs/server.md ("Configuration"). */
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
  /** Most tokens (as the model tokenizes) in one request; beyond it, 413. */
  maxRequestTokens: number;
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
  // Above what realistic clinical text inside the body limit holds; refuses requests made mostly of
  // one-character tokens, which cost several times the work per byte (docs/server.md, "Memory").
  maxRequestTokens: 262_144,
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
  /**
   * `/metrics` is served by `metricsHandler` on a listener of its own (`--metrics-port`), not by the API:
   * there it answers 404 like any unknown path. Default false (one port serves both).
   */
  separateMetrics?: boolean;
  /**
   * Language of the assertion stage when a request does not say (`--assertion-language`); default the bundle's
   * rules' language. With a model that has no rules of its own, setting it runs the shipped rules of that
   * language. Throws UnsupportedLanguageError (server/assertions.ts) for a language without rules.
   */
  assertionLanguage?: string | undefined;
  /** Label → FHIR resource mapping (`--fhir-mapping`); default {@link DEFAULT_FHIR_MAPPING}. */
  fhirMapping?: FhirMapping | undefined;
  /** The audit log: its sink spec and the input-HMAC key (server/audit/); absent: no audit records. */
  audit?: { sink: AuditSinkSpec; hmacKey: Buffer | undefined };
  /** `POST /v1/feedback` (docs/feedback.md). Absent: feedback is scored and counted, nothing is stored. */
  feedback?: {
    /** The open feedback store; the caller closes it after the drain. */
    store?: FeedbackStore | undefined;
    /** Token hashes of the feedback scope (path or loaded file); see routes/feedback.ts for auth without it. */
    auth?: string | Pick<TokenFile, 'verify'> | undefined;
    /** Most verified entities per document (default 1000). */
    maxEntities?: number | undefined;
  };
}

export interface ServerApp {
  /** The full app: every route, as express middleware. */
  app: Express;
  /**
   * The handler to give `http.createServer`: the two inference endpoints are dispatched straight to
   * their handlers (the same functions the express routes call, so behaviour is identical), everything
   * else goes through express. Express's per-request cost is several times the engine's per-document
   * cost, so the hot path skips it.
   */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The handler of the metrics port: `GET /metrics` and `GET /healthz` only (server/metrics-port.ts). */
  metricsHandler: (req: IncomingMessage, res: ServerResponse) => void;
  ctx: AppContext;
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

/** Documents the warm-up batch runs, so the first real request does not pay for lazy initialisation. */
const WARMUP_TEXTS = [
  'Patient presents with chest pain and shortness of breath.',
  'Started metformin 500 mg twice daily for type 2 diabetes.',
  'No known drug allergies.',
];

function auditLogFor(deps: AppDeps, track: string): AuditLog | undefined {
  const sink = deps.audit ? createAuditSink(deps.audit.sink) : undefined;
  if (!sink) return undefined;
  const { name, version, digest } = deps.engine.info;
  return { sink, hmacKey: deps.audit?.hmacKey, model: { name, version, digest }, track };
}

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
  const assertions = AssertionStage.forModel(engine.assertionRules, deps.assertionLanguage);
  const metrics = new ServerMetrics(labels, engine.info, engine.profile, {
    processMetrics: deps.processMetrics,
    assertions: assertions !== undefined,
  });
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
  const shadow = deps.shadow
    ? new ShadowClient(deps.shadow, metrics, log.child({ component: 'shadow' }), deps.random)
    : undefined;
  const authCheck = typeof deps.auth === 'string' ? new TokenFile(deps.auth) : deps.auth;

  const ctx: AppContext = {
    engine,
    batcher,
    metrics,
    shadow,
    state,
    log,
    limits: {
      maxDocumentChars: options.maxDocumentChars,
      maxDocuments: options.maxDocuments,
      maxRequestTokens: options.maxRequestTokens,
    },
    requestTimeoutMs: options.requestTimeoutMs,
    modelNames: new Set([engine.info.name, labels.model].filter((n) => n !== '')),
    maxBodyBytes: options.maxBodyBytes,
    auth: authCheck ? (h) => authCheck.verify(h) : undefined,
    assertions,
    fhirMapping: deps.fhirMapping ?? DEFAULT_FHIR_MAPPING,
    audit: auditLogFor(deps, labels.track),
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Every request gets its id, access-log line and metrics first, so errors are counted with their status.
  app.use((req, res, next) => {
    beginExchange(ctx, req, res);
    next();
  });
  app.use(healthRouter(ctx, { metrics: !deps.separateMetrics }));
  app.use(v1Router(ctx));
  const feedbackAuth =
    typeof deps.feedback?.auth === 'string' ? new TokenFile(deps.feedback.auth) : deps.feedback?.auth;
  app.use(
    feedbackRouter(ctx, {
      store: deps.feedback?.store,
      auth: feedbackAuth ? (h) => feedbackAuth.verify(h) : undefined,
      maxEntities: deps.feedback?.maxEntities ?? DEFAULT_MAX_FEEDBACK_ENTITIES,
    }),
  );
  app.use(v2Router(ctx));
  app.use((req, _res, next) => {
    next(new HttpProblem('notFound', 'no route for this method and path; see docs/server.md for the API'));
  });
  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    respondError(ctx, beginExchange(ctx, req, res), err, clientProblem);
  };
  app.use(onError);

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'POST') {
      const path = requestPath(req.url);
      if (path === V1_EXTRACT) {
        const ex = beginExchange(ctx, req, res);
        traceRequest(ctx, ex, () => handleExtract(ctx, ex)).catch((err: unknown) =>
          respondError(ctx, ex, err, clientProblem),
        );
        return;
      }
      const m = INFER_PATH.exec(path);
      const params = m ? decodeParams(m[1], m[2]) : undefined;
      if (params) {
        const ex = beginExchange(ctx, req, res);
        traceRequest(ctx, ex, () => handleInfer(ctx, ex, params)).catch((err: unknown) =>
          respondError(ctx, ex, err, clientProblem),
        );
        return;
      }
    }
    app(req, res);
  };

  const ready = (async () => {
    await engine.extractBatch(WARMUP_TEXTS);
    state.ready = true;
    metrics.ready.set(1);
    log.info(
      { model: engine.info.name, version: engine.info.version, digest: engine.info.digest },
      'model warmed up; ready',
    );
  })();
  ready.catch((err: unknown) => {
    log.error({ errType: (err as Error).name }, 'model warm-up failed; staying unready');
  });

  return {
    app,
    handler,
    metricsHandler: metricsPortHandler(ctx),
    ctx,
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
      if (shadow) {
        await shadow.idle();
        shadow.close();
      }
      // Responses of the drained documents end right after; their records still get written first.
      await new Promise((r) => setImmediate(r));
      await ctx.audit?.sink.close();
    },
  };
}

const INFER_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer$/;

/** Percent-decoded path parameters, or undefined (malformed encoding: let express answer it). */
function decodeParams(name: string | undefined, version: string | undefined): Record<string, string> | undefined {
  try {
    if (name === undefined) return undefined;
    return version === undefined
      ? { name: decodeURIComponent(name) }
      : { name: decodeURIComponent(name), version: decodeURIComponent(version) };
  } catch {
    return undefined;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
