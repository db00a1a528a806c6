/**
 * List + watch of one resource type into a local cache keyed by `namespace/name`.
 *
 * Unlike client-node's ListWatch (which relists on 410 Gone but stops on any other error), this loop
 * never gives up while started:
 * - any list or watch failure (HTTP error, reset connection, unparsable stream, ERROR event) is followed
 *   by a relist after a jittered exponential backoff (`relistBackoffMs` … `relistBackoffMaxMs`);
 * - a watch that stays silent (no event, no bookmark, no byte) longer than `watchdogMs` is aborted and
 *   restarted from the last resourceVersion (a 410 on that restart then relists); the server replays
 *   everything after that version, so nothing a hung connection swallowed is lost;
 * - a watch the server closes normally (its `timeoutSeconds`) is resumed from the last resourceVersion;
 * - every `resyncMs` a `resync` event lets controllers re-reconcile everything in the cache.
 * A relist diffs the new list against the cache, so objects created, changed or deleted while the watch was
 * down surface as added/updated/deleted events.
 *
 * Handlers run synchronously after the cache is updated; they should only enqueue keys.
 */
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { sleep, systemClock, type Clock, type TimerHandle } from './clock.js';
import { KubeApiError, statusOf, type KubeClient, type WatchEvent } from './kube.js';
import {
  apiVersionOf,
  keyOf,
  makeKey,
  resourceLabel,
  resourcePath,
  type ObjectKey,
  type ResourceType,
} from './resource.js';

/** What the informer tells its handlers. */
export type InformerEvent<T extends KubernetesObject> =
  | { type: 'added'; object: T }
  | { type: 'updated'; object: T; old: T }
  | { type: 'deleted'; object: T }
  /** A full list replaced the cache (first sync or recovery); `count` objects are cached. */
  | { type: 'relisted'; count: number }
  /** The watch was restarted: `reason` is `error`, `watchdog` or `expired` (410). */
  | { type: 'restarted'; reason: 'error' | 'watchdog' | 'expired'; error?: unknown }
  /** Periodic resync: handlers should re-enqueue the cached objects they care about. */
  | { type: 'resync' };

export type InformerEventType = InformerEvent<KubernetesObject>['type'];

export type InformerHandler<T extends KubernetesObject> = (event: InformerEvent<T>) => void;

export interface InformerOptions {
  /** Watch one namespace; undefined = all namespaces (ignored for cluster-scoped kinds). */
  namespace?: string;
  /** Label selector, e.g. `app.kubernetes.io/managed-by=nerops`. */
  labelSelector?: string;
  /**
   * Restart a watch that has received nothing (no event, no bookmark, no byte) for this long (default
   * 6 min: longer than the server-side timeout, so a healthy quiet watch ends by that timeout first).
   */
  watchdogMs?: number;
  /** Server-side watch timeout, randomised between this and 1.25× it (default 240 s, so ≤ 300 s). */
  watchTimeoutSeconds?: number;
  /** Emit a `resync` event this often; 0 disables (default 10 min). */
  resyncMs?: number;
  /** First delay before a relist after an error (default 500 ms), doubling up to `relistBackoffMaxMs`. */
  relistBackoffMs?: number;
  /** Longest delay between relist attempts (default 30 s). */
  relistBackoffMaxMs?: number;
  /** Page size of lists (default 500). */
  pageSize?: number;
  /**
   * Applied to every object before it is cached (e.g. to drop fields nobody reads and save memory). Must
   * return an object with the same metadata.name/namespace/resourceVersion.
   */
  transform?: (obj: KubernetesObject) => KubernetesObject;
  clock?: Clock;
  logger?: Logger;
}

/** Read access to an informer's cache, given to reconcilers. */
export interface CacheReader<T extends KubernetesObject> {
  readonly resource: ResourceType;
  /** The cached object, or undefined. */
  get(namespace: string | undefined, name: string): T | undefined;
  getByKey(key: ObjectKey): T | undefined;
  /** Cached objects, optionally of one namespace and/or matching every given label. */
  list(namespace?: string, labels?: Record<string, string>): T[];
  /** True once the first list has completed. */
  hasSynced(): boolean;
}

export class Informer<T extends KubernetesObject = KubernetesObject> implements CacheReader<T> {
  readonly resource: ResourceType;
  readonly #client: KubeClient;
  readonly #namespace: string | undefined;
  readonly #labelSelector: string | undefined;
  readonly #watchdogMs: number;
  readonly #watchTimeoutSeconds: number;
  readonly #resyncMs: number;
  readonly #backoffMs: number;
  readonly #backoffMaxMs: number;
  readonly #pageSize: number;
  readonly #transform: ((obj: KubernetesObject) => KubernetesObject) | undefined;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;

