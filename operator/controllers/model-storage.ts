/**
 * How a model source (URI + credentials + CA) becomes pod volumes, mounts and flags, and the operator-wide
 * defaults that fill in what a source leaves unset.
 */
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { ModelSourceEnv } from '../../contracts/model-source-env.js';
import type { ModelSource } from '../api/nermodel.js';
import { flagArg } from '../../contracts/serve.js';
import { ModelSourceFlag } from '../../contracts/task-commands.js';
import { MOUNTS } from './pod-templates.js';
import { originOf } from '../../contracts/origins.js';

/**
 * Operator-wide model storage defaults (`ner-ops operator --default-model-*`, Helm `modelStorage.*`).
 * Names refer to objects in the namespace of the object being reconciled.
 */
export interface ModelStorageDefaults {
  /**
   * Secret (key `token`) for http(s) sources that set no `credentialsSecretRef`, sent only to
   * {@link credentialsOrigins}.
   */
  credentialsSecret?: string;
  /**
   * The model store's origins (`--default-model-credentials-origins`, normalized by `originOf`): the only
   * ones the default token goes to. Empty or unset: the default token goes nowhere.
   */
  credentialsOrigins?: string[];
  /**
   * S3 settings for `s3://` sources that leave them unset (`--default-model-s3-*`, Helm `modelStorage.s3.*`):
   * the hospital's on-prem store, so NerModels name only `s3://bucket/prefix`.
   */
  s3?: { endpoint?: string; region?: string; forcePathStyle?: boolean };
  /** ConfigMap (key `ca.crt`) for https sources that set no `caBundleConfigMapRef`. */
  caConfigMap?: string;
  /**
   * Where retraining Jobs write when a DriftPolicy sets no `spec.retraining.outputUri` (`pvc://` or
   * `file://`): `<uri>/<namespace>/<policy>` + `/` + run id.
   */
  uri?: string;
}

type SourceRefs = Pick<ModelSource, 'uri' | 'credentialsSecretRef' | 'caBundleConfigMapRef' | 'allowInsecureHttp'> &
  Partial<Pick<ModelSource, 's3' | 'plainHttp'>>;

/**
 * `source` with the operator's default credentials Secret / CA ConfigMap filled in where it sets none of
 * its own: the CA for `https://` only; the credentials only when the URI's origin is one of the store's
 * `credentialsOrigins`, and for an `http://` origin only when the source sets `allowInsecureHttp` (any
 * other source is fetched anonymously: the default token is the platform's, for the platform's store).
 * `pvc://` and `file://` sources are returned unchanged. The source's own refs always win.
 */
export function withStorageDefaults<T extends SourceRefs>(source: T, defaults: ModelStorageDefaults | undefined): T {
  if (!defaults) return source;
  const https = /^https:\/\//i.test(source.uri);
  const out = { ...source };
  const origin = originOf(source.uri);
  const storeOrigin = origin !== undefined && (defaults.credentialsOrigins ?? []).includes(origin);
  const inClear = origin?.startsWith('http:') === true;
  if (
    storeOrigin &&
    (!inClear || source.allowInsecureHttp) &&
    !source.credentialsSecretRef &&
    defaults.credentialsSecret
  )
    out.credentialsSecretRef = { name: defaults.credentialsSecret, key: 'token' };
  if (/^s3:\/\//i.test(source.uri) && defaults.s3) {
    const s3 = {
      ...defaults.s3,
      ...Object.fromEntries(Object.entries(source.s3 ?? {}).filter(([, v]) => v !== undefined)),
    };
    if (Object.keys(s3).length > 0) out.s3 = s3;
  }
  if (https && !source.caBundleConfigMapRef && defaults.caConfigMap)
    out.caBundleConfigMapRef = { name: defaults.caConfigMap, key: 'ca.crt' };
  return out;
}

/** Volumes, mounts and flags a container needs to read a model source. */
export interface SourceAccess {
  /** URI to pass to `ner-ops` (a `pvc://` URI becomes a path under the claim's mount). */
  uri: string;
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
  /**
   * `--token-file`/`--ca-file` flags (names as `fetch-model` and `validate` accept them), and
   * `--allow-insecure-http` (no value) when a token goes to an `http://` source that allows it.
   */
  args: string[];
  /**
   * Environment for `s3://` and `oci://` sources (every process that fetches reads it): the S3 endpoint /
   * region / path-style, the S3 keys from the Secret (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`), the
   * registry's docker config.json path, plain-http for the registry. Empty for other schemes.
   */
  env: V1EnvVar[];
}

/**
 * The http(s) URL credentials for `source` would be sent to, for the origin checks of credentials-origin.ts:
 * the URI itself for http(s); the S3 endpoint for `s3://` (AWS's when unset); the registry for `oci://`
 * (`http://` with plainHttp). A Secret's `nerops.io/allowed-origins` must list that origin.
 */
