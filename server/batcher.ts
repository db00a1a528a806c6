/**
 * Dynamic micro-batching. Concurrent requests enqueue documents; the batcher hands the engine up to
 * `maxBatchSize` documents in one call, waiting at most `maxWaitMs` for a batch to fill. While a batch is
 * running, new documents accumulate, so under load batches fill by themselves and the wait is never paid.
 *
 * The queue is bounded (`maxQueue` documents): past it, `submit` rejects at once with a 503 problem
 * instead of growing memory. Each submission carries a deadline; documents still queued when it passes
 * are removed and the submission rejects with a timeout problem.
 */
import { HttpProblem } from './problem.js';
import { markDispatched, markExpired, traceBatch, traceSubmission, type SubmissionTrace } from './tracing.js';

export interface BatcherOptions {
  /** Most documents per engine call. */
  maxBatchSize: number;
  /** Longest a document waits for its batch to fill while the engine is idle. 0 = dispatch on the next tick. */
  maxWaitMs: number;
  /** Most documents waiting (not yet dispatched); beyond it submissions are refused with 503. */
  maxQueue: number;
  /** Engine calls allowed at the same time (2 overlaps ONNX Runtime's thread with the event loop's share). */
  maxConcurrentBatches: number;
}

export interface BatcherHooks {
  /** Called with the size of every batch handed to the engine. */
  onBatch?: (size: number) => void;
  onQueueDepth?: (depth: number) => void;
}

interface Pending<R> {
  text: string;
  ticket: Ticket<R>;
  index: number;
}

/** One submission (a request's documents): resolves when all its documents have results. */
interface Ticket<R> {
  results: (R | undefined)[];
  remaining: number;
  done: boolean;
  resolve: (results: R[]) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout | undefined;
  /** performance.now() past which the ticket has timed out, even if its timer has not fired yet. */
  deadline: number;
  timeoutMs: number;
  /** Its `nerops.queue` span and request context, when the request is traced. */
  trace: SubmissionTrace | undefined;
}

export class MicroBatcher<R> {
  readonly #run: (texts: readonly string[]) => Promise<R[]>;
  readonly #opts: BatcherOptions;
  readonly #hooks: BatcherHooks;
  #queue: Pending<R>[] = [];
  /** When the oldest queued document must be dispatched even if the batch is not full. */
  #flushTimer: NodeJS.Timeout | undefined;
  #flushScheduled = false;
  #running = 0;
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(run: (texts: readonly string[]) => Promise<R[]>, opts: BatcherOptions, hooks: BatcherHooks = {}) {
    if (opts.maxBatchSize < 1) throw new Error('maxBatchSize must be >= 1');
    if (opts.maxConcurrentBatches < 1) throw new Error('maxConcurrentBatches must be >= 1');
    this.#run = run;
    this.#opts = opts;
    this.#hooks = hooks;
  }

  /** Documents waiting for a batch. */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /** Engine calls in progress. */
  get running(): number {
    return this.#running;
  }

