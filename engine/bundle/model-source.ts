/**
 * Model sources: turn a `--model` URI into a local bundle directory. Every process that loads a bundle
 * fetches it here: the server, `ner-ops validate` and `fetch-model`, and the retraining Job.
 *
 * - a local directory, or `file:///path/to/dir`: used in place;
 * - a local `.tar` / `.tar.gz` / `.tgz` (path or `file://`): extracted into a work directory;
 * - `http(s)://…/bundle.tar.gz`: downloaded and extracted;
 * - `http(s)://…/dir/` (anything else): a bundle served as a directory; `ner-model.json` is fetched first,
 *   checked against the expected digest before anything else is downloaded, then every file it lists;
 * - `s3://bucket/prefix` (a bundle directory) or `s3://bucket/key.tar.gz` (an archive) in S3-compatible storage
 *   (s3-source.ts), with the same digest-first order;
 * - `oci://registry/repo[:tag]@sha256:…`: an ORAS-style artifact, digest-pinned (oci-source.ts).
 *
 * HTTP sources take an optional bearer token (read from a mounted file, never from argv) and an optional
 * CA bundle for private PKI. The bundle's integrity is not decided here: callers verify the digest with
 * the engine (`verifyBundle` / `loadEngine`), which checks every file against the manifest. What is decided
 * here is what a fetch may cost before that check (docs/security.md, "Model fetch limits"):
 * - a size cap, counted while bytes arrive and while an archive expands, never after the fact;
 * - an overall deadline for the whole fetch, besides the per-request stall timeout;
 * - a pinned digest checked before anything is extracted or before a directory's files are downloaded;
 * - no redirect from https to http.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FILE } from '../../contracts/bundle-manifest.js';
import { DeadlineError, FetchBudget, limitCause, ModelSourceError } from './fetch-budget.js';
export { ModelSourceError };
import { ModelSourceEnv } from '../../contracts/model-source-env.js';
import { pullOciBundle, pushOciBundle, type OciAccess } from './oci-source.js';
import { getObject, parseS3Uri, putBundle, s3Client, type S3Access, type S3Settings } from './s3-source.js';
import { extractTar, hashTarEntries, TarLimitError } from './tar.js';

export interface ModelSourceOptions {
  /** Expected bundle digest (sha256 hex of the manifest); checked early for HTTP directory sources. */
  digest?: string | undefined;
  /** File holding a bearer token for HTTP sources (a mounted Secret). */
  tokenFile?: string | undefined;
  /** PEM CA bundle to trust for HTTPS sources, in addition to nothing else (private PKI). */
  caFile?: string | undefined;
  /**
   * Send the token over plain `http://` too. Off by default: a token in clear can be read by anyone on the
   * path, so only an explicit opt-in (the NerModel's `spec.source.allowInsecureHttp`) allows it.
   */
  allowInsecureHttp?: boolean | undefined;
  /** Where downloads and extractions go; default a fresh directory under the OS temp dir. */
  workDir?: string | undefined;
  /** Per-request timeout for HTTP sources (no bytes received for this long). */
  timeoutMs?: number | undefined;
  /** Size cap: bytes downloaded, and bytes an archive expands to (default MODEL_FETCH_DEFAULTS.maxBytes). */
  maxBytes?: number | undefined;
  /** Overall deadline for the whole fetch, downloads and extraction (default MODEL_FETCH_DEFAULTS.fetchDeadlineMs). */
  deadlineMs?: number | undefined;
  /** `s3://` sources: endpoint, region, path-style and keys (unset fields: {@link storageSettingsFromEnv}). */
  s3?: S3Settings | undefined;
  /** `oci://` sources: a docker config.json with the registry's credentials. */
  registryAuthFile?: string | undefined;
  /** `oci://` sources: talk plain http to the registry. */
  ociPlainHttp?: boolean | undefined;
}

