/**
 * Everything a NerModel reconcile reads: the model's validation Jobs and the namespace's NerDeployments
 * (cache) and, once the current Job has finished, its pod's termination message (API). The plan is pure over what this returns.
 */
import type { V1Job } from '@kubernetes/client-node';
import { LABELS } from '../../api/group.js';
import { VALIDATION_CONTAINER_NAME } from '../../api/nermodel-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import { nerDeployments } from '../../api/resources.js';
import type { ReconcileContext } from '../../runtime/controller.js';
import { builtin } from '../../runtime/resource.js';
import { jobFinished, readTerminatedContainer } from '../job-result.js';
import { DEFAULT_IMAGE } from '../pod-templates.js';
import type { ModelStorageDefaults } from '../model-storage.js';
import { currentValidation, type ModelObserved } from './plan.js';
import { originOf, type SecretMetadata } from '../credentials-origin.js';

/**
 * The annotations of the Secret the source names, read only when a Job is about to be created for an
 * http(s) source (only then can a token leave the cluster); never the Secret's data.
 */
async function readCredentialsSecret(ctx: ReconcileContext<NerModel>): Promise<SecretMetadata | undefined> {
  const ref = ctx.object.spec.source.credentialsSecretRef;
  if (!ref || originOf(ctx.object.spec.source.uri) === undefined) return undefined;
  const meta = await ctx.client.getMetadata(builtin.secrets, ctx.namespace, ref.name);
  return meta ? { name: ref.name, annotations: meta.metadata?.annotations ?? {} } : { name: ref.name, missing: true };
}

export interface NerModelControllerOptions {
  /** Image of the validation Job (operator flag `--image`). */
  image?: string;
  /** Default credentials / CA for http(s) sources (operator flags `--default-model-*`). */
  storage?: ModelStorageDefaults;
}

export async function gatherModel(
  ctx: ReconcileContext<NerModel>,
  options: NerModelControllerOptions,
): Promise<ModelObserved> {
  const model = ctx.object;
  const now = ctx.now();
  const jobs = ctx.cache<V1Job>(builtin.jobs).list(ctx.namespace, { [LABELS.validates]: ctx.name });
  const { jobName } = currentValidation(model, now);
  const current = jobName ? jobs.find((j) => j.metadata?.name === jobName) : undefined;
  // Only a finished Job's pod is worth a request: it carries the result in its termination message.
  const terminated =
    jobName && current && jobFinished(current)
      ? await readTerminatedContainer(ctx, jobName, { name: VALIDATION_CONTAINER_NAME })
      : undefined;
  const credentialsSecret = jobName && !current ? await readCredentialsSecret(ctx) : undefined;
  return {
    model,
    jobs,
    deployments: ctx.cache<NerDeployment>(nerDeployments).list(ctx.namespace),
    now,
    image: options.image ?? DEFAULT_IMAGE,
    ...(options.storage ? { storage: options.storage } : {}),
    ...(terminated ? { terminated } : {}),
    ...(credentialsSecret ? { credentialsSecret } : {}),
  };
}
