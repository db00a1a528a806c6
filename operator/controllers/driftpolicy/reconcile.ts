/**
 * DriftPolicy controller: the thin I/O shell around {@link evaluateDrift} and {@link planPolicy}. Gathers
 * the target NerDeployment and its serving model from the caches, queries Prometheus when an evaluation is
 * due (every `spec.interval`), reads the dataset version (spec or ConfigMap), reads finished retraining
 * Jobs' termination messages, then creates the Job / NerModel the plan asks for, writes status only when it
 * changed, records Events after that write, and exports the operator metrics
 * `nerops_drift_signal{namespace,driftpolicy,signal}`, `nerops_operator_driftpolicy_state{namespace,driftpolicy,state}`
 * and `nerops_operator_retraining_runs_total{namespace,driftpolicy,result}`.
 */
import type { V1ConfigMap, V1Job, V1Pod } from '@kubernetes/client-node';
import { Counter, Gauge, type Registry } from 'prom-client';
import { DRIFT_POLICY, GROUP, LABELS, VERSION } from '../../api/group.js';
import { DriftStateSchema, type DriftPolicy } from '../../api/driftpolicy.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import type { MetricsQuerier } from '../../prometheus/client.js';
import type { ControllerSpec, MapFunction, ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import { builtin, makeKey, type ObjectKey, type ResourceType } from '../../runtime/resource.js';
import { DEFAULT_IMAGE, nerDeployments, nerModels, type ModelStorageDefaults } from '../common.js';
import { evaluateDrift, type EvaluationOutcome } from './evaluate.js';
import { evaluationDue, planPolicy, unrecordedFinishedJobs, type TerminatedContainer } from './plan.js';
import { gatherMeasurements } from './queries.js';
import { RETRAIN_CONTAINER_NAME } from './retrain-result.js';

/** DriftPolicy as a runtime resource type. */
export const driftPolicies: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: DRIFT_POLICY.kind,
  plural: DRIFT_POLICY.plural,
  namespaced: true,
};

export interface DriftPolicyControllerOptions {
  image?: string;
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

/** The drift metrics, on the operator's registry. */
export class DriftMetrics {
  readonly signal: Gauge<'namespace' | 'driftpolicy' | 'signal'>;
  readonly state: Gauge<'namespace' | 'driftpolicy' | 'state'>;
  readonly runs: Counter<'namespace' | 'driftpolicy' | 'result'>;
  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.signal = new Gauge({
      name: 'nerops_drift_signal',
      help: 'Last value of each drift signal of a DriftPolicy',
      labelNames: ['namespace', 'driftpolicy', 'signal'],
      registers,
    });
    this.state = new Gauge({
      name: 'nerops_operator_driftpolicy_state',
      help: '1 for the current drift state of a DriftPolicy, 0 for the others',
      labelNames: ['namespace', 'driftpolicy', 'state'],
      registers,
    });
    this.runs = new Counter({
      name: 'nerops_operator_retraining_runs_total',
      help: 'Finished retraining runs by result (succeeded, failed)',
      labelNames: ['namespace', 'driftpolicy', 'result'],
      registers,
    });
  }

  /** Signal names exported per policy key, so stale and deleted series can be removed. */
  readonly #signals = new Map<string, Set<string>>();

