/**
 * Controllers and the manager that runs them.
 *
 * A controller names a primary resource, the resources it owns (their events enqueue the controlling
 * owner found in ownerReferences) and related resources it watches with a mapping function. The manager
 * shares one informer per (resource, label selector) between controllers, feeds each controller's work
 * queue, and calls `reconcile(key, ctx)` with the error policy of STYLE.md:
 * NotFound → done; 409 Conflict → requeue now; any other error → requeue with per-key backoff; success →
 * backoff reset, plus a timed requeue when the result asks for one. Each reconcile logs one
 * "reconcile done" line with its duration.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { ClusterClient, controllerOf, type ClusterClientOptions, type EventSpec } from './client.js';
import { systemClock, type Clock } from './clock.js';
import { Informer, type CacheReader, type InformerEvent, type InformerOptions } from './informer.js';
import { setCondition, type Condition } from './conditions.js';
import { isConflict, isNotFound, type KubeClient } from './kube.js';
import { CHILD_CONFLICT_REASON, isChildConflict, type ChildConflictError } from './ownership.js';
import { OperatorMetrics } from './metrics.js';
import { DEFAULT_QUEUE_OPTIONS, TokenBucket, WorkQueue, type WorkQueueOptions } from './queue.js';
import { groupOf, keyOf, makeKey, parseKey, resourceLabel, type ObjectKey, type ResourceType } from './resource.js';
import { endReconcileSpan, inSpan, startReconcileSpan } from './tracing.js';

/** What a reconcile asks for next. */
/** How one reconcile ended: the `result` label of the reconcile metrics. */
type ReconcileOutcome = 'success' | 'requeue' | 'conflict' | 'notfound' | 'error' | 'deleted';

export interface ReconcileResult {
  /** Reconcile this key again after this many ms (pauses, analysis intervals, stabilization windows). */
  requeueAfterMs?: number;
}

/** Everything a reconcile needs, built fresh for each call. */
export interface ReconcileContext<T extends KubernetesObject = KubernetesObject> {
  key: ObjectKey;
  /** Namespace of the primary (undefined for cluster-scoped kinds). */
  namespace: string | undefined;
  name: string;
  /** The primary object from the cache at the start of this reconcile (never undefined in `reconcile`). */
  object: T;
  /** Child logger with controller, kind, namespace, name and generation. */
  log: Logger;
  /** The manager's clock (inject a fake one in tests). */
  clock: Clock;
  /** `new Date(clock.now())`. */
  now(): Date;
  /** The primary resource's cache. */
  primary: CacheReader<T>;
  /** The cache of any resource this controller owns or watches (throws for others). */
  cache<U extends KubernetesObject = KubernetesObject>(rt: ResourceType): CacheReader<U>;
  /** Apply, status, delete, events. */
  client: ClusterClient;
  /** Aborted when the manager stops or loses leadership: long waits inside a reconcile should honour it. */
  signal: AbortSignal;
}

/** Maps an event on a watched related object to the primary keys to reconcile. */
export type MapFunction = (
  obj: KubernetesObject,
  caches: { cache<U extends KubernetesObject = KubernetesObject>(rt: ResourceType): CacheReader<U> },
) => ObjectKey[];

/** A resource the controller owns or watches, optionally narrowed by a label selector. */
export interface WatchedResource {
  resource: ResourceType;
  /** Only cache objects matching this selector (e.g. `app.kubernetes.io/managed-by=nerops`). */
  labelSelector?: string;
}

/** A controller definition handed to the manager. */
export interface ControllerSpec<T extends KubernetesObject = KubernetesObject> {
  /** Unique name (metrics label, logs), e.g. `nerdeployment`. */
  name: string;
  /** The primary resource; its keys are what the queue holds. */
  resource: ResourceType;
  /** Label selector for the primary's informer. */
  labelSelector?: string;
  /** Owned child kinds: a change to a child enqueues its controller owner when that owner is of the primary kind. */
  owns?: Array<ResourceType | WatchedResource>;
  /** Related kinds: a change maps to primary keys through `map`. */
  watches?: Array<WatchedResource & { map: MapFunction }>;
  /**
   * Which updates of the primary enqueue it: `generation` (default) = spec changes, plus changes to labels,
   * annotations, finalizers or deletionTimestamp — so our own status writes do not trigger a reconcile;
   * `all` = every new resourceVersion.
   */
  primaryUpdates?: 'generation' | 'all';
  /** Reconciles one primary object. */
  reconcile(key: ObjectKey, ctx: ReconcileContext<T>): Promise<ReconcileResult | void>;
  /** Called instead of `reconcile` when the key is no longer in the cache (the object was deleted). */
  onDeleted?(key: ObjectKey, ctx: Omit<ReconcileContext<T>, 'object'>): Promise<void>;
  /** Parallel reconciles of this controller (default: the manager's concurrency). */
  concurrency?: number;
  /** Queue tuning for this controller; setting `qps`/`burst` gives it its own bucket instead of the shared one. */
  queue?: Omit<WorkQueueOptions, 'clock' | 'onDepth' | 'concurrency' | 'limiter'>;
}

