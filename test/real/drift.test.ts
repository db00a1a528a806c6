/**
 * The loop the project exists for, on the real node with the chart-installed operator: a base model on a
 * claim, the annotated dataset on another claim, traffic from a pod through the Service's DNS name,
 * Prometheus scraping the pods, and the operator's default retraining Job (`ner-ops retrain` in its
 * image) mounting the claims and writing the retrained bundle to the models claim (the process-node
 * version, with an alert-only policy and Prometheus cut as well, is test/e2e/drift.test.ts).
 *
 * Given a NerDeployment following the `clinical` family and a DriftPolicy whose critical thresholds are out
 * of reach, When in-distribution notes flow, Then the policy is Healthy and no Job starts;
 * When the notes switch to the `shifted` vocabulary, Then the policy goes Warning and starts one retraining
 * Job, whose model (on the claim, `pvc://`) is validated, canaried and promoted.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, type KubernetesObject, type V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftPolicy } from '../../operator/api/driftpolicy.js';
import { driftPolicies } from '../../operator/api/resources.js';
import { builtin } from '../../operator/runtime/resource.js';
import { generateNotes, writeConll } from '../../trainer/synthetic.js';
import { trainBundle } from '../../trainer/train.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import {
  Api,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  untilPromoted,
  type NerDeployment,
  type NerModel,
} from '../../testing/operator-fixture.js';
import { installOperator, uninstallOperator } from '../../local-cluster/chart-install.js';
import { claimWithLoader, putOnClaim, trafficJob } from '../../local-cluster/workloads.js';

const { info, kc, core } = useCluster();
const batch = kc.makeApiClient(BatchV1Api);
const release = 'nerops-drift';
const INTERVAL_S = 5;
let operatorNs: string;
let ns: string;
let api: Api;
let dir: string;

const getPolicy = () => api.get<DriftPolicy>(driftPolicies, ns, 'retrain');
const jobsOf = () => api.list<V1Job>(builtin.jobs, ns, 'nerops.io/drift-policy=retrain');
const deploymentStatus = async () => (await api.get<NerDeployment>(nerDeployments, ns, 'ner')).status ?? {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `ner-ops traffic` from a pod with notes of one vocabulary. */
function traffic(name: string, vocabulary: 'base' | 'shifted'): Promise<unknown> {
  const job = trafficJob(name, 'http://ner:8080', 10, 400) as {
    spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
  };
  job.spec.template.spec.containers[0]!.args.push('--vocabulary', vocabulary);
  return batch.createNamespacedJob({ namespace: ns, body: job as never });
}

beforeAll(async () => {
  if (!info.prometheusUrl) throw new Error('the cluster runs no Prometheus');
  dir = await mkdtemp(join(tmpdir(), 'nerops-real-drift-'));
  await mkdir(join(dir, 'dataset'));
  operatorNs = await createTestNamespace(core, 'nerops-drift');
  ns = await createTestNamespace(core, 'drift');
  api = new Api(kc);
  await Promise.all([
    writeConll(join(dir, 'train.conll'), generateNotes({ count: 300, seed: 7 })),
    writeConll(join(dir, 'dev.conll'), generateNotes({ count: 400, seed: 1007 })),
    // The annotated data a retraining gets: both vocabularies to learn from, held out on the new one.
    writeConll(join(dir, 'dataset', 'train.conll'), [
      ...generateNotes({ count: 300, seed: 8 }),
      ...generateNotes({ count: 300, seed: 9, vocabulary: 'shifted' }),
    ]),
    writeConll(join(dir, 'dataset', 'dev.conll'), generateNotes({ count: 400, seed: 1009, vocabulary: 'shifted' })),
  ]);
  const [models, datasets, v1] = await Promise.all([
    claimWithLoader(info, core, ns, 'models'),
    claimWithLoader(info, core, ns, 'datasets'),
    trainBundle({
      corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
      members: { seed: 7, epochs: 3 },
      export: { outDir: join(dir, 'v1'), name: 'clinical', version: '1.0.0' },
    }),
    installOperator(info, { release, namespace: operatorNs, scope: 'cluster', replicas: 1 }),
  ]);
  await putOnClaim(info, ns, models, v1.outDir, 'clinical/1.0.0');
  await putOnClaim(info, ns, datasets, join(dir, 'dataset'), 'clinical');
  await api.create(nerModels, ns, nerModel('clinical-v1', 'pvc://models/clinical/1.0.0', v1.digest));
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).status?.phase).toBe('Ready'),
    240_000,
    1000,
  );
  // Follows the family: the retrained model (same family, newer) is what the canary rolls out.
  const nd = nerDeployment('ner', '', {
    modelSelector: { family: 'clinical' },
    replicas: { min: 1, max: 1 },
    rollout: { steps: [{ weight: 50, pauseSeconds: 10 }], analysisIntervalSeconds: 5, minSampleCount: 5 },
  });
  delete nd.spec.model;
  await api.create(nerDeployments, ns, nd);
  await eventually(
    async () =>
      expect(await deploymentStatus()).toMatchObject({
        phase: 'Healthy',
        stableModel: 'clinical-v1',
        replicas: { ready: 1 },
      }),
    240_000,
    1000,
  );
  await traffic('calm', 'base');
  // Critical thresholds out of reach (distances are at most 1), so this policy can only go Warning.
  const policy: KubernetesObject & { spec: Record<string, unknown> } = {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'DriftPolicy',
    metadata: { name: 'retrain' },
    spec: {
      targetRef: { name: 'ner' },
      interval: `${INTERVAL_S}s`,
      // At 10 notes/s a 30 s window holds about 300 documents. Far fewer (the 40 this test once used) lets
      // sampling noise alone reach the histograms' PSI warnings on a busy machine: the default is 200.
      window: '30s',
      minSamples: 150,
      consecutiveBreaches: 2,
      signals: [
        { name: 'label-distribution', type: 'labelDistribution', warning: 0.1, critical: 0.99 },
        { name: 'confidence', type: 'confidence', warning: 0.1, critical: 1000 },
        { name: 'document-length', type: 'documentLength', warning: 0.1, critical: 1000 },
        { name: 'unknown-token-rate', type: 'unknownTokenRate', warning: 0.05, critical: 0.99 },
      ],
      retraining: { datasetUri: 'pvc://datasets/clinical', outputUri: 'pvc://models/runs' },
    },
  };
  await api.create(driftPolicies, ns, policy);
}, 600_000);