  /**
   * Queue `texts` and resolve with one result per text, in order. Rejects with an `overloaded` problem if
   * they do not fit in the queue, or a `timeout` problem if `timeoutMs` passes first.
   */
  submit(texts: readonly string[], timeoutMs: number): Promise<R[]> {
    if (this.#closed)
      return Promise.reject(new HttpProblem('shuttingDown', 'the server is shutting down', { retryAfterSeconds: 1 }));
    if (texts.length === 0) return Promise.resolve([]);
    if (this.#queue.length + texts.length > this.#opts.maxQueue) {
      return Promise.reject(
        new HttpProblem('overloaded', `the request queue is full (${this.#opts.maxQueue} documents); retry later`, {
          retryAfterSeconds: 1,
        }),
      );
    }
    return new Promise<R[]>((resolve, reject) => {
      const ticket: Ticket<R> = {
        results: new Array<R | undefined>(texts.length),
        remaining: texts.length,
        done: false,
        resolve,
        reject,
        timer: undefined,
        deadline: timeoutMs > 0 && Number.isFinite(timeoutMs) ? performance.now() + timeoutMs : Infinity,
        timeoutMs,
        trace: traceSubmission(texts.length, this.#queue.length),
      };
      if (ticket.deadline !== Infinity) ticket.timer = setTimeout(() => this.#expire(ticket), timeoutMs);
      texts.forEach((text, index) => this.#queue.push({ text, ticket, index }));
      this.#hooks.onQueueDepth?.(this.#queue.length);
      this.#schedule();
    });
  }

  /** Stop taking submissions; resolves when everything already submitted has finished. */
  async drain(): Promise<void> {
    this.#closed = true;
    if (this.#queue.length > 0) this.#dispatch();
    while (this.#running > 0 || this.#queue.length > 0) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
  }

  #expire(ticket: Ticket<R>): void {
    if (ticket.done) return;
    ticket.done = true;
    // Documents not yet handed to the engine are dropped; ones in a running batch finish and are ignored.
    this.#queue = this.#queue.filter((p) => p.ticket !== ticket);
    if (ticket.trace) markExpired(ticket.trace);
    this.#hooks.onQueueDepth?.(this.#queue.length);
    ticket.reject(
      new HttpProblem('timeout', `the request did not complete within ${ticket.timeoutMs} ms; retry later`, {
        retryAfterSeconds: 1,
      }),
    );
    this.#notifyIdle();
  }

  #schedule(): void {
    if (this.#running >= this.#opts.maxConcurrentBatches || this.#queue.length === 0) return;
    if (this.#queue.length >= this.#opts.maxBatchSize || this.#closed) {
      this.#dispatch();
      return;
    }
    if (this.#opts.maxWaitMs <= 0) {
      // Coalesce whatever arrives in the same event-loop turn (e.g. several documents of one request).
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flushScheduled = false;
          this.#dispatch();
        });
      }
      return;
    }
    if (!this.#flushTimer) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined;
        this.#dispatch();
      }, this.#opts.maxWaitMs);
    }
  }

  #dispatch(): void {
    while (this.#running < this.#opts.maxConcurrentBatches && this.#queue.length > 0) {
      if (this.#flushTimer) {
        clearTimeout(this.#flushTimer);
        this.#flushTimer = undefined;
      }
      const batch = this.#queue.splice(0, this.#opts.maxBatchSize);
      for (const p of batch) if (p.ticket.trace) markDispatched(p.ticket.trace);
      this.#hooks.onQueueDepth?.(this.#queue.length);
      this.#running++;
      this.#hooks.onBatch?.(batch.length);
      void this.#execute(batch);
    }
  }

  async #execute(batch: Pending<R>[]): Promise<void> {
    try {
      let results: R[];
      try {
        const texts = batch.map((p) => p.text);
        let traces: SubmissionTrace[] | undefined;
        for (const p of batch) if (p.ticket.trace) (traces ??= []).push(p.ticket.trace);
        results = await traceBatch(traces, texts, () => this.#run(texts));
        if (results.length !== batch.length)
          throw new Error(`engine returned ${results.length} results for ${batch.length} documents`);
      } catch (err) {
        for (const p of batch) {
          if (p.ticket.done) continue;
          p.ticket.done = true;
          clearTimeout(p.ticket.timer);
          p.ticket.reject(err);
          this.#queue = this.#queue.filter((q) => q.ticket !== p.ticket);
          if (p.ticket.trace) markExpired(p.ticket.trace);
        }
        return;
      }
      batch.forEach((p, i) => {
        const t = p.ticket;
        if (t.done) return;
        const r = results[i] as R;
        t.results[p.index] = r;
        t.remaining--;
        if (t.remaining === 0) {
          // A batch that held the event loop past the deadline finishes before the timer can fire: the
          // deadline still holds, so a late result is a timeout, never a success.
          if (performance.now() > t.deadline) {
            clearTimeout(t.timer);
            this.#expire(t);
            return;
          }
          t.done = true;
          clearTimeout(t.timer);
          t.resolve(t.results as R[]);
        }
      });
    } finally {
      this.#running--;
      // Documents that queued up while the engine was busy have already waited: send them now.
      if (this.#queue.length > 0) this.#dispatch();
      this.#notifyIdle();
    }
  }

  #notifyIdle(): void {
    if (this.#running > 0 || this.#queue.length > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
