/**
 * The bundle cleanup Job of a DriftPolicy: `ner-ops delete-bundles` in the operator's image, the output
 * claim mounted where `pvc://` URIs resolve ({@link PVC_ROOT}), on the same restricted task pod as the
 * default retraining Job (pod-templates.ts). From a retraining template that passed the tenant pod policy it
 * takes only what reaching the same files needs: the pod's securityContext (the user and group that wrote
 * the bundles), node selector, tolerations and affinity (a ReadWriteOnce claim's node). Pure and
 * deterministic: the name derives from the models it cleans up, so a restarted operator finds its Job.
 */
import { createHash } from 'node:crypto';
import type { V1Job, V1PodSpec } from '@kubernetes/client-node';
import { LABELS } from '../../api/group.js';
import type { DriftPolicy } from '../../api/driftpolicy.js';
import { ownerReference } from '../../runtime/client.js';
import { boundedName, managedLabels } from '../child-metadata.js';
import { nerOpsTaskPod, tmpVolume } from '../pod-templates.js';
import { PVC_ROOT } from './desired.js';
import { templateJobSpec, templatePodSpec } from './template-policy.js';
import { DELETE_BUNDLES_CONTAINER_NAME, parsePvcUri } from '../../../contracts/bundle-cleanup.js';
import { PVC_ROOT_ENV } from '../../../contracts/retraining-job.js';
import { flagArg } from '../../../contracts/serve.js';
import { DELETE_BUNDLES_COMMAND, DeleteBundlesFlag } from '../../../contracts/task-commands.js';

/** Label on cleanup Jobs (besides the policy's): tells them from retraining Jobs. */
export const BUNDLE_CLEANUP_LABEL = 'nerops.io/bundle-cleanup';
/** Annotation on a cleanup Job: the NerModels whose bundles it deletes (comma-separated names). */
export const CLEANUP_MODELS_ANNOTATION = 'nerops.io/cleanup-models';
/**
 * Seconds a finished cleanup Job is kept. A failed one is retried only once it is gone (the name is the
 * same for the same models), so this is also the back-off between attempts.
 */
export const CLEANUP_JOB_TTL_SECONDS = 600;
/** Bundles per Job: keeps the pod spec small; the rest go in the next Job. */
export const MAX_BUNDLES_PER_JOB = 20;

export interface CleanupJobInput {
  policy: DriftPolicy;
  /** The policy's output prefix (`pvc://claim/...`). */
  within: string;
  /** The models whose bundles go, with their bundle URIs (inside `within`). */
  bundles: ReadonlyArray<{ model: string; uri: string }>;
  /** Locations other NerModels reference on the same claim: the Job refuses to touch them. */
  keep: readonly string[];
  image: string;
  /** True when the policy's retraining template passed the tenant pod policy (its placement may be used). */
  templateAllowed: boolean;
}

/** `<policy>-cleanup-<hash of the models and bundles>`, at most 63 characters. */
export function cleanupJobName(policy: DriftPolicy, bundles: CleanupJobInput['bundles']): string {
  const key = [...bundles]
    .map((b) => `${b.model}\u0000${b.uri}`)
    .sort()
    .join('\n');
  return boundedName(
    policy.metadata.name ?? 'drift',
    `-cleanup-${createHash('sha256').update(key).digest('hex').slice(0, 10)}`,
  );
}

/** The template pod's fields that decide which files the pod may touch and where it can mount the claim. */
function templatePlacement(policy: DriftPolicy): Partial<V1PodSpec> {
  const spec = templateJobSpec(policy);
  if (!spec) return {};
  const pod = templatePodSpec(spec);
  return {
    ...(pod.securityContext ? { securityContext: pod.securityContext } : {}),
    ...(pod.nodeSelector ? { nodeSelector: pod.nodeSelector } : {}),
    ...(pod.tolerations ? { tolerations: pod.tolerations } : {}),
    ...(pod.affinity ? { affinity: pod.affinity } : {}),
  };
}

/** The cleanup Job; `within` must be a `pvc://` location (the plan only builds a Job then). */
export function desiredCleanupJob(i: CleanupJobInput): V1Job {
  const claim = parsePvcUri(i.within)?.claim;
  if (!claim) throw new Error(`bundle cleanup needs a pvc:// output prefix`);
  const tmp = tmpVolume();
  const labels = managedLabels({ [LABELS.driftPolicy]: i.policy.metadata.name ?? '', [BUNDLE_CLEANUP_LABEL]: 'true' });
  const sorted = [...i.bundles].sort((a, b) => a.model.localeCompare(b.model));
  const pod = nerOpsTaskPod({
    name: DELETE_BUNDLES_CONTAINER_NAME,
    image: i.image,
    args: [
      DELETE_BUNDLES_COMMAND,
      flagArg(DeleteBundlesFlag.within),
      i.within,
      ...sorted.flatMap((b) => [flagArg(DeleteBundlesFlag.bundle), b.uri]),
      ...[...new Set(i.keep)].sort().flatMap((k) => [flagArg(DeleteBundlesFlag.keep), k]),
    ],
    env: [{ name: PVC_ROOT_ENV, value: PVC_ROOT }],
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    volumes: [tmp.volume, { name: 'pvc-0', persistentVolumeClaim: { claimName: claim } }],
    mounts: [tmp.mount, { name: 'pvc-0', mountPath: `${PVC_ROOT}/${claim}` }],
  });
  const spec: V1PodSpec = { ...pod, ...(i.templateAllowed ? templatePlacement(i.policy) : {}) };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: cleanupJobName(i.policy, i.bundles),
      namespace: i.policy.metadata.namespace,
      labels,
      annotations: { [CLEANUP_MODELS_ANNOTATION]: sorted.map((b) => b.model).join(',') },
      ownerReferences: [ownerReference(i.policy)],
    },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: CLEANUP_JOB_TTL_SECONDS,
      activeDeadlineSeconds: 600,
      template: { metadata: { labels }, spec },
    },
  };
}
