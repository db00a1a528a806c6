/**
 * The operator process: one ControllerManager (informers + controllers), optional Lease leader election,
 * and a small HTTP server with /metrics, /healthz and /readyz. `ner-ops operator` parses flags and calls
 * {@link runOperator}; tests call it in-process.
 *
 * Lifecycle: caches start at once on every replica (a standby has warm caches, so a takeover is quick);
 * reconciling starts when this replica leads (or at once without leader election). Losing the lease stops
 * reconciling immediately and ends the process with exit code 1, so it restarts with a clean slate.
 * `stop()` (SIGTERM) stops reconciling, drains in-flight reconciles, releases the lease, stops watches.
 */
import http from 'node:http';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ClusterAccess } from './runtime/kubeconfig.js';
import type { Logger } from 'pino';
import { ControllerManager, type ManagerOptions } from './runtime/controller.js';
import { KubeClient, type RequestObserver } from './runtime/kube.js';
import { LeaderElector, type LeaderElectionOptions } from './runtime/leader.js';
import { OperatorMetrics } from './runtime/metrics.js';
import type { Clock } from './runtime/clock.js';
import type { ModelStorageDefaults } from './controllers/model-storage.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { EventSpec } from './runtime/client.js';
import { Notifier } from './notifications/notifier.js';
import type { DeliveryOptions } from './notifications/delivery.js';
import { controllerConfig, type ControllerDeps, type ControllerFactory } from './config.js';

export type { ControllerConfig, ControllerDeps, ControllerFactory } from './config.js';
/** The controllers `ner-ops operator` runs, and its logger: the CLI reaches the operator through this module. */
export { controllers } from './controllers/index.js';
export { createOperatorLogger } from './runtime/logger.js';

import type { TenantPolicyOptions } from './config.js';

export interface OperatorOptions {
  /** A client-node KubeConfig, or the light loader's result (runtime/kubeconfig.ts). */
  kubeConfig: ClusterAccess;
  logger: Logger;
  /** Watch and reconcile one namespace; undefined = all. */
  namespace?: string;
  prometheusUrl?: string;
  /** OTLP/HTTP traces URL the served pods export to (the operator's own, contracts/tracing.ts); unset: off. */
  otlpTracesUrl?: string;
  /** Image for the pods the operator creates (passed to controllers as `deps.image`). */
  image?: string;
  /** Default model storage (passed to controllers as `deps.modelStorage`). */
  modelStorage?: ModelStorageDefaults;
  /** What tenants' specs may run (`--allowed-service-accounts`, `--allowed-image-registries`): lists or list text. */
  tenant?: TenantPolicyOptions;
  /** Metrics/health server; port 0 picks a free port; `false` disables the server. */
  metrics?: { host: string; port: number } | false;
  /** Lease leader election; `false` = this instance always leads. */
  leaderElection?:
    | false
    | (Omit<
        LeaderElectionOptions,
        'onStartedLeading' | 'onStoppedLeading' | 'onNewLeader' | 'logger' | 'clock' | 'identity'
      > & { identity?: string });
  /** Reconciles in parallel per controller (default 4). */
  concurrency?: number;
  /** Queue and informer tuning passed to the manager. */
  queue?: ManagerOptions['queue'];
  informer?: ManagerOptions['informer'];
  /** Run only the controllers with these names (default: all given). */
  only?: readonly string[];
  /** How long shutdown waits for in-flight reconciles (default 30 s). */
  drainTimeoutMs?: number;
  clock?: Clock;
  /**
   * Called after every API request the operator sends, from the first informer list on (tests check them
   * against the permission table, operator/permissions.ts).
   */
  onRequest?: RequestObserver;
  /**
   * Notifications for the receivers of each namespace's `nerops-notifications` ConfigMap (default on;
   * docs/operations.md, "Notifications"). Delivery options are for tests.
   */
  notifications?: false | { delivery?: DeliveryOptions; configTtlMs?: number };
}

/** A running operator. */
export interface OperatorHandle {
  manager: ControllerManager;
  metrics: OperatorMetrics;
  kube: KubeClient;
  elector: LeaderElector | undefined;
  /** `http://host:port` of the metrics/health server, when enabled. */
  url: string | undefined;
  /** Stops gracefully (idempotent); resolves when everything is stopped. */
  stop(): Promise<void>;
  /** Resolves with the exit code: 0 after stop(), 1 when the leader lease was lost. */
  done: Promise<number>;
  /** Readiness as /readyz reports it. */
  ready(): boolean;
}

/** Default identity: the pod name (HOSTNAME) plus a random suffix so a restarted pod is a new candidate. */
export function defaultIdentity(): string {
  return `${process.env.POD_NAME ?? process.env.HOSTNAME ?? hostname()}_${randomBytes(4).toString('hex')}`;
}

/** The controllers built from the configuration, registered with the manager (only those `only` names). */
function registerControllers(
  manager: ControllerManager,
  options: OperatorOptions,
  controllers: readonly ControllerFactory[],
  deps: ControllerDeps,
): void {
  const specs = controllers.map((c) => (typeof c === 'function' ? c(deps) : c));
  const unknown = (options.only ?? []).filter((n) => !specs.some((s) => s.name === n));
  if (unknown.length)
    throw new Error(
      `unknown controllers: ${unknown.join(', ')} (known: ${specs.map((s) => s.name).join(', ') || 'none'})`,
    );
  for (const spec of specs) if (!options.only || options.only.includes(spec.name)) manager.register(spec);
  options.logger.info(
    {
      controllers: specs.filter((s) => !options.only || options.only.includes(s.name)).map((s) => s.name),
      namespace: options.namespace ?? '(all)',
    },
    'operator starting',
  );
}