  #cache = new Map<ObjectKey, T>();
  #handlers: InformerHandler<T>[] = [];
  #resourceVersion: string | undefined;
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #resyncTimer: TimerHandle | undefined;
  /** Aborts the current watch only (watchdog, tests). */
  #watchAbort: AbortController | undefined;
  #watchdogFired = false;

  constructor(client: KubeClient, resource: ResourceType, options: InformerOptions = {}) {
    this.resource = resource;
    this.#client = client;
    this.#namespace = resource.namespaced ? options.namespace : undefined;
    this.#labelSelector = options.labelSelector;
    this.#watchdogMs = options.watchdogMs ?? 6 * 60_000;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? 240;
    this.#resyncMs = options.resyncMs ?? 10 * 60_000;
    this.#backoffMs = options.relistBackoffMs ?? 500;
    this.#backoffMaxMs = options.relistBackoffMaxMs ?? 30_000;
    this.#pageSize = options.pageSize ?? 500;
    this.#transform = options.transform;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger?.child({
      resource: resourceLabel(resource),
      ...(this.#namespace ? { watchNamespace: this.#namespace } : {}),
    });
  }

  /** Registers a handler; returns a function that removes it. */
  on(handler: InformerHandler<T>): () => void {
    this.#handlers.push(handler);
    return () => {
      this.#handlers = this.#handlers.filter((h) => h !== handler);
    };
  }

  /** Starts listing and watching in the background (idempotent). */
  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
    this.#scheduleResync();
  }

  /** Stops the watch and waits for the loop to end. The cache keeps its last contents. */
  async stop(): Promise<void> {
    this.#abort?.abort(new Error('informer stopped'));
    this.#watchAbort?.abort();
    if (this.#resyncTimer) this.#clock.clearTimer(this.#resyncTimer);
    this.#resyncTimer = undefined;
    await this.#loop;
    this.#loop = undefined;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves once the first list completed (or at once if it has). */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal?.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(makeKey(this.resource.namespaced ? namespace : undefined, name));
  }

  getByKey(key: ObjectKey): T | undefined {
    return this.#cache.get(key);
  }

  list(namespace?: string, labels?: Record<string, string>): T[] {
    const out: T[] = [];
    for (const obj of this.#cache.values()) {
      if (namespace !== undefined && obj.metadata?.namespace !== namespace) continue;
      if (labels && !Object.entries(labels).every(([k, v]) => obj.metadata?.labels?.[k] === v)) continue;
      out.push(obj);
    }
    return out;
  }

  /** Number of cached objects. */
  get size(): number {
    return this.#cache.size;
  }

  /** The resourceVersion the next watch resumes from. */
  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  /**
   * Aborts the current watch as if the connection had failed, forcing the error path (relist). For tests
   * and for an operator that wants to force a fresh list.
   */
  restartWatch(): void {
    this.#watchAbort?.abort(new KubeApiError('watch restarted on request', 0));
  }

  #emit(event: InformerEvent<T>): void {
    for (const h of this.#handlers) {
      try {
        h(event);
      } catch (err) {
        this.#log?.error({ err, event: event.type }, 'informer handler failed');
      }
    }
  }

  #scheduleResync(): void {
    if (this.#resyncMs <= 0) return;
    this.#resyncTimer = this.#clock.setTimer(() => {
      if (this.#abort?.signal.aborted) return;
      if (this.#synced) this.#emit({ type: 'resync' });
      this.#scheduleResync();
    }, this.#resyncMs);
  }

  async #run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#list(signal);
          needList = false;
        }
        failures = 0;
        const outcome = await this.#watchOnce(signal);
        if (outcome === 'expired') {
          this.#log?.info('watch resourceVersion expired, relisting');
          this.#emit({ type: 'restarted', reason: 'expired' });
          needList = true;
        } else if (outcome === 'watchdog') {
          this.#log?.warn({ silentMs: this.#watchdogMs }, 'watch silent for too long, restarting it');
          this.#emit({ type: 'restarted', reason: 'watchdog' });
        }
        // 'closed': the server ended the watch normally; resume from the last resourceVersion.
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        needList = true;
        const delay = Math.min(this.#backoffMaxMs, this.#backoffMs * 2 ** Math.min(failures - 1, 20));
        const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
        this.#log?.warn({ err, retryInMs: jittered, failures }, 'list/watch failed, relisting after backoff');
        this.#emit({ type: 'restarted', reason: 'error', error: err });
        try {
          await sleep(this.#clock, jittered, signal);
        } catch {
          break;
        }
      }
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = await this.#client.request<KubernetesListObject<T>>({
        method: 'GET',
        path: resourcePath(this.resource, this.#namespace),
        query: { limit: this.#pageSize, continue: cont, labelSelector: this.#labelSelector },
        signal,
      });
      items.push(...page.items);
      cont = page.metadata?._continue ?? (page.metadata as { continue?: string } | undefined)?.continue;
      rv = page.metadata?.resourceVersion;
    } while (cont);
    const apiVersion = apiVersionOf(this.resource);
    const next = new Map<ObjectKey, T>();
    for (const raw of items) {
      // List items carry no apiVersion/kind; fill them so cached objects are self-describing.
      raw.apiVersion ??= apiVersion;
      raw.kind ??= this.resource.kind;
      const item = this.#transform ? (this.#transform(raw) as T) : raw;
      next.set(keyOf(item), item);
    }
    const old = this.#cache;
    this.#cache = next;
    this.#resourceVersion = rv;
    for (const [key, obj] of next) {
      const prev = old.get(key);
      if (!prev) this.#emit({ type: 'added', object: obj });
      else if (prev.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
        this.#emit({ type: 'updated', object: obj, old: prev });
    }
    for (const [key, obj] of old) if (!next.has(key)) this.#emit({ type: 'deleted', object: obj });
    this.#log?.debug({ count: next.size, resourceVersion: rv }, 'listed');
    this.#emit({ type: 'relisted', count: next.size });
    if (!this.#synced) {
      this.#synced = true;
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** One watch request; resolves with why it ended, rejects on errors. */
  async #watchOnce(signal: AbortSignal): Promise<'closed' | 'expired' | 'watchdog'> {
    const watchAbort = new AbortController();
    this.#watchAbort = watchAbort;
    const onOuterAbort = () => watchAbort.abort();
    signal.addEventListener('abort', onOuterAbort, { once: true });
    this.#watchdogFired = false;
    let watchdog: TimerHandle | undefined;
    const arm = () => {
      if (watchdog) this.#clock.clearTimer(watchdog);
      watchdog = this.#clock.setTimer(() => {
        this.#watchdogFired = true;
        watchAbort.abort();
      }, this.#watchdogMs);
    };
    let expired = false;
    let streamError: unknown;
    arm();
    try {
      const timeoutSeconds = this.#watchTimeoutSeconds + Math.floor(Math.random() * (this.#watchTimeoutSeconds / 4));
      await this.#client.watch<T>(
        resourcePath(this.resource, this.#namespace),
        {
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.#labelSelector,
        },
        (event) =>
          this.#onWatchEvent(
            event,
            watchAbort,
            (e) => (expired = e),
            (err) => (streamError = err),
          ),
        { signal: watchAbort.signal, onActivity: arm },
      );
    } finally {
      if (watchdog) this.#clock.clearTimer(watchdog);
      signal.removeEventListener('abort', onOuterAbort);
      this.#watchAbort = undefined;
    }
    if (signal.aborted) return 'closed';
    if (streamError) throw streamError;
    if (expired) return 'expired';
    if (this.#watchdogFired) return 'watchdog';
    if (watchAbort.signal.aborted) throw (watchAbort.signal.reason as Error | undefined) ?? new Error('watch aborted');
    return 'closed';
  }

  #onWatchEvent(
    event: WatchEvent<T>,
    watchAbort: AbortController,
    setExpired: (e: boolean) => void,
    setError: (err: unknown) => void,
  ): void {
    let obj = event.object;
    if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') {
      obj.apiVersion ??= apiVersionOf(this.resource);
      obj.kind ??= this.resource.kind;
      if (this.#transform) obj = this.#transform(obj) as T;
    }
    switch (event.type) {
      case 'BOOKMARK':
        this.#resourceVersion = obj.metadata?.resourceVersion ?? this.#resourceVersion;
        return;
      case 'ERROR': {
        const status = obj as unknown as { code?: number; message?: string; reason?: string };
        if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') setExpired(true);
        else
          setError(
            new KubeApiError(`watch error event: ${status.message ?? 'unknown'}`, status.code ?? 0, status.reason),
          );
        watchAbort.abort();
        return;
      }
      case 'ADDED':
      case 'MODIFIED': {
        const key = keyOf(obj);
        const prev = this.#cache.get(key);
        this.#cache.set(key, obj);
        this.#resourceVersion = obj.metadata?.resourceVersion ?? this.#resourceVersion;
        if (prev) this.#emit({ type: 'updated', object: obj, old: prev });
        else this.#emit({ type: 'added', object: obj });
        return;
      }
      case 'DELETED': {
        this.#cache.delete(keyOf(obj));
        this.#resourceVersion = obj.metadata?.resourceVersion ?? this.#resourceVersion;
        this.#emit({ type: 'deleted', object: obj });
        return;
      }
      default:
        return;
    }
  }
}

/** True for errors after which relisting cannot help soon (the resource type does not exist). */
export function isPermanentListError(err: unknown): boolean {
  const s = statusOf(err);
  return s === 404 || s === 403;
}