afterAll(async () => {
  await uninstallOperator(info, core, release, operatorNs, [ns]);
  api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('drift → retraining Job → validation → canary → promotion, on the real node', () => {
  it('stays Healthy on in-distribution traffic, retrains on shifted traffic from the claims, promotes the retrained model', async () => {
    // Given in-distribution traffic: Healthy once the window fills, no Job.
    await eventually(async () => expect((await getPolicy()).status?.state).toBe('Healthy'), 120_000, 1000);
    await sleep(15_000);
    const calm = await getPolicy();
    expect(calm.status?.state).toBe('Healthy');
    // On failure: why the Job started, and the latest signal values.
    expect(
      await jobsOf(),
      JSON.stringify({ activeJob: calm.status?.activeJob, lastEvaluation: calm.status?.lastEvaluation }),
    ).toEqual([]);

    // When the notes shift to a new vocabulary.
    const shiftAt = Date.now();
    await batch.deleteNamespacedJob({ name: 'calm', namespace: ns, propagationPolicy: 'Background' });
    await traffic('shifted', 'shifted');
    const job = await eventually(
      async () => {
        const jobs = await jobsOf();
        expect(jobs).toHaveLength(1);
        return jobs[0] as V1Job;
      },
      150_000,
      1000,
    );
    const detectedMs = Date.now() - shiftAt;
    const p1 = await getPolicy();
    expect(p1.status?.state).toBe('Warning');
    expect(p1.status?.activeJob).toMatchObject({ name: job.metadata?.name, trigger: 'Drift' });
    // The default Job mounts the claims of the pvc:// URIs.
    const claims = (job.spec?.template.spec?.volumes ?? [])
      .map((v) => v.persistentVolumeClaim?.claimName)
      .filter(Boolean);
    expect(claims).toEqual(expect.arrayContaining(['models', 'datasets']));

    // Then the retrained model is created with lineage, validated from the claim, canaried and promoted.
    const record = await eventually(
      async () => {
        const r = (await getPolicy()).status?.history?.at(-1);
        expect(r?.outcome, r?.message).toBe('Succeeded');
        return r;
      },
      300_000,
      1000,
    );
    const retrained = record?.model as string;
    const m = await eventually(
      async () => {
        const m = await api.get<NerModel>(nerModels, ns, retrained);
        expect(m.status?.phase).toBe('Ready');
        return m;
      },
      180_000,
      1000,
    );
    expect(m.spec.source.uri).toMatch(/^pvc:\/\/models\/runs\//);
    expect(m.spec.lineage).toMatchObject({
      parentModel: 'clinical-v1',
      driftPolicy: 'retrain',
      trainingJob: job.metadata?.name,
    });
    const seen = await untilPromoted(api, ns, 'ner', retrained, 240_000, 1000);
    expect(seen.has(50)).toBe(true);
    expect((await deploymentStatus()).history?.at(-1)).toMatchObject({
      model: retrained,
      previousModel: 'clinical-v1',
      outcome: 'Promoted',
    });
    console.log(
      `real drift: shifted traffic → retraining Job in ${(detectedMs / 1000).toFixed(1)} s; → ${retrained} promoted ${((Date.now() - shiftAt) / 1000).toFixed(1)} s after the shift; held-out F1 new ${record?.f1} vs base ${record?.baseF1}`,
    );
  }, 600_000);
});
