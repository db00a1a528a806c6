/**
 * What every pod the operator creates has in common: the image, the restricted Pod Security Standard
 * settings, the mount points, and the shape of a one-shot `ner-ops` task pod (validation, retraining).
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

/** Where model credentials and CA bundles are mounted inside pods. */
export const MOUNTS = {
  credentials: '/var/run/secrets/nerops/model',
  ca: '/etc/nerops/model-ca',
  pvc: '/mnt/nerops/pvc',
  // Not /tmp: a scratch mount must not shadow paths that URIs or the termination log may use.
  tmp: '/var/run/nerops/tmp',
} as const;

/** Where pods mount the claims of `pvc://claim/...` URIs: `<root>/<claim>/...` (env `NEROPS_PVC_ROOT`). */
export const PVC_CLAIMS_ROOT = `${MOUNTS.pvc}/claims`;

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
