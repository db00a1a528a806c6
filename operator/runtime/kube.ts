/**
 * A small JSON client for the Kubernetes REST API over node:http(s), configured from a client-node
 * KubeConfig (TLS material, bearer tokens, exec/file auth providers all come from `applyToHTTPSOptions`).
 *
 * Why not client-node's generated APIs: the runtime is generic over group/version/plural, needs the
 * `/status` subresource and server-side apply with our field manager, counts every request by verb (the
 * "no writes when nothing changed" contract is tested on these counters), and owns its watch stream so it
 * can abort it from a watchdog. One keep-alive agent is shared by all requests of a client.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ClusterAccess } from './kubeconfig.js';

export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type Query = Record<string, string | number | boolean | undefined>;

export interface KubeRequest {
  method: HttpVerb;
  /** Absolute API path, e.g. `/api/v1/namespaces/ns/configmaps/x`. */
  path: string;
  query?: Query;
  /** JSON-serialised when present. */
  body?: unknown;
  /** Defaults to `application/json`; patches pass their patch type. */
  contentType?: string;
  /** Defaults to `application/json`; e.g. a PartialObjectMetadata request asks for metadata only. */
  accept?: string;
  signal?: AbortSignal;
  /** Whole-request timeout; default 30 s. */
  timeoutMs?: number;
}

/** One line of a watch stream. */
export interface WatchEvent<T = KubernetesObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** A Status returned by the API server. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
}

/** A non-2xx answer from the API server (or a transport failure, with `statusCode` 0). */
export class KubeApiError extends Error {
  constructor(
    message: string,
    /** HTTP status code; 0 when no response arrived (connection refused, reset, timeout). */
    readonly statusCode: number,
    /** The Status `reason` (NotFound, Conflict, AlreadyExists, Expired, ...), when the server sent one. */
    readonly reason?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KubeApiError';
  }
}

/** True when `err` is an API 404 (also works on client-node's ApiException, which has `code`). */
export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

/** True when `err` is an optimistic-concurrency conflict (409 that is not AlreadyExists). */
export function isConflict(err: unknown): boolean {
  return statusOf(err) === 409 && (err as { reason?: string }).reason !== 'AlreadyExists';
}

export function isAlreadyExists(err: unknown): boolean {
  return statusOf(err) === 409 && (err as { reason?: string }).reason === 'AlreadyExists';
}

/** The HTTP status of an API error, following `cause` chains; undefined for other errors. */
export function statusOf(err: unknown): number | undefined {
  for (
    let e = err as { statusCode?: unknown; code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 5;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e !== 'object') return undefined;
    if (typeof e.statusCode === 'number' && e.statusCode > 0) return e.statusCode;
    if (typeof e.code === 'number' && e.code > 0) return e.code;
  }
  return undefined;
}

/** Called after every request with its verb, path and status code (0 = transport failure). */
export type RequestObserver = (verb: HttpVerb | 'WATCH', path: string, statusCode: number, durationMs: number) => void;

export interface KubeClientOptions {
  userAgent?: string;
  /** Default per-request timeout in ms (default 30 000). */
  timeoutMs?: number;
}

/** The JSON REST client every runtime component talks through. */
export class KubeClient {
  readonly #kc: ClusterAccess;
  readonly #server: URL;
  readonly #userAgent: string;
  readonly #timeoutMs: number;
  #agent: http.Agent | undefined;
  #observers: RequestObserver[] = [];
  /** Requests issued so far, by verb (WATCH counts watch streams opened). */
  readonly counts: Record<HttpVerb | 'WATCH', number> = { GET: 0, POST: 0, PUT: 0, PATCH: 0, DELETE: 0, WATCH: 0 };

