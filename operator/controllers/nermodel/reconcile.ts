/**
 * NerModel controller: the thin I/O shell around {@link planModel}. Reads the model's validation Jobs
 * from the cache (and, once the current Job has finished, its pod's termination message from the API),
 * creates the Job when the plan asks for it, writes status only when it changed, and records Events after
 * the status write.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { LABELS } from '../../api/group.js';
import { VALIDATION_CONTAINER_NAME } from '../../api/nermodel-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import type { ControllerSpec, ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin } from '../../runtime/resource.js';
import { DEFAULT_IMAGE, nerModels, type ModelStorageDefaults } from '../common.js';
import { jobFinished, planModel, type TerminatedContainer } from './status.js';

export interface NerModelControllerOptions {
  /** Image of the validation Job (operator flag `--image`). */
  image?: string;
  /** Default credentials / CA for http(s) sources (operator flags `--default-model-*`). */
  storage?: ModelStorageDefaults;
}

/** The terminated validate container of the Job's newest pod, if any. */
async function terminatedContainer(
  ctx: ReconcileContext<NerModel>,
  jobName: string,
): Promise<TerminatedContainer | undefined> {
  const pods = await ctx.client.list<V1Pod>(builtin.pods, ctx.namespace, `job-name=${jobName}`);
  pods.sort((a, b) =>
    String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')),
  );
  for (const pod of pods) {
    const t = pod.status?.containerStatuses?.find((c) => c.name === VALIDATION_CONTAINER_NAME)?.state?.terminated;
    if (t) return { exitCode: t.exitCode, ...(t.message ? { message: t.message } : {}) };
  }
  return undefined;
}

export async function reconcileNerModel(
  ctx: ReconcileContext<NerModel>,
  options: NerModelControllerOptions = {},
): Promise<ReconcileResult> {
  const model = ctx.object;
  const image = options.image ?? DEFAULT_IMAGE;
  const storage = options.storage ? { storage: options.storage } : {};
  const jobs = ctx.cache<V1Job>(builtin.jobs).list(ctx.namespace, { [LABELS.validates]: ctx.name });
  const now = ctx.now();
  let plan = planModel({ model, jobs, now, image, ...storage });
  const current = plan.currentJob ? jobs.find((j) => j.metadata?.name === plan.currentJob) : undefined;
  if (current && jobFinished(current)) {
    // Only a finished Job's pod is worth a request: it carries the result in its termination message.
    const terminated = await terminatedContainer(ctx, plan.currentJob as string);
    plan = planModel({ model, jobs, now, image, ...storage, ...(terminated ? { terminated } : {}) });
  }
  if (plan.createJob) {
    await ctx.client.apply(builtin.jobs, plan.createJob, { current: null });
    ctx.log.info({ job: plan.createJob.metadata?.name }, 'validation Job created');
  }
  const { changed } = await ctx.client.applyStatus(nerModels, model, plan.status);
  if (changed) for (const e of plan.events) await ctx.client.event(model, e);
  return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
}

/** The NerModel controller definition for the manager. */
export function nerModelController(options: NerModelControllerOptions = {}): ControllerSpec<NerModel> {
  return {
    name: 'nermodel',
    resource: nerModels,
    owns: [{ resource: builtin.jobs, labelSelector: LABELS.validates }],
    reconcile: (_key, ctx) => reconcileNerModel(ctx, options),
  };
}