export interface ManagerOptions {
  client: KubeClient;
  logger: Logger;
  metrics?: OperatorMetrics;
  /** Watch one namespace; undefined = all namespaces. */
  namespace?: string;
  /** Default reconciles in parallel per controller (default 4). */
  concurrency?: number;
  /** Defaults for every controller's queue; `qps`/`burst` here form one bucket shared by all controllers. */
  queue?: Omit<WorkQueueOptions, 'clock' | 'onDepth' | 'concurrency' | 'limiter'>;
  /** Defaults for every informer (watchdog, resync, backoff). */
  informer?: Omit<InformerOptions, 'clock' | 'logger' | 'namespace' | 'labelSelector'>;
  clock?: Clock;
  /** Identity for Events' reportingInstance (pod name). */
  identity?: string;
  /** Told about every Event the controllers record, with the object as it was when recorded. */
  onEvent?: (regarding: KubernetesObject, spec: EventSpec) => void;
  /** Options for the ClusterClient handed to reconcilers. */
  clientOptions?: Omit<ClusterClientOptions, 'clock' | 'logger' | 'identity' | 'observer'>;
  /**
   * A reconcile still running after this long gets `ctx.signal` aborted and a warning logged (default
   * 5 min). The key stays in flight until the reconcile returns: it is never run twice at once.
   */
  reconcileTimeoutMs?: number;
}

/**
 * Cached objects keep only our own managedFields entry (the SSA skip check reads it); the others (the
 * controller-manager's status updates, kubectl's edits) are dropped to save memory.
 */
export function keepOwnManagedFields(fieldManager: string): (obj: KubernetesObject) => KubernetesObject {
  return (obj) => {
    const mf = obj.metadata?.managedFields;
    if (!mf || mf.every((e) => e.manager === fieldManager)) return obj;
    return { ...obj, metadata: { ...obj.metadata, managedFields: mf.filter((e) => e.manager === fieldManager) } };
  };
}

interface Registered {
  spec: ControllerSpec<KubernetesObject>;
  queue: WorkQueue;
  primary: Informer;
  caches: Map<ResourceType, Informer>;
}

/** Runs informers and controllers; processing can be paused and resumed (leader election). */
export class ControllerManager {
  readonly client: ClusterClient;
  readonly kube: KubeClient;
  readonly metrics: OperatorMetrics;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #options: ManagerOptions;
  readonly #informers = new Map<string, Informer>();
  readonly #controllers: Registered[] = [];
  /** The global reconcile rate limit, shared by every controller's queue. */
  readonly #limiter: TokenBucket;
  #processing = false;
  #started = false;
  #abort = new AbortController();

