/**
 * The operator as users run it: installed by `helm install` of charts/nerops, in its container, under
 * the chart's ServiceAccount and RBAC; its validation Jobs and servers in containers of the same image;
 * models on a claim of the default StorageClass; Prometheus scraping the pods; load from a pod through
 * the Service's DNS name and kube-proxy.
 *
 * Given a model bundle on a claim,
 *   When a NerModel names it with its digest, Then validation makes it Ready;
 *   When a NerModel names it with another digest, Then it is Rejected.
 * Given a NerDeployment of the Ready model, Then its Service answers /v1/extract through cluster DNS.
 * Given a second model of the family, When the NerDeployment moves to it under load, Then the
 * candidate walks through the steps and is promoted (the canary Deployment and Service deleted and the
 * rollout annotation cleared by the operator's own ServiceAccount).
 * Given a candidate that fails its analysis (a p95 threshold no server meets), Then it is rolled back:
 * all traffic on stable, the canary's pods gone, RolledBack with the reason, again with no RBAC denial.
 */
import { BatchV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../operator/runtime/resource.js';
import { trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import {
  Api,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  type NerDeployment,
  type NerModel,
} from '../../testing/operator-fixture.js';
import { installOperator, kubectl, uninstallOperator } from '../../local-cluster/chart-install.js';
import { claimWithLoader, putOnClaim, trafficJob, trafficSummary } from '../../local-cluster/workloads.js';

const { info, kc, core } = useCluster();
const batch = kc.makeApiClient(BatchV1Api);
const release = 'nerops';
let operatorNs: string;
let ns: string;
let api: Api;
let v1: TrainedBundle;
let v2: TrainedBundle;

const status = async (name: string) => (await api.get<NerDeployment>(nerDeployments, ns, name)).status ?? {};
const phaseOf = async (model: string) => (await api.get<NerModel>(nerModels, ns, model)).status?.phase;

beforeAll(async () => {
  operatorNs = await createTestNamespace(core, 'nerops-system');
  ns = await createTestNamespace(core, 'rollout');
  api = new Api(kc);
  const [loader] = await Promise.all([
    claimWithLoader(info, core, ns, 'models'),
    installOperator(info, { release, namespace: operatorNs, scope: 'cluster' }),
    (async () => {
      v1 = await trainSmallBundle({ seed: 7, count: 200, epochs: 3, name: 'clinical', version: '1.0.0' });
      v2 = await trainSmallBundle({ seed: 8, count: 200, epochs: 3, name: 'clinical', version: '1.1.0' });
    })(),
  ]);
  await putOnClaim(info, ns, loader, v1.dir, 'clinical/1.0.0');
  await putOnClaim(info, ns, loader, v2.dir, 'clinical/1.1.0');
}, 600_000);

afterAll(async () => {
  await uninstallOperator(info, core, release, operatorNs, [ns]);
  api?.close();
});

describe('a chart-installed operator on a real node', () => {
  it('validates a NerModel on a claim to Ready, and rejects one whose digest does not match', async () => {
    await api.create(nerModels, ns, nerModel('clinical-v1', 'pvc://models/clinical/1.0.0', v1.digest));
    await api.create(
      nerModels,
      ns,
      nerModel('tampered', 'pvc://models/clinical/1.0.0', v2.digest, (m) => (m.spec.version = '9.9.9')),
    );
    await eventually(async () => expect(await phaseOf('clinical-v1')).toBe('Ready'), 240_000, 1000);
    await eventually(async () => expect(await phaseOf('tampered')).toBe('Rejected'), 240_000, 1000);
    const rejected = await api.get<NerModel>(nerModels, ns, 'tampered');
    expect(JSON.stringify(rejected.status?.conditions)).toMatch(/digest/i);
  });

  it('serves the Ready model through its Service and cluster DNS', async () => {
    await api.create(nerDeployments, ns, nerDeployment('notes', 'clinical-v1', { replicas: { min: 1, max: 1 } }));
    await eventually(
      async () =>
        expect(await status('notes')).toMatchObject({
          phase: 'Healthy',
          stableModel: 'clinical-v1',
          replicas: { ready: 1 },
        }),
      240_000,
      1000,
    );
    await batch.createNamespacedJob({ namespace: ns, body: trafficJob('smoke', 'http://notes:8080', 5, 4) as never });
    await eventually(
      async () => expect((await batch.readNamespacedJob({ name: 'smoke', namespace: ns })).status?.succeeded).toBe(1),
      120_000,
      1000,
    );
    const summary = await trafficSummary(info, ns, 'smoke');
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary.ok).toBe(summary.sent);
  });

  it('promotes a candidate through its canary steps under load', async () => {
    await api.create(
      nerModels,
      ns,
      nerModel('clinical-v2', 'pvc://models/clinical/1.1.0', v2.digest, (m) => (m.spec.version = '1.1.0')),
    );
    await eventually(async () => expect(await phaseOf('clinical-v2')).toBe('Ready'), 240_000, 1000);
    await api.patch(nerDeployments, ns, 'notes', {
      spec: { rollout: { steps: [{ weight: 50, pauseSeconds: 10 }], analysisIntervalSeconds: 5, minSampleCount: 5 } },
    });
    await batch.createNamespacedJob({ namespace: ns, body: trafficJob('load', 'http://notes:8080', 10, 150) as never });
    await api.patch(nerDeployments, ns, 'notes', { spec: { model: 'clinical-v2' } });
    await eventually(
      async () =>
        expect(await status('notes')).toMatchObject({
          phase: 'Healthy',
          stableModel: 'clinical-v2',
          weights: { stable: 100, canary: 0 },
        }),
      300_000,
      1000,
    );
    // What the chart's RBAC must allow: the canary's Deployment and Service deleted after promotion.
    await eventually(
      async () => {
        const children = await api.list<KubernetesObject>(builtin.deployments, ns, 'nerops.io/deployment=notes');
        expect(children.map((d) => d.metadata?.name)).toEqual(['notes-stable']);
        await expect(api.get(builtin.services, ns, 'notes-canary')).rejects.toThrow();
      },
      120_000,
      1000,
    );
    const notes = await api.eventNotes(ns, 'notes');
    expect(notes.some((n) => n.startsWith('RolloutPromoted'))).toBe(true);
    const operatorLog = await kubectl(info, '-n', operatorNs, 'logs', `deployment/${release}`, '--tail=-1');
    // No RBAC denial under the chart's own role. (The cluster-scoped operator also sees other tests' namespaces
    // being deleted; the API server's "namespace is being terminated" refusal is not about permissions.)
    const denials = operatorLog.split('\n').filter((l) => /forbidden/i.test(l) && !/being terminated/.test(l));
    expect(denials).toEqual([]);
  });

  it('rolls back a candidate that fails its analysis', async () => {
    // The same bundle as v1 under a new version: the candidate is valid, and only the analysis refuses it.
    await api.create(
      nerModels,
      ns,
      nerModel('clinical-v3', 'pvc://models/clinical/1.0.0', v1.digest, (m) => (m.spec.version = '1.2.0')),
    );
    await eventually(async () => expect(await phaseOf('clinical-v3')).toBe('Ready'), 240_000, 1000);
    await api.patch(nerDeployments, ns, 'notes', {
      spec: {
        rollout: {
          steps: [{ weight: 50, pauseSeconds: 600 }],
          analysisIntervalSeconds: 5,
          minSampleCount: 5,
          failureLimit: 1,
          thresholds: { maxP95LatencyMs: 0.05 },
        },
      },
    });
    await batch.createNamespacedJob({
      namespace: ns,
      body: trafficJob('load-2', 'http://notes:8080', 10, 150) as never,
    });
    await api.patch(nerDeployments, ns, 'notes', { spec: { model: 'clinical-v3' } });
    await eventually(
      async () =>
        expect(await status('notes')).toMatchObject({
          phase: 'RolledBack',
          stableModel: 'clinical-v2',
          rejectedModel: 'clinical-v3',
          weights: { stable: 100, canary: 0 },
        }),
      300_000,
      1000,
    );
    expect((await status('notes')).abortReason).toMatch(/p95 latency [\d.]+ ms > maxP95LatencyMs 0.05/);
    await eventually(
      async () =>
        expect(
          await api.list<KubernetesObject>(builtin.pods, ns, 'nerops.io/deployment=notes,nerops.io/track=canary'),
        ).toEqual([]),
      120_000,
      1000,
    );
    const notes = await api.eventNotes(ns, 'notes');
    expect(notes.some((n) => n.startsWith('RolloutAborted'))).toBe(true);
    const operatorLog = await kubectl(info, '-n', operatorNs, 'logs', `deployment/${release}`, '--tail=-1');
    const denials = operatorLog.split('\n').filter((l) => /forbidden/i.test(l) && !/being terminated/.test(l));
    expect(denials).toEqual([]);
  });
});
