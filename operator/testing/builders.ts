/**
 * Builders for the operator's tests: NerModels, NerDeployments, DriftPolicies, the Deployments and Jobs the
 * cluster reports. Each takes the fields a test cares about (the rest are shared defaults) and an optional
 * `mod` that edits the built object.
 */
import type { V1Deployment, V1Job, V1ObjectMeta } from '@kubernetes/client-node';
import { DriftPolicySpecSchema, type DriftPolicy, type DriftPolicySpecInput } from '../api/driftpolicy.js';
import type { NerDeployment, NerDeploymentSpec, NerDeploymentStatus, Rollout } from '../api/nerdeployment.js';
import type { ModelSource, NerModel, NerModelSpec, NerModelStatus } from '../api/nermodel.js';

export interface ModelInit {
  name?: string;
  namespace?: string;
  /** Extra metadata (uid, generation, creationTimestamp, labels, ...). */
  metadata?: Partial<V1ObjectMeta>;
  spec?: Partial<NerModelSpec>;
  source?: Partial<ModelSource>;
  /** Absent: no status (a model nobody has validated yet). */
  status?: NerModelStatus;
}

/** A NerModel of family `clinical` (`clinical-v1` in namespace `ns` unless named). */
export function nerModel(init: ModelInit = {}, mod: (m: NerModel) => void = () => {}): NerModel {
  const m: NerModel = {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerModel',
    metadata: { name: init.name ?? 'clinical-v1', namespace: init.namespace ?? 'ns', ...init.metadata },
    spec: {
      family: 'clinical',
      version: '1.0.0',
      format: 'crf',
      source: { uri: 'file:///models/clinical', digest: 'ab'.repeat(32), ...init.source },
      entityTypes: ['DISEASE'],
      ...init.spec,
    },
    ...(init.status ? { status: init.status } : {}),
  };
  mod(m);
  return m;
}

/** Status of a Ready model with micro F1 (and precision, recall) `f1`; `null`: no metrics. */
export function readyStatus(f1: number | null = 0.9, phase: NerModelStatus['phase'] = 'Ready'): NerModelStatus {
  return { phase, ...(f1 !== null ? { metrics: { micro: { precision: f1, recall: f1, f1 } } } : {}) };
}

export interface DeploymentInit {
  metadata?: Partial<V1ObjectMeta>;
  spec?: Partial<NerDeploymentSpec>;
  rollout?: Partial<Rollout>;
  /** Absent: no status (never reconciled). */
  status?: NerDeploymentStatus;
}

/** A NerDeployment `notes` in namespace `ns`, pinned to `v2`, replicaRatio routing, one 10 % canary step. */
export function nerDeployment(init: DeploymentInit = {}, mod: (x: NerDeployment) => void = () => {}): NerDeployment {
  const x: NerDeployment = {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerDeployment',
    metadata: { name: 'notes', namespace: 'ns', generation: 1, ...init.metadata },
    spec: {
      model: 'v2',
      replicas: { min: 1, max: 5 },
      rollout: {
        steps: [{ weight: 10, pauseSeconds: 60 }],
        analysisIntervalSeconds: 30,
        thresholds: { maxErrorRate: 0.01, maxP95LatencyMs: 500 },
        minSampleCount: 50,
        failureLimit: 1,
        noDataMeans: 'Inconclusive',
        ...init.rollout,
      },
      trafficRouting: { type: 'replicaRatio' },
      server: { port: 8080, metricsPort: 9090 },
      ...init.spec,
    },
    ...(init.status ? { status: init.status } : {}),
  };
  mod(x);
  return x;
}

/** A track's Deployment as the Deployment controller reports it: `ready` of `replicas` ready, all updated. */
export function trackDeployment(o: {
  name: string;
  model: string;
  replicas: number;
  ready?: number;
  generation?: number;
}): V1Deployment {
  const generation = o.generation ?? 1;
  return {
    metadata: { name: o.name, namespace: 'ns', generation, labels: { 'nerops.io/model': o.model } },
    spec: { replicas: o.replicas, selector: {}, template: {} },
    status: {
      observedGeneration: generation,
      replicas: o.replicas,
      readyReplicas: o.ready ?? o.replicas,
      updatedReplicas: o.replicas,
      conditions: [{ type: 'Available', status: 'True' }] as never,
    },
  };
}

/** A DriftPolicy `drift` in namespace `ns` targeting NerDeployment `ner`; `spec` goes through the schema's defaults. */
export function driftPolicy(
  spec: Partial<DriftPolicySpecInput> = {},
  mod: (p: DriftPolicy) => void = () => {},
): DriftPolicy {
  const p: DriftPolicy = {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'DriftPolicy',
    metadata: { name: 'drift', namespace: 'ns', uid: 'uid-drift', generation: 1 },
    spec: DriftPolicySpecSchema.parse({
      targetRef: { name: 'ner' },
      retraining: { datasetUri: 'file:///data/train.conll', outputUri: 'file:///out' },
      consecutiveBreaches: 2,
      ...spec,
    }),
  };
  mod(p);
  return p;
}

/** A Job in namespace `ns`: running, or finished (Complete or Failed) at `time`. */
export function taskJob(name: string, finished?: 'Complete' | 'Failed', time = '2025-01-01T00:00:00Z'): V1Job {
  return {
    metadata: { name, namespace: 'ns' },
    status: finished
      ? {
          conditions: [{ type: finished, status: 'True', lastTransitionTime: new Date(time) }],
          ...(finished === 'Complete' ? { completionTime: new Date(time) } : {}),
        }
      : { active: 1 },
  };
}
