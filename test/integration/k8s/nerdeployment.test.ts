/**
 * NerDeployment stable serving against the real cluster: the operator creates a Deployment (fetch-model
 * init container + ner-ops serve), Service and PDB; the pods really run on the process node and serve
 * /v1/extract on their pod IPs; a second reconcile writes nothing; a hand edit is reverted; deleting
 * the NerDeployment garbage-collects the children.
 */
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../../operator/runtime/resource.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
import {
  Api,
  installCrds,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  startOperator,
  trainBundle,
  type NerDeployment,
  type NerModel,
  type TestOperator,
} from '../../../testing/operator-fixture.js';

const { kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator;

async function reconciles(): Promise<number> {
  const m = await op.handle.metrics.reconcileTotal.get();
  return m.values.filter((v) => v.labels.controller === 'nerdeployment').reduce((n, v) => n + v.value, 0);
}

beforeAll(async () => {
  const [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  ns = await createTestNamespace(core, 'nerdep');
  api = new Api(kc);
  op = await startOperator(kc, ns);
  await api.create(nerModels, ns, nerModel('clinical-v1', bundle.uri, bundle.digest));
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).status?.phase).toBe('Ready'),
    90_000,
    500,
  );
}, 180_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
});

describe('NerDeployment (stable serving)', () => {
  it('Given a Ready NerModel, When a NerDeployment pins it, Then Deployment, Service and PDB exist and real pods serve on their pod IPs', async () => {
    const t0 = Date.now();
    await api.create(nerDeployments, ns, nerDeployment('notes', 'clinical-v1', { replicas: { min: 2, max: 3 } }));
    const dep = await eventually(() => api.get<V1Deployment>(builtin.deployments, ns, 'notes-stable'), 30_000, 50);
    const createdMs = Date.now() - t0;
    expect(dep.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'NerDeployment',
      name: 'notes',
      controller: true,
    });
    expect(dep.metadata?.labels).toMatchObject({
      'nerops.io/deployment': 'notes',
      'nerops.io/model': 'clinical-v1',
      'nerops.io/track': 'stable',
    });
    expect(dep.spec?.replicas).toBe(2);
    expect(dep.spec?.template.spec?.initContainers?.[0]?.name).toBe('fetch-model');
    // The operator creates the Deployment, Service and PDB one request after another: the Deployment being
    // there does not mean the next two are yet (a busy machine showed a 404 here).
    await eventually(() => api.get(builtin.services, ns, 'notes'), 10_000, 50);
    await eventually(() => api.get(builtin.podDisruptionBudgets, ns, 'notes'), 10_000, 50);

    const nd = await eventually(
      async () => {
        const nd = await api.get<NerDeployment>(nerDeployments, ns, 'notes');
        expect(nd.status).toMatchObject({
          phase: 'Healthy',
          stableModel: 'clinical-v1',
          replicas: { desired: 2, ready: 2 },
          serviceName: 'notes',
        });
        return nd;
      },
      120_000,
      500,
    );
    const readyMs = Date.now() - t0;
    expect(nd.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'DeploymentAvailable',
      observedGeneration: nd.metadata.generation,
    });

    const pods = (await api.list<V1Pod>(builtin.pods, ns, 'nerops.io/deployment=notes')).filter((p) => p.status?.podIP);
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      const res = await fetch(`http://${pod.status?.podIP}:8080/v1/extract`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Patient with type 2 diabetes was started on metformin.' }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { entities: Array<{ label: string }>; model: { digest: string } };
      expect(body.entities.length).toBeGreaterThan(0);
    }
    console.log(
      `nerdeployment: Deployment created ${createdMs} ms after the NerDeployment, 2/2 pods ready after ${readyMs} ms`,
    );
  }, 180_000);

  it('When it is reconciled again with nothing changed, Then the operator writes nothing', async () => {
    const before = { writes: op.writes(), reconciles: await reconciles() };
    // An annotation change enqueues a reconcile without changing anything the operator manages.
    await api.patch(nerDeployments, ns, 'notes', { metadata: { annotations: { 'test/poke': '1' } } });
    await eventually(async () => expect(await reconciles()).toBeGreaterThan(before.reconciles), 10_000, 100);
    await api.patch(nerDeployments, ns, 'notes', { metadata: { annotations: { 'test/poke': '2' } } });
    await eventually(async () => expect(await reconciles()).toBeGreaterThan(before.reconciles + 1), 10_000, 100);
    await new Promise((r) => setTimeout(r, 1000));
    expect(op.writes() - before.writes).toBe(0);
  }, 60_000);

  it('When someone hand-edits the managed Deployment, Then the operator reverts it', async () => {
    await api.patch(builtin.deployments, ns, 'notes-stable', {
      spec: { replicas: 3 },
      metadata: { labels: { 'nerops.io/model': 'hacked' } },
    });
    await eventually(
      async () => {
        const d = await api.get<V1Deployment>(builtin.deployments, ns, 'notes-stable');
        expect(d.spec?.replicas).toBe(2);
        expect(d.metadata?.labels?.['nerops.io/model']).toBe('clinical-v1');
      },
      30_000,
      200,
    );
  }, 60_000);

  it('When the NerDeployment is deleted, Then its Deployment, Service and PDB are garbage-collected', async () => {
    await api.delete(nerDeployments, ns, 'notes');
    await eventually(
      async () => {
        expect(await api.list(builtin.deployments, ns, 'nerops.io/deployment=notes')).toHaveLength(0);
        expect(await api.list(builtin.services, ns, 'nerops.io/deployment=notes')).toHaveLength(0);
        expect(await api.list(builtin.podDisruptionBudgets, ns, 'nerops.io/deployment=notes')).toHaveLength(0);
      },
      60_000,
      500,
    );
  }, 90_000);
});
