import { describe, expect, it } from 'vitest';
import type { DriftPolicy } from '../../api/driftpolicy.js';
import type { NerModel } from '../../api/nermodel.js';
import type { InstantQueryResult, MetricsQuerier } from '../../prometheus/client.js';
import { PrometheusUnreachableError } from '../../prometheus/client.js';
import { driftPolicy, nerModel } from '../../testing/builders.js';
import {
  decideNewAnnotations,
  measureNewAnnotations,
  rangeSeconds,
  storedDocumentsQuery,
  type AnnotationMeasurement,
} from './annotations.js';
import { desiredRetrainedModel, desiredRetrainJob, FEEDBACK_STORE_ANNOTATION } from './desired.js';
import { planPolicy, type PolicyObserved } from './plan.js';
import { encodeRetrainResult, RetrainingEnv } from '../../../contracts/retraining-job.js';

const T0 = new Date('2026-01-05T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const iso = (s: number) =>
  at(s)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
const STORE = 'pvc://datasets/feedback/ner';

const serving: NerModel = nerModel({
  name: 'clinical-v1',
  metadata: { uid: 'uid-v1' },
  spec: { entityTypes: ['DISEASE', 'TREATMENT'] },
  source: { uri: 'pvc://models/v1', digest: 'a'.repeat(64) },
  status: { phase: 'Ready' },
});

function policy(minDocuments = 50, spec: Parameters<typeof driftPolicy>[0] = {}): DriftPolicy {
  return driftPolicy({
    cooldown: '1m',
    triggers: { drift: false, newAnnotations: { minDocuments } },
    ...spec,
  });
}

function observe(p: DriftPolicy, s: number, annotations?: AnnotationMeasurement): PolicyObserved {
  return {
    policy: p,
    now: at(s),
    image: 'nerops:test',
    targetFound: true,
    servingModel: serving,
    models: [serving],
    jobs: [],
    terminated: {},
    evaluation: undefined,
    datasetVersion: undefined,
    feedbackStoreUri: STORE,
    ...(annotations ? { annotations } : {}),
  };
}

const counted = (since: string, documents: number): AnnotationMeasurement => ({ ok: true, since, documents });

describe('decideNewAnnotations', () => {
  it.each([
    ['no trigger drops the count', undefined, { since: iso(0), documents: 3 }, undefined, { count: undefined }],
    ['first sight starts counting now', { minDocuments: 5 }, undefined, undefined, { count: { since: iso(60) } }],
    [
      'no measurement keeps the last count',
      { minDocuments: 5 },
      { since: iso(0), documents: 3 },
      undefined,
      { count: { since: iso(0), documents: 3 } },
    ],
    [
      'a measurement for an older start counts for nothing',
      { minDocuments: 5 },
      { since: iso(30) },
      counted(iso(0), 9),
      { count: { since: iso(30) } },
    ],
    [
      'a failed measurement keeps the last count',
      { minDocuments: 5 },
      { since: iso(0), documents: 3 },
      { ok: false, since: iso(0), message: 'down' } as const,
      { count: { since: iso(0), documents: 3 } },
    ],
    [
      'below the threshold: counted, no run',
      { minDocuments: 5 },
      { since: iso(0) },
      counted(iso(0), 4),
      { count: { since: iso(0), documents: 4 } },
    ],
  ])('%s', (_, trigger, prev, measured, want) => {
    expect(decideNewAnnotations(trigger, prev, measured, at(60))).toEqual(want);
  });

  it('at the threshold it wants a run, naming the count and the start', () => {
    expect(decideNewAnnotations({ minDocuments: 5 }, { since: iso(0) }, counted(iso(0), 5), at(60))).toEqual({
      count: { since: iso(0), documents: 5 },
      why: `5 new feedback documents stored since ${iso(0)} (minDocuments 5)`,
    });
  });
});

describe('stored-documents count in Prometheus', () => {
  it('sums the stored documents of both tracks over the range since the start', () => {
    expect(storedDocumentsQuery({ namespace: 'ns', deployment: 'ner' }, 3600)).toBe(
      'sum(increase(nerops_feedback_documents_total{namespace="ns",deployment="ner",stored="true"}[3600s]))',
    );
    expect(rangeSeconds(iso(0), at(90.2))).toBe(91);
    expect(rangeSeconds(iso(0), at(0))).toBe(1);
  });

  it('rounds the extrapolated increase, reads no series as 0, and turns errors into a message', async () => {
    const querier = (value: number | undefined): MetricsQuerier & { seen: string[] } => {
      const seen: string[] = [];
      return {
        seen,
        query: (q: string): Promise<InstantQueryResult> => {
          seen.push(q);
          return Promise.resolve({ value, samples: [] });
        },
      };
    };
    const t = { namespace: 'ns', deployment: 'ner' };
    const q = querier(49.6);
    expect(await measureNewAnnotations(q, t, iso(0), at(120))).toEqual(counted(iso(0), 50));
    expect(q.seen[0]).toContain('[120s]');
    expect(await measureNewAnnotations(querier(undefined), t, iso(0), at(120))).toEqual(counted(iso(0), 0));
    const down: MetricsQuerier = { query: () => Promise.reject(new PrometheusUnreachableError('refused')) };
    expect(await measureNewAnnotations(down, t, iso(0), at(120))).toMatchObject({ ok: false, since: iso(0) });
    expect(await measureNewAnnotations(undefined, t, iso(0), at(120))).toMatchObject({ ok: false });
  });
});

describe('the newAnnotations trigger in the plan', () => {
  it('starts counting at first sight, starts one Annotations run at the threshold, and counts again from its start', () => {
    let p = policy(50);
    const step = (s: number, m?: AnnotationMeasurement) => {
      const plan = planPolicy(observe(p, s, m));
      p = { ...p, status: plan.status };
      return plan;
    };
    // First sight: the count starts now; nothing to measure yet.
    expect(step(0).status.annotations).toEqual({ since: iso(0) });
    // Below the threshold: counted, no Job.
    const below = step(30, counted(iso(0), 49));
    expect(below.createJob).toBeUndefined();
    expect(below.status.annotations).toEqual({ since: iso(0), documents: 49 });
    // Crossing: one Job, trigger Annotations, the store's URI in the contract env; the count restarts.
    const crossing = step(60, counted(iso(0), 50));
    expect(crossing.createJob?.metadata?.annotations).toMatchObject({
      'nerops.io/trigger': 'Annotations',
      [FEEDBACK_STORE_ANNOTATION]: STORE,
    });
    expect(crossing.createJob?.spec?.template.spec?.containers[0]?.env).toContainEqual({
      name: RetrainingEnv.FeedbackStoreUri,
      value: STORE,
    });
    expect(crossing.status.activeJob).toMatchObject({ trigger: 'Annotations' });
    expect(crossing.status.annotations).toEqual({ since: iso(60), documents: 0 });
    expect(crossing.events.map((e) => e.reason)).toContain('RetrainingStarted');
    // While the Job runs, and after it is gone, a late measurement for the old start never starts a second run.
    expect(step(300, counted(iso(0), 80)).createJob).toBeUndefined();
    p = { ...p, status: { ...p.status, activeJob: undefined } };
    const stale = step(400, counted(iso(0), 80));
    expect(stale.createJob).toBeUndefined();
    expect(stale.status.annotations).toEqual({ since: iso(60), documents: 0 });
    // The next crossing, counted from the run's start, starts the next run.
    expect(step(500, counted(iso(60), 50)).createJob?.metadata?.annotations?.['nerops.io/trigger']).toBe('Annotations');
  });

  it('waits out the cooldown without consuming the crossing, then starts', () => {
    const p = policy(10, { cooldown: '10m' });
    p.status = { annotations: { since: iso(0) }, lastRetrainTime: iso(0) };
    const held = planPolicy(observe(p, 60, counted(iso(0), 12)));
    expect(held.createJob).toBeUndefined();
    expect(held.status.conditions?.find((c) => c.type === 'Retraining')).toMatchObject({ reason: 'CoolingDown' });
    expect(held.status.annotations).toEqual({ since: iso(0), documents: 12 });
    const later = planPolicy(observe({ ...p, status: held.status }, 601, counted(iso(0), 12)));
    expect(later.createJob?.metadata?.annotations?.['nerops.io/trigger']).toBe('Annotations');
  });

  it('a Dataset change wins over new annotations, and the run still restarts the count', () => {
    const p = policy(10, { retraining: { datasetUri: 'file:///d', outputUri: 'file:///o', datasetVersion: 'v2' } });
    p.status = { annotations: { since: iso(0) }, observedDatasetVersion: 'v1' };
    const plan = planPolicy({ ...observe(p, 60, counted(iso(0), 12)), datasetVersion: 'v2' });
    expect(plan.status.activeJob?.trigger).toBe('Dataset');
    expect(plan.status.annotations).toEqual({ since: iso(60), documents: 0 });
  });

  it('includeFeedback: false leaves the store out of the Job; no store, no env', () => {
    const off = policy(10, {
      retraining: { datasetUri: 'file:///d', outputUri: 'file:///o', includeFeedback: false },
    });
    off.status = { annotations: { since: iso(0) } };
    const plan = planPolicy(observe(off, 60, counted(iso(0), 12)));
    expect(plan.createJob).toBeDefined();
    expect(JSON.stringify(plan.createJob)).not.toContain(RetrainingEnv.FeedbackStoreUri);
    expect(plan.createJob?.metadata?.annotations?.[FEEDBACK_STORE_ANNOTATION]).toBeUndefined();
    const none = policy(10);
    none.status = { annotations: { since: iso(0) } };
    const withoutStore = planPolicy({ ...observe(none, 60, counted(iso(0), 12)), feedbackStoreUri: undefined });
    expect(JSON.stringify(withoutStore.createJob)).not.toContain(RetrainingEnv.FeedbackStoreUri);
  });
});

describe('retraining on feedback: Job and lineage', () => {
  it('mounts the store claim in the default Job', () => {
    const job = desiredRetrainJob({
      policy: policy(10),
      runId: 'r1',
      trigger: 'Annotations',
      baseModel: serving,
      image: 'nerops:test',
      feedbackStoreUri: STORE,
    });
    const pod = job.spec?.template.spec;
    expect(pod?.volumes).toContainEqual({ name: expect.any(String), persistentVolumeClaim: { claimName: 'datasets' } });
    expect(pod?.containers[0]?.volumeMounts?.map((m) => m.mountPath)).toContain('/mnt/nerops/pvc/claims/datasets');
  });

  it('records both digests and the feedback count in the lineage, and the count in history', () => {
    const result = {
      resultVersion: 1 as const,
      outcome: 'Succeeded' as const,
      bundleUri: 'file:///out/r1',
      digest: 'b'.repeat(64),
      datasetDigest: 'c'.repeat(64),
      feedback: { digest: 'd'.repeat(64), documents: 120, heldOutDocuments: 24 },
      metrics: { new: { micro: { precision: 0.9, recall: 0.9, f1: 0.9 } } },
    };
    const model = desiredRetrainedModel(
      policy(10),
      serving,
      { runId: 'r1', jobName: 'drift-r1', feedbackStoreUri: STORE },
      result,
    );
    expect(model.spec.lineage).toMatchObject({
      datasetDigest: 'c'.repeat(64),
      feedback: { storeUri: STORE, digest: 'd'.repeat(64), documents: 120, heldOutDocuments: 24 },
    });
    // Through the plan: the finished Job's annotation names the store.
    const p = policy(10);
    const job = desiredRetrainJob({
      policy: p,
      runId: 'r1',
      trigger: 'Annotations',
      baseModel: serving,
      image: 'nerops:test',
      feedbackStoreUri: STORE,
    });
    job.status = { conditions: [{ type: 'Complete', status: 'True' }], completionTime: at(100) };
    p.status = { activeJob: { name: job.metadata!.name!, runId: 'r1', trigger: 'Annotations', startTime: iso(0) } };
    const plan = planPolicy({
      ...observe(p, 120),
      jobs: [job],
      terminated: { [job.metadata!.name!]: { exitCode: 0, message: encodeRetrainResult(result) } },
    });
    expect(plan.createModels[0]?.spec.lineage?.feedback).toMatchObject({ storeUri: STORE, documents: 120 });
    expect(plan.status.history?.at(-1)).toMatchObject({
      outcome: 'Succeeded',
      trigger: 'Annotations',
      feedbackDocuments: 120,
    });
    expect(plan.events.find((e) => e.reason === 'RetrainingSucceeded')?.note).toContain('120 feedback documents');
  });
});
