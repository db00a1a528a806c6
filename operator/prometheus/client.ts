/**
 * A small Prometheus HTTP API client: instant queries only, with a timeout and typed errors, which is
 * all the operator needs (autoscaling, canary analysis and drift read one number per query).
 *
 * Errors are classified so callers can say *why* metrics are unavailable in a condition:
 * - {@link PrometheusUnreachableError}: connection refused / DNS / TLS / timeout;
 * - {@link PrometheusQueryError}: Prometheus answered but refused the query (bad PromQL, 4xx/5xx);
 * - an empty result is not an error: {@link InstantQueryResult.value} is undefined (no data).
 */
import { SpanAttr } from '../../contracts/tracing.js';
import { failSpan, startPromqlSpan } from '../runtime/tracing.js';

/** Base class of every error this client throws. */
export class PrometheusError extends Error {
  constructor(
    message: string,
    /** CamelCase reason for conditions, e.g. `PrometheusUnreachable`. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PrometheusError';
  }
}

/** Prometheus could not be reached (network error or timeout). */
export class PrometheusUnreachableError extends PrometheusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'PrometheusUnreachable', options);
    this.name = 'PrometheusUnreachableError';
  }
}

/** Prometheus answered with an error (bad query, overload, unexpected body). */
export class PrometheusQueryError extends PrometheusError {
  constructor(
    message: string,
    /** HTTP status, when the error came with one. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, 'PrometheusQueryFailed', options);
    this.name = 'PrometheusQueryError';
  }
}

/** One sample of an instant vector. */
export interface VectorSample {
  labels: Record<string, string>;
  value: number;
}

export interface InstantQueryResult {
  /** The value of a scalar or of a single-element vector; undefined when the result is empty (no data). */
  value: number | undefined;
  /** Every sample of a vector result (empty for scalars). */
  samples: VectorSample[];
}

export interface PrometheusClientOptions {
  /** Base URL, e.g. `http://prometheus:9090` (a path prefix is kept). */
  url: string;
  /** Per-query timeout in milliseconds (default 5000); also sent to Prometheus as `timeout`. */
  timeoutMs?: number;
  /** Injected fetch (tests). */
  fetch?: typeof fetch;
}

/** What controllers depend on: an interface, so tests inject a fake. */
export interface MetricsQuerier {
  query(promql: string, time?: Date): Promise<InstantQueryResult>;
}

interface ApiResponse {
  status: 'success' | 'error';
  data?: { resultType: string; result: unknown };
  errorType?: string;
  error?: string;
}

function parseSampleValue(v: unknown): number {
  if (!Array.isArray(v) || v.length !== 2)
    throw new PrometheusQueryError('unexpected sample shape in Prometheus response');
  const n = Number(v[1]); // "NaN", "+Inf" and "-Inf" parse to the matching numbers
  if (typeof v[1] !== 'string' || (Number.isNaN(n) && v[1] !== 'NaN'))
    throw new PrometheusQueryError('unexpected sample value in Prometheus response');
  return n;
}

export class PrometheusClient implements MetricsQuerier {
  readonly #base: URL;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: PrometheusClientOptions) {
    this.#base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#fetch = options.fetch ?? fetch;
  }

  /** Run an instant query (`/api/v1/query`). NaN samples count as no data. */
  async query(promql: string, time?: Date): Promise<InstantQueryResult> {
    const url = new URL('api/v1/query', this.#base);
    const body = new URLSearchParams({ query: promql, timeout: `${Math.max(1, Math.floor(this.#timeoutMs / 1000))}s` });
    if (time) body.set('time', (time.getTime() / 1000).toFixed(3));
    const traced = startPromqlSpan(this.#base);
    try {
      const result = await this.#query(url, body, traced?.headers);
      traced?.span.setAttribute(SpanAttr.samples, result.samples.length);
      traced?.span.end();
      return result;
    } catch (err) {
      if (traced) {
        if (err instanceof PrometheusQueryError && err.status !== undefined)
          traced.span.setAttribute('http.response.status_code', err.status);
        failSpan(traced.span, err instanceof PrometheusError ? err.reason : 'Error');
      }
      throw err;
    }
  }

  /** The query's HTTP exchange and the parsing of its answer. */
  async #query(
    url: URL,
    body: URLSearchParams,
    traceHeaders: Record<string, string> | undefined,
  ): Promise<InstantQueryResult> {
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...traceHeaders },
        body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      const detail =
        e.name === 'TimeoutError'
          ? `no answer within ${this.#timeoutMs} ms`
          : ((e.cause as Error | undefined)?.message ?? e.message);
      throw new PrometheusUnreachableError(`Prometheus at ${this.#base.origin} is unreachable: ${detail}`, {
        cause: err,
      });
    }
    let json: ApiResponse;
    try {
      json = (await res.json()) as ApiResponse;
    } catch (err) {
      if ((err as Error).name === 'TimeoutError')
        throw new PrometheusUnreachableError(
          `Prometheus at ${this.#base.origin} did not finish answering within ${this.#timeoutMs} ms`,
          { cause: err },
        );
      throw new PrometheusQueryError(
        `Prometheus answered HTTP ${res.status} with a body that is not JSON`,
        res.status,
        { cause: err },
      );
    }
    if (!res.ok || json.status !== 'success') {
      throw new PrometheusQueryError(
        `Prometheus refused the query (HTTP ${res.status}${json.errorType ? `, ${json.errorType}` : ''}): ${json.error ?? 'no error message'}`,
        res.status,
      );
    }
    const data = json.data;
    if (!data) throw new PrometheusQueryError('Prometheus response has no data');
    switch (data.resultType) {
      case 'scalar': {
        const v = parseSampleValue(data.result);
        return { value: Number.isNaN(v) ? undefined : v, samples: [] };
      }
      case 'vector': {
        if (!Array.isArray(data.result)) throw new PrometheusQueryError('Prometheus vector result is not an array');
        const samples = (data.result as Array<{ metric?: Record<string, string>; value?: unknown }>).map((s) => ({
          labels: s.metric ?? {},
          value: parseSampleValue(s.value),
        }));
        const only = samples.length === 1 ? samples[0]?.value : undefined;
        return { value: only === undefined || Number.isNaN(only) ? undefined : only, samples };
      }
      default:
        throw new PrometheusQueryError(`unsupported result type ${data.resultType} for an instant query`);
    }
  }
}

/** Escape a label value for a PromQL string literal. */
export function promqlString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** A PromQL label matcher list from a record: `{a="x",b="y"}`. */
export function labelMatchers(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${promqlString(v)}`)
    .join(',')}}`;
}
