/**
 * The small subset of the OCI distribution API that `oci://` model sources need: GET a manifest by digest,
 * GET and push blobs, PUT a manifest, with the registry's auth challenge answered (Basic, or the Bearer token
 * flow: WWW-Authenticate realm/service/scope, then a token fetched with the docker config.json credentials).
 *
 * Why by hand: no maintained JavaScript ORAS/OCI client exists on npm (`oras` is an empty 0.0.1 placeholder;
 * there is no `@oras/*` package), and the calls we need are a dozen HTTP requests the distribution spec
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md) pins exactly. Using node:https
 * directly also keeps the same rules as http sources: a private CA, no https→http redirects, credentials never
 * sent to another origin, and never over plain http without explicit consent.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type FetchBudget, limitCause, ModelSourceError } from './fetch-budget.js';

/** `oci://registry[:port]/repo/path[:tag][@sha256:hex]`, split. */
export interface OciReference {
  registry: string;
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

const OCI_URI =
  /^oci:\/\/([a-z0-9.-]+(?::[0-9]+)?|\[[0-9a-f:]+\](?::[0-9]+)?)\/([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/;

export function parseOciUri(uri: string): OciReference {
  const m = OCI_URI.exec(uri);
  if (!m)
    throw new ModelSourceError(
      `invalid OCI reference ${uri.slice(0, 300)}: expected oci://registry/repository[:tag][@sha256:<64 hex>]`,
    );
  return { registry: m[1] as string, repository: m[2] as string, tag: m[3], digest: m[4] };
}

export function formatOciUri(ref: OciReference): string {
  return `oci://${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

export interface RegistryOptions {
  /** docker config.json contents (`{"auths": {"host:port": {"auth": base64(user:pass)}}}`). */
  dockerConfig?: unknown;
  ca?: Buffer | undefined;
  /** Talk plain http to the registry (a lab or mirror without TLS). */
  plainHttp?: boolean | undefined;
  /** Consent to send credentials over plain http. */
  allowInsecureHttp?: boolean | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

/** Basic credentials for `registry` from a docker config.json, if it lists the registry. */
export function registryCredentials(config: unknown, registry: string): string | undefined {
  const auths = (config as { auths?: Record<string, { auth?: string; username?: string; password?: string }> })?.auths;
  if (!auths || typeof auths !== 'object') return undefined;
  for (const [key, entry] of Object.entries(auths)) {
    const host = key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    if (host !== registry || !entry) continue;
    if (typeof entry.auth === 'string' && entry.auth !== '') return entry.auth;
    if (typeof entry.username === 'string' && typeof entry.password === 'string')
      return Buffer.from(`${entry.username}:${entry.password}`).toString('base64');
  }
  return undefined;
}

/** One registry repository, with its auth state (a Bearer token is reused until the registry refuses it). */
export class RegistryClient {
  readonly base: URL;
  #basic: string | undefined;
  #authorization: string | undefined;
  constructor(
    readonly ref: OciReference,
    private readonly opts: RegistryOptions,
    private readonly scope: 'pull' | 'pull,push',
  ) {
    this.base = new URL(`${opts.plainHttp ? 'http' : 'https'}://${ref.registry}/`);
    this.#basic = registryCredentials(opts.dockerConfig, ref.registry);
    if (this.#basic && opts.plainHttp && !opts.allowInsecureHttp)
      throw new ModelSourceError(
        `refused to send registry credentials over plain http to ${this.base.origin}: use https, or allow it ` +
          `explicitly (--allow-insecure-http, NEROPS_MODEL_ALLOW_INSECURE_HTTP=true; NerModel spec.source.allowInsecureHttp)`,
      );
  }

  /** `/v2/<repo>/<kind>/<reference>` on this registry. */
  url(kind: 'manifests' | 'blobs', reference: string): URL {
    return new URL(`/v2/${this.ref.repository}/${kind}/${reference}`, this.base);
  }

  /**
   * A request, answering one auth challenge: Basic with the configured credentials, or Bearer with a token
   * from the challenge's realm. `body` is a factory so the request can be sent again after the challenge.
   */
  async request(
    method: string,
    url: URL,
    init: { headers?: Record<string, string>; body?: () => Buffer | Readable; redirects?: number } = {},
  ): Promise<Response> {
    let res = await this.#send(method, url, init, this.#authorization);
    if (res.status === 401 && url.origin === this.base.origin) {
      res.body.resume();
      const challenge = String(res.headers['www-authenticate'] ?? '');
      this.#authorization = await this.#answer(challenge);
      if (!this.#authorization)
        throw new ModelSourceError(
          `${this.base.host} requires credentials for ${this.ref.repository} and none are configured for it ` +
            `(a docker config.json Secret: --registry-auth-file)`,
        );
      res = await this.#send(method, url, init, this.#authorization);
    }
    if (res.status === 401 || res.status === 403) {
      res.body.resume();
      throw new ModelSourceError(
        `${method} ${this.#describe(url)} failed: HTTP ${res.status} (check the registry credentials)`,
      );
    }
    return res;
  }

  async #answer(challenge: string): Promise<string | undefined> {
    const scheme = /^\s*(\w+)/.exec(challenge)?.[1]?.toLowerCase();
    if (scheme === 'basic') return this.#basic ? `Basic ${this.#basic}` : undefined;
    if (scheme !== 'bearer') return undefined;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!params.realm) throw new ModelSourceError(`${this.base.host} sent a Bearer challenge without a realm`);
    const realm = new URL(params.realm);
    if (realm.protocol === 'http:' && this.#basic && !this.opts.allowInsecureHttp)
      throw new ModelSourceError(
        `refused to send registry credentials over plain http to the token service ${realm.origin}`,
      );
    if (realm.protocol !== 'http:' && realm.protocol !== 'https:')
      throw new ModelSourceError(`${this.base.host} sent a token realm that is not http(s)`);
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? `repository:${this.ref.repository}:${this.scope}`);
    // The realm is another origin the registry chose; it gets the registry's credentials (that is the
    // protocol), but only over https unless consented, as checked above.
    const res = await this.#send(
      'GET',
      realm,
      {},
      this.#basic ? `Basic ${this.#basic}` : undefined,
      /* toRealm */ true,
    );
    const text = await readText(res.body, 1 << 20);
    if (res.status !== 200)
      throw new ModelSourceError(`the token service ${realm.origin}${realm.pathname} answered HTTP ${res.status}`);
    let token: unknown;
    try {
      const parsed = JSON.parse(text) as { token?: unknown; access_token?: unknown };
      token = parsed.token ?? parsed.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '')
      throw new ModelSourceError(`the token service ${realm.origin}${realm.pathname} returned no token`);
    return `Bearer ${token}`;
  }

  #describe(url: URL): string {
    return `${url.protocol}//${url.host}${url.pathname}`;
  }

