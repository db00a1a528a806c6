/**
 * DriftPolicy retention on a pvc:// output: the bundles of pruned NerModels are deleted from the claim by
 * the `ner-ops delete-bundles` Job, and nothing a kept, served or otherwise referenced model needs is. Real
 * `ner-ops retrain` Jobs write to the claim (a hostPath PersistentVolume the process node shares between
 * pods, as a node would), with the NerModel and DriftPolicy controllers in-process:
 *   Given a policy with retention.keepLast 1 writing to pvc://models/runs
 *   When  round 1's model is served (canary), a user's NerModel references round 2's bundle, and round 3 runs
 *   Then  round 2's model is deleted but its bundle stays (referenced); round 1's (served) and round 3's
 *         (newest) models and bundles stay
 *   When  round 1's model is no longer served
 *   Then  its bundle is deleted first, and its NerModel goes only then; every other bundle is intact.
 * The NerDeployment controller is not started: the test writes the target's status.canaryModel itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftPolicy } from '../../../operator/api/driftpolicy.js';
import { driftPolicies } from '../../../operator/api/resources.js';
import { generateNotes, writeConll } from '../../../trainer/synthetic.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
import {
  Api,
  installCrds,
  nerDeployments,
  nerModel,
  nerModels,
  givenRetrainingTarget,
  startRetrainingOperator,
  trainBundle,
  type NerModel,
  type TestOperator,
} from '../../../testing/operator-fixture.js';

const { kc, core } = useCluster();
let ns: string;
let pv: string;
let api: Api;
let op: TestOperator | undefined;
let bundle: Awaited<ReturnType<typeof trainBundle>>;
let dir: string;
/** The claim's directory (the hostPath PersistentVolume). */
let claimDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-retention-bundles-it-'));
  claimDir = join(dir, 'claim');
  [bundle] = await Promise.all([
    trainBundle(),
    installCrds(kc),
    writeConll(join(dir, 'train.conll'), generateNotes({ count: 150, seed: 44, vocabulary: 'shifted' })),
  ]);
  ns = await createTestNamespace(core, 'retention-bundles');
  pv = `nerops-it-${ns}`;
  await core.createPersistentVolume({
    body: {
      metadata: { name: pv },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        hostPath: { path: claimDir, type: 'DirectoryOrCreate' },
        claimRef: { namespace: ns, name: 'models' },
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace: ns,
    body: {
      metadata: { name: 'models' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: '',
        volumeName: pv,
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });
  api = new Api(kc);
  op = await startRetrainingOperator(kc, ns);
  await givenRetrainingTarget(api, ns, bundle);
}, 240_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
  await bundle?.remove();
  if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  if (pv) await core.deletePersistentVolume({ name: pv }).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Requests one round and waits until its NerModel is Ready; returns the model's name and run id. */
async function round(n: number): Promise<{ name: string; runId: string }> {
  await api.patch(driftPolicies, ns, 'keep', { metadata: { annotations: { 'nerops.io/retrain': `round-${n}` } } });
  const p = await eventually(
    async () => {
      const p = await api.get<DriftPolicy>(driftPolicies, ns, 'keep');
      expect(p.status?.history ?? []).toHaveLength(n);
      expect(p.status?.history?.at(-1)?.outcome, p.status?.history?.at(-1)?.message).toBe('Succeeded');
      return p;
    },
    240_000,
    500,
  );
  const record = p.status?.history?.at(-1);
  const name = record?.model as string;
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, name)).status?.phase).toBe('Ready'),
    120_000,
    500,
  );
  return { name, runId: record?.runId as string };
}

const names = async () =>
  (await api.list<NerModel>(nerModels, ns))
    .filter((m) => !m.metadata.deletionTimestamp)
    .map((m) => m.metadata.name)
    .sort();
/** True when the run's bundle (its manifest) is on the claim. */
const onClaim = (runId: string) => existsSync(join(claimDir, 'runs', runId, 'ner-model.json'));

async function setCanary(model: string | null): Promise<void> {
  await api.patchStatus(nerDeployments, ns, 'ner', { stableModel: 'clinical-v1', canaryModel: model });
}

describe('DriftPolicy retention on a pvc:// output', () => {
  it('deletes the bundles of pruned models only, after nothing serves or references them, before the model goes', async () => {
    await api.create(driftPolicies, ns, {
      apiVersion: 'nerops.io/v1alpha1',
      kind: 'DriftPolicy',
      metadata: { name: 'keep' },
      spec: {
        targetRef: { name: 'ner' },
        retraining: { datasetUri: pathToFileURL(join(dir, 'train.conll')).href, outputUri: 'pvc://models/runs' },
        triggers: { drift: false },
        retention: { keepLast: 1 },
      },
    });
    const first = await round(1);
    expect(onClaim(first.runId), 'the retraining Job wrote its bundle to the claim').toBe(true);
    await setCanary(first.name);
    const second = await round(2);
    // A user's NerModel on the second round's bundle (a copy under another name).
    const secondModel = await api.get<NerModel>(nerModels, ns, second.name);
    await api.create(nerModels, ns, nerModel('user-copy', secondModel.spec.source.uri, secondModel.spec.source.digest));

    const third = await round(3);
    await eventually(
      async () => expect(await names()).toEqual(['clinical-v1', first.name, third.name, 'user-copy'].sort()),
      60_000,
    );
    // The pruned second model went without its bundle: the user's copy still references it.
    await eventually(async () => {
      expect((await api.list<NerModel>(nerModels, ns)).map((m) => m.metadata.name)).not.toContain(second.name);
      expect(await api.eventNotes(ns, 'keep')).toContain(
        'BundlesKept: 1 pruned NerModel released with the bundle left: 1 still referenced, 0 outside the pvc:// output',
      );
    }, 60_000);
    expect([onClaim(first.runId), onClaim(second.runId), onClaim(third.runId)]).toEqual([true, true, true]);

    // No longer served: the first is pruned; its bundle is deleted, and only then does the model go.
    await setCanary(null);
    await api.patch(driftPolicies, ns, 'keep', { metadata: { annotations: { 'nerops.io/nudge': '1' } } });
    await eventually(
      async () => {
        const all = await api.list<NerModel>(nerModels, ns);
        expect(all.map((m) => m.metadata.name)).not.toContain(first.name);
      },
      120_000,
      200,
    );
    expect(onClaim(first.runId), 'the bundle was gone before its NerModel').toBe(false);
    expect(existsSync(join(claimDir, 'runs', first.runId))).toBe(false);
    expect([onClaim(second.runId), onClaim(third.runId)]).toEqual([true, true]);
    expect(await names()).toEqual(['clinical-v1', third.name, 'user-copy'].sort());
    const notes = await api.eventNotes(ns, 'keep');
    expect(notes).toContain('BundlesDeleted: bundles of 1 pruned NerModel deleted (1 removed, 0 already gone)');
    expect(notes.some((n) => n.startsWith('BundleCleanupStarted: cleanup Job keep-cleanup-'))).toBe(true);
    await eventually(async () => {
      const c = (await api.get<DriftPolicy>(driftPolicies, ns, 'keep')).status?.conditions?.find(
        (x) => x.type === 'BundleCleanup',
      );
      expect(c).toMatchObject({ status: 'False', reason: 'AsExpected' });
    }, 30_000);
  }, 900_000);
});
