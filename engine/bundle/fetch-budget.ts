/**
 * What a model fetch may still spend: bytes under the size cap, and time until the overall deadline (an abort
 * signal every download and extraction listens to). Shared by every model source (http, S3, OCI) so each
 * enforces the same limits (docs/security.md, "Model fetch limits").
 */
import { Transform } from 'node:stream';
import { MODEL_FETCH_DEFAULTS } from '../../contracts/model-source-env.js';

export class ModelSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelSourceError';
  }
}

export class DeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadlineError';
  }
}

export class FetchBudget {
  readonly maxBytes: number;
  readonly deadlineMs: number;
  readonly signal: AbortSignal;
  #controller = new AbortController();
  #timer: NodeJS.Timeout;
  #received = 0;
  constructor(opts: { maxBytes?: number | undefined; deadlineMs?: number | undefined }) {
    this.maxBytes = opts.maxBytes ?? MODEL_FETCH_DEFAULTS.maxBytes;
    this.deadlineMs = opts.deadlineMs ?? MODEL_FETCH_DEFAULTS.fetchDeadlineMs;
    this.signal = this.#controller.signal;
    this.#timer = setTimeout(
      () =>
        this.#controller.abort(
          new DeadlineError(`the fetch did not finish within its deadline of ${this.deadlineMs} ms`),
        ),
      this.deadlineMs,
    );
    this.#timer.unref();
  }

  get remaining(): number {
    return this.maxBytes - this.#received;
  }

  /** Count `n` received bytes; throws when the cap is passed. */
  take(n: number, what: string): void {
    this.#received += n;
    if (this.#received > this.maxBytes) throw this.overCap(what);
  }

  overCap(what: string): ModelSourceError {
    return new ModelSourceError(`${what} exceeds the size cap of ${this.maxBytes} bytes`);
  }

  /** A pass-through stream that counts bytes against the cap as they arrive. */
  counter(what: string): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        try {
          this.take(chunk.length, what);
          done(null, chunk);
        } catch (err) {
          done(err as Error);
        }
      },
    });
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }
}

/** The error to report: the deadline's own message when the fetch was aborted by it. */
export function limitCause(err: unknown, budget: FetchBudget): Error {
  if (budget.signal.aborted && budget.signal.reason instanceof DeadlineError) return budget.signal.reason;
  return err as Error;
}
