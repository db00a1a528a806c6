/**
 * How a model source (URI + credentials + CA) becomes pod volumes, mounts and flags, and the operator-wide
 * defaults that fill in what a source leaves unset.
 */
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
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
  /** ConfigMap (key `ca.crt`) for https sources that set no `caBundleConfigMapRef`. */
  caConfigMap?: string;
  /**
   * Where retraining Jobs write when a DriftPolicy sets no `spec.retraining.outputUri` (`pvc://` or
   * `file://`): `<uri>/<namespace>/<policy>` + `/` + run id.
   */
  uri?: string;
}

type SourceRefs = Pick<ModelSource, 'uri' | 'credentialsSecretRef' | 'caBundleConfigMapRef' | 'allowInsecureHttp'>;

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
  if (source.credentialsSecretRef) {
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
  return { uri, volumes, mounts, args };
}
