/**
 * The work queue between watch events and reconciles.
 *
 * - Keyed and de-duplicating: a key waiting in the queue is queued once however often it is added; a key
 *   being processed is never processed twice at once, and if it is added while in flight it runs again
 *   once the current run finishes (so no change is lost).
 * - Per-key exponential backoff ({@link WorkQueue.addRateLimited}): `baseDelayMs * 2^(failures-1)`, capped
 *   at `maxDelayMs`, reset by {@link WorkQueue.forget}.
 * - A global token bucket (`qps`, `burst`) limits how fast reconciles start, whatever their cause.
 * - Timed requeues ({@link WorkQueue.addAfter}): the earliest pending time per key wins.
 * - `concurrency` keys are processed at once; {@link WorkQueue.shutdown} stops new work and waits for the
 *   in-flight items to finish (drain).
 */
import { systemClock, type Clock, type TimerHandle } from './clock.js';

export interface WorkQueueOptions {
  /** Keys processed in parallel (default 4). */
  concurrency?: number;
  /** First retry delay after a failure (default 500 ms). */
  baseDelayMs?: number;
  /** Longest retry delay (default 5 min). */
  maxDelayMs?: number;
  /** Token bucket refill rate: reconciles started per second on average (default 50; 0 = unlimited). */
  qps?: number;
  /** Token bucket size: reconciles that may start at once after a quiet period (default 200). */
  burst?: number;
  clock?: Clock;
  /**
   * A token bucket shared with other queues (the manager passes one to every controller so the limit is
   * global); when absent the queue builds its own from `qps` and `burst`.
   */
  limiter?: TokenBucket;
  /** Called whenever the number of waiting keys changes (metrics). */
  onDepth?: (depth: number) => void;
}

/** Processes one key; errors are the caller's to handle (the queue only logs nothing and moves on). */
export type WorkHandler = (key: string) => Promise<void>;

/**
 * A token bucket: `burst` tokens, refilled at `qps` per second; `qps` 0 = unlimited. Shared by every
 * queue of a manager so the reconcile start rate is limited across all controllers.
 */
export class TokenBucket {
  readonly #clock: Clock;
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(qps: number, burst: number, clock: Clock = systemClock) {
    this.#clock = clock;
    this.#qps = qps;
    this.#burst = Math.max(1, burst);
    this.#tokens = this.#burst;
    this.#at = clock.now();
  }

  /** Takes a token and returns 0, or returns the ms until one is available (and takes nothing). */
  take(): number {
    if (this.#qps <= 0) return 0;
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#qps);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.#tokens) / this.#qps) * 1000));
  }
}

export const DEFAULT_QUEUE_OPTIONS = {
  concurrency: 4,
  baseDelayMs: 500,
  maxDelayMs: 5 * 60_000,
  qps: 50,
  burst: 200,
} as const;

export class WorkQueue {
  readonly #clock: Clock;
  readonly #concurrency: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #limiter: TokenBucket;
  readonly #onDepth: ((depth: number) => void) | undefined;

  /** Keys waiting to be processed, in order. */
  #queue: string[] = [];
  /** Keys that need processing (waiting, or re-added while in flight). */
  #dirty = new Set<string>();
  /** Keys being processed now. */
  #processing = new Set<string>();
  /** Pending timed adds: key → due time and timer. */
  #delayed = new Map<string, { at: number; timer: TimerHandle }>();
  /** Consecutive failures per key. */
  #failures = new Map<string, number>();

  #pumpTimer: TimerHandle | undefined;
  #handler: WorkHandler | undefined;
  #paused = true;
  #shuttingDown = false;
  #idleWaiters: Array<() => void> = [];

  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#concurrency = Math.max(1, options.concurrency ?? DEFAULT_QUEUE_OPTIONS.concurrency);
    this.#baseDelayMs = options.baseDelayMs ?? DEFAULT_QUEUE_OPTIONS.baseDelayMs;
    this.#maxDelayMs = options.maxDelayMs ?? DEFAULT_QUEUE_OPTIONS.maxDelayMs;
    this.#limiter =
      options.limiter ??
      new TokenBucket(
        options.qps ?? DEFAULT_QUEUE_OPTIONS.qps,
        options.burst ?? DEFAULT_QUEUE_OPTIONS.burst,
        this.#clock,
      );
    this.#onDepth = options.onDepth;
  }

  /** Keys waiting (not counting in-flight or delayed keys). */
  get depth(): number {
    return this.#queue.length;
  }

  /** Keys being processed now. */
  get inFlight(): number {
    return this.#processing.size;
  }

