/**
 * Carries out a NerDeployment plan, in an order that is safe to interrupt at any step (the next reconcile
 * plans again from what it reads):
 *
 * 1. the children, by server-side apply (skipped when unchanged; none when any of them exists and is not ours);
 * 2. the HTTPRoute weights (merge patch with the route's resourceVersion);
 * 3. the children no longer desired, deleted;
 * 4. the status, written once and only when it changed; then the rollout metrics and the Events;
 * 5. the one-shot rollout-action annotation, removed only after its effect is in status: a failed status
 *    write leaves the annotation, so the next reconcile acts on it again (a promote is never lost);
 * 6. the approval annotations, likewise after the status that records the approval, and only if the object
 *    still hold the values read (JSON patch `test`): an approval written meanwhile is kept for the next reconcile.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { NerDeployment } from '../../api/nerdeployment.js';
import { ROLLOUT_ACTION_ANNOTATION } from '../../api/nerdeployment-constants.js';
import { APPROVAL_ANNOTATIONS } from '../../../contracts/user-actions.js';
import { httpRoutes, nerDeployments } from '../../api/resources.js';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin, resourcePath, type ResourceType } from '../../runtime/resource.js';
import type { RolloutMetrics } from './metrics.js';
import type { DeploymentPlan } from './plan.js';

const KINDS: Record<string, ResourceType> = {
  Deployment: builtin.deployments,
  Service: builtin.services,
  PodDisruptionBudget: builtin.podDisruptionBudgets,
};

async function applyChildren(ctx: ReconcileContext<NerDeployment>, plan: DeploymentPlan): Promise<void> {
  const children = plan.apply.map((obj) => {
    const rt = KINDS[obj.kind ?? ''];
    if (!rt) throw new Error(`no resource type for ${obj.kind}`);
    return { rt, desired: obj, current: ctx.cache<KubernetesObject>(rt).get(ctx.namespace, obj.metadata?.name ?? '') };
  });
  // All children are checked for ownership before the first write (runtime/ownership.ts).
  const results = await ctx.client.applyAll(children);
  results.forEach(({ changed }, i) => {
    const obj = plan.apply[i];
    if (changed) ctx.log.info({ kind: obj?.kind, child: obj?.metadata?.name }, 'applied');
  });
}

/** Weights on the HTTPRoute: only our rules' backendRefs change; optimistic concurrency on the route. */
async function patchRoute(ctx: ReconcileContext<NerDeployment>, plan: DeploymentPlan): Promise<void> {
  const patch = plan.routePatch;
  if (!patch) return;
  await ctx.client.kube.request({
    method: 'PATCH',
    path: resourcePath(httpRoutes, ctx.namespace, patch.name),
    body: { metadata: { resourceVersion: patch.resourceVersion }, spec: { rules: patch.rules } },
    contentType: 'application/merge-patch+json',
  });
  ctx.log.info({ route: patch.name, weights: plan.status.weights }, 'HTTPRoute weights set');
}

async function prune(ctx: ReconcileContext<NerDeployment>, plan: DeploymentPlan): Promise<void> {
  for (const p of plan.prune) {
    const rt = KINDS[p.kind] as ResourceType;
    const live = ctx.cache(rt).get(ctx.namespace, p.name);
    // Only what this NerDeployment owns is deleted: a labelled namesake of someone else's stays.
    const ours = live?.metadata?.ownerReferences?.some((r) => r.uid === ctx.object.metadata.uid);
    if (ours && (await ctx.client.delete(rt, ctx.namespace, p.name)))
      ctx.log.info({ kind: p.kind, child: p.name }, 'deleted');
  }
}

/** A one-shot action (resume, promote, abort) is removed once its effect is in status. */
async function consumeAction(ctx: ReconcileContext<NerDeployment>, plan: DeploymentPlan): Promise<void> {
  const nd = ctx.object;
  if (!plan.clearRolloutAction || nd.metadata.annotations?.[ROLLOUT_ACTION_ANNOTATION] === undefined) return;
  await ctx.client.kube.request({
    method: 'PATCH',
    path: resourcePath(nerDeployments, ctx.namespace, nd.metadata.name),
    body: { metadata: { annotations: { [ROLLOUT_ACTION_ANNOTATION]: null } } },
    contentType: 'application/merge-patch+json',
  });
}

/** The approval annotations go once the approval is in status (or was ignored); then the ignored-approval Events. */
async function consumeApproval(ctx: ReconcileContext<NerDeployment>, plan: DeploymentPlan): Promise<void> {
  const nd = ctx.object;
  if (!plan.clearApproval) return;
  const ann = nd.metadata.annotations ?? {};
  // JSON patch: each annotation is removed only if it still has the value this plan saw (a `test` fails the
  // whole patch otherwise, and the next reconcile looks at the new approval).
  const ops = APPROVAL_ANNOTATIONS.filter((k) => ann[k] !== undefined).flatMap((k) => {
    const path = `/metadata/annotations/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    return [
      { op: 'test', path, value: ann[k] },
      { op: 'remove', path },
    ];
  });
  if (ops.length > 0)
    await ctx.client.kube.request({
      method: 'PATCH',
      path: resourcePath(nerDeployments, ctx.namespace, nd.metadata.name),
      body: ops,
      contentType: 'application/json-patch+json',
    });
  for (const e of plan.approvalEvents ?? []) await ctx.client.event(nd, e);
}

export async function applyDeploymentPlan(
  ctx: ReconcileContext<NerDeployment>,
  plan: DeploymentPlan,
  metrics: RolloutMetrics,
): Promise<ReconcileResult> {
  const nd = ctx.object;
  await applyChildren(ctx, plan);
  await patchRoute(ctx, plan);
  await prune(ctx, plan);
  const { changed } = await ctx.client.applyStatus(nerDeployments, nd, plan.status);
  metrics.observe(ctx.namespace ?? '', nd.metadata.name ?? '', nd.status?.phase, plan.status);
  // The Events carry the object with the status just written (notifications report the current state).
  if (changed) for (const e of plan.events) await ctx.client.event({ ...nd, status: plan.status } as NerDeployment, e);
  await consumeAction(ctx, plan);
  await consumeApproval(ctx, plan);
  return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
}
