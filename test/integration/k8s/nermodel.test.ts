/**
 * NerModel validation against the real cluster: the operator creates a `ner-ops validate` Job, the Job
 * really runs on the process node, and its termination message becomes the NerModel status.
 */
import type { V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../../operator/runtime/resource.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
import {
  Api,
  installCrds,
  nerModel,
  nerModels,
  startOperator,
  trainBundle,
  type NerModel,
  type TestOperator,
} from '../../../testing/operator-fixture.js';

const { kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator;
let bundle: Awaited<ReturnType<typeof trainBundle>>;

beforeAll(async () => {
  [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  ns = await createTestNamespace(core, 'nermodel');
  api = new Api(kc);
  op = await startOperator(kc, ns);
}, 180_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
});

describe('NerModel', () => {
  it('Given a bundle trained in the test, When a NerModel points at it, Then it becomes Ready with metrics, profile, digest and size', async () => {
    await api.create(nerModels, ns, nerModel('good', bundle.uri, bundle.digest));
    const m = await eventually(
      async () => {
        const m = await api.get<NerModel>(nerModels, ns, 'good');
        expect(m.status?.phase).toBe('Ready');
        return m;
      },
      120_000,
      500,
    );
    expect(m.status).toMatchObject({
      verifiedDigest: bundle.digest,
      entityTypes: ['DISEASE', 'TREATMENT'],
      metrics: { source: 'bundle' },
      baseline: { profileVersion: 1 },
    });
    expect(m.status?.sizeBytes).toBeGreaterThan(1000);
    expect(m.status?.metrics?.micro.f1).toBeGreaterThan(0.5);
    expect(m.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'ValidationSucceeded',
      observedGeneration: 1,
    });
    const jobs = await api.list<V1Job>(builtin.jobs, ns, 'nerops.io/validates=good');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'NerModel', name: 'good', controller: true });
    // Terminal: nothing more is written for it.
    const before = op.writes();
    await new Promise((r) => setTimeout(r, 2000));
    expect((await api.get<NerModel>(nerModels, ns, 'good')).metadata.resourceVersion).toBe(m.metadata.resourceVersion);
    expect(op.writes() - before).toBe(0);
  }, 150_000);

  it('Given a wrong digest, Then the model is Rejected with a clear message, one Job, and no retries', async () => {
    const wrong = 'f'.repeat(64);
    await api.create(nerModels, ns, nerModel('wrong-digest', bundle.uri, wrong));
    const m = await eventually(
      async () => {
        const m = await api.get<NerModel>(nerModels, ns, 'wrong-digest');
        expect(m.status?.phase).toBe('Rejected');
        return m;
      },
      120_000,
      500,
    );
    expect(m.status?.message).toContain(`expected sha256 ${wrong}`);
    expect(m.status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'DigestMismatch',
    });
    await new Promise((r) => setTimeout(r, 3000));
    expect(await api.list(builtin.jobs, ns, 'nerops.io/validates=wrong-digest')).toHaveLength(1);
    expect((await api.get<NerModel>(nerModels, ns, 'wrong-digest')).metadata.resourceVersion).toBe(
      m.metadata.resourceVersion,
    );
  }, 150_000);

  it('Given an unreachable URI, Then the model is Failed with the reason and retries only after a back-off', async () => {
    await api.create(nerModels, ns, nerModel('unreachable', 'file:///nonexistent/nerops/bundle', bundle.digest));
    const m = await eventually(
      async () => {
        const m = await api.get<NerModel>(nerModels, ns, 'unreachable');
        expect(m.status?.phase).toBe('Failed');
        return m;
      },
      120_000,
      500,
    );
    expect(m.status?.message).toMatch(/does not exist or is unreadable.*retrying in 30s/);
    expect(m.status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'FetchFailed',
    });
    expect(m.status?.failedAttempts).toBe(1);
    // No hot loop: within the back-off no second Job appears.
    await new Promise((r) => setTimeout(r, 5000));
    expect(await api.list(builtin.jobs, ns, 'nerops.io/validates=unreachable')).toHaveLength(1);
  }, 150_000);
});
