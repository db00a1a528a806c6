/**
 * The thin part of the server: resolve the model source, load and verify the engine, build the app,
 * listen, and shut down gracefully. On SIGTERM/SIGINT: readiness fails at once; for `shutdownDelayMs` the
 * server keeps answering (closing each connection after its response) while Kubernetes removes the pod
 * from the Service's endpoints — closing the listener at once would refuse the requests that kube-proxy
 * still routes here during that propagation; then the listener stops accepting, idle keep-alive connections close, in-flight requests and queued documents finish, then
 * the engine closes; if that takes longer than `drainTimeoutMs` the remaining connections are cut.
 * The process is gone well within Kubernetes' default 30 s grace period (and our own 10 s budget).
 * With a metrics port (`metricsPort`), its listener keeps answering scrapes through the delay (they report
 * `nerops_ready 0`) and closes with the API listener.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { NerEngine } from '../engine/types.js';
import { createApp, type ServerApp, type ServerOptions } from './app.js';
import { UnsupportedLanguageError } from './assertions.js';
import type { FhirMapping } from './fhir/mapping.js';
import { createLogger } from './logger.js';
import type { ConstantLabels } from '../contracts/metrics.js';
import { ServeEnvFallback } from '../contracts/serve.js';
import { materializeBundle } from '../engine/bundle/model-source.js';
import type { ShadowOptions } from './shadow.js';
import { FeedbackStore, writerId } from '../engine/feedback/store.js';
import type { StoreLimits } from '../engine/feedback/segments.js';
import { localPath, pvcRootFromEnv } from '../engine/locations.js';
import type { AuditSinkSpec } from './audit/sink.js';

export interface ServeConfig {
  /** The audit log (server/audit/): where records go and the input-HMAC key; undefined: off. */
  audit?: { sink: AuditSinkSpec; hmacKey: Buffer | undefined } | undefined;
  /** Bundle source: a directory, a .tar/.tar.gz, file:// or http(s):// URI. */
  model: string;
  /** Expected bundle digest (sha256 of ner-model.json). Loading fails on mismatch. */
  modelDigest?: string | undefined;
  modelTokenFile?: string | undefined;
  modelCaFile?: string | undefined;
  /** Send the model token over plain http:// too (explicit opt-in; refused otherwise). */
  modelAllowInsecureHttp?: boolean | undefined;
  /** Where remote bundles are downloaded to; default a temp directory, removed at exit. */
  modelCacheDir?: string | undefined;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /**
   * A second listener on `host` serving only `GET /metrics` and `GET /healthz`; the API port then answers
   * `/metrics` 404. Unset: `/metrics` is on the API port. 0 picks a free port (tests).
   */
  metricsPort?: number | undefined;
  /** ONNX Runtime intra-op threads; default the engine's. */
  threads?: number | undefined;
  server?: Partial<ServerOptions>;
  labels?: Partial<ConstantLabels>;
  authTokenFile?: string | undefined;
  shadow?: ShadowOptions | undefined;
  /** `POST /v1/feedback`: the store (docs/feedback.md) and the feedback token scope. */
  feedback?: FeedbackConfig | undefined;
  /** Longest graceful drain before connections are cut. */
  drainTimeoutMs?: number;
  /** After SIGTERM, keep serving (unready) this long before the listener closes. Default 0. */
  shutdownDelayMs?: number;
  /** Assertion language of requests that do not say (`--assertion-language`); see AppDeps.assertionLanguage. */
  assertionLanguage?: string | undefined;
  /** Label → FHIR resource mapping (`--fhir-mapping`, `--fhir-family-history`). */
  fhirMapping?: FhirMapping | undefined;
  /** Install SIGTERM/SIGINT handlers (the CLI does; in-process tests call `shutdown` instead). */
  handleSignals?: boolean;
  logger?: Logger;
}

export interface FeedbackConfig {
  /** `pvc://claim/path` (under $NEROPS_PVC_ROOT), `file://` or a path; unset, feedback is counted, not stored. */
  storeUri?: string | undefined;
  limits?: Partial<StoreLimits> | undefined;
  /** This writer's name in the store (default: $POD_NAME, else the hostname), made unique per process. */
  podName?: string | undefined;
  /** Token hashes of the feedback scope. */
  tokenFile?: string | undefined;
}

