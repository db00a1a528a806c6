/**
 * Desired objects of a NerModel: the validation Job. Pure and deterministic (no clock, no randomness):
 * the Job name derives from the model name, the digest and the attempt number, so a restarted operator
 * finds the Job it created instead of creating another.
 */
import type { V1Job } from '@kubernetes/client-node';
import { fetchLimitArgs } from '../fetch-limits.js';
import { LABELS } from '../../api/group.js';
import { VALIDATION_CONTAINER_NAME } from '../../api/nermodel-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import { ownerReference } from '../../runtime/client.js';
import { boundedName, managedLabels } from '../child-metadata.js';
import { nerOpsTaskPod, tmpVolume } from '../pod-templates.js';
import { withPodOverrides } from '../pod-overrides.js';
import { sourceAccess, withStorageDefaults, type ModelStorageDefaults } from '../model-storage.js';
import { flagArg } from '../../../contracts/serve.js';
import { VALIDATE_COMMAND, ValidateFlag } from '../../../contracts/task-commands.js';

export interface ValidationJobOptions {
  image: string;
  /** 0 for the first attempt; transient failures retry with a new Job (new name). */
  attempt: number;
  /** Seconds a finished Job is kept (its result is already in the NerModel status). */
  ttlSecondsAfterFinished?: number;
  /** Hard limit for one validation run. */
  activeDeadlineSeconds?: number;
  /** Operator defaults for http(s) sources without their own credentials / CA refs. */
  storage?: ModelStorageDefaults;
}

/** Deterministic name: `<model>-val-<digest[0:10]>` (+ `-<attempt>` for retries), at most 63 characters. */
export function validationJobName(model: NerModel, attempt: number): string {
  const suffix = `-val-${model.spec.source.digest.slice(0, 10)}${attempt > 0 ? `-${attempt}` : ''}`;
  return boundedName(model.metadata.name ?? 'model', suffix);
}

/** The `ner-ops validate` Job for one attempt. */
export function desiredValidationJob(model: NerModel, options: ValidationJobOptions): V1Job {
  const name = validationJobName(model, options.attempt);
  const modelName = model.metadata.name ?? '';
  const effective = withStorageDefaults(model.spec.source, options.storage);
  const source = sourceAccess(effective, 'model');
  const volumes = [...source.volumes, tmpVolume().volume];
  const mounts = [...source.mounts, tmpVolume().mount];
  const args = [
    VALIDATE_COMMAND,
    source.uri,
    flagArg(ValidateFlag.digest),
    model.spec.source.digest,
    ...source.args,
    ...fetchLimitArgs(model.spec.source),
  ];
  const evaluation = model.spec.evaluation;
  if (evaluation) {
    // The dataset is read with the same credentials/CA as the model source.
    const data = sourceAccess(
      {
        uri: evaluation.datasetUri,
        credentialsSecretRef: effective.credentialsSecretRef,
        caBundleConfigMapRef: effective.caBundleConfigMapRef,
      },
      'dataset',
    );
    const dataPvc = data.volumes.filter((v) => v.persistentVolumeClaim);
    volumes.push(...dataPvc);
    mounts.push(...data.mounts.filter((m) => dataPvc.some((v) => v.name === m.name)));
    args.push(flagArg(ValidateFlag.dataset), data.uri);
  }
  const labels = managedLabels({ [LABELS.validates]: modelName });
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: model.metadata.namespace, labels, ownerReferences: [ownerReference(model)] },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished ?? 86_400,
      activeDeadlineSeconds: options.activeDeadlineSeconds ?? 1800,
      // spec.validation.podTemplate: placement and metadata only; the pod stays restricted.
      template: withPodOverrides(
        model.spec.validation?.podTemplate,
        {
          metadata: { labels },
          spec: nerOpsTaskPod({
            name: VALIDATION_CONTAINER_NAME,
            image: options.image,
            args,
            resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
            volumes,
            mounts,
            env: source.env,
          }),
        },
        VALIDATION_CONTAINER_NAME,
      ),
    },
  };
}
