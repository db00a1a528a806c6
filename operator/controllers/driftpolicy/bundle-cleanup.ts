/**
 * Bundle cleanup after retention, as a pure function. Retention (retention.ts) deletes an older NerModel;
 * when its bundle lies on the policy's own `pvc://` output, the model first gets the bundle-cleanup
 * finalizer ({@link bundleIsOurs}), so the model object lasts exactly as long as its bundle:
 *
 *   pruned (deletionTimestamp + our finalizer)
 *     → still served (the in-use finalizer, or a NerDeployment's status or pin names it): wait; a served
 *       model's bundle is never touched
 *     → not ours (no pvc:// prefix now, or outside it) or still referenced by a NerModel that is not being
 *       cleaned up: release (finalizer removed, bundle left)
 *     → otherwise: one `ner-ops delete-bundles` Job at a time deletes the bundles; when it completes, the
 *       finalizers go and the models with them. A failed Job is retried once it expires (its TTL).
 *
 * Ordered this way, not "delete the bundle, then the model": a NerModel being deleted can no longer be
 * newly served (model-resolution.ts skips it) and its deletion cannot be undone, so by the time its bundle
 * goes nothing can need it; and the model, Terminating, stays visible until its bundle is really gone.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { DriftPolicy } from '../../api/driftpolicy.js';
import {
  DriftPolicyConditionType as C,
  DriftPolicyEventReason as E,
  DriftPolicyReason as R,
} from '../../api/driftpolicy-constants.js';
import { LABELS } from '../../api/group.js';
import { BUNDLE_CLEANUP_FINALIZER, IN_USE_FINALIZER } from '../../api/nermodel-constants.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import type { EventSpec } from '../../runtime/client.js';
import { setCondition, type Condition } from '../../runtime/conditions.js';
import { jobFinished } from '../job-result.js';
import {
  CLEANUP_JOB_TTL_SECONDS,
  CLEANUP_MODELS_ANNOTATION,
  cleanupJobName,
  desiredCleanupJob,
  MAX_BUNDLES_PER_JOB,
} from './cleanup-job.js';
import {
  contains,
  overlaps,
  parsePvcUri,
  type DeleteBundlesResult,
  type PvcLocation,
} from '../../../contracts/bundle-cleanup.js';
import { flagArg } from '../../../contracts/serve.js';
import { DeleteBundlesFlag } from '../../../contracts/task-commands.js';

/** True when the model's bundle is strictly inside the policy's `pvc://` output prefix: ours to delete. */
export function bundleIsOurs(model: NerModel, outputPrefix: string | undefined): boolean {
  const prefix = outputPrefix === undefined ? undefined : parsePvcUri(outputPrefix);
  const bundle = parsePvcUri(model.spec.source.uri);
  return !!prefix && !!bundle && contains(prefix, bundle) && bundle.segments.length > prefix.segments.length;
}

export interface BundleCleanupInput {
  policy: DriftPolicy;
  /** The policy's output prefix (spec.retraining.outputUri or the operator default); undefined without one. */
  outputPrefix: string | undefined;
  /** NerModels of the namespace (cache). */
  models: readonly NerModel[];
  /** NerDeployments of the namespace (cache): a model one serves or pins keeps its bundle, finalizer or not. */
  deployments: readonly NerDeployment[];
  /** The policy's cleanup Jobs (cache). */
  jobs: readonly V1Job[];
  /** Results of completed cleanup Jobs whose models still wait, by Job name (counts for the Event). */
  results: Readonly<Record<string, DeleteBundlesResult | undefined>>;
  image: string;
  /** True when the retraining template passed the tenant pod policy. */
  templateAllowed: boolean;
  now: Date;
}

/** Why a pruned model's finalizer goes. */
export type ReleaseBecause = 'deleted' | 'referenced' | 'notOurs';

export interface BundleCleanupPlan {
  createJob?: V1Job;
  /** Pruned models whose bundle-cleanup finalizer goes now (after the status write). */
  release: Array<{ name: string; because: ReleaseBecause }>;
  /** Normal Event after the release (counts only). */
  releaseEvents: EventSpec[];
  /** Events of this reconcile's transitions (recorded with the status). */
  events: EventSpec[];
  /** The BundleCleanup condition; undefined when the policy never needed one. */
  condition?: { status: 'True' | 'False'; reason: string; message: string };
}