  /** Keys with a pending timed add. */
  get delayed(): number {
    return this.#delayed.size;
  }

  /** Consecutive failures recorded for `key`. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** When the next timed add of `key` is due, if any (ms since epoch). */
  dueAt(key: string): number | undefined {
    return this.#delayed.get(key)?.at;
  }

  /** Starts (or resumes) processing with `handler`. */
  start(handler: WorkHandler): void {
    if (this.#shuttingDown) return;
    this.#handler = handler;
    this.#paused = false;
    this.#pump();
  }

  /**
   * Stops starting new work (keys keep accumulating, de-duplicated); in-flight work finishes. Used when the
   * leader lease is lost: reconciling must stop at once.
   */
  pause(): void {
    this.#paused = true;
    if (this.#pumpTimer) this.#clock.clearTimer(this.#pumpTimer);
    this.#pumpTimer = undefined;
  }

  /** Marks `key` for processing now. */
  add(key: string): void {
    if (this.#shuttingDown) return;
    const d = this.#delayed.get(key);
    if (d) {
      // An immediate add supersedes a pending timed one.
      this.#clock.clearTimer(d.timer);
      this.#delayed.delete(key);
    }
    if (this.#dirty.has(key)) return;
    this.#dirty.add(key);
    // A key in flight is queued again by done(), never processed twice at once.
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    this.#depthChanged();
    this.#pump();
  }

  /** Adds `key` after `delayMs`; if a sooner add is already pending, that one is kept. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = this.#clock.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.#clock.clearTimer(existing.timer);
    const timer = this.#clock.setTimer(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { at, timer });
  }

  /** Records a failure of `key` and adds it back after its backoff delay; returns the delay. */
  addRateLimited(key: string): number {
    const n = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, n);
    const delay = this.backoffDelay(n);
    this.addAfter(key, delay);
    return delay;
  }

  /** The backoff delay after `failures` consecutive failures. */
  backoffDelay(failures: number): number {
    const exp = this.#baseDelayMs * 2 ** Math.min(Math.max(failures - 1, 0), 40);
    return Math.min(exp, this.#maxDelayMs);
  }

  /** Clears the failure count of `key` (after a success, or when the object is gone). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /**
   * Stops taking work, drops waiting and delayed keys and resolves once in-flight keys have finished, or
   * after `timeoutMs` (then resolves false).
   */
  async shutdown(timeoutMs = 30_000): Promise<boolean> {
    this.#shuttingDown = true;
    this.pause();
    for (const d of this.#delayed.values()) this.#clock.clearTimer(d.timer);
    this.#delayed.clear();
    this.#queue = [];
    this.#dirty.clear();
    this.#depthChanged();
    if (this.#processing.size === 0) return true;
    return await new Promise<boolean>((resolve) => {
      const t = this.#clock.setTimer(() => resolve(false), timeoutMs);
      this.#idleWaiters.push(() => {
        this.#clock.clearTimer(t);
        resolve(true);
      });
    });
  }

  /** Resolves when nothing is waiting or in flight (delayed keys not counted). For tests. */
  async idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#processing.size === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #pump(): void {
    if (this.#paused || !this.#handler) return;
    while (this.#processing.size < this.#concurrency && this.#queue.length > 0) {
      const wait = this.#limiter.take();
      if (wait > 0) {
        // Out of tokens: come back when the next one is due.
        if (!this.#pumpTimer) {
          this.#pumpTimer = this.#clock.setTimer(() => {
            this.#pumpTimer = undefined;
            this.#pump();
          }, wait);
        }
        return;
      }
      const key = this.#queue.shift()!;
      this.#dirty.delete(key);
      this.#processing.add(key);
      this.#depthChanged();
      void this.#run(key, this.#handler);
    }
    this.#maybeIdle();
  }

  async #run(key: string, handler: WorkHandler): Promise<void> {
    try {
      await handler(key);
    } catch {
      // The handler owns error handling (it calls addRateLimited); a throw here must not kill the queue.
    } finally {
      this.#processing.delete(key);
      if (this.#dirty.has(key) && !this.#shuttingDown) {
        this.#queue.push(key);
        this.#depthChanged();
      }
      this.#pump();
      this.#maybeIdle();
    }
  }

  #maybeIdle(): void {
    const idle = this.#processing.size === 0 && (this.#queue.length === 0 || this.#shuttingDown || this.#paused);
    if (!idle || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #depthChanged(): void {
    this.#onDepth?.(this.#queue.length);
  }
}
