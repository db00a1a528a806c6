/**
 * Bundles in S3-compatible object storage, through the AWS SDK v3 S3 client (any S3 API: AWS, Ceph RGW,
 * versitygw, MinIO, NetApp StorageGRID…). `s3://bucket/prefix` is a bundle directory: the bundle's files
 * under `prefix/`; `s3://bucket/key.tar.gz` (or `.tgz`, `.tar`) is a bundle archive.
 *
 * Endpoint, region and path-style come from the caller (the NerModel's `spec.source.s3`, or the pod's
 * NEROPS_MODEL_S3_* environment the operator sets); credentials from explicit keys, or else the SDK's own
 * chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from a Secret, a web identity token...). No credentials at
 * all: anonymous requests (public buckets).
 */
import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { MANIFEST_FILE } from '../../contracts/bundle-manifest.js';
import { type FetchBudget, limitCause, ModelSourceError } from './fetch-budget.js';

export interface S3Settings {
  /** e.g. https://s3.hospital.local:9000; unset: AWS's regional endpoint. */
  endpoint?: string | undefined;
  region?: string | undefined;
  /** Path-style addressing (`endpoint/bucket/key`), which most on-prem stores need. */
  forcePathStyle?: boolean | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** Sign requests anonymously even when the environment holds credentials. */
  anonymous?: boolean | undefined;
}

export interface S3Access extends S3Settings {
  ca?: Buffer | undefined;
  /** Consent to send signed requests over a plain-http endpoint. */
  allowInsecureHttp?: boolean | undefined;
  timeoutMs: number;
  /** Where the SDK's credential chain would look (tests pass their own). */
  env?: NodeJS.ProcessEnv | undefined;
}

export interface S3Location {
  bucket: string;
  key: string;
}

export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  if (!m) throw new ModelSourceError(`invalid S3 URI ${uri.slice(0, 300)}: expected s3://bucket/key-prefix`);
  return { bucket: m[1] as string, key: (m[2] ?? '').replace(/^\/+/, '') };
}

function hasCredentials(a: S3Access): boolean {
  if (a.anonymous) return false;
  const env = a.env ?? process.env;
  return Boolean((a.accessKeyId && a.secretAccessKey) || env.AWS_ACCESS_KEY_ID || env.AWS_WEB_IDENTITY_TOKEN_FILE);
}

/** An S3 client for `a`; refuses a plain-http endpoint with credentials unless consented. */
export function s3Client(a: S3Access): S3Client {
  const credentials = hasCredentials(a);
  if (credentials && a.endpoint && /^http:\/\//i.test(a.endpoint) && !a.allowInsecureHttp)
    throw new ModelSourceError(
      `refused to send signed S3 requests over plain http to ${new URL(a.endpoint).origin}: use https, or allow it ` +
        `explicitly (--allow-insecure-http, NEROPS_MODEL_ALLOW_INSECURE_HTTP=true; NerModel spec.source.allowInsecureHttp)`,
    );
  const config: S3ClientConfig = {
    region: a.region ?? 'us-east-1',
    forcePathStyle: a.forcePathStyle ?? false,
    maxAttempts: 3,
    requestHandler: {
      requestTimeout: a.timeoutMs,
      ...(a.ca ? { httpsAgent: new https.Agent({ ca: a.ca, keepAlive: true }) } : {}),
    },
  };
  if (a.endpoint) config.endpoint = a.endpoint;
  if (a.accessKeyId && a.secretAccessKey && !a.anonymous)
    config.credentials = { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey };
  else if (!credentials) {
    // Anonymous: requests go unsigned. The SDK resolves an identity before it signs, so it gets an empty one
    // rather than searching the environment for credentials.
    config.credentials = { accessKeyId: '', secretAccessKey: '' };
    config.signer = { sign: (req) => Promise.resolve(req) };
  }
  return new S3Client(config);
}

function describe(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.key}`;
}

/** GET one object into `dest` within the budget (size cap counted as bytes arrive, overall deadline). */
export async function getObject(client: S3Client, loc: S3Location, dest: string, budget: FetchBudget): Promise<void> {
  const what = `downloading ${describe(loc)}`;
  let res;
  try {
    res = await client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), {
      abortSignal: budget.signal,
    });
  } catch (err) {
    const cause = limitCause(err, budget);
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const hint = status === 403 || status === 401 ? ' (check the S3 credentials Secret)' : '';
    throw new ModelSourceError(
      `${what} failed: ${status ? `HTTP ${status} ` : ''}${(cause as { name?: string }).name ?? ''} ${cause.message}${hint}`.trim(),
      { cause },
    );
  }
  if (res.ContentLength !== undefined && res.ContentLength > budget.remaining) {
    (res.Body as Readable | undefined)?.destroy();
    throw budget.overCap(`${what} (Content-Length ${res.ContentLength})`);
  }
  try {
    await pipeline(res.Body as Readable, budget.counter(what), createWriteStream(dest), { signal: budget.signal });
  } catch (err) {
    if (err instanceof ModelSourceError) throw err;
    const cause = limitCause(err, budget);
    throw new ModelSourceError(`${what} failed: ${cause.message}`, { cause });
  }
}

/**
 * Upload the bundle in `dir` under `s3://bucket/prefix/`: every file the manifest lists, then `ner-model.json`
 * last, so a reader that finds the manifest finds the files it lists. Returns the bundle digest.
 */
export async function putBundle(
  client: S3Client,
  loc: S3Location,
  dir: string,
  listFiles: (manifest: unknown) => string[],
): Promise<void> {
  const manifestBytes = await readFile(join(dir, MANIFEST_FILE));
  const names = listFiles(JSON.parse(manifestBytes.toString('utf8'))).filter((n) => n !== MANIFEST_FILE);
  const prefix = loc.key === '' || loc.key.endsWith('/') ? loc.key : `${loc.key}/`;
  for (const name of [...names, MANIFEST_FILE]) {
    const path = join(dir, name);
    const key = `${prefix}${name}`;
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: loc.bucket,
          Key: key,
          Body: await readFile(path),
          ContentLength: (await stat(path)).size,
        }),
      );
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      throw new ModelSourceError(
        `uploading s3://${loc.bucket}/${key} failed: ${status ? `HTTP ${status} ` : ''}${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}
