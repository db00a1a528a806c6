/**
 * Pieces shared by the controllers: the resource types of our kinds, the restricted security settings
 * every pod we create uses, and how a model source (URI + credentials + CA) becomes pod volumes and flags.
 */
import type {
  V1Container,
  V1EnvVar,
  V1PodSecurityContext,
  V1PodSpec,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { GROUP, LABELS, MANAGED_BY, NER_DEPLOYMENT, NER_MODEL, VERSION } from '../api/group.js';
import type { ModelSource } from '../api/nermodel.js';
import type { ResourceType } from '../runtime/resource.js';

/** NerModel as a runtime resource type. */
export const nerModels: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: NER_MODEL.kind,
  plural: NER_MODEL.plural,
  namespaced: true,
};
/** NerDeployment as a runtime resource type. */
export const nerDeployments: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: NER_DEPLOYMENT.kind,
  plural: NER_DEPLOYMENT.plural,
  namespaced: true,
};

/** Image used for every pod the operator creates unless a spec overrides it (operator flag `--image`). */
export const DEFAULT_IMAGE = 'nerops:dev';

/** Non-root user of the nerops image (distroless "nonroot"). */
export const NONROOT_UID = 65532;

/** Pod-level settings of the "restricted" Pod Security Standard. */
export function restrictedPodSecurity(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: NONROOT_UID,
    runAsGroup: NONROOT_UID,
    fsGroup: NONROOT_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level settings of the "restricted" Pod Security Standard, plus a read-only root filesystem. */
export function restrictedContainerSecurity(): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Labels on every object the operator creates. */
export function managedLabels(extra: Record<string, string>): Record<string, string> {
  return { [LABELS.managedBy]: MANAGED_BY, ...extra };
}

/** Shortens `base` so that `base + suffix` is a valid name of at most `max` characters. */
export function boundedName(base: string, suffix: string, max = 63): string {
  const room = max - suffix.length;
  return `${base.slice(0, room).replace(/[-.]+$/, '')}${suffix}`;
}

/** Where model credentials and CA bundles are mounted inside pods. */
export const MOUNTS = {
  credentials: '/var/run/secrets/nerops/model',
  ca: '/etc/nerops/model-ca',
  pvc: '/mnt/nerops/pvc',
  // Not /tmp: a scratch mount must not shadow paths that URIs or the termination log may use.
  tmp: '/var/run/nerops/tmp',
} as const;

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
    args.push('--token-file', `${MOUNTS.credentials}/${prefix}/token`);
  }
  if (source.caBundleConfigMapRef) {
    const key = source.caBundleConfigMapRef.key ?? 'ca.crt';
    volumes.push({
      name: `${prefix}-ca`,
      configMap: { name: source.caBundleConfigMapRef.name, items: [{ key, path: 'ca.crt' }] },
    });
    mounts.push({ name: `${prefix}-ca`, mountPath: `${MOUNTS.ca}/${prefix}`, readOnly: true });
    args.push('--ca-file', `${MOUNTS.ca}/${prefix}/ca.crt`);
  }
  return { uri, volumes, mounts, args };
}

/** A writable /tmp for containers with a read-only root filesystem. */
export function tmpVolume(): { volume: V1Volume; mount: V1VolumeMount } {
  return { volume: { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }, mount: { name: 'tmp', mountPath: MOUNTS.tmp } };
}

/** The `ner-ops` container entrypoint: the image's CLI with a subcommand. */
export function nerOpsCommand(container: Omit<V1Container, 'command'>): V1Container {
  return { command: ['ner-ops'], ...container };
}

/**
 * The pod of a one-shot `ner-ops` task Job (validation, retraining): never restarted (the controller
 * records a failure and backs off itself), no service-account token, restricted security, a writable
 * TMPDIR, and the log tail as termination message when the process dies without writing one.
 */
export function nerOpsTaskPod(task: {
  name: string;
  image: string;
  args: string[];
  env?: V1EnvVar[];
  resources: V1ResourceRequirements;
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
}): V1PodSpec {
  return {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    securityContext: restrictedPodSecurity(),
    volumes: task.volumes,
    containers: [
      nerOpsCommand({
        name: task.name,
        image: task.image,
        args: task.args,
        env: [{ name: 'TMPDIR', value: MOUNTS.tmp }, ...(task.env ?? [])],
        terminationMessagePolicy: 'FallbackToLogsOnError',
        resources: task.resources,
        securityContext: restrictedContainerSecurity(),
        volumeMounts: task.mounts,
      }),
    ],
  };
}
