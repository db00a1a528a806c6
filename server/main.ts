/**
 * The thin part of the server: resolve the model source, load and verify the engine, build the app,
 * listen, and shut down gracefully. On SIGTERM/SIGINT: readiness fails at once; for `shutdownDelayMs` the
 * server keeps answering (closing each connection after its response) while Kubernetes removes the pod
 * from the Service's endpoints — closing the listener at once would refuse the requests that kube-proxy
 * still routes here during that propagation; then the listener stops accepting, idle keep-alive connections close, in-flight requests and queued documents finish, then
 * the engine closes; if that takes longer than `drainTimeoutMs` the remaining connections are cut.
 * The process is gone well within Kubernetes' default 30 s grace period (and our own 10 s budget).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { NerEngine } from '../engine/types.js';
import { createApp, type ServerApp, type ServerOptions } from './app.js';
import { createLogger } from './logger.js';
import type { ConstantLabels } from '../contracts/metrics.js';
import { materializeBundle } from '../engine/bundle/model-source.js';
import type { ShadowOptions } from './shadow.js';

export interface ServeConfig {
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
  /** ONNX Runtime intra-op threads; default the engine's. */
  threads?: number | undefined;
  server?: Partial<ServerOptions>;
  labels?: Partial<ConstantLabels>;
  authTokenFile?: string | undefined;
  shadow?: ShadowOptions | undefined;
  /** Longest graceful drain before connections are cut. */
  drainTimeoutMs?: number;
  /** After SIGTERM, keep serving (unready) this long before the listener closes. Default 0. */
  shutdownDelayMs?: number;
  /** Install SIGTERM/SIGINT handlers (the CLI does; in-process tests call `shutdown` instead). */
  handleSignals?: boolean;
  logger?: Logger;
}

export interface RunningServer {
  url: string;
  port: number;
  http: Server;
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

  const serverApp = createApp({
    engine,
    logger: log,
    ...(config.server ? { options: config.server } : {}),
    ...(config.labels ? { labels: config.labels } : {}),
    ...(config.authTokenFile ? { auth: config.authTokenFile } : {}),
    ...(config.shadow ? { shadow: config.shadow } : {}),
  });
  const httpServer = createServer(serverApp.handler);
  httpServer.listen({ port: config.port, host: config.host });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('listening', resolve);
    httpServer.once('error', reject);
  });
  httpServer.on('error', (err) =>
    log.error({ errType: err.name, code: (err as NodeJS.ErrnoException).code }, 'http server error'),
  );
  // Slow or stuck clients must not hold sockets forever (and so block a drain).
  httpServer.requestTimeout = 30_000;
  httpServer.headersTimeout = 10_000;
  httpServer.keepAliveTimeout = 5_000;
  const port = (httpServer.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':')
    ? `[${config.host}]`
    : config.host === '0.0.0.0'
      ? '127.0.0.1'
      : config.host;
  const url = `http://${hostForUrl}:${port}`;
  log.info({ host: config.host, port }, 'listening');

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
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), drainTimeoutMs);
      });
      const drained = (async () => {
        while (serverApp.state.inflight > 0) {
          await new Promise((r) => setTimeout(r, 10));
          httpServer.closeIdleConnections();
        }
        await serverApp.drain();
        httpServer.closeIdleConnections();
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
        httpServer.closeAllConnections();
      }
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
  return { url, port, http: httpServer, app: serverApp, engine, shutdown, done };
}