/** The policy's pruned models that wait for their bundle cleanup. */
function pendingModels(i: BundleCleanupInput): NerModel[] {
  const name = i.policy.metadata.name;
  return i.models
    .filter(
      (m) =>
        m.metadata.deletionTimestamp &&
        (m.metadata.finalizers ?? []).includes(BUNDLE_CLEANUP_FINALIZER) &&
        m.metadata.labels?.[LABELS.driftPolicy] === name,
    )
    .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
}

/**
 * True when a NerDeployment serves (status, either track) or pins (spec.model) the model. Besides the in-use
 * finalizer: a NerDeployment that started serving the model in the instant before its deletion leaves no
 * finalizer (none can be added to an object being deleted), and its pods still need the bundle.
 */
function servedOrPinned(m: NerModel, deployments: readonly NerDeployment[]): boolean {
  const name = m.metadata.name;
  return deployments.some(
    (d) => d.status?.stableModel === name || d.status?.canaryModel === name || d.spec.model === name,
  );
}

/** The models a cleanup Job was created for, from its annotation. */
function modelsOfJob(job: V1Job): string[] {
  return (job.metadata?.annotations?.[CLEANUP_MODELS_ANNOTATION] ?? '').split(',').filter(Boolean);
}

/** The bundle URIs a cleanup Job deletes, from its arguments (what actually ran). */
function bundlesOfJob(job: V1Job): Set<string> {
  const args = job.spec?.template.spec?.containers[0]?.args ?? [];
  return new Set(args.filter((_, k) => k > 0 && args[k - 1] === flagArg(DeleteBundlesFlag.bundle)));
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The plan of this reconcile's bundle cleanup. */
export function planBundleCleanup(i: BundleCleanupInput): BundleCleanupPlan {
  const out: BundleCleanupPlan = { release: [], releaseEvents: [], events: [] };
  const pending = pendingModels(i);
  const prevCondition = i.policy.status?.conditions?.find((c) => c.type === C.BundleCleanup);
  if (pending.length === 0) {
    if (i.policy.spec.retention || prevCondition)
      out.condition = { status: 'False', reason: R.AsExpected, message: 'no bundle waits for deletion' };
    return out;
  }
  const pendingNames = new Set(pending.map((m) => m.metadata.name));
  const waiting: NerModel[] = [];
  const ready: NerModel[] = [];
  for (const m of pending) {
    if (!bundleIsOurs(m, i.outputPrefix)) out.release.push({ name: m.metadata.name ?? '', because: 'notOurs' });
    else if ((m.metadata.finalizers ?? []).includes(IN_USE_FINALIZER) || servedOrPinned(m, i.deployments))
      waiting.push(m);
    else ready.push(m);
  }
  // A bundle another NerModel references stays, whoever wrote it, unless that model is pruned too: then the
  // two go together, once neither is served.
  const batch: NerModel[] = [];
  for (const m of ready) {
    const loc = parsePvcUri(m.spec.source.uri) as PvcLocation;
    const others = i.models.filter((o) => {
      const l = o.metadata.name !== m.metadata.name ? parsePvcUri(o.spec.source.uri) : undefined;
      return !!l && overlaps(l, loc);
    });
    if (others.some((o) => !pendingNames.has(o.metadata.name)))
      out.release.push({ name: m.metadata.name ?? '', because: 'referenced' });
    else if (others.some((o) => waiting.includes(o))) waiting.push(m);
    else batch.push(m);
  }

  // Completed Jobs: their models' bundles are gone (the Job checked and deleted each listed bundle).
  const released = new Set(out.release.map((r) => r.name));
  let deleted = 0;
  let alreadyGone = 0;
  let fromJobs = 0;
  let counted = true;
  for (const job of i.jobs.filter((j) => jobFinished(j) === 'Complete')) {
    const bundles = bundlesOfJob(job);
    const names = modelsOfJob(job).filter((n) => {
      const m = batch.find((b) => b.metadata.name === n);
      return !!m && bundles.has(m.spec.source.uri) && !released.has(n);
    });
    if (names.length === 0) continue;
    for (const n of names) {
      out.release.push({ name: n, because: 'deleted' });
      released.add(n);
    }
    fromJobs += names.length;
    const r = i.results[job.metadata?.name ?? ''];
    // The pod may be gone (a restart after the Job's TTL): the Job's success still says the bundles are.
    if (!r) counted = false;
    deleted += r?.deleted ?? 0;
    alreadyGone += r?.alreadyGone ?? 0;
  }
  if (fromJobs)
    out.releaseEvents.push({
      type: 'Normal',
      reason: E.BundlesDeleted,
      note: `bundles of ${plural(fromJobs, 'pruned NerModel')} deleted${counted ? ` (${deleted} removed, ${alreadyGone} already gone)` : ''}`,
    });
  const kept = out.release.filter((r) => r.because !== 'deleted');
  if (kept.length)
    out.releaseEvents.push({
      type: 'Normal',
      reason: E.BundlesKept,
      note: `${plural(kept.length, 'pruned NerModel')} released with the bundle left: ${kept.filter((k) => k.because === 'referenced').length} still referenced, ${kept.filter((k) => k.because === 'notOurs').length} outside the pvc:// output`,
    });

  const todo = batch.filter((m) => !released.has(m.metadata.name ?? '')).slice(0, MAX_BUNDLES_PER_JOB);
  const waitingNote = waiting.length ? `; ${plural(waiting.length, 'pruned NerModel')} still served` : '';
  const running = i.jobs.find((j) => !jobFinished(j));
  if (running) {
    out.condition = {
      status: 'True',
      reason: R.CleanupRunning,
      message: `cleanup Job ${running.metadata?.name} deletes the bundles of ${plural(modelsOfJob(running).length, 'pruned NerModel')}${waitingNote}`,
    };
    return out;
  }
  if (todo.length && i.outputPrefix) {
    const bundles = todo.map((m) => ({ model: m.metadata.name ?? '', uri: m.spec.source.uri }));
    const name = cleanupJobName(i.policy, bundles);
    const failed = i.jobs.find((j) => j.metadata?.name === name && jobFinished(j) === 'Failed');
    if (failed) {
      const message = `cleanup Job ${name} for the bundles of ${plural(todo.length, 'pruned NerModel')} failed; retried once it expires (after ${CLEANUP_JOB_TTL_SECONDS / 60} min)${waitingNote}`;
      out.condition = { status: 'True', reason: R.CleanupFailed, message };
      if (prevCondition?.reason !== R.CleanupFailed)
        out.events.push({ type: 'Warning', reason: E.BundleCleanupFailed, note: message.slice(0, 300) });
      return out;
    }
    const todoNames = new Set(todo.map((m) => m.metadata.name));
    const prefix = parsePvcUri(i.outputPrefix) as PvcLocation;
    // What the Job must not touch: every location in (or above) the prefix another NerModel references.
    const keep = i.models
      .filter((m) => !todoNames.has(m.metadata.name))
      .map((m) => m.spec.source.uri)
      .filter((u) => {
        const loc = parsePvcUri(u);
        return !!loc && overlaps(loc, prefix);
      });
    out.createJob = desiredCleanupJob({
      policy: i.policy,
      within: i.outputPrefix,
      bundles,
      keep,
      image: i.image,
      templateAllowed: i.templateAllowed,
    });
    const message = `cleanup Job ${name} deletes the bundles of ${plural(todo.length, 'pruned NerModel')}${waitingNote}`;
    out.condition = { status: 'True', reason: R.CleanupRunning, message };
    out.events.push({ type: 'Normal', reason: E.BundleCleanupStarted, note: message.slice(0, 300) });
    return out;
  }
  out.condition = waiting.length
    ? {
        status: 'True',
        reason: R.WaitingForServing,
        message: `${plural(waiting.length, 'pruned NerModel')} still served: ${waiting.length === 1 ? 'its bundle waits' : 'their bundles wait'} until nothing serves ${waiting.length === 1 ? 'it' : 'them'}`,
      }
    : { status: 'False', reason: R.AsExpected, message: 'no bundle waits for deletion' };
  return out;
}

/** The conditions with the BundleCleanup condition of the plan (unchanged without one). */
export function withCleanupCondition(
  conditions: readonly Condition[] | undefined,
  plan: BundleCleanupPlan,
  generation: number | undefined,
  now: Date,
): Condition[] | undefined {
  if (!plan.condition) return conditions ? [...conditions] : undefined;
  return setCondition(
    conditions,
    {
      type: C.BundleCleanup,
      ...plan.condition,
      message: plan.condition.message.slice(0, 1024),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    },
    now,
  );
}
