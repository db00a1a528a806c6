/**
 * Everything a NerModel reconcile reads: the model's validation Jobs (cache) and, once the current Job has
 * finished, its pod's termination message (API). The plan is pure over what this returns.
 */
import type { V1Job } from '@kubernetes/client-node';
import { LABELS } from '../../api/group.js';
import { VALIDATION_CONTAINER_NAME } from '../../api/nermodel-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import type { ReconcileContext } from '../../runtime/controller.js';
import { builtin } from '../../runtime/resource.js';
import { jobFinished, readTerminatedContainer } from '../job-result.js';
import { DEFAULT_IMAGE } from '../pod-templates.js';
import type { ModelStorageDefaults } from '../model-storage.js';
import { currentValidation, type ModelObserved } from './plan.js';

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
  return {
    model,
    jobs,
    now,
    image: options.image ?? DEFAULT_IMAGE,
    ...(options.storage ? { storage: options.storage } : {}),
    ...(terminated ? { terminated } : {}),
  };
}