/** What the health endpoints report. */
interface HealthState {
  stopping(): boolean;
  ready(): boolean;
  /** One line for /readyz: caches and leadership. */
  detail(): string;
}

/** The /metrics, /healthz and /readyz server, listening; resolves with its URL. */
async function startHealthServer(
  listen: { host: string; port: number },
  metrics: OperatorMetrics,
  health: HealthState,
  log: Logger,
): Promise<{ server: http.Server; url: string | undefined }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        (err: unknown) => {
          log.error({ err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
    } else if (path === '/healthz') {
      const stopping = health.stopping();
      res.writeHead(stopping ? 503 : 200, { 'content-type': 'text/plain' }).end(stopping ? 'stopping\n' : 'ok\n');
    } else if (path === '/readyz') {
      const ok = !health.stopping() && health.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(health.detail());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address();
  const url =
    addr && typeof addr === 'object'
      ? `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
      : undefined;
  log.info({ url }, 'metrics and health server listening');
  return { server, url };
}

function managerFor(
  options: OperatorOptions,
  kube: KubeClient,
  metrics: OperatorMetrics,
  identity: string,
  onEvent: (regarding: KubernetesObject, spec: EventSpec) => void,
) {
  return new ControllerManager({
    client: kube,
    onEvent,
    logger: options.logger,
    metrics,
    identity,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.queue ? { queue: options.queue } : {}),
    ...(options.informer ? { informer: options.informer } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}

/** Lifecycle state shared by the elector callbacks, the health server and stop(). */
interface Lifecycle {
  leading: boolean;
  stopping?: Promise<void>;
}

/**
 * Reconciling against half-filled caches resolves nothing (a NerModel not listed yet looks missing,
 * flipping status back and forth) and turns no-op applies into writes: start only once every informer has
 * completed its first list, and only if we still lead by then.
 */
function startWhenSynced(manager: ControllerManager, life: Lifecycle): void {
  void manager.waitForSync().then(
    () => {
      if (life.leading && !life.stopping) manager.startProcessing();
    },
    () => undefined,
  );
}

function electorFor(
  options: OperatorOptions,
  kube: KubeClient,
  identity: string,
  manager: ControllerManager,
  life: Lifecycle,
): LeaderElector | undefined {
  if (!options.leaderElection) return undefined;
  return new LeaderElector(kube, {
    ...options.leaderElection,
    identity,
    logger: options.logger,
    ...(options.clock ? { clock: options.clock } : {}),
    onStartedLeading: () => {
      life.leading = true;
      startWhenSynced(manager, life);
    },
    // Stop at once: another replica may already be reconciling.
    onStoppedLeading: () => {
      life.leading = false;
      manager.pauseProcessing();
    },
  });
}

export async function runOperator(
  options: OperatorOptions,
  controllers: readonly ControllerFactory[],
): Promise<OperatorHandle> {
  const log = options.logger;
  // First: a bad flag value stops the operator before it starts anything.
  const config = controllerConfig(options);
  const metrics = new OperatorMetrics();
  const kube = new KubeClient(options.kubeConfig);
  if (options.onRequest) kube.onRequest(options.onRequest);
  const identity = (options.leaderElection ? options.leaderElection.identity : undefined) ?? defaultIdentity();
  // The notifier reads through the manager's client, which is built with the hook that feeds it.
  let notifier: Notifier | undefined;
  const manager = managerFor(options, kube, metrics, identity, (o, e) => notifier?.notify(o, e));
  if (options.notifications !== false)
    notifier = new Notifier({
      client: manager.client,
      logger: log,
      registry: metrics.registry,
      ...(options.notifications ?? {}),
    });
  const deps: ControllerDeps = {
    namespace: options.namespace,
    config,
    logger: log,
    clock: options.clock,
    metrics,
  };
  registerControllers(manager, options, controllers, deps);

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const life: Lifecycle = { leading: false };
  const elector = electorFor(options, kube, identity, manager, life);
  const ready = () => manager.synced() && (!elector || elector.isLeader() || elector.observed);
  const health: HealthState = {
    stopping: () => life.stopping !== undefined,
    ready,
    detail: () =>
      `caches ${manager.synced() ? 'synced' : 'syncing'}; ${elector ? (elector.isLeader() ? 'leader' : `standby (leader ${elector.leader ?? 'unknown'})`) : 'leader election off'}\n`,
  };
  const listening =
    options.metrics !== false
      ? await startHealthServer(options.metrics ?? { host: '0.0.0.0', port: 8081 }, metrics, health, log)
      : undefined;
  const server = listening?.server;

  const stop = (code = 0): Promise<void> => {
    life.stopping ??= (async () => {
      log.info('operator stopping');
      manager.pauseProcessing();
      elector?.stop();
      await manager.stop(options.drainTimeoutMs ?? 30_000);
      // Release only after in-flight reconciles finished, so the next leader never overlaps with them.
      await elector?.release();
      // Notifications already queued get a moment to leave; a receiver that is down loses them (they are
      // a convenience, the Events and status remain).
      notifier?.close();
      if (notifier) await Promise.race([notifier.flush(), new Promise((r) => setTimeout(r, 5000).unref())]);
      kube.close();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server?.closeAllConnections();
      log.info('operator stopped');
      resolveDone(code);
    })();
    return life.stopping;
  };

  manager.start();
  if (elector) {
    metrics.leader.set(0);
    void elector.run().then((outcome) => {
      if (outcome === 'lost') {
        log.error('leader lease lost: stopping the operator');
        void stop(1);
      }
    });
  } else {
    life.leading = true;
    startWhenSynced(manager, life);
  }
  void manager.waitForSync().then(
    () => log.info('caches synced'),
    () => undefined,
  );

  return { manager, metrics, kube, elector, url: listening?.url, stop: () => stop(0), done, ready };
}