  constructor(kc: ClusterAccess, options: KubeClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.#kc = kc;
    this.#server = new URL(cluster.server);
    this.#userAgent = options.userAgent ?? 'nerops-operator';
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The cluster access (a client-node KubeConfig or the operator's light loader) this client was built from. */
  get kubeConfig(): ClusterAccess {
    return this.#kc;
  }

  /** Registers a callback run after every request (metrics, tests counting writes). */
  onRequest(observer: RequestObserver): () => void {
    this.#observers.push(observer);
    return () => {
      this.#observers = this.#observers.filter((o) => o !== observer);
    };
  }

  /** Number of mutating requests (POST/PUT/PATCH/DELETE) issued so far. */
  get writes(): number {
    return this.counts.POST + this.counts.PUT + this.counts.PATCH + this.counts.DELETE;
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }

  /** Sends a request and parses the JSON answer; non-2xx answers reject with {@link KubeApiError}. */
  async request<T>(req: KubeRequest): Promise<T> {
    const started = Date.now();
    let status = 0;
    this.counts[req.method]++;
    try {
      const { res, body } = await this.#send(req, false);
      status = res.statusCode ?? 0;
      const text = await readBody(body);
      if (status < 200 || status >= 300) throw apiError(req, status, text);
      return (text ? JSON.parse(text) : {}) as T;
    } finally {
      this.#observe(req.method, req.path, status, Date.now() - started);
    }
  }

  /**
   * Opens a watch and calls `onEvent` for each event until the server closes the stream (resolves), the
   * signal aborts (resolves) or the connection fails (rejects). `onActivity` runs on every received chunk,
   * bookmarks included, so a watchdog can tell a silent stream from a quiet one.
   */
  async watch<T = KubernetesObject>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    options: { signal?: AbortSignal; onActivity?: () => void } = {},
  ): Promise<void> {
    const started = Date.now();
    let status = 0;
    this.counts.WATCH++;
    try {
      const { res, body } = await this.#send(
        {
          method: 'GET',
          path,
          query: { ...query, watch: true },
          ...(options.signal ? { signal: options.signal } : {}),
          timeoutMs: 0,
        },
        true,
      );
      status = res.statusCode ?? 0;
      if (status !== 200) throw apiError({ method: 'GET', path }, status, await readBody(body));
      const signal = options.signal;
      await new Promise<void>((resolve, reject) => {
        let buffer = '';
        let settled = false;
        const finish = (err?: Error) => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          // An abort is how callers stop a watch: never an error.
          if (err && !signal?.aborted) reject(err);
          else resolve();
        };
        const onAbort = () => {
          finish();
          body.destroy();
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        body.setEncoding('utf8');
        body.on('data', (chunk: string) => {
          options.onActivity?.();
          buffer += chunk;
          for (let nl = buffer.indexOf('\n'); nl >= 0 && !settled; nl = buffer.indexOf('\n')) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (!line.trim()) continue;
            let event: WatchEvent<T>;
            try {
              event = JSON.parse(line) as WatchEvent<T>;
            } catch (err) {
              finish(new KubeApiError(`watch ${path}: unparsable event`, 0, undefined, { cause: err }));
              body.destroy();
              return;
            }
            onEvent(event);
          }
        });
        body.on('end', () => finish());
        body.on('error', (err) =>
          finish(new KubeApiError(`watch ${path}: ${err.message}`, 0, undefined, { cause: err })),
        );
        // A connection that drops mid-stream closes without 'end': that is a failure, not a normal close.
        body.on('close', () =>
          finish(body.complete ? undefined : new KubeApiError(`watch ${path}: connection closed mid-stream`, 0)),
        );
      });
    } catch (err) {
      if (options.signal?.aborted) return;
      throw err;
    } finally {
      this.#observe('WATCH', path, status, Date.now() - started);
    }
  }

  #observe(verb: HttpVerb | 'WATCH', path: string, status: number, ms: number): void {
    for (const o of this.#observers) o(verb, path, status, ms);
  }

  async #send(
    req: KubeRequest,
    streaming: boolean,
  ): Promise<{ res: http.IncomingMessage; body: http.IncomingMessage }> {
    const opts: https.RequestOptions = {};
    await this.#kc.applyToHTTPSOptions(opts);
    const isHttps = this.#server.protocol === 'https:';
    if (!this.#agent) {
      this.#agent = isHttps
        ? new https.Agent({
            keepAlive: true,
            maxSockets: 64,
            ...(opts.ca ? { ca: opts.ca } : {}),
            ...(opts.cert ? { cert: opts.cert } : {}),
            ...(opts.key ? { key: opts.key } : {}),
            ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
            ...(opts.servername ? { servername: opts.servername } : {}),
          })
        : new http.Agent({ keepAlive: true, maxSockets: 64 });
    }
    const url = new URL(this.#server.href.replace(/\/$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string | number> = {
      accept: req.accept ?? 'application/json',
      'user-agent': this.#userAgent,
    };
    for (const [k, v] of Object.entries(opts.headers ?? {}))
      if (typeof v === 'string' || typeof v === 'number') headers[k] = v;
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    if (payload) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = payload.length;
    }
    const timeoutMs = req.timeoutMs ?? this.#timeoutMs;
    return await new Promise((resolve, reject) => {
      const r = (isHttps ? https : http).request(
        url,
        { method: req.method, headers, agent: this.#agent, ...(req.signal ? { signal: req.signal } : {}) },
        (res) => {
          if (streaming) {
            // A streaming watch has no overall deadline; the informer's watchdog handles silence.
            r.setTimeout(0);
            res.socket?.setKeepAlive(true, 30_000);
          }
          resolve({ res, body: res });
        },
      );
      if (timeoutMs > 0) {
        r.setTimeout(timeoutMs, () => r.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      }
      r.on('error', (err) =>
        reject(new KubeApiError(`${req.method} ${req.path}: ${err.message}`, 0, undefined, { cause: err })),
      );
      if (payload) r.write(payload);
      r.end();
    });
  }
}

function readBody(body: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (c: Buffer) => chunks.push(c));
    body.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    body.on('error', (err) => reject(new KubeApiError(`response body: ${err.message}`, 0, undefined, { cause: err })));
    body.on('close', () => {
      if (!body.complete) reject(new KubeApiError('connection closed before the response was complete', 0));
    });
  });
}

function apiError(req: Pick<KubeRequest, 'method' | 'path'>, status: number, text: string): KubeApiError {
  let s: KubeStatus | undefined;
  try {
    s = JSON.parse(text) as KubeStatus;
  } catch {
    s = undefined;
  }
  const message = s?.message ?? (text.slice(0, 200) || `HTTP ${status}`);
  return new KubeApiError(`${req.method} ${req.path}: ${status} ${message}`, status, s?.reason);
}