/**
 * The S3 and registry settings a pod's environment carries (the operator sets NEROPS_MODEL_S3_* and
 * NEROPS_MODEL_REGISTRY_AUTH_FILE on the pods it creates, as the AWS SDK reads AWS_* credentials itself), so
 * every process that fetches a bundle honours them without a flag of its own.
 */
export function storageSettingsFromEnv(
  env: NodeJS.ProcessEnv,
): Pick<ModelSourceOptions, 's3' | 'registryAuthFile' | 'ociPlainHttp'> {
  const flag = (v: string | undefined) => (v === undefined ? undefined : v === 'true');
  return {
    s3: {
      endpoint: env[ModelSourceEnv.s3Endpoint] || undefined,
      region: env[ModelSourceEnv.s3Region] || undefined,
      forcePathStyle: flag(env[ModelSourceEnv.s3ForcePathStyle]),
    },
    registryAuthFile: env[ModelSourceEnv.registryAuthFile] || undefined,
    ociPlainHttp: flag(env[ModelSourceEnv.ociPlainHttp]),
  };
}

/** Explicit options win; the environment fills what they leave unset. */
function withEnvSettings(opts: ModelSourceOptions): ModelSourceOptions {
  const env = storageSettingsFromEnv(process.env);
  return {
    ...opts,
    s3: { ...stripUndefined(env.s3 ?? {}), ...stripUndefined(opts.s3 ?? {}) },
    registryAuthFile: opts.registryAuthFile ?? env.registryAuthFile,
    ociPlainHttp: opts.ociPlainHttp ?? env.ociPlainHttp,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface MaterializedBundle {
  /** Directory containing `ner-model.json`. */
  dir: string;
  /** The directory we created for a download or extraction (absent when the user's directory is used in place). */
  workDir?: string;
}

const TAR_SUFFIX = /\.(tar|tar\.gz|tgz)$/i;

/** Resolve `uri` to a local bundle directory, downloading or extracting as needed. */
export async function materializeBundle(uri: string, opts: ModelSourceOptions = {}): Promise<MaterializedBundle> {
  const budget = new FetchBudget(opts);
  try {
    return await materialize(uri, opts, budget);
  } finally {
    budget.dispose();
  }
}

async function materialize(uri: string, opts: ModelSourceOptions, budget: FetchBudget): Promise<MaterializedBundle> {
  if (/^https?:\/\//i.test(uri)) return fetchHttp(new URL(uri), opts, budget);
  if (/^s3:\/\//i.test(uri)) return fetchS3(uri, withEnvSettings(opts), budget);
  if (/^oci:\/\//i.test(uri)) return fetchOci(uri, withEnvSettings(opts), budget);
  let path: string;
  if (/^file:\/\//i.test(uri)) {
    try {
      path = fileURLToPath(uri);
    } catch (err) {
      throw new ModelSourceError(`invalid file URI ${uri}: ${(err as Error).message}`, { cause: err });
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new ModelSourceError(
      `unsupported model URI scheme in ${uri}; use a path, file://, http://, https://, s3:// or oci://`,
    );
  } else {
    path = uri;
  }
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new ModelSourceError(
      `model source ${path} does not exist or is unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    );
  }
  if (st.isDirectory()) return { dir: path };
  if (!st.isFile()) throw new ModelSourceError(`model source ${path} is neither a directory nor a regular file`);
  const work = await ensureWorkDir(opts.workDir);
  const dest = join(work, 'bundle');
  await extractArchive(path, dest, opts.digest, budget);
  return { dir: await findBundleRoot(dest), workDir: work };
}

async function ensureWorkDir(given: string | undefined): Promise<string> {
  const d = given ?? join(tmpdir(), `nerops-model-${randomBytes(6).toString('hex')}`);
  await mkdir(d, { recursive: true });
  return d;
}

/**
 * Extract a bundle archive within the budget. With a pinned digest the archive is read twice: first only to
 * hash the manifest a bundle directory would be found at, so a wrong bundle is refused before anything of it
 * is written; then to extract.
 */
async function extractArchive(
  archive: string,
  dest: string,
  digest: string | undefined,
  budget: FetchBudget,
): Promise<void> {
  const limits = { maxBytes: budget.maxBytes, signal: budget.signal };
  const describe = (err: unknown) => {
    const cause = limitCause(err, budget);
    const what = cause instanceof TarLimitError || cause instanceof DeadlineError ? 'refused' : 'cannot extract';
    return new ModelSourceError(`${what} bundle archive ${archive}: ${cause.message}`, { cause });
  };
  if (digest) {
    let manifests: Map<string, string>;
    try {
      manifests = await hashTarEntries(archive, isManifestCandidate, limits);
    } catch (err) {
      throw describe(err);
    }
    const actual = pinnedManifestDigest(manifests);
    if (actual === undefined)
      throw new ModelSourceError(
        `the bundle archive contains no ${MANIFEST_FILE} at its root or in a single top-level directory`,
      );
    if (actual !== digest.toLowerCase())
      throw new ModelSourceError(
        `bundle digest mismatch for archive ${archive}: expected ${digest}, got ${actual} (nothing was extracted)`,
      );
  }
  try {
    await extractTar(archive, dest, limits);
  } catch (err) {
    throw describe(err);
  }
}

/** `ner-model.json` at the archive root or one directory down: where {@link findBundleRoot} looks. */
function isManifestCandidate(path: string): boolean {
  const parts = path.split('/');
  return parts[parts.length - 1] === MANIFEST_FILE && parts.length <= 2;
}

/** The digest of the manifest {@link findBundleRoot} will choose after extraction (same rule, same order). */
function pinnedManifestDigest(manifests: Map<string, string>): string | undefined {
  const root = manifests.get(MANIFEST_FILE);
  if (root) return root;
  const nested = [...manifests.keys()].filter((p) => p.includes('/'));
  return nested.length === 1 ? manifests.get(nested[0] as string) : undefined;
}

/** A bundle archive may hold the files at its root or inside one top-level directory. */
async function findBundleRoot(dir: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && e.name === MANIFEST_FILE)) return dir;
  const dirs = entries.filter((e) => e.isDirectory());
  if (dirs.length === 1 && dirs[0]) {
    const inner = join(dir, dirs[0].name);
    if ((await readdir(inner)).includes(MANIFEST_FILE)) return inner;
  }
  throw new ModelSourceError(
    `the bundle archive contains no ${MANIFEST_FILE} at its root or in a single top-level directory`,
  );
}

/** Names of the files a manifest pins, relative to the bundle directory. */
export function manifestFiles(manifest: unknown): string[] {
  const files = (manifest as { files?: unknown } | null)?.files;
  let names: string[] = [];
  if (Array.isArray(files)) {
    names = files.map((f: unknown) =>
      typeof f === 'string'
        ? f
        : String((f as { path?: unknown; name?: unknown }).path ?? (f as { name?: unknown }).name ?? ''),
    );
  } else if (files && typeof files === 'object') {
    names = Object.keys(files);
  }
  names = names.filter((n) => n !== '');
  if (names.length === 0) throw new ModelSourceError(`${MANIFEST_FILE} lists no files`);
  for (const n of names) {
    const norm = normalize(n);
    if (n.startsWith('/') || norm.split(sep).includes('..'))
      throw new ModelSourceError(`${MANIFEST_FILE} lists an unsafe path ${JSON.stringify(n.slice(0, 200))}`);
  }
  return names;
}

interface HttpOptions {
  token?: string | undefined;
  ca?: Buffer | undefined;
  timeoutMs: number;
  allowInsecureHttp?: boolean | undefined;
}

async function httpOptions(opts: ModelSourceOptions): Promise<HttpOptions> {
  let token: string | undefined;
  if (opts.tokenFile) {
    try {
      token = (await readFile(opts.tokenFile, 'utf8')).trim();
    } catch (err) {
      throw new ModelSourceError(
        `cannot read token file ${opts.tokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause: err },
      );
    }
    if (token === '') throw new ModelSourceError(`token file ${opts.tokenFile} is empty`);
  }
  let ca: Buffer | undefined;
  if (opts.caFile) {
    try {
      ca = await readFile(opts.caFile);
    } catch (err) {
      throw new ModelSourceError(
        `cannot read CA bundle ${opts.caFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause: err },
      );
    }
  }
  return { token, ca, timeoutMs: opts.timeoutMs ?? 60_000, allowInsecureHttp: opts.allowInsecureHttp };
}

async function fetchHttp(url: URL, opts: ModelSourceOptions, budget: FetchBudget): Promise<MaterializedBundle> {
  const h = await httpOptions(opts);
  const work = await ensureWorkDir(opts.workDir);
  if (TAR_SUFFIX.test(url.pathname)) {
    const archive = join(work, 'bundle.download');
    await download(url, archive, h, budget);
    const dest = join(work, 'bundle');
    try {
      await extractArchive(archive, dest, opts.digest, budget);
    } finally {
      await rm(archive, { force: true });
    }
    return { dir: await findBundleRoot(dest), workDir: work };
  }
  // A directory: fetch the manifest, check its digest before trusting its file list, then each file.
  const base = new URL(url);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const dest = join(work, 'bundle');
  await mkdir(dest, { recursive: true });
  const manifestPath = join(dest, MANIFEST_FILE);
  await download(new URL(MANIFEST_FILE, base), manifestPath, h, budget);
  const manifestBytes = await readFile(manifestPath);
  if (opts.digest) {
    const actual = createHash('sha256').update(manifestBytes).digest('hex');
    if (actual !== opts.digest.toLowerCase()) {
      throw new ModelSourceError(`bundle digest mismatch for ${redact(url)}: expected ${opts.digest}, got ${actual}`);
    }
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8'));
  } catch (err) {
    throw new ModelSourceError(`${MANIFEST_FILE} from ${redact(url)} is not valid JSON`, { cause: err });
  }
  for (const name of manifestFiles(manifest)) {
    if (name === MANIFEST_FILE) continue;
    const target = join(dest, name);
    await mkdir(dirname(target), { recursive: true });
    await download(new URL(name.split('/').map(encodeURIComponent).join('/'), base), target, h, budget);
  }
  return { dir: dest, workDir: work };
}

async function s3Access(opts: ModelSourceOptions): Promise<S3Access> {
  const h = await httpOptions({ ...opts, tokenFile: undefined });
  return { ...opts.s3, ca: h.ca, allowInsecureHttp: opts.allowInsecureHttp, timeoutMs: h.timeoutMs };
}

async function fetchS3(uri: string, opts: ModelSourceOptions, budget: FetchBudget): Promise<MaterializedBundle> {
  const loc = parseS3Uri(uri);
  const client = s3Client(await s3Access(opts));
  const work = await ensureWorkDir(opts.workDir);
  const dest = join(work, 'bundle');
  try {
    if (TAR_SUFFIX.test(loc.key)) {
      const archive = join(work, 'bundle.download');
      await getObject(client, loc, archive, budget);
      try {
        await extractArchive(archive, dest, opts.digest, budget);
      } finally {
        await rm(archive, { force: true });
      }
      return { dir: await findBundleRoot(dest), workDir: work };
    }
    // A directory: the manifest first, its digest checked before its file list is trusted, then each file.
    const prefix = loc.key === '' || loc.key.endsWith('/') ? loc.key : `${loc.key}/`;
    await mkdir(dest, { recursive: true });
    const manifestPath = join(dest, MANIFEST_FILE);
    await getObject(client, { bucket: loc.bucket, key: prefix + MANIFEST_FILE }, manifestPath, budget);
    const manifestBytes = await readFile(manifestPath);
    if (opts.digest) {
      const actual = createHash('sha256').update(manifestBytes).digest('hex');
      if (actual !== opts.digest.toLowerCase())
        throw new ModelSourceError(`bundle digest mismatch for ${uri}: expected ${opts.digest}, got ${actual}`);
    }
    let manifest: unknown;
    try {
      manifest = JSON.parse(manifestBytes.toString('utf8'));
    } catch (err) {
      throw new ModelSourceError(`${MANIFEST_FILE} from ${uri} is not valid JSON`, { cause: err });
    }
    for (const name of manifestFiles(manifest)) {
      if (name === MANIFEST_FILE) continue;
      const target = join(dest, name);
      await mkdir(dirname(target), { recursive: true });
      await getObject(client, { bucket: loc.bucket, key: prefix + name }, target, budget);
    }
    return { dir: dest, workDir: work };
  } finally {
    client.destroy();
  }
}

async function ociAccess(opts: ModelSourceOptions): Promise<OciAccess> {
  const h = await httpOptions({ ...opts, tokenFile: undefined });
  let dockerConfig: unknown;
  if (opts.registryAuthFile) {
    try {
      dockerConfig = JSON.parse(await readFile(opts.registryAuthFile, 'utf8'));
    } catch (err) {
      throw new ModelSourceError(
        `cannot read the registry auth file ${opts.registryAuthFile} as docker config.json (${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'})`,
        { cause: err },
      );
    }
  }
  return {
    dockerConfig,
    ca: h.ca,
    plainHttp: opts.ociPlainHttp,
    allowInsecureHttp: opts.allowInsecureHttp,
    timeoutMs: h.timeoutMs,
  };
}

async function fetchOci(uri: string, opts: ModelSourceOptions, budget: FetchBudget): Promise<MaterializedBundle> {
  const access = await ociAccess(opts);
  const work = await ensureWorkDir(opts.workDir);
  const dest = join(work, 'bundle');
  await pullOciBundle(uri, dest, access, budget, opts.digest, manifestFiles);
  return { dir: dest, workDir: work };
}

/**
 * Publish the bundle in `dir` to an `s3://` prefix or an `oci://` repository (`ner-ops package --push`, the
 * retraining Job's output). Returns the URI a NerModel should name: for OCI the digest-pinned reference.
 */
export async function publishBundle(
  uri: string,
  dir: string,
  opts: Pick<
    ModelSourceOptions,
    's3' | 'registryAuthFile' | 'ociPlainHttp' | 'caFile' | 'allowInsecureHttp' | 'timeoutMs'
  > = {},
): Promise<{ uri: string; bundleDigest: string }> {
  const o = withEnvSettings(opts);
  if (/^oci:\/\//i.test(uri)) {
    const pushed = await pushOciBundle(uri, dir, await ociAccess(o), manifestFiles);
    return { uri: pushed.uri, bundleDigest: pushed.bundleDigest };
  }
  if (/^s3:\/\//i.test(uri)) {
    const loc = parseS3Uri(uri);
    if (TAR_SUFFIX.test(loc.key))
      throw new ModelSourceError(`publishing to an S3 archive key is not supported: give a prefix (s3://bucket/dir)`);
    const client = s3Client(await s3Access(o));
    try {
      await putBundle(client, loc, dir, manifestFiles);
    } finally {
      client.destroy();
    }
    return { uri, bundleDigest: await fileSha256(join(dir, MANIFEST_FILE)) };
  }
  throw new ModelSourceError(
    `cannot publish to ${uri.slice(0, 300)}: use s3://bucket/prefix or oci://registry/repo:tag`,
  );
}

/** URL without credentials or query (which may carry signed tokens), for messages. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * GET `url` into `dest`, following up to 5 redirects, within the budget's size cap and deadline. The token is
 * not forwarded to another origin, and a redirect from https to http is refused (it would send the request,
 * and possibly the token, in clear, and let a network attacker substitute the answer).
 */
async function download(url: URL, dest: string, h: HttpOptions, budget: FetchBudget, redirects = 0): Promise<void> {
  const origin = url.origin;
  budget.signal.throwIfAborted();
  if (h.token && url.protocol === 'http:' && !h.allowInsecureHttp)
    throw new ModelSourceError(
      `refused to send the bearer token over plain http to ${origin}: use https, or allow it explicitly ` +
        `(--allow-insecure-http, NEROPS_MODEL_ALLOW_INSECURE_HTTP=true; NerModel spec.source.allowInsecureHttp)`,
    );
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'ner-ops' };
    if (h.token) headers.authorization = `Bearer ${h.token}`;
    const req = mod.get(
      url,
      {
        headers,
        ...(h.ca && url.protocol === 'https:' ? { ca: h.ca } : {}),
        timeout: h.timeoutMs,
        signal: budget.signal,
      },
      resolve,
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${h.timeoutMs} ms`)));
    req.on('error', reject);
  }).catch((err: unknown) => {
    const cause = limitCause(err, budget);
    throw new ModelSourceError(`cannot download ${redact(url)}: ${cause.message}`, { cause });
  });
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location) {
    res.resume();
    if (redirects >= 5) throw new ModelSourceError(`too many redirects downloading ${redact(url)}`);
    const next = new URL(res.headers.location, url);
    if (url.protocol === 'https:' && next.protocol !== 'https:')
      throw new ModelSourceError(
        `refused a redirect from https to ${next.protocol.replace(/:$/, '')} downloading ${redact(url)}`,
      );
    if (next.protocol !== 'http:' && next.protocol !== 'https:')
      throw new ModelSourceError(`refused a redirect to a non-HTTP URL downloading ${redact(url)}`);
    const nextOpts = next.origin === origin ? h : { ...h, token: undefined };
    return download(next, dest, nextOpts, budget, redirects + 1);
  }
  if (status !== 200) {
    res.resume();
    const hint = status === 401 || status === 403 ? ' (check --model-token-file)' : '';
    throw new ModelSourceError(`downloading ${redact(url)} failed: HTTP ${status}${hint}`);
  }
  const what = `downloading ${redact(url)}`;
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > budget.remaining) {
    res.destroy();
    throw budget.overCap(`${what} (Content-Length ${declared})`);
  }
  res.setTimeout(h.timeoutMs, () => res.destroy(new Error(`stalled for ${h.timeoutMs} ms`)));
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        budget.take(chunk.length, what);
        done(null, chunk);
      } catch (err) {
        done(err as Error);
      }
    },
  });
  try {
    await pipeline(res, counter, createWriteStream(dest), { signal: budget.signal });
  } catch (err) {
    if (err instanceof ModelSourceError) throw err;
    const cause = limitCause(err, budget);
    throw new ModelSourceError(`${what} failed: ${cause.message}`, { cause });
  }
}

/**
 * Download one file over HTTP(S) with the same token, CA, timeout, redirect and size rules as bundles (the
 * validation and retraining Jobs fetch their datasets this way). Throws {@link ModelSourceError} naming the
 * URL and, when one is broken, the limit.
 */
export async function downloadFile(
  uri: string,
  dest: string,
  opts: Pick<
    ModelSourceOptions,
    'tokenFile' | 'caFile' | 'timeoutMs' | 'maxBytes' | 'deadlineMs' | 'allowInsecureHttp'
  > = {},
): Promise<void> {
  const budget = new FetchBudget(opts);
  try {
    await download(new URL(uri), dest, await httpOptions(opts), budget);
  } finally {
    budget.dispose();
  }
}

/** Write-then-verify helper for tests and fetch-model: the sha256 hex of a file. */
export async function fileSha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}