export function credentialsTargetUri(source: SourceRefs): string {
  if (/^s3:\/\//i.test(source.uri)) return source.s3?.endpoint ?? 'https://s3.amazonaws.com';
  const oci = /^oci:\/\/([^/]+)\//i.exec(source.uri);
  if (oci) return `${source.plainHttp ? 'http' : 'https'}://${oci[1]}/`;
  return source.uri;
}

/**
 * How a pod reads `source`: `pvc://claim/path` mounts the claim read-only and uses the path in place;
 * a credentials Secret (key `token` unless set) becomes `--token-file`; a CA ConfigMap (key `ca.crt`
 * unless set) becomes `--ca-file`. `prefix` keeps volume names unique when a pod reads several sources.
 */
export function sourceAccess(source: SourceRefs, prefix = 'model'): SourceAccess {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  const args: string[] = [];
  let uri = source.uri;
  const pvc = /^pvc:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (pvc) {
    const [, claim, path] = pvc as unknown as [string, string, string];
    const mountPath = `${MOUNTS.pvc}/${prefix}`;
    volumes.push({ name: `${prefix}-pvc`, persistentVolumeClaim: { claimName: claim, readOnly: true } });
    mounts.push({ name: `${prefix}-pvc`, mountPath, readOnly: true });
    uri = `${mountPath}/${path}`;
  }
  const env: V1EnvVar[] = [];
  const s3 = /^s3:\/\//i.test(uri);
  const oci = /^oci:\/\//i.test(uri);
  if (s3 || oci) {
    const target = credentialsTargetUri(source);
    if (s3 && source.s3?.endpoint) env.push({ name: ModelSourceEnv.s3Endpoint, value: source.s3.endpoint });
    if (s3 && source.s3?.region) env.push({ name: ModelSourceEnv.s3Region, value: source.s3.region });
    if (s3 && source.s3?.forcePathStyle !== undefined)
      env.push({ name: ModelSourceEnv.s3ForcePathStyle, value: String(source.s3.forcePathStyle) });
    if (oci && source.plainHttp) env.push({ name: ModelSourceEnv.ociPlainHttp, value: 'true' });
    const ref = source.credentialsSecretRef;
    if (ref && s3) {
      // Keys as env straight from the Secret: the operator never reads them.
      for (const [name, key] of [
        ['AWS_ACCESS_KEY_ID', 'accessKeyId'],
        ['AWS_SECRET_ACCESS_KEY', 'secretAccessKey'],
      ] as const)
        env.push({ name, valueFrom: { secretKeyRef: { name: ref.name, key } } });
    }
    if (ref && oci) {
      volumes.push({
        name: `${prefix}-credentials`,
        secret: { secretName: ref.name, items: [{ key: '.dockerconfigjson', path: 'config.json' }] },
      });
      mounts.push({ name: `${prefix}-credentials`, mountPath: `${MOUNTS.credentials}/${prefix}`, readOnly: true });
      env.push({ name: ModelSourceEnv.registryAuthFile, value: `${MOUNTS.credentials}/${prefix}/config.json` });
    }
    if (ref && source.allowInsecureHttp && /^http:\/\//i.test(target))
      args.push(flagArg(ModelSourceFlag.allowInsecureHttp));
  } else if (source.credentialsSecretRef) {
    const key = source.credentialsSecretRef.key ?? 'token';
    volumes.push({
      name: `${prefix}-credentials`,
      secret: { secretName: source.credentialsSecretRef.name, items: [{ key, path: 'token' }] },
    });
    mounts.push({ name: `${prefix}-credentials`, mountPath: `${MOUNTS.credentials}/${prefix}`, readOnly: true });
    args.push(flagArg(ModelSourceFlag.tokenFile), `${MOUNTS.credentials}/${prefix}/token`);
    if (source.allowInsecureHttp && /^http:\/\//i.test(source.uri))
      args.push(flagArg(ModelSourceFlag.allowInsecureHttp));
  }
  if (source.caBundleConfigMapRef) {
    const key = source.caBundleConfigMapRef.key ?? 'ca.crt';
    volumes.push({
      name: `${prefix}-ca`,
      configMap: { name: source.caBundleConfigMapRef.name, items: [{ key, path: 'ca.crt' }] },
    });
    mounts.push({ name: `${prefix}-ca`, mountPath: `${MOUNTS.ca}/${prefix}`, readOnly: true });
    args.push(flagArg(ModelSourceFlag.caFile), `${MOUNTS.ca}/${prefix}/ca.crt`);
  }
  return { uri, volumes, mounts, args, env };
}
