/**
 * Desired objects of a DriftPolicy: the retraining Job of a run and, once it succeeded, the NerModel built
 * from its result. Pure and deterministic: names derive from the policy and the run id (which status
 * records before anything is created), so a restarted operator finds what it created instead of creating
 * it twice.
 */
import type { V1Container, V1EnvVar, V1Job, V1JobSpec, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { fetchLimitEnv } from '../fetch-limits.js';
import { API_VERSION, LABELS } from '../../api/group.js';
import type { DriftPolicy, RetrainTrigger } from '../../api/driftpolicy.js';
import type { NerModel } from '../../api/nermodel.js';
import { ownerReference } from '../../runtime/client.js';
import { boundedName, managedLabels } from '../child-metadata.js';
import { nerOpsTaskPod, PVC_CLAIMS_ROOT, tmpVolume } from '../pod-templates.js';
import { sourceAccess, withStorageDefaults, type ModelStorageDefaults } from '../model-storage.js';
import { templateJobSpec, templatePodSpec } from './template-policy.js';
import { ModelSourceEnv } from '../../../contracts/model-source-env.js';
import {
  PVC_ROOT_ENV,
  RETRAIN_CONTAINER_NAME,
  RetrainingEnv,
  type RetrainResult,
} from '../../../contracts/retraining-job.js';
import { flagArg } from '../../../contracts/serve.js';
import { ModelSourceFlag, RETRAIN_COMMAND, RetrainFlag } from '../../../contracts/task-commands.js';

/** Label on retraining Jobs: the run id. */
export const RUN_ID_LABEL = 'nerops.io/run-id';
/** Annotation on retraining Jobs: what triggered the run. */
export const TRIGGER_ANNOTATION = 'nerops.io/trigger';
/** Annotation on retraining Jobs: the feedback store merged into the dataset (the lineage names it). */
export const FEEDBACK_STORE_ANNOTATION = 'nerops.io/feedback-store';
/** Where `pvc://claim/...` URIs are mounted in the default Job: `<root>/<claim>/...` (env {@link PVC_ROOT_ENV}). */
export const PVC_ROOT = PVC_CLAIMS_ROOT;
/** Seconds a finished retraining Job is kept (its result is in status and in the NerModel by then). */
export const RETRAIN_JOB_TTL_SECONDS = 86_400;

/** A run id from the trigger time and kind: `YYYYMMDD-HHMMSS-<trigger>` (UTC), a valid label value. */
export function runIdFor(time: Date, trigger: RetrainTrigger): string {
  const iso = time.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${trigger.toLowerCase()}`;
}

/** `<policy>-<runId>`, at most 63 characters. */
export function retrainJobName(policy: DriftPolicy, runId: string): string {
  return boundedName(policy.metadata.name ?? 'drift', `-${runId}`);
}

/**
 * Output prefix of the policy's runs: `spec.retraining.outputUri`, else the operator's default model URI
 * (`--default-model-uri`) + `/<namespace>/<policy name>`; undefined when neither is set (no Job can start).
 */
export function outputPrefixFor(policy: DriftPolicy, defaultUri: string | undefined): string | undefined {
  const own = policy.spec.retraining.outputUri;
  if (own) return own.replace(/\/+$/, '');
  if (!defaultUri) return undefined;
  return `${defaultUri.replace(/\/+$/, '')}/${policy.metadata.namespace ?? 'default'}/${policy.metadata.name ?? 'drift'}`;
}

/** Output location of a run: the output prefix ({@link outputPrefixFor}) + `/` + run id; undefined without one. */
export function outputUriFor(policy: DriftPolicy, runId: string, defaultUri?: string): string | undefined {
  const prefix = outputPrefixFor(policy, defaultUri);
  return prefix === undefined ? undefined : `${prefix}/${runId}`;
}

/** The claims of `pvc://claim/...` URIs, each once. */
function claimsOf(uris: readonly string[]): string[] {
  return [
    ...new Set(uris.map((u) => /^pvc:\/\/([^/]+)\//.exec(u)?.[1]).filter((c): c is string => c !== undefined)),
  ].sort();
}

export interface RetrainJobInput {
  policy: DriftPolicy;
  runId: string;
  trigger: RetrainTrigger;
  /** The serving model the run starts from (its URI and digest go into the contract env). */
  baseModel: NerModel;
  image: string;
  /**
   * Operator model storage defaults: `uri` is the output prefix when the policy sets no outputUri;
   * credentials / CA are mounted in the default Job for an http(s) base model without its own refs.
   */
  storage?: ModelStorageDefaults;
  /**
   * The target's feedback store, when the run merges its export into the dataset (the policy's
   * `includeFeedback` and the target's `spec.feedback.storeUri`): contract env, and its claim mounted.
   */
  feedbackStoreUri?: string | undefined;
}

/** The run's output URI; throws when there is none (the plan never builds a Job then). */
function requiredOutputUri(i: RetrainJobInput): string {
  const uri = outputUriFor(i.policy, i.runId, i.storage?.uri);
  if (uri === undefined)
    throw new Error(
      `DriftPolicy ${i.policy.metadata.name}: spec.retraining.outputUri is not set and the operator has no --default-model-uri`,
    );
  return uri;
}

/** The contract env (DESIGN.md "Retraining Job contract"), names from driftpolicy-constants.ts. */
export function contractEnv(i: RetrainJobInput): V1EnvVar[] {
  return [
    { name: RetrainingEnv.BaseModelUri, value: i.baseModel.spec.source.uri },
    { name: RetrainingEnv.BaseModelDigest, value: i.baseModel.spec.source.digest },
    { name: RetrainingEnv.DatasetUri, value: i.policy.spec.retraining.datasetUri },
    { name: RetrainingEnv.OutputUri, value: requiredOutputUri(i) },
    { name: RetrainingEnv.RunId, value: i.runId },
    ...(i.feedbackStoreUri ? [{ name: RetrainingEnv.FeedbackStoreUri, value: i.feedbackStoreUri }] : []),
  ];
}

function withEnv(c: V1Container, env: readonly V1EnvVar[]): V1Container {
  const names = new Set(env.map((e) => e.name));
  return { ...c, env: [...(c.env ?? []).filter((e) => !names.has(e.name)), ...env] };
}

/** Env of the default Job naming the base model's mounted token / CA files (the names `fetch-model` reads). */
export const BASE_MODEL_FILE_ENV: Readonly<Record<string, string>> = {
  [flagArg(ModelSourceFlag.tokenFile)]: ModelSourceEnv.tokenFile,
  [flagArg(ModelSourceFlag.caFile)]: ModelSourceEnv.caFile,
};

/**
 * Credentials and CA of an http(s) base model (its own refs, else the operator defaults) for the default
 * Job: the Secret / ConfigMap mounted, their paths in {@link BASE_MODEL_FILE_ENV}, and the CA also in
 * NODE_EXTRA_CA_CERTS (trusted by every TLS connection of the process). Nothing for pvc:// and file://.
 */
function baseModelAccess(i: RetrainJobInput): { volumes: V1Volume[]; mounts: V1VolumeMount[]; env: V1EnvVar[] } {
  const source = withStorageDefaults(i.baseModel.spec.source, i.storage);
  if (!/^(https?|s3|oci):\/\//i.test(source.uri)) return { volumes: [], mounts: [], env: [] };
  const access = sourceAccess(source, 'base-model');
  const env: V1EnvVar[] = [...access.env];
  for (let k = 0; k < access.args.length; k += 2) {
    const flag = access.args[k] as string;
    if (flag === flagArg(ModelSourceFlag.allowInsecureHttp)) {
      // A flag without a value: the one argument becomes `NEROPS_MODEL_ALLOW_INSECURE_HTTP=true`.
      env.push({ name: ModelSourceEnv.allowInsecureHttp, value: 'true' });
      k -= 1;
      continue;
    }
    const path = access.args[k + 1] as string;
    env.push({ name: BASE_MODEL_FILE_ENV[flag] as string, value: path });
    if (flag === flagArg(ModelSourceFlag.caFile)) env.push({ name: 'NODE_EXTRA_CA_CERTS', value: path });
  }
  return { volumes: access.volumes, mounts: access.mounts, env };
}

/** The default pod: `ner-ops retrain` in the operator's image, pvc claims mounted under {@link PVC_ROOT}. */
function defaultJobSpec(i: RetrainJobInput): V1JobSpec {
  const tmp = tmpVolume();
  const claims = claimsOf([
    i.baseModel.spec.source.uri,
    i.policy.spec.retraining.datasetUri,
    requiredOutputUri(i),
    ...(i.feedbackStoreUri ? [i.feedbackStoreUri] : []),
  ]);
  const base = baseModelAccess(i);
  const volumes: V1Volume[] = [
    tmp.volume,
    ...claims.map((c, n) => ({ name: `pvc-${n}`, persistentVolumeClaim: { claimName: c } })),
    ...base.volumes,
  ];
  const mounts: V1VolumeMount[] = [
    tmp.mount,
    ...claims.map((c, n) => ({ name: `pvc-${n}`, mountPath: `${PVC_ROOT}/${c}` })),
    ...base.mounts,
  ];
  return {
    template: {
      spec: nerOpsTaskPod({
        name: RETRAIN_CONTAINER_NAME,
        image: i.image,
        args: [RETRAIN_COMMAND, ...(i.policy.spec.retraining.fromScratch ? [flagArg(RetrainFlag.fromScratch)] : [])],
        env: [{ name: PVC_ROOT_ENV, value: PVC_ROOT }, ...base.env, ...fetchLimitEnv(i.baseModel.spec.source)],
        resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '2Gi' } },
        volumes,
        mounts,
      }),
    },
  };
}

/**
 * The retraining Job of one run: the policy's template (with the restricted defaults of
 * template-policy.ts; the plan only builds it when the template passed) or the default `ner-ops retrain`
 * pod, with the contract env injected into every container, our labels, an ownerReference to the policy, no retries
 * (`backoffLimit: 0` unless the template sets one: a failed run is recorded and backed off by the
 * controller) and `spec.retraining.activeDeadlineSeconds`.
 */
export function desiredRetrainJob(i: RetrainJobInput): V1Job {
  const { policy, runId } = i;
  const template = policy.spec.retraining.template;
  const spec: V1JobSpec = templateJobSpec(policy) ?? defaultJobSpec(i);
  const env = contractEnv(i);
  const labels = managedLabels({
    ...(template?.metadata?.labels ?? {}),
    [LABELS.driftPolicy]: policy.metadata.name ?? '',
    [RUN_ID_LABEL]: runId,
  });
  // The pod template-policy.ts judged: the template's, with the restricted defaults where it says nothing.
  const podSpec = template ? templatePodSpec(spec) : (spec.template?.spec ?? { containers: [] });
  podSpec.restartPolicy ??= 'Never';
  podSpec.containers = (podSpec.containers ?? []).map((c) => withEnv(c, env));
  if (podSpec.initContainers) podSpec.initContainers = podSpec.initContainers.map((c) => withEnv(c, env));
  spec.template = {
    ...spec.template,
    metadata: { ...spec.template?.metadata, labels: { ...(spec.template?.metadata?.labels ?? {}), ...labels } },
    spec: podSpec,
  };
  spec.backoffLimit ??= 0;
  spec.ttlSecondsAfterFinished ??= RETRAIN_JOB_TTL_SECONDS;
  spec.activeDeadlineSeconds = policy.spec.retraining.activeDeadlineSeconds;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: retrainJobName(policy, runId),
      namespace: policy.metadata.namespace,
      labels,
      annotations: {
        ...(template?.metadata?.annotations ?? {}),
        [TRIGGER_ANNOTATION]: i.trigger,
        ...(i.feedbackStoreUri ? { [FEEDBACK_STORE_ANNOTATION]: i.feedbackStoreUri } : {}),
      },
      ownerReferences: [ownerReference(policy)],
    },
    spec,
  };
}

/** Name of the NerModel created from a run: `<family>-<runId>` (at most 63 characters). */
export function retrainedModelName(baseModel: NerModel, runId: string): string {
  return boundedName(baseModel.spec.family, `-${runId}`);
}

/**
 * The NerModel built from a successful run: same family, format and evaluation as the base model, the
 * bundle URI and digest from the result, and lineage (parent, dataset, the feedback merged in, Job, policy, run,
 * evaluation). No
 * ownerReference: deleting the policy must never delete a model that may be serving.
 */
export function desiredRetrainedModel(
  policy: DriftPolicy,
  baseModel: NerModel,
  run: { runId: string; jobName: string; feedbackStoreUri?: string | undefined },
  result: RetrainResult,
  defaultUri?: string,
): NerModel {
  const policyName = policy.metadata.name ?? '';
  return {
    apiVersion: API_VERSION,
    kind: 'NerModel',
    metadata: {
      name: retrainedModelName(baseModel, run.runId),
      namespace: policy.metadata.namespace,
      labels: managedLabels({
        [LABELS.family]: baseModel.spec.family,
        [LABELS.driftPolicy]: policyName,
        [RUN_ID_LABEL]: run.runId,
      }),
    },
    spec: {
      family: baseModel.spec.family,
      version: run.runId,
      format: result.format ?? baseModel.spec.format,
      source: {
        uri: result.bundleUri ?? outputUriFor(policy, run.runId, defaultUri) ?? '',
        digest: result.digest ?? '',
        ...(baseModel.spec.source.credentialsSecretRef
          ? { credentialsSecretRef: baseModel.spec.source.credentialsSecretRef }
          : {}),
        ...(baseModel.spec.source.caBundleConfigMapRef
          ? { caBundleConfigMapRef: baseModel.spec.source.caBundleConfigMapRef }
          : {}),
        ...(baseModel.spec.source.allowInsecureHttp ? { allowInsecureHttp: true } : {}),
        // An s3:// or oci:// output is in the base model's store: same endpoint settings.
        ...(baseModel.spec.source.s3 ? { s3: baseModel.spec.source.s3 } : {}),
        ...(baseModel.spec.source.plainHttp ? { plainHttp: true } : {}),
      },
      entityTypes:
        result.entityTypes && result.entityTypes.length > 0
          ? [...result.entityTypes].sort()
          : [...baseModel.spec.entityTypes],
      ...(baseModel.spec.evaluation ? { evaluation: baseModel.spec.evaluation } : {}),
      // The assertion language and FHIR mapping belong to the family's output, not to one training run.
      ...(baseModel.spec.assertions ? { assertions: baseModel.spec.assertions } : {}),
      ...(baseModel.spec.fhir ? { fhir: baseModel.spec.fhir } : {}),
      lineage: {
        parentModel: baseModel.metadata.name ?? '',
        ...(result.datasetDigest ? { datasetDigest: result.datasetDigest } : {}),
        datasetUri: policy.spec.retraining.datasetUri,
        // Digest and counts of the feedback export: enough to tell which corrections trained it, no content.
        ...(result.feedback && run.feedbackStoreUri
          ? {
              feedback: {
                storeUri: run.feedbackStoreUri,
                digest: result.feedback.digest,
                documents: result.feedback.documents,
                heldOutDocuments: result.feedback.heldOutDocuments,
              },
            }
          : {}),
        trainingJob: run.jobName,
        driftPolicy: policyName,
        runId: run.runId,
        evaluationId: result.evaluationId ?? run.runId,
      },
    },
  };
}
