/**
 * The one case where the NerModel controller touches the DriftPolicy's bundle-cleanup finalizer: the
 * policy that would delete the bundle (named by the model's `nerops.io/drift-policy` label) is gone or being
 * deleted. Nothing else would ever remove the finalizer, so the model would hang in Terminating: the
 * finalizer goes, the bundle stays on the claim, and a Warning Event says so.
 */
import type { DriftPolicy } from '../../api/driftpolicy.js';
import { LABELS } from '../../api/group.js';
import { BUNDLE_CLEANUP_FINALIZER, NerModelEventReason } from '../../api/nermodel-constants.js';
import type { NerModel } from '../../api/nermodel.js';
import { driftPolicies, nerModels } from '../../api/resources.js';
import type { MapFunction, ReconcileContext } from '../../runtime/controller.js';
import { isNotFound } from '../../runtime/kube.js';
import { makeKey, resourcePath, type ObjectKey } from '../../runtime/resource.js';

/** True when the model waits for a bundle cleanup that no DriftPolicy will do. Pure. */
export function bundleCleanupOrphaned(model: NerModel, policy: DriftPolicy | undefined): boolean {
  return (
    !!model.metadata.deletionTimestamp &&
    !!model.metadata.finalizers?.includes(BUNDLE_CLEANUP_FINALIZER) &&
    (!policy || !!policy.metadata.deletionTimestamp)
  );
}

/** A DriftPolicy event wakes the models it was cleaning up (so its deletion releases them). */
export const modelsOfPolicy: MapFunction = (obj, caches) => {
  const ns = obj.metadata?.namespace;
  return caches
    .cache<NerModel>(nerModels)
    .list(ns, { [LABELS.driftPolicy]: obj.metadata?.name ?? '' })
    .filter((m) => m.metadata.deletionTimestamp && m.metadata.finalizers?.includes(BUNDLE_CLEANUP_FINALIZER))
    .map((m): ObjectKey => makeKey(ns, m.metadata.name ?? ''));
};

/** Releases an orphaned model (true) or does nothing (false). */
export async function releaseOrphanedBundle(ctx: ReconcileContext<NerModel>): Promise<boolean> {
  const model = ctx.object;
  // Only a model waiting for a bundle cleanup needs the policy cache.
  if (!model.metadata.deletionTimestamp || !model.metadata.finalizers?.includes(BUNDLE_CLEANUP_FINALIZER)) return false;
  const policyName = model.metadata.labels?.[LABELS.driftPolicy];
  const policy = policyName ? ctx.cache<DriftPolicy>(driftPolicies).get(ctx.namespace, policyName) : undefined;
  if (!bundleCleanupOrphaned(model, policy)) return false;
  try {
    await ctx.client.kube.request({
      method: 'PATCH',
      path: resourcePath(nerModels, ctx.namespace, model.metadata.name),
      body: {
        metadata: {
          resourceVersion: model.metadata.resourceVersion,
          finalizers: (model.metadata.finalizers ?? []).filter((f) => f !== BUNDLE_CLEANUP_FINALIZER),
        },
      },
      contentType: 'application/merge-patch+json',
    });
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
  ctx.log.info({ finalizer: BUNDLE_CLEANUP_FINALIZER }, 'bundle-cleanup finalizer removed: its DriftPolicy is gone');
  await ctx.client.event(model, {
    type: 'Warning',
    reason: NerModelEventReason.BundleLeft,
    note: `DriftPolicy ${policyName ?? ''} is gone: the bundle is left on its claim`.slice(0, 300),
  });
  return true;
}
