/**
 * The I/O of retention's bundle cleanup (bundle-cleanup.ts plans it): reading the cleanup Jobs and the
 * counts of the completed ones, marking a pruned model with the bundle-cleanup finalizer and deleting it,
 * creating the cleanup Job, and releasing the finalizers of models whose cleanup is done.
 *
 * Every model write carries the resourceVersion the plan saw: a model that changed meanwhile (it became
 * served and got the in-use finalizer, say) is a 409 Conflict, and the reconcile runs again on fresh state
 * instead of acting on a stale one.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { DriftPolicy } from '../../api/driftpolicy.js';
import { LABELS } from '../../api/group.js';
import { BUNDLE_CLEANUP_FINALIZER } from '../../api/nermodel-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import { nerModels } from '../../api/resources.js';
import type { ReconcileContext } from '../../runtime/controller.js';
import { isNotFound } from '../../runtime/kube.js';
import { builtin, resourcePath } from '../../runtime/resource.js';
import { jobFinished, readTerminatedContainer } from '../job-result.js';
import { BUNDLE_CLEANUP_LABEL, CLEANUP_MODELS_ANNOTATION } from './cleanup-job.js';
import type { BundleCleanupPlan } from './bundle-cleanup.js';
import {
  decodeDeleteBundlesResult,
  DELETE_BUNDLES_CONTAINER_NAME,
  type DeleteBundlesResult,
} from '../../../contracts/bundle-cleanup.js';

type Ctx = ReconcileContext<DriftPolicy>;

/** True for a cleanup Job (retraining Jobs carry the same policy label). */
export function isCleanupJob(job: V1Job): boolean {
  return job.metadata?.labels?.[BUNDLE_CLEANUP_LABEL] === 'true';
}

/** The Jobs this policy owns, retraining and cleanup (by label, and by owner uid: a recreated policy starts afresh). */
export function ownedPolicyJobs(ctx: Ctx): V1Job[] {
  return ctx
    .cache<V1Job>(builtin.jobs)
    .list(ctx.namespace, { [LABELS.driftPolicy]: ctx.name })
    .filter((j) => j.metadata?.ownerReferences?.some((r) => r.uid === ctx.object.metadata.uid));
}

/**
 * The policy's cleanup Jobs, and the counts of the completed ones whose models still carry the finalizer
 * (the only ones whose pod is worth a request: their Event is still to be written).
 */
export async function gatherCleanup(
  ctx: Ctx,
): Promise<{ cleanupJobs: V1Job[]; cleanupResults: Record<string, DeleteBundlesResult | undefined> }> {
  const cleanupJobs = ownedPolicyJobs(ctx).filter(isCleanupJob);
  const waiting = new Set(
    ctx
      .cache<NerModel>(nerModels)
      .list(ctx.namespace, { [LABELS.driftPolicy]: ctx.name })
      .filter((m) => m.metadata.deletionTimestamp && m.metadata.finalizers?.includes(BUNDLE_CLEANUP_FINALIZER))
      .map((m) => m.metadata.name),
  );
  const cleanupResults: Record<string, DeleteBundlesResult | undefined> = {};
  for (const job of cleanupJobs) {
    const models = (job.metadata?.annotations?.[CLEANUP_MODELS_ANNOTATION] ?? '').split(',');
    if (jobFinished(job) !== 'Complete' || !models.some((m) => waiting.has(m))) continue;
    const name = job.metadata?.name ?? '';
    const t = await readTerminatedContainer(ctx, name, { name: DELETE_BUNDLES_CONTAINER_NAME });
    cleanupResults[name] = decodeDeleteBundlesResult(t?.message);
  }
  return { cleanupJobs, cleanupResults };
}

/** Merge patch of metadata.finalizers, conditional on the resourceVersion; the patched model. */
async function patchFinalizers(ctx: Ctx, model: NerModel, finalizers: string[]): Promise<NerModel> {
  return ctx.client.kube.request<NerModel>({
    method: 'PATCH',
    path: resourcePath(nerModels, ctx.namespace, model.metadata.name),
    body: { metadata: { resourceVersion: model.metadata.resourceVersion, finalizers } },
    contentType: 'application/merge-patch+json',
  });
}

/**
 * Deletes one pruned model; with `mark`, gives it the bundle-cleanup finalizer first, so the deletion waits
 * for its bundle. False when it was already gone.
 */
export async function deletePrunedModel(ctx: Ctx, name: string, mark: boolean): Promise<boolean> {
  let model = ctx.cache<NerModel>(nerModels).get(ctx.namespace, name);
  if (!model) return false;
  try {
    if (mark && !model.metadata.finalizers?.includes(BUNDLE_CLEANUP_FINALIZER))
      model = await patchFinalizers(ctx, model, [...(model.metadata.finalizers ?? []), BUNDLE_CLEANUP_FINALIZER]);
    await ctx.client.kube.request({
      method: 'DELETE',
      path: resourcePath(nerModels, ctx.namespace, name),
      body: { propagationPolicy: 'Background', preconditions: { resourceVersion: model.metadata.resourceVersion } },
    });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Creates the plan's cleanup Job (before the status that reports it, as the retraining Job). */
export async function createCleanupJob(ctx: Ctx, plan: BundleCleanupPlan | undefined): Promise<void> {
  if (!plan?.createJob) return;
  await ctx.client.apply(builtin.jobs, plan.createJob, { current: null });
  ctx.log.info({ job: plan.createJob.metadata?.name }, 'bundle cleanup Job created');
}

/** Removes the bundle-cleanup finalizer of the models the plan releases, then records the counts. */
export async function releaseBundleFinalizers(ctx: Ctx, plan: BundleCleanupPlan | undefined): Promise<void> {
  if (!plan?.release.length) return;
  let released = 0;
  for (const r of plan.release) {
    const model = ctx.cache<NerModel>(nerModels).get(ctx.namespace, r.name);
    if (!model?.metadata.finalizers?.includes(BUNDLE_CLEANUP_FINALIZER)) continue;
    try {
      await patchFinalizers(
        ctx,
        model,
        model.metadata.finalizers.filter((f) => f !== BUNDLE_CLEANUP_FINALIZER),
      );
      released++;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  if (!released) return;
  ctx.log.info({ released, because: plan.release.map((r) => r.because) }, 'bundle-cleanup finalizers removed');
  for (const e of plan.releaseEvents) await ctx.client.event(ctx.object, e);
}