  async #send(
    method: string,
    url: URL,
    init: { headers?: Record<string, string>; body?: () => Buffer | Readable; redirects?: number },
    authorization: string | undefined,
    toRealm = false,
  ): Promise<Response> {
    this.opts.signal?.throwIfAborted();
    const sameOrigin = toRealm || url.origin === this.base.origin;
    const headers: Record<string, string> = { 'user-agent': 'ner-ops', ...init.headers };
    if (authorization && sameOrigin) headers.authorization = authorization;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(
        url,
        {
          method,
          headers,
          ...(this.opts.ca && url.protocol === 'https:' ? { ca: this.opts.ca } : {}),
          timeout: this.opts.timeoutMs,
          ...(this.opts.signal ? { signal: this.opts.signal } : {}),
        },
        resolve,
      );
      req.on('timeout', () => req.destroy(new Error(`no response within ${this.opts.timeoutMs} ms`)));
      req.on('error', reject);
      const body = init.body?.();
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else body.pipe(req);
    }).catch((err: unknown) => {
      throw new ModelSourceError(`${method} ${this.#describe(url)} failed: ${(err as Error).message}`, {
        cause: err,
      });
    });
    const status = res.statusCode ?? 0;
    // Blob GETs may redirect to the registry's storage backend (signed URLs): followed without our
    // credentials, never from https down to http.
    if (method === 'GET' && status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      const redirects = (init.redirects ?? 0) + 1;
      if (redirects > 5) throw new ModelSourceError(`too many redirects for ${this.#describe(url)}`);
      const next = new URL(res.headers.location, url);
      if (url.protocol === 'https:' && next.protocol !== 'https:')
        throw new ModelSourceError(`refused a redirect from https to ${next.protocol} for ${this.#describe(url)}`);
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new ModelSourceError(`refused a redirect to a non-HTTP URL for ${this.#describe(url)}`);
      return this.#send(method, next, { ...init, redirects }, next.origin === url.origin ? authorization : undefined);
    }
    return { status, headers: res.headers, body: res };
  }

  /** GET the manifest `reference` (a digest), at most `maxBytes`, verified against the digest. */
  async getManifest(digest: string, accept: string[]): Promise<Buffer> {
    const url = this.url('manifests', digest);
    const res = await this.request('GET', url, { headers: { accept: accept.join(', ') } });
    if (res.status !== 200) {
      res.body.resume();
      throw new ModelSourceError(`GET ${this.#describe(url)} failed: HTTP ${res.status}`);
    }
    const bytes = await readBytes(res.body, 4 << 20, `the manifest of ${this.#describe(url)}`);
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest)
      throw new ModelSourceError(
        `OCI manifest digest mismatch for ${formatOciUri(this.ref)}: the registry returned ${actual}`,
      );
    return bytes;
  }

  /** GET blob `digest` into `dest`, counted against `budget` and verified against its digest as it streams. */
  async getBlob(digest: string, size: number, dest: string, budget: FetchBudget, what: string): Promise<void> {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest))
      throw new ModelSourceError(`${what}: unsupported blob digest (sha256 only)`);
    if (Number.isFinite(size) && size > budget.remaining) throw budget.overCap(`${what} (size ${size})`);
    const url = this.url('blobs', digest);
    const res = await this.request('GET', url);
    if (res.status !== 200) {
      res.body.resume();
      throw new ModelSourceError(`GET ${this.#describe(url)} failed: HTTP ${res.status}`);
    }
    const hash = createHash('sha256');
    const counter = budget.counter(what);
    counter.on('data', (chunk: Buffer) => hash.update(chunk));
    try {
      await pipeline(res.body, counter, createWriteStream(dest), { signal: budget.signal });
    } catch (err) {
      await rm(dest, { force: true });
      if (err instanceof ModelSourceError) throw err;
      const cause = limitCause(err, budget);
      throw new ModelSourceError(`${what} failed: ${cause.message}`, { cause });
    }
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== digest) {
      await rm(dest, { force: true });
      throw new ModelSourceError(`${what}: blob content does not match its digest ${digest} (got ${actual})`);
    }
  }

  /** Upload a blob unless the registry has it (monolithic POST then PUT, the spec's simplest push). */
  async pushBlob(digest: string, size: number, body: () => Buffer | Readable): Promise<void> {
    const head = await this.request('HEAD', this.url('blobs', digest));
    head.body.resume();
    if (head.status === 200) return;
    const start = await this.request('POST', new URL(`/v2/${this.ref.repository}/blobs/uploads/`, this.base), {
      headers: { 'content-length': '0' },
    });
    start.body.resume();
    const location = start.headers.location;
    if (start.status !== 202 || !location)
      throw new ModelSourceError(`starting a blob upload to ${this.ref.registry} failed: HTTP ${start.status}`);
    const put = new URL(location, this.base);
    if (put.origin !== this.base.origin)
      throw new ModelSourceError(`the registry sent an upload location on another origin (${put.origin})`);
    put.searchParams.set('digest', digest);
    const res = await this.request('PUT', put, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body,
    });
    res.body.resume();
    if (res.status !== 201)
      throw new ModelSourceError(`uploading blob ${digest} to ${this.ref.registry} failed: HTTP ${res.status}`);
  }

  /** PUT a manifest under `reference` (tag or digest). */
  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<void> {
    const res = await this.request('PUT', this.url('manifests', reference), {
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: () => bytes,
    });
    const text = await readText(res.body, 64 << 10);
    if (res.status !== 201)
      throw new ModelSourceError(
        `pushing the manifest to ${this.ref.registry}/${this.ref.repository} failed: HTTP ${res.status} ${text.slice(0, 300)}`,
      );
  }
}

async function readBytes(body: Readable, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += (chunk as Buffer).length;
    if (n > max) {
      body.destroy();
      throw new ModelSourceError(`${what} is larger than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readText(body: Readable, max: number): Promise<string> {
  return (await readBytes(body, max, 'the response')).toString('utf8');
}

/** A file as a re-creatable request body. */
export function fileBody(path: string): () => Readable {
  return () => createReadStream(path);
}