  constructor(options: ManagerOptions) {
    this.#options = options;
    this.kube = options.client;
    this.#log = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.metrics = options.metrics ?? new OperatorMetrics({ defaultMetrics: false });
    this.#limiter = new TokenBucket(
      options.queue?.qps ?? DEFAULT_QUEUE_OPTIONS.qps,
      options.queue?.burst ?? DEFAULT_QUEUE_OPTIONS.burst,
      this.#clock,
    );
    const m = this.metrics;
    this.client = new ClusterClient(options.client, {
      ...options.clientOptions,
      clock: this.#clock,
      logger: options.logger,
      ...(options.identity ? { identity: options.identity } : {}),
      observer: {
        write: (kind, op) => m.writes.inc({ kind, op }),
        skipped: (kind, op) => m.writesSkipped.inc({ kind, op }),
        ...(options.onEvent ? { recorded: options.onEvent } : {}),
      },
    });
    options.client.onRequest((verb, _path, code) => m.apiRequests.inc({ verb, code: String(code) }));
  }

  /**
   * The shared informer for `rt` (created on first use; started with the manager). Useful for caches a
   * controller reads without watching (pass the same selector to share).
   */
  informer<T extends KubernetesObject = KubernetesObject>(rt: ResourceType, labelSelector?: string): Informer<T> {
    const id = `${resourceLabel(rt)}/${rt.version}?${labelSelector ?? ''}`;
    let inf = this.#informers.get(id);
    if (!inf) {
      inf = new Informer(this.kube, rt, {
        ...this.#options.informer,
        ...(this.#options.namespace ? { namespace: this.#options.namespace } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        transform: keepOwnManagedFields(this.client.fieldManager),
        clock: this.#clock,
        logger: this.#log,
      });
      const label = resourceLabel(rt);
      const informer = inf;
      inf.on((ev) => {
        this.metrics.watchEvents.inc({ resource: label, type: ev.type });
        if (ev.type === 'restarted') this.metrics.watchRestarts.inc({ resource: label, reason: ev.reason });
        this.metrics.cacheObjects.set({ resource: label }, informer.size);
      });
      this.#informers.set(id, inf);
      if (this.#started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  /** Adds a controller (before or after start). */
  register<T extends KubernetesObject>(spec: ControllerSpec<T>): void {
    const s = spec as unknown as ControllerSpec<KubernetesObject>;
    if (this.#controllers.some((c) => c.spec.name === s.name)) throw new Error(`controller ${s.name} registered twice`);
    const queue = new WorkQueue({
      ...this.#options.queue,
      ...s.queue,
      concurrency: s.concurrency ?? this.#options.concurrency ?? 4,
      clock: this.#clock,
      ...(s.queue?.qps === undefined && s.queue?.burst === undefined ? { limiter: this.#limiter } : {}),
      onDepth: (d) => this.metrics.queueDepth.set({ controller: s.name }, d),
    });
    const primary = this.informer(s.resource, s.labelSelector);
    const caches = new Map<ResourceType, Informer>([[s.resource, primary]]);
    const reg: Registered = { spec: s, queue, primary, caches };
    this.#controllers.push(reg);

    primary.on((ev) => this.#onPrimary(reg, ev));
    for (const o of s.owns ?? []) {
      const w = 'resource' in o ? o : { resource: o };
      const inf = this.informer(w.resource, w.labelSelector);
      caches.set(w.resource, inf);
      inf.on((ev) => {
        const objs = eventObjects(ev);
        for (const obj of objs) {
          const owner = controllerOf(obj);
          if (!owner || owner.kind !== s.resource.kind || groupOf(owner.apiVersion) !== s.resource.group) continue;
          queue.add(makeKey(s.resource.namespaced ? obj.metadata?.namespace : undefined, owner.name));
        }
      });
    }
    for (const w of s.watches ?? []) {
      const inf = this.informer(w.resource, w.labelSelector);
      caches.set(w.resource, inf);
      const cacheAccess = { cache: <U extends KubernetesObject>(rt: ResourceType) => this.#cacheFor<U>(reg, rt) };
      inf.on((ev) => {
        for (const obj of eventObjects(ev)) {
          let keys: ObjectKey[] = [];
          try {
            keys = w.map(obj, cacheAccess);
          } catch (err) {
            this.#log.error({ err, controller: s.name }, 'watch map function failed');
          }
          for (const k of keys) queue.add(k);
        }
      });
    }
    if (this.#processing) this.#startQueue(reg);
  }

  /** Starts every informer (caches fill whether or not this instance leads). */
  start(): void {
    this.#started = true;
    for (const inf of this.#informers.values()) inf.start();
  }

  /** True once every informer has completed its first list. */
  synced(): boolean {
    for (const inf of this.#informers.values()) if (!inf.hasSynced()) return false;
    return this.#started;
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync(signal)));
  }

  /** Starts reconciling (on becoming leader, or at once without leader election). Enqueues every cached primary. */
  startProcessing(): void {
    if (this.#processing) return;
    this.#processing = true;
    if (this.#abort.signal.aborted) this.#abort = new AbortController();
    this.metrics.leader.set(1);
    for (const reg of this.#controllers) this.#startQueue(reg);
  }

  /** Stops starting reconciles at once (lost lease); in-flight reconciles see `ctx.signal` aborted. */
  pauseProcessing(): void {
    this.#processing = false;
    this.metrics.leader.set(0);
    this.#abort.abort(new Error('processing paused'));
    for (const reg of this.#controllers) reg.queue.pause();
  }

  get processing(): boolean {
    return this.#processing;
  }

  /** Stops reconciling, waits for in-flight reconciles (up to `drainTimeoutMs`), stops every informer. */
  async stop(drainTimeoutMs = 30_000): Promise<void> {
    this.#processing = false;
    const drained = await Promise.all(this.#controllers.map((c) => c.queue.shutdown(drainTimeoutMs)));
    if (drained.some((d) => !d)) this.#log.warn({ drainTimeoutMs }, 'some reconciles were still running at shutdown');
    this.#abort.abort(new Error('manager stopped'));
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
    this.metrics.leader.set(0);
  }

  /** The work queue of a controller (tests, metrics). */
  queue(controller: string): WorkQueue | undefined {
    return this.#controllers.find((c) => c.spec.name === controller)?.queue;
  }

  #startQueue(reg: Registered): void {
    for (const obj of reg.primary.list()) reg.queue.add(keyOf(obj));
    reg.queue.start((key) => this.#reconcile(reg, key));
  }

  #onPrimary(reg: Registered, ev: InformerEvent<KubernetesObject>): void {
    switch (ev.type) {
      case 'added':
      case 'deleted':
        reg.queue.add(keyOf(ev.object));
        return;
      case 'updated':
        if ((reg.spec.primaryUpdates ?? 'generation') === 'all' || specChanged(ev.old, ev.object))
          reg.queue.add(keyOf(ev.object));
        return;
      case 'resync':
        for (const obj of reg.primary.list()) reg.queue.add(keyOf(obj));
        return;
      default:
        return;
    }
  }

  /** Ready=False (ChildConflict) on the primary, keeping the rest of its status, and one Warning Event. */
  async #reportChildConflict(spec: ControllerSpec, object: KubernetesObject, err: ChildConflictError): Promise<void> {
    const status = ((object as { status?: Record<string, unknown> }).status ?? {}) as Record<string, unknown>;
    const conditions = setCondition(
      status.conditions as Condition[] | undefined,
      childConflictCondition(err, object.metadata?.generation),
      new Date(this.#clock.now()),
    );
    await this.client.applyStatus(spec.resource, object, { ...status, conditions });
    await this.client.event(object, { type: 'Warning', reason: CHILD_CONFLICT_REASON, note: err.message });
  }

  #cacheFor<U extends KubernetesObject>(reg: Registered, rt: ResourceType): CacheReader<U> {
    const inf =
      reg.caches.get(rt) ?? [...reg.caches.entries()].find(([k]) => k.kind === rt.kind && k.group === rt.group)?.[1];
    if (!inf)
      throw new Error(`controller ${reg.spec.name} does not watch ${resourceLabel(rt)}; add it to owns or watches`);
    return inf as unknown as CacheReader<U>;
  }

  async #reconcile(reg: Registered, key: ObjectKey): Promise<void> {
    if (!this.#processing) {
      // Leadership was lost between dequeue and now: put the key back for whoever leads next.
      reg.queue.add(key);
      return;
    }
    const { spec, queue } = reg;
    const started = this.#clock.now();
    const { namespace, name } = parseKey(key);
    const object = reg.primary.getByKey(key);
    const log = this.#log.child({
      controller: spec.name,
      kind: spec.resource.kind,
      ...(namespace ? { namespace } : {}),
      name,
      ...(object?.metadata?.generation !== undefined ? { generation: object.metadata.generation } : {}),
      reconcileId: randomBytes(4).toString('hex'),
    });
    const timeoutMs = this.#options.reconcileTimeoutMs ?? 5 * 60_000;
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(timeoutMs)]);
    const onTimeout = () => {
      if (!this.#abort.signal.aborted) log.warn({ timeoutMs }, 'reconcile is taking too long; its signal was aborted');
    };
    signal.addEventListener('abort', onTimeout, { once: true });
    const base = {
      key,
      namespace,
      name,
      log,
      clock: this.#clock,
      now: () => new Date(this.#clock.now()),
      primary: reg.primary,
      cache: <U extends KubernetesObject>(rt: ResourceType) => this.#cacheFor<U>(reg, rt),
      client: this.client,
      signal,
    };
    let result: ReconcileOutcome = 'success';
    let requeueAfterMs: number | undefined;
    const span = startReconcileSpan(spec.name, spec.resource.kind, namespace, name, object);
    try {
      if (!object) {
        result = 'deleted';
        await inSpan(span, async () => spec.onDeleted?.(key, base));
        queue.forget(key);
      } else {
        const r = await inSpan(span, () => spec.reconcile(key, { ...base, object }));
        queue.forget(key);
        if (r?.requeueAfterMs !== undefined && r.requeueAfterMs >= 0) {
          requeueAfterMs = r.requeueAfterMs;
          result = 'requeue';
          queue.addAfter(key, requeueAfterMs);
        }
      }
    } catch (err) {
      result = await this.#onReconcileError(reg, key, object, err, log);
    } finally {
      signal.removeEventListener('abort', onTimeout);
      const durationMs = this.#clock.now() - started;
      this.metrics.reconcileTotal.inc({ controller: spec.name, result });
      this.metrics.reconcileDuration.observe({ controller: spec.name }, durationMs / 1000);
      log.info({ result, durationMs, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) }, 'reconcile done');
      endReconcileSpan(span, result, requeueAfterMs);
    }
  }

  /** What a failed reconcile becomes: requeued at once (conflict), with backoff (error), or dropped (not found). */
  async #onReconcileError(
    reg: Registered,
    key: ObjectKey,
    object: KubernetesObject | undefined,
    err: unknown,
    log: Logger,
  ): Promise<ReconcileOutcome> {
    const { spec, queue } = reg;
    if (isNotFound(err)) {
      // The object (or something it needs) vanished mid-reconcile; its deletion event brings it back if needed.
      queue.forget(key);
      log.debug({ err }, 'not found during reconcile');
      return 'notfound';
    }
    if (isChildConflict(err) && object) {
      // A child's name is taken by an object that is not ours: nothing was written. Say so on the primary
      // and retry with backoff (the other object may be removed or the primary renamed).
      const delay = queue.addRateLimited(key);
      log.warn({ kind: err.kind, child: err.childName, retryInMs: delay }, 'child conflict: not applied');
      await this.#reportChildConflict(spec, object, err).catch((e: unknown) =>
        log.warn({ err: e }, 'could not report the child conflict'),
      );
      return 'error';
    }
    if (isConflict(err)) {
      // Someone wrote the object after we read it: our view is stale, try again at once with the new one.
      queue.add(key);
      log.debug({ err }, 'conflict, requeued');
      return 'conflict';
    }
    const delay = queue.addRateLimited(key);
    this.metrics.reconcileErrors.inc({ controller: spec.name });
    log.error({ err, retryInMs: delay, failures: queue.failures(key) }, 'reconcile failed');
    return 'error';
  }
}

/** The Ready=False condition and Warning Event a {@link ChildConflictError} becomes on its primary. */
export function childConflictCondition(err: ChildConflictError, generation: number | undefined) {
  return {
    type: 'Ready',
    status: 'False' as const,
    reason: CHILD_CONFLICT_REASON,
    message: err.message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

function eventObjects(ev: InformerEvent<KubernetesObject>): KubernetesObject[] {
  switch (ev.type) {
    case 'added':
    case 'deleted':
      return [ev.object];
    case 'updated':
      // Both: a child whose owner changed must wake the old and the new owner.
      return [ev.object, ev.old];
    default:
      return [];
  }
}

/** True when an update of a primary is worth a reconcile under the `generation` policy. */
export function specChanged(old: KubernetesObject, obj: KubernetesObject): boolean {
  const a = old.metadata ?? {};
  const b = obj.metadata ?? {};
  if (a.generation !== b.generation) return true;
  if (a.deletionTimestamp !== b.deletionTimestamp) return true;
  if (JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {})) return true;
  if (JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {})) return true;
  if (JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? [])) return true;
  // Objects without generation (ConfigMaps, Secrets): any change of content counts.
  if (b.generation === undefined) return a.resourceVersion !== b.resourceVersion;
  return false;
}
