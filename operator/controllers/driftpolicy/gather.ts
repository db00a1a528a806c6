/**
 * Everything a DriftPolicy reconcile reads: the target NerDeployment and the namespace's NerModels (cache),
 * the drift measurements from Prometheus when an evaluation is due (every `spec.interval`), the policy's
 * retraining Jobs (cache) and the finished, unrecorded ones' termination messages (API), the dataset
 * version (spec, or a ConfigMap read by name), and the stored-feedback count of the new-annotations trigger
 * (Prometheus, on the evaluation's cadence). The plan is pure over what this returns.
 */
import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { DriftPolicy } from '../../api/driftpolicy.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import { nerDeployments, nerModels } from '../../api/resources.js';
import type { MetricsQuerier } from '../../prometheus/client.js';
import type { ReconcileContext } from '../../runtime/controller.js';
import { builtin } from '../../runtime/resource.js';
import { isCleanupJob, ownedPolicyJobs } from './cleanup-io.js';
import { readTerminatedContainer, type TerminatedContainer } from '../job-result.js';
import type { ModelStorageDefaults } from '../model-storage.js';
import { DEFAULT_IMAGE } from '../pod-templates.js';
import type { TenantPolicy } from '../pod-policy.js';
import { evaluationDue, unrecordedFinishedJobs, type PolicyGathered } from './plan.js';
import { gatherMeasurements } from './queries.js';
import { measureNewAnnotations } from './annotations.js';
import { RETRAIN_CONTAINER_NAME } from '../../../contracts/retraining-job.js';

export interface DriftPolicyControllerOptions {
  image?: string;
  /** What retraining templates may run (allowed ServiceAccounts and registries); the strictest when unset. */
  tenant?: TenantPolicy;
  /**
   * Operator model storage defaults (`--default-model-*`): the output prefix of policies without
   * spec.retraining.outputUri, and credentials / CA for an http(s) base model in the default Job.
   */
  storage?: ModelStorageDefaults;
  /** Prometheus; undefined: every evaluation is MetricsUnavailable (and never retrains). */
  prometheus?: MetricsQuerier;
  /** Registry for the drift metrics (the operator's /metrics registry). */
  registry?: Registry;
}

/** Dataset version: spec.retraining.datasetVersion, else the referenced ConfigMap key (undefined when absent). */
async function datasetVersionOf(ctx: ReconcileContext<DriftPolicy>): Promise<string | undefined> {
  const p = ctx.object.spec;
  if (p.retraining.datasetVersion) return p.retraining.datasetVersion;
  const ref = p.triggers.datasetRef;
  if (!ref) return undefined;
  const cm = await ctx.client.get<V1ConfigMap>(builtin.configMaps, ctx.namespace, ref.name);
  const v = cm?.data?.[ref.key ?? 'version'];
  return v === undefined ? undefined : v.trim().slice(0, 128);
}

/** The retraining Jobs this policy owns (by label, and by owner uid: a recreated policy starts afresh). */
function ownedJobs(ctx: ReconcileContext<DriftPolicy>): V1Job[] {
  return ownedPolicyJobs(ctx).filter((j) => !isCleanupJob(j)); // cleanup Jobs: cleanup-io.ts
}

/** Only finished, unrecorded Jobs' pods are worth a request: they carry the result. */
async function finishedRunResults(
  ctx: ReconcileContext<DriftPolicy>,
  jobs: readonly V1Job[],
): Promise<Record<string, TerminatedContainer | undefined>> {
  const terminated: Record<string, TerminatedContainer | undefined> = {};
  for (const job of unrecordedFinishedJobs(ctx.object, jobs))
    terminated[job.metadata?.name ?? ''] = await readTerminatedContainer(ctx, job.metadata?.name ?? '', {
      name: RETRAIN_CONTAINER_NAME,
      orFirst: true,
    });
  return terminated;
}

export async function gatherPolicy(
  ctx: ReconcileContext<DriftPolicy>,
  options: DriftPolicyControllerOptions,
): Promise<PolicyGathered> {
  const policy = ctx.object;
  const now = ctx.now();
  const target = ctx.cache<NerDeployment>(nerDeployments).get(ctx.namespace, policy.spec.targetRef.name);
  const models = ctx.cache<NerModel>(nerModels).list(ctx.namespace);
  const servingName = target?.status?.stableModel ?? target?.spec.model;
  const servingModel = servingName ? models.find((m) => m.metadata.name === servingName) : undefined;
  const baseline = servingModel?.status?.baseline;
  const measured =
    target && evaluationDue(policy, servingName, now)
      ? await gatherMeasurements(
          options.prometheus,
          policy.spec,
          { namespace: ctx.namespace ?? '', deployment: target.metadata.name ?? '', model: servingName },
          baseline,
        )
      : undefined;
  // Counted on the evaluation's cadence, from the start status already records (first sight records one).
  const since = policy.status?.annotations?.since;
  const annotations =
    target && since && policy.spec.triggers.newAnnotations && evaluationDue(policy, servingName, now)
      ? await measureNewAnnotations(
          options.prometheus,
          { namespace: ctx.namespace ?? '', deployment: target.metadata.name ?? '' },
          since,
          now,
        )
      : undefined;
  const jobs = ownedJobs(ctx);
  return {
    policy,
    now,
    image: options.image ?? DEFAULT_IMAGE,
    ...(options.tenant ? { tenant: options.tenant } : {}),
    ...(options.storage ? { storage: options.storage } : {}),
    targetFound: target !== undefined,
    servingModel,
    servingName,
    models,
    jobs,
    terminated: await finishedRunResults(ctx, jobs),
    measured,
    datasetVersion: await datasetVersionOf(ctx),
    ...(target?.spec.feedback?.storeUri ? { feedbackStoreUri: target.spec.feedback.storeUri } : {}),
    ...(annotations ? { annotations } : {}),
    deployments: ctx.cache<NerDeployment>(nerDeployments).list(ctx.namespace),
  };
}
