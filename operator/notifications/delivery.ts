/**
 * Delivery to one receiver: POSTs in the order they were queued (a "rolled back" must never overtake the
 * "step completed" before it), each retried with exponential back-off on network errors, timeouts, 408,
 * 429 and 5xx, and given up after `attempts`. The queue is bounded: past `maxQueue` the new notification is
 * dropped and counted, so a dead receiver cannot grow the operator's memory.
 */

export interface Post {
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string | undefined;
  body: unknown;
}

export type DeliveryResult = 'delivered' | 'failed' | 'dropped';

export interface DeliveryOptions {
  /** Tries per notification, the first included (default 5). */
  attempts?: number;
  /** Wait before the second try; doubled each retry up to maxDelayMs (defaults 500 ms, 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-try timeout (default 5 s). */
  timeoutMs?: number;
  /** Notifications waiting per receiver before new ones are dropped (default 1000). */
  maxQueue?: number;
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULTS = { attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000, timeoutMs: 5000, maxQueue: 1000 };

/** One try: whether it was delivered and, if not, whether another try may succeed. */
export async function postOnce(
  p: Post,
  timeoutMs: number,
): Promise<{ ok: boolean; retryable: boolean; status: number }> {
  try {
    const res = await fetch(p.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(p.token ? { authorization: `Bearer ${p.token}` } : {}),
      },
      body: JSON.stringify(p.body),
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
    return { ok: res.ok, retryable, status: res.status };
  } catch {
    // Connection refused, reset, DNS, timeout: the receiver may be back on the next try.
    return { ok: false, retryable: true, status: 0 };
  }
}

export class OrderedSender {
  readonly #o: Required<Omit<DeliveryOptions, 'sleep'>> & { sleep: (ms: number) => Promise<void> };
  readonly #queue: Array<{ post: Post; done: (r: DeliveryResult) => void }> = [];
  #running = false;
  #closed = false;
  /** Called after each try that failed (status 0: no response), for logs. */
  onRetry?: (status: number, attempt: number) => void;

  constructor(options: DeliveryOptions = {}) {
    this.#o = {
      ...DEFAULTS,
      ...options,
      sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms).unref())),
    };
  }

  get pending(): number {
    return this.#queue.length;
  }

  /** Queue a POST; resolves with its outcome once it was delivered, given up or dropped. */
  send(post: Post): Promise<DeliveryResult> {
    if (this.#closed || this.#queue.length >= this.#o.maxQueue) return Promise.resolve('dropped');
    return new Promise((done) => {
      this.#queue.push({ post, done });
      if (!this.#running) void this.#drain();
    });
  }

  /** Stop taking new notifications; those queued are still tried. */
  close(): void {
    this.#closed = true;
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#queue.length) {
      const next = this.#queue[0]!;
      next.done(await this.#deliver(next.post));
      this.#queue.shift();
    }
    this.#running = false;
  }

  async #deliver(post: Post): Promise<DeliveryResult> {
    let delay = this.#o.baseDelayMs;
    for (let attempt = 1; ; attempt++) {
      const r = await postOnce(post, this.#o.timeoutMs);
      if (r.ok) return 'delivered';
      this.onRetry?.(r.status, attempt);
      if (!r.retryable || attempt >= this.#o.attempts) return 'failed';
      await this.#o.sleep(delay);
      delay = Math.min(delay * 2, this.#o.maxDelayMs);
    }
  }
}
