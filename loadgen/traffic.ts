/**
 * A paced, open-loop traffic generator for the inference API: `rate` requests per second to whichever
 * endpoints `targets()` returns at the moment of sending, round-robin (what kube-proxy does for a Service).
 * Used by the demo, the end-to-end tests and `ner-ops traffic`; autocannon stays the tool of the
 * throughput benchmarks, which want a closed loop and no per-request bookkeeping.
 *
 * Open loop: a slow server does not slow the sender down (that would hide latency from the analysis),
 * but in-flight requests are bounded so a dead endpoint cannot pile up sockets. Counts are kept per
 * endpoint `track` so a canary test can tell which track served what. No request text is ever logged.
 */

export interface TrafficTarget {
  /** Full URL of the extraction route, e.g. `http://10.0.0.7:8080/v1/extract`. */
  url: string;
  /** Free-form tag counted separately (`stable`, `canary`). */
  track?: string;
}

export interface TrafficOptions {
  /** Requests per second. */
  rate: number;
  /** The next note to send. */
  nextText: () => string;
  /** Where to send now; an empty list skips (and counts) the request. */
  targets: () => readonly TrafficTarget[];
  /** Per-request timeout. Default 5 s. */
  timeoutMs?: number;
  /** Most requests in flight at once; sends beyond it are counted as `dropped`. Default 64. */
  maxInFlight?: number;
  /** Bearer token for servers started with `--auth-token-file`. */
  token?: string;
  /**
   * Reuse connections (default true). With false every request opens its own connection
   * (`connection: close`): a Service URL then spreads requests over its pods as independent clients
   * would, since kube-proxy balances connections, not requests — one kept-alive connection stays on one pod.
   */
  keepAlive?: boolean;
  /**
   * Called with every answer's body (2xx and errors; not for network errors or timeouts), and the text that
   * was sent: a caller that knows the gold of its notes (the demo) compares what the server reported. Without
   * it the body is read and dropped.
   */
  onAnswer?: (answer: { text: string; status: number; body: string; target: TrafficTarget }) => void;
}

export interface TrafficStats {
  sent: number;
  /** 2xx answers. */
  ok: number;
  /** Answers by HTTP status; 0 = network error or timeout. */
  codes: Record<number, number>;
  /** 2xx answers by target track. */
  byTrack: Record<string, number>;
  /** Requests not sent: no target, or too many in flight. */
  dropped: number;
}

/** How often the pacer wakes: each tick sends what is due since the start, so the rate has no drift. */
const TICK_MS = 20;

export class TrafficGenerator {
  readonly stats: TrafficStats = { sent: 0, ok: 0, codes: {}, byTrack: {}, dropped: 0 };
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #due = 0;
  #next = 0;
  #inFlight = new Set<Promise<void>>();
  readonly #opts: Required<Omit<TrafficOptions, 'token' | 'onAnswer'>> & Pick<TrafficOptions, 'token' | 'onAnswer'>;

  constructor(options: TrafficOptions) {
    if (!(options.rate > 0) || !Number.isFinite(options.rate))
      throw new RangeError(`traffic rate must be a positive number, got ${options.rate}`);
    this.#opts = { timeoutMs: 5000, maxInFlight: 64, keepAlive: true, ...options };
  }

  start(): this {
    if (this.#timer) return this;
    this.#startedAt = performance.now();
    this.#due = 0;
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    return this;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Stop sending and wait for the requests in flight. */
  async stop(): Promise<TrafficStats> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.#inFlight);
    return this.stats;
  }

  #tick(): void {
    const due = Math.floor(((performance.now() - this.#startedAt) / 1000) * this.#opts.rate);
    for (; this.#due < due; this.#due++) this.#send();
  }

  #send(): void {
    const targets = this.#opts.targets();
    if (targets.length === 0 || this.#inFlight.size >= this.#opts.maxInFlight) {
      this.stats.dropped++;
      return;
    }
    const target = targets[this.#next++ % targets.length] as TrafficTarget;
    this.stats.sent++;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#opts.token) headers.authorization = `Bearer ${this.#opts.token}`;
    if (!this.#opts.keepAlive) headers.connection = 'close';
    const text = this.#opts.nextText();
    const onAnswer = this.#opts.onAnswer;
    const p = fetch(target.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ text }),
      signal: AbortSignal.timeout(this.#opts.timeoutMs),
    })
      .then(async (r) => {
        if (onAnswer) {
          const body = await r.text();
          this.#count(r.status, target);
          onAnswer({ text, status: r.status, body, target });
        } else {
          await r.arrayBuffer();
          this.#count(r.status, target);
        }
      })
      .catch(() => this.#count(0, target))
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  #count(code: number, target: TrafficTarget): void {
    this.stats.codes[code] = (this.stats.codes[code] ?? 0) + 1;
    if (code >= 200 && code < 300) {
      this.stats.ok++;
      const track = target.track ?? '';
      this.stats.byTrack[track] = (this.stats.byTrack[track] ?? 0) + 1;
    }
  }
}

/** Cycle through a fixed list of texts (deterministic traffic from a seeded corpus). */
export function cycle(texts: readonly string[]): () => string {
  if (texts.length === 0) throw new RangeError('traffic needs at least one text');
  let i = 0;
  return () => texts[i++ % texts.length] as string;
}
