/**
 * How a model source (URI + credentials + CA) becomes pod volumes, mounts and flags, and the operator-wide
 * defaults that fill in what a source leaves unset.
 */
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ModelSource } from '../api/nermodel.js';
import { flagArg } from '../../contracts/serve.js';
import { ModelSourceFlag } from '../../contracts/task-commands.js';
import { MOUNTS } from './pod-templates.js';

/**
 * Operator-wide model storage defaults (`ner-ops operator --default-model-*`, Helm `modelStorage.*`).
 * Names refer to objects in the namespace of the object being reconciled.
 */
export interface ModelStorageDefaults {
  /** Secret (key `token`) for http(s) sources that set no `credentialsSecretRef`. */
  credentialsSecret?: string;
  /** ConfigMap (key `ca.crt`) for https sources that set no `caBundleConfigMapRef`. */
  caConfigMap?: string;
  /**
   * Where retraining Jobs write when a DriftPolicy sets no `spec.retraining.outputUri` (`pvc://` or
   * `file://`): `<uri>/<namespace>/<policy>` + `/` + run id.
   */
  uri?: string;
}

type SourceRefs = Pick<ModelSource, 'uri' | 'credentialsSecretRef' | 'caBundleConfigMapRef'>;

/**
 * `source` with the operator's default credentials Secret / CA ConfigMap filled in where it sets none of
 * its own: credentials for `http://` and `https://`, the CA for `https://` only; `pvc://` and `file://`
 * sources are returned unchanged. The source's own refs always win.
 */
export function withStorageDefaults<T extends SourceRefs>(source: T, defaults: ModelStorageDefaults | undefined): T {
  if (!defaults) return source;
  const http = /^https?:\/\//i.test(source.uri);
  const https = /^https:\/\//i.test(source.uri);
  const out = { ...source };
  if (http && !source.credentialsSecretRef && defaults.credentialsSecret)
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
  /** `--token-file`/`--ca-file` flags (names as `fetch-model` and `validate` accept them). */
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