  /** Sets the gauges of one policy from its status. */
  observe(policy: DriftPolicy): void {
    const labels = { namespace: policy.metadata.namespace ?? '', driftpolicy: policy.metadata.name ?? '' };
    const state = policy.status?.state;
    for (const s of DriftStateSchema.options) this.state.set({ ...labels, state: s }, s === state ? 1 : 0);
    const key = `${labels.namespace}/${labels.driftpolicy}`;
    const seen = new Set<string>();
    for (const s of policy.status?.lastEvaluation?.signals ?? []) {
      if (s.value === undefined) continue;
      this.signal.set({ ...labels, signal: s.name }, s.value);
      seen.add(s.name);
    }
    for (const old of this.#signals.get(key) ?? []) if (!seen.has(old)) this.signal.remove({ ...labels, signal: old });
    this.#signals.set(key, seen);
  }

  /** Removes a deleted policy's series. */
  forget(namespace: string | undefined, name: string): void {
    const labels = { namespace: namespace ?? '', driftpolicy: name };
    for (const s of DriftStateSchema.options) this.state.remove({ ...labels, state: s });
    const key = `${labels.namespace}/${name}`;
    for (const old of this.#signals.get(key) ?? []) this.signal.remove({ ...labels, signal: old });
    this.#signals.delete(key);
  }
}

/** The terminated retrain container of a Job's newest pod, if any. */
async function terminatedOf(ctx: ReconcileContext<DriftPolicy>, job: V1Job): Promise<TerminatedContainer | undefined> {
  const pods = await ctx.client.list<V1Pod>(builtin.pods, ctx.namespace, `job-name=${job.metadata?.name}`);
  pods.sort((a, b) =>
    String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')),
  );
  for (const pod of pods) {
    const statuses = pod.status?.containerStatuses ?? [];
    const c = statuses.find((s) => s.name === RETRAIN_CONTAINER_NAME) ?? statuses[0];
    const t = c?.state?.terminated;
    if (t) return { exitCode: t.exitCode, ...(t.message ? { message: t.message } : {}) };
  }
  return undefined;
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

/** NerDeployment and NerModel events wake the policies of the namespace that target them. */
export const toPolicies: MapFunction = (obj, caches) => {
  const ns = obj.metadata?.namespace;
  const out: ObjectKey[] = [];
  for (const p of caches.cache<DriftPolicy>(driftPolicies).list(ns)) {
    if (obj.kind === 'NerDeployment' && p.spec.targetRef.name === obj.metadata?.name)
      out.push(makeKey(ns, p.metadata.name ?? ''));
    if (obj.kind === 'NerModel') out.push(makeKey(ns, p.metadata.name ?? ''));
  }
  return out;
};

export function createDriftPolicyReconciler(options: DriftPolicyControllerOptions = {}) {
  const metrics = new DriftMetrics(options.registry);

  async function reconcile(ctx: ReconcileContext<DriftPolicy>): Promise<ReconcileResult> {
    const policy = ctx.object;
    if (policy.metadata.deletionTimestamp) return {};
    const now = ctx.now();
    const target = ctx.cache<NerDeployment>(nerDeployments).get(ctx.namespace, policy.spec.targetRef.name);
    const models = ctx.cache<NerModel>(nerModels).list(ctx.namespace);
    const servingName = target?.status?.stableModel ?? target?.spec.model;
    const servingModel = servingName ? models.find((m) => m.metadata.name === servingName) : undefined;

    let evaluation: EvaluationOutcome | undefined;
    if (target && evaluationDue(policy, servingName, now)) {
      const baseline = servingModel?.status?.baseline;
      const gathered = await gatherMeasurements(
        options.prometheus,
        policy.spec,
        { namespace: ctx.namespace ?? '', deployment: target.metadata.name ?? '', model: servingName },
        baseline,
      );
      evaluation = evaluateDrift({
        spec: policy.spec,
        model: servingName,
        baseline,
        gathered,
        previous: policy.status?.lastEvaluation,
        now,
      });
      ctx.log.debug({ state: evaluation.state, reason: evaluation.reason }, 'drift evaluated');
    }
    const jobs = ctx
      .cache<V1Job>(builtin.jobs)
      .list(ctx.namespace, { [LABELS.driftPolicy]: ctx.name })
      .filter((j) => j.metadata?.ownerReferences?.some((r) => r.uid === policy.metadata.uid));
    const terminated: Record<string, TerminatedContainer | undefined> = {};
    // Only finished, unrecorded Jobs' pods are worth a request: they carry the result.
    for (const job of unrecordedFinishedJobs(policy, jobs))
      terminated[job.metadata?.name ?? ''] = await terminatedOf(ctx, job);
    const plan = planPolicy({
      policy,
      now,
      image: options.image ?? DEFAULT_IMAGE,
      ...(options.storage ? { storage: options.storage } : {}),
      targetFound: target !== undefined,
      servingModel,
      models,
      jobs,
      terminated,
      evaluation,
      datasetVersion: await datasetVersionOf(ctx),
    });
    for (const model of plan.createModels) {
      const { changed } = await ctx.client.apply(nerModels, model, {
        current: ctx.cache<NerModel>(nerModels).get(ctx.namespace, model.metadata.name ?? '') ?? null,
      });
      if (changed) ctx.log.info({ model: model.metadata.name }, 'retrained NerModel created');
    }
    if (plan.createJob) {
      await ctx.client.apply(builtin.jobs, plan.createJob, { current: null });
      ctx.log.info({ job: plan.createJob.metadata?.name }, 'retraining Job created');
    }
    const { changed, object } = await ctx.client.applyStatus(driftPolicies, policy, plan.status);
    if (changed) {
      for (const e of plan.events) await ctx.client.event(policy, e);
      for (const f of plan.finished)
        metrics.runs.inc({ namespace: ctx.namespace ?? '', driftpolicy: ctx.name, result: f.result });
    }
    metrics.observe({ ...policy, status: (object as DriftPolicy).status ?? plan.status });
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {};
  }
  return { reconcile, metrics };
}

/** The DriftPolicy controller definition for the manager. */
export function driftPolicyController(options: DriftPolicyControllerOptions = {}): ControllerSpec<DriftPolicy> {
  const r = createDriftPolicyReconciler(options);
  return {
    name: 'driftpolicy',
    resource: driftPolicies,
    owns: [{ resource: builtin.jobs, labelSelector: LABELS.driftPolicy }],
    watches: [
      { resource: nerDeployments, map: toPolicies },
      { resource: nerModels, map: toPolicies },
    ],
    reconcile: (_key, ctx) => r.reconcile(ctx),
    onDeleted: async (key, ctx) => {
      r.metrics.forget(ctx.namespace, ctx.name);
      void key;
    },
  };
}