/** Open the feedback store of `storeUri` as a new writer of this process. */
export async function openFeedbackStore(config: FeedbackConfig & { storeUri: string }): Promise<FeedbackStore> {
  const root = localPath(config.storeUri, pvcRootFromEnv());
  if (!root)
    throw new Error(`unsupported feedback store URI scheme: ${config.storeUri.split(':')[0]} (pvc:// or file://)`);
  const pod =
    config.podName || process.env[ServeEnvFallback.podName] || process.env[ServeEnvFallback.hostname] || hostname();
  return FeedbackStore.open({ root, writer: writerId(pod, randomBytes(4).toString('hex')), limits: config.limits });
}

export interface RunningServer {
  url: string;
  port: number;
  http: Server;
  /** Base URL that serves `/metrics`: the metrics listener's, or `url` when there is none. */
  metricsUrl: string;
  /** The metrics listener (`metricsPort` set), closed at shutdown with the API listener. */
  metrics: { port: number; http: Server } | undefined;
  app: ServerApp;
  engine: NerEngine;
  /** Graceful shutdown; resolves with the exit code (0 clean, 1 if the drain deadline cut connections). */
  shutdown(reason?: string): Promise<number>;
  /** Resolves with the exit code once a shutdown (by signal or by `shutdown()`) has completed. */
  done: Promise<number>;
}

export const DEFAULT_DRAIN_TIMEOUT_MS = 8_000;

/** The engine loader, imported lazily so that importing this module does not load ONNX Runtime. */
async function engineLoader(): Promise<typeof import('../engine/bundle/load.js').loadEngine> {
  return (await import('../engine/bundle/load.js')).loadEngine;
}

