/**
 * DriftPolicy against the real local cluster: the operator (NerModel + DriftPolicy controllers, in-process)
 * queries the cluster's real Prometheus, and a retraining Job really runs `ner-ops retrain` on the process
 * node; its termination message becomes a NerModel with lineage, which the NerModel controller validates.
 * The NerDeployment controller is not started: the policy only needs the target's spec.model, so no
 * serving pods are involved (shifted traffic through real servers is the e2e, after the canary work).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KubernetesObject, V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftPolicy } from '../../../operator/api/driftpolicy.js';
import { driftPolicies } from '../../../operator/api/resources.js';
import { PrometheusClient } from '../../../operator/prometheus/client.js';
import { builtin } from '../../../operator/runtime/resource.js';
import { generateNotes, writeConll } from '../../../trainer/synthetic.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
import {
  Api,
  installCrds,
  nerModels,
  givenRetrainingTarget,
  startRetrainingOperator,
  trainBundle,
  type NerModel,
  type TestOperator,
} from '../../../testing/operator-fixture.js';

const { info, kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator | undefined;
let bundle: Awaited<ReturnType<typeof trainBundle>>;
let dir: string;

function policy(
  name: string,
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string>,
): KubernetesObject & { spec: Record<string, unknown> } {
  return {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'DriftPolicy',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: {
      targetRef: { name: 'ner' },
      interval: '5s',
      window: '5m',
      minSamples: 10,
      retraining: {
        datasetUri: pathToFileURL(join(dir, 'train.conll')).href,
        outputUri: pathToFileURL(join(dir, 'runs')).href,
      },
      ...spec,
    },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-drift-it-'));
  [bundle] = await Promise.all([
    trainBundle(),
    installCrds(kc),
    writeConll(join(dir, 'train.conll'), generateNotes({ count: 200, seed: 41, vocabulary: 'shifted' })),
  ]);
  ns = await createTestNamespace(core, 'driftpolicy');
  api = new Api(kc);
  const prometheus = info.prometheusUrl
    ? new PrometheusClient({ url: info.prometheusUrl, timeoutMs: 5000 })
    : undefined;
  op = await startRetrainingOperator(kc, ns, prometheus ? { prometheus } : {});
  await givenRetrainingTarget(api, ns, bundle);
}, 240_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
  await bundle?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('DriftPolicy', () => {
  it('Given no traffic, Then the state is InsufficientData (Prometheus answers, no documents) and no Job starts', async () => {
    await api.create(driftPolicies, ns, policy('quiet'));
    const p = await eventually(
      async () => {
        const p = await api.get<DriftPolicy>(driftPolicies, ns, 'quiet');
        expect(p.status?.state).toBe(info.prometheusUrl ? 'InsufficientData' : 'MetricsUnavailable');
        return p;
      },
      30_000,
      300,
    );
    expect(p.status?.lastEvaluation).toMatchObject({ model: 'clinical-v1' });
    expect(p.status?.lastEvaluation?.signals.map((s) => s.name)).toEqual([
      'label-distribution',
      'confidence',
      'document-length',
      'unknown-token-rate',
    ]);
    expect(p.status?.conditions?.find((c) => c.type === 'DriftDetected')).toMatchObject({ status: 'False' });
    await new Promise((r) => setTimeout(r, 6000));
    expect(await api.list<V1Job>(builtin.jobs, ns, 'nerops.io/drift-policy=quiet')).toHaveLength(0);
  }, 60_000);

  it('Given a PromQL signal Prometheus refuses, Then the state is MetricsUnavailable and no Job starts', async () => {
    await api.create(
      driftPolicies,
      ns,
      policy('broken', {
        signals: [{ name: 'custom', type: 'promql', query: 'sum(rate(', warning: 0.1, critical: 1 }],
        onWarning: 'Retrain',
      }),
    );
    const p = await eventually(
      async () => {
        const p = await api.get<DriftPolicy>(driftPolicies, ns, 'broken');
        expect(p.status?.state).toBe('MetricsUnavailable');
        return p;
      },
      30_000,
      300,
    );
    expect(p.status?.conditions?.find((c) => c.type === 'MetricsAvailable')).toMatchObject({
      status: 'False',
      reason: 'PrometheusUnreachable',
    });
    expect(p.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False' });
    expect(await api.list<V1Job>(builtin.jobs, ns, 'nerops.io/drift-policy=broken')).toHaveLength(0);
  }, 60_000);

  it('Given the manual trigger annotation, Then a real retraining Job runs and its result becomes a validated NerModel with lineage', async () => {
    const started = Date.now();
    await api.create(driftPolicies, ns, policy('manual', {}, { 'nerops.io/retrain': 'now' }));
    const job = await eventually(
      async () => {
        const jobs = await api.list<V1Job>(builtin.jobs, ns, 'nerops.io/drift-policy=manual');
        expect(jobs).toHaveLength(1);
        return jobs[0] as V1Job;
      },
      30_000,
      300,
    );
    expect(job.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'DriftPolicy', name: 'manual', controller: true });
    const env = Object.fromEntries(
      (job.spec?.template?.spec?.containers?.[0]?.env ?? []).map((e) => [e.name, e.value]),
    );
    const runId = env.NEROPS_RUN_ID as string;
    expect(runId).toMatch(/^\d{8}-\d{6}-manual$/);
    expect(env).toMatchObject({
      NEROPS_BASE_MODEL_URI: bundle.uri,
      NEROPS_BASE_MODEL_DIGEST: bundle.digest,
      NEROPS_OUTPUT_URI: pathToFileURL(join(dir, 'runs', runId)).href,
    });

    const p = await eventually(
      async () => {
        const p = await api.get<DriftPolicy>(driftPolicies, ns, 'manual');
        expect(p.status?.history?.[0]?.outcome, p.status?.history?.[0]?.message).toBe('Succeeded');
        return p;
      },
      180_000,
      500,
    );
    const record = p.status?.history?.[0];
    expect(record).toMatchObject({ runId, trigger: 'Manual', jobName: job.metadata?.name, model: `clinical-${runId}` });
    expect(record?.f1).toBeGreaterThan(0.3);
    expect(record?.baseF1).toBeGreaterThanOrEqual(0);
    expect(p.status?.activeJob).toBeUndefined();
    expect(p.status?.observedRetrainRequest).toBe('now');
    expect(p.status?.conditions?.find((c) => c.type === 'Retraining')).toMatchObject({
      status: 'False',
      reason: 'JobSucceeded',
    });

    const m = await eventually(
      async () => {
        const m = await api.get<NerModel>(nerModels, ns, `clinical-${runId}`);
        expect(m.status?.phase).toBe('Ready');
        return m;
      },
      120_000,
      500,
    );
    expect(m.spec).toMatchObject({
      family: 'clinical',
      version: runId,
      source: { uri: pathToFileURL(join(dir, 'runs', runId)).href },
    });
    expect(m.spec.lineage).toMatchObject({
      parentModel: 'clinical-v1',
      trainingJob: job.metadata?.name,
      driftPolicy: 'manual',
      runId,
    });
    expect(m.spec.lineage?.datasetDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(m.status?.lineage).toEqual(m.spec.lineage);
    console.log(
      `retraining: Job + NerModel Ready in ${((Date.now() - started) / 1000).toFixed(1)} s; held-out F1 new ${record?.f1} vs base ${record?.baseF1}`,
    );

    // The same annotation value never starts a second run.
    await new Promise((r) => setTimeout(r, 6000));
    expect(await api.list<V1Job>(builtin.jobs, ns, 'nerops.io/drift-policy=manual')).toHaveLength(1);
  }, 360_000);
});
