/**
 * Shadow traffic: after the primary has answered, a sample of requests is replayed against another server
 * (the canary) in the background. The two entity sets are compared per document and the agreement
 * (entity-level F1, primary as reference) is exported, with shadow errors and latency, for canary analysis.
 *
 * Shadowing must never hurt the primary: it starts only after the response is sent, runs at most
 * `maxConcurrent` requests at a time and drops (counts, never queues) a sample beyond that, and every
 * failure is swallowed into a metric. Shadow requests carry `x-nerops-shadow: 1`, and a server never
 * shadows a request that carries it, so two servers pointed at each other cannot loop.
 */
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import type { Entity } from '../engine/types.js';
import type { ServerMetrics } from './metrics.js';

export const SHADOW_HEADER = 'x-nerops-shadow';

export interface ShadowOptions {
  /** Base URL of the shadow server (`http://canary:8080`), or its full `/v1/extract` URL. */
  url: string;
  /** Share of eligible requests to mirror, 0–100. */
  percent: number;
  /** Most shadow requests in flight; beyond it samples are dropped. */
  maxConcurrent: number;
  timeoutMs: number;
  /** Sent as `Authorization: Bearer` when the shadow server requires auth. */
  token?: string | undefined;
}

type EntityKey = Pick<Entity, 'label' | 'start' | 'end'>;

/**
 * Entity-level F1 of `shadow` against `primary` (exact span and label). Symmetric; two empty sets agree
 * perfectly (1), one empty and one not disagree completely (0).
 */
export function entityAgreement(primary: readonly EntityKey[], shadow: readonly EntityKey[]): number {
  const key = (e: EntityKey) => `${e.label}\u0000${e.start}\u0000${e.end}`;
  const a = new Set(primary.map(key));
  const b = new Set(shadow.map(key));
  if (a.size === 0 && b.size === 0) return 1;
  let both = 0;
  for (const k of b) if (a.has(k)) both++;
  return (2 * both) / (a.size + b.size);
}

/** Resolve the extract endpoint from a base URL or a full endpoint URL. */
export function shadowEndpoint(url: string): URL {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error(`shadow URL must be http(s), got ${u.protocol}`);
  if (u.pathname.endsWith('/v1/extract')) return u;
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return new URL('v1/extract', u);
}

export class ShadowClient {
  readonly #endpoint: URL;
  readonly #opts: ShadowOptions;
  readonly #metrics: ServerMetrics;
  readonly #log: Logger;
  readonly #random: () => number;
  /** Keep-alive connections to the shadow, at most one per concurrent request. */
  readonly #agent: http.Agent;
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(opts: ShadowOptions, metrics: ServerMetrics, log: Logger, random: () => number = Math.random) {
    if (!(opts.percent >= 0 && opts.percent <= 100)) throw new Error('shadow percent must be between 0 and 100');
    this.#endpoint = shadowEndpoint(opts.url);
    this.#opts = opts;
    this.#metrics = metrics;
    this.#log = log;
    this.#random = random;
    const agentOpts = { keepAlive: true, maxSockets: opts.maxConcurrent, maxFreeSockets: opts.maxConcurrent };
    this.#agent = this.#endpoint.protocol === 'https:' ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
  }

  /** Close idle keep-alive connections (shutdown). */
  close(): void {
    this.#agent.destroy();
  }

  get inflight(): number {
    return this.#inflight;
  }

  /**
   * Maybe mirror one answered request. Returns at once; the comparison happens in the background.
   * `primary[i]` holds the primary's entities for `texts[i]`. `language` is the assertion language the primary
   * used; the shadow gets it as `Content-Language`, so its assertion metrics count the same rules.
   */
  offer(
    texts: readonly string[],
    primary: readonly (readonly EntityKey[])[],
    requestId: string,
    language?: string,
  ): void {
    if (texts.length === 0 || this.#random() * 100 >= this.#opts.percent) return;
    if (this.#inflight >= this.#opts.maxConcurrent) {
      this.#metrics.shadowRequests.inc({ outcome: 'dropped' });
      return;
    }
    this.#inflight++;
    void this.#send(texts, primary, requestId, language).finally(() => {
      this.#inflight--;
      if (this.#inflight === 0) {
        const w = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const f of w) f();
      }
    });
  }

  /** Resolves when no shadow request is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    if (this.#inflight === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  async #send(
    texts: readonly string[],
    primary: readonly (readonly EntityKey[])[],
    requestId: string,
    language: string | undefined,
  ): Promise<void> {
    const started = process.hrtime.bigint();
    let reason: string | undefined;
    try {
      const { status, body } = await this.#post(
        JSON.stringify({ documents: texts.map((text, i) => ({ id: String(i), text })) }),
        requestId,
        language,
      );
      this.#metrics.shadowLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      if (status < 200 || status >= 300) {
        reason = status >= 500 ? 'http_5xx' : 'http_4xx';
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      const shadowResults = parseShadowResults(parsed, texts.length);
      if (!shadowResults) {
        reason = 'invalid_response';
        return;
      }
      primary.forEach((entities, i) =>
        this.#metrics.shadowAgreement.observe(entityAgreement(entities, shadowResults[i] ?? [])),
      );
    } catch (err) {
      reason = (err as Error).name === 'TimeoutError' ? 'timeout' : 'network';
    } finally {
      if (reason) {
        this.#metrics.shadowRequests.inc({ outcome: 'error' });
        this.#metrics.shadowErrors.inc({ reason });
        // Only the reason and the request id: never the payload.
        this.#log.warn({ requestId, reason }, 'shadow request failed');
      } else {
        this.#metrics.shadowRequests.inc({ outcome: 'ok' });
      }
    }
  }

  /** POST over a keep-alive agent (cheaper per request than fetch); rejects on network errors and timeout. */
  #post(payload: string, requestId: string, language: string | undefined): Promise<{ status: number; body: string }> {
    const u = this.#endpoint;
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      [SHADOW_HEADER]: '1',
      'x-request-id': requestId,
    };
    if (this.#opts.token) headers.authorization = `Bearer ${this.#opts.token}`;
    if (language !== undefined) headers['content-language'] = language;
    const mod = u.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(u, { method: 'POST', agent: this.#agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          // A shadow answer is about as large as ours; refuse to buffer anything absurd.
          if (size > 16 * 1024 * 1024) req.destroy(new Error('shadow response too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      const timer = setTimeout(() => {
        const err = new Error(`shadow request exceeded ${this.#opts.timeoutMs} ms`);
        err.name = 'TimeoutError';
        req.destroy(err);
      }, this.#opts.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });
  }
}

/** Pull `results[i].entities` (label/start/end) out of a `/v1/extract` documents response, or undefined. */
function parseShadowResults(body: unknown, n: number): EntityKey[][] | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const results = (body as { results?: unknown }).results;
  if (!Array.isArray(results) || results.length !== n) return undefined;
  const out: EntityKey[][] = new Array<EntityKey[]>(n);
  for (const r of results as unknown[]) {
    if (typeof r !== 'object' || r === null) return undefined;
    const { id, entities } = r as { id?: unknown; entities?: unknown };
    const idx = Number(id);
    if (!Number.isInteger(idx) || idx < 0 || idx >= n || !Array.isArray(entities)) return undefined;
    const keys: EntityKey[] = [];
    for (const e of entities as unknown[]) {
      if (typeof e !== 'object' || e === null) return undefined;
      const { label, start, end } = e as Record<string, unknown>;
      if (typeof label !== 'string' || typeof start !== 'number' || typeof end !== 'number') return undefined;
      keys.push({ label, start, end });
    }
    out[idx] = keys;
  }
  return out;
}