export async function startServer(config: ServeConfig): Promise<RunningServer> {
  const log = config.logger ?? createLogger();
  const started = Date.now();
  const bundle = await materializeBundle(config.model, {
    digest: config.modelDigest,
    tokenFile: config.modelTokenFile,
    caFile: config.modelCaFile,
    allowInsecureHttp: config.modelAllowInsecureHttp,
    workDir: config.modelCacheDir,
  });
  const loadEngine = await engineLoader();
  let engine: NerEngine;
  try {
    engine = await loadEngine(bundle.dir, {
      ...(config.modelDigest ? { expectedDigest: config.modelDigest } : {}),
      ...(config.threads ? { threads: config.threads } : {}),
    });
  } catch (err) {
    // A download that failed verification must not linger on disk.
    if (bundle.workDir && !config.modelCacheDir)
      await rm(bundle.workDir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  log.info(
    { model: engine.info.name, version: engine.info.version, digest: engine.info.digest, loadMs: Date.now() - started },
    'model loaded and verified',
  );

  let feedbackStore: FeedbackStore | undefined;
  if (config.feedback?.storeUri) {
    try {
      feedbackStore = await openFeedbackStore({ ...config.feedback, storeUri: config.feedback.storeUri });
    } catch (err) {
      await engine.close().catch(() => undefined);
      if (bundle.workDir && !config.modelCacheDir)
        await rm(bundle.workDir, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
    log.info({ writer: feedbackStore.writer, limits: feedbackStore.limits }, 'feedback store open');
  }
  let serverApp: ServerApp;
  try {
    serverApp = createApp({
      engine,
      logger: log,
      assertionLanguage: config.assertionLanguage,
      fhirMapping: config.fhirMapping,
      ...(config.server ? { options: config.server } : {}),
      ...(config.labels ? { labels: config.labels } : {}),
      ...(config.authTokenFile ? { auth: config.authTokenFile } : {}),
      ...(config.shadow ? { shadow: config.shadow } : {}),
      separateMetrics: config.metricsPort !== undefined,
      feedback: { store: feedbackStore, auth: config.feedback?.tokenFile },
      ...(config.audit ? { audit: config.audit } : {}),
    });
  } catch (err) {
    await engine.close();
    await feedbackStore?.close().catch(() => undefined);
    if (err instanceof UnsupportedLanguageError) throw new Error(`--assertion-language: ${err.message}`);
    throw err;
  }
  const httpServer = await listen(serverApp.handler, config.port, config.host, log);
  let metricsServer: Server | undefined;
  if (config.metricsPort !== undefined) {
    try {
      metricsServer = await listen(serverApp.metricsHandler, config.metricsPort, config.host, log);
    } catch (err) {
      // The metrics port is taken: nothing keeps running (the warm-up finishes before the engine closes).
      await new Promise((r) => httpServer.close(r));
      await serverApp.ready.catch(() => undefined);
      await feedbackStore?.close().catch(() => undefined);
      await engine.close().catch(() => undefined);
      if (bundle.workDir && !config.modelCacheDir)
        await rm(bundle.workDir, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }
  const listeners = metricsServer ? [httpServer, metricsServer] : [httpServer];
  const port = (httpServer.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':')
    ? `[${config.host}]`
    : config.host === '0.0.0.0'
      ? '127.0.0.1'
      : config.host;
  const url = `http://${hostForUrl}:${port}`;
  const metrics = metricsServer && { port: (metricsServer.address() as AddressInfo).port, http: metricsServer };
  const metricsUrl = metrics ? `http://${hostForUrl}:${metrics.port}` : url;
  log.info({ host: config.host, port, ...(metrics ? { metricsPort: metrics.port } : {}) }, 'listening');

  const drainTimeoutMs = config.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  let shuttingDown: Promise<number> | undefined;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  const shutdown = (reason = 'shutdown'): Promise<number> => {
    shuttingDown ??= (async () => {
      const t0 = Date.now();
      log.info(
        { reason, inflight: serverApp.state.inflight, queued: serverApp.batcher.queueDepth },
        'shutting down: draining in-flight requests',
      );
      serverApp.state.draining = true;
      serverApp.metrics.ready.set(0);
      if (config.shutdownDelayMs) await new Promise((r) => setTimeout(r, config.shutdownDelayMs));
      const closed = Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
      const closeIdle = () => listeners.forEach((l) => l.closeIdleConnections());
      closeIdle();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), drainTimeoutMs);
      });
      const drained = (async () => {
        while (serverApp.state.inflight > 0) {
          await new Promise((r) => setTimeout(r, 10));
          closeIdle();
        }
        await serverApp.drain();
        closeIdle();
        await closed;
        return 'drained' as const;
      })();
      const outcome = await Promise.race([drained, deadline]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        log.warn(
          { inflight: serverApp.state.inflight, drainTimeoutMs },
          'drain deadline reached; closing remaining connections',
        );
        for (const l of listeners) l.closeAllConnections();
      }
      await feedbackStore?.close().catch(() => undefined);
      await engine.close().catch((err: unknown) => log.warn({ errType: (err as Error).name }, 'engine close failed'));
      if (bundle.workDir && !config.modelCacheDir)
        await rm(bundle.workDir, { recursive: true, force: true }).catch(() => undefined);
      log.info({ ms: Date.now() - t0, outcome }, 'shutdown complete');
      const code = outcome === 'timeout' ? 1 : 0;
      resolveDone(code);
      return code;
    })();
    return shuttingDown;
  };

  if (config.handleSignals) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void shutdown(sig));
  }
  // Only unready until warm-up finishes; a warm-up failure keeps /readyz failing, which Kubernetes reports.
  await serverApp.ready.catch(() => undefined);
  return { url, port, http: httpServer, metricsUrl, metrics, app: serverApp, engine, shutdown, done };
}

/** A listening HTTP server for `handler`, with the socket timeouts every listener of ours has. */
async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port: number,
  host: string,
  log: Logger,
): Promise<Server> {
  const server = createServer(handler);
  server.listen({ port, host });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.on('error', (err) =>
    log.error({ errType: err.name, code: (err as NodeJS.ErrnoException).code }, 'http server error'),
  );
  // Slow or stuck clients must not hold sockets forever (and so block a drain).
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return server;
}
