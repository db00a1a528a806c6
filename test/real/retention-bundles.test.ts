/**
 * Retention's bundle cleanup on the real node with the chart-installed operator: `ner-ops retrain` Jobs
 * write to a real claim (the default StorageClass), and the `ner-ops delete-bundles` Job, on the restricted
 * pod the operator builds, deletes the pruned model's run directory from it under the chart's RBAC (the
 * process-node version, with a served and a referenced model, is test/integration/k8s/retention-bundles.test.ts).
 *
 * Given a policy with retention.keepLast 1 writing to pvc://models/runs
 * When  two rounds run
 * Then  the first round's NerModel goes only after its bundle is gone from the claim, and the second
 *       round's bundle and the base model's stay.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftPolicy } from '../../operator/api/driftpolicy.js';
import { driftPolicies } from '../../operator/api/resources.js';
import { generateNotes, writeConll } from '../../trainer/synthetic.js';
import { trainBundle } from '../../trainer/train.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import {
  Api,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  type NerModel,
} from '../../testing/operator-fixture.js';
import { installOperator, kubectl, uninstallOperator } from '../../local-cluster/chart-install.js';
import { claimWithLoader, putOnClaim } from '../../local-cluster/workloads.js';

const { info, kc, core } = useCluster();
const release = 'nerops-retention';
let operatorNs: string;
let ns: string;
let api: Api;
let dir: string;
let loader: string;

/** Which of the claim's paths (under /data) exist, seen from the loader pod. */
async function onClaim(paths: string[]): Promise<boolean[]> {
  const script = `console.log(JSON.stringify(${JSON.stringify(paths)}.map((p) => require('fs').existsSync('/data/' + p))))`;
  return JSON.parse(await kubectl(info, '-n', ns, 'exec', loader, '--', 'node', '-e', script)) as boolean[];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-real-retention-'));
  operatorNs = await createTestNamespace(core, 'nerops-retention');
  ns = await createTestNamespace(core, 'retention');
  api = new Api(kc);
  await Promise.all([
    writeConll(join(dir, 'train.conll'), generateNotes({ count: 200, seed: 5 })),
    writeConll(join(dir, 'dev.conll'), generateNotes({ count: 100, seed: 1005 })),
    writeConll(join(dir, 'retrain.conll'), generateNotes({ count: 150, seed: 6, vocabulary: 'shifted' })),
  ]);
  const [models, v1] = await Promise.all([
    claimWithLoader(info, core, ns, 'models'),
    trainBundle({
      corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
      members: { seed: 5, epochs: 3 },
      export: { outDir: join(dir, 'v1'), name: 'clinical', version: '1.0.0' },
    }),
    installOperator(info, { release, namespace: operatorNs, scope: 'cluster', replicas: 1 }),
  ]);
  loader = models;
  await putOnClaim(info, ns, loader, v1.outDir, 'base/1.0.0');
  await putOnClaim(info, ns, loader, join(dir, 'retrain.conll'), 'data/train.conll');
  await api.create(nerModels, ns, nerModel('clinical-v1', 'pvc://models/base/1.0.0', v1.digest));
  await api.create(nerDeployments, ns, nerDeployment('ner', 'clinical-v1', { replicas: { min: 1, max: 1 } }));
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).status?.phase).toBe('Ready'),
    240_000,
    1000,
  );
}, 600_000);

afterAll(async () => {
  await uninstallOperator(info, core, release, operatorNs, [ns]);
  api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Requests one round and waits until its NerModel is Ready; returns the model's name and run id. */
async function round(n: number): Promise<{ name: string; runId: string }> {
  await api.patch(driftPolicies, ns, 'keep', { metadata: { annotations: { 'nerops.io/retrain': `round-${n}` } } });
  const record = await eventually(
    async () => {
      const r = (await api.get<DriftPolicy>(driftPolicies, ns, 'keep')).status?.history ?? [];
      expect(r).toHaveLength(n);
      expect(r.at(-1)?.outcome, r.at(-1)?.message).toBe('Succeeded');
      return r.at(-1);
    },
    300_000,
    1000,
  );
  const name = record?.model as string;
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, name)).status?.phase).toBe('Ready'),
    180_000,
    1000,
  );
  return { name, runId: record?.runId as string };
}

describe('retention deletes the bundles of pruned models from a real claim', () => {
  it('deletes the pruned run directory before its NerModel goes, and nothing else', async () => {
    await api.create(driftPolicies, ns, {
      apiVersion: 'nerops.io/v1alpha1',
      kind: 'DriftPolicy',
      metadata: { name: 'keep' },
      spec: {
        targetRef: { name: 'ner' },
        retraining: { datasetUri: 'pvc://models/data/train.conll', outputUri: 'pvc://models/runs' },
        triggers: { drift: false },
        retention: { keepLast: 1 },
      },
    });
    const first = await round(1);
    expect(await onClaim([`runs/${first.runId}/ner-model.json`])).toEqual([true]);
    const second = await round(2);
    await eventually(
      async () =>
        expect((await api.list<NerModel>(nerModels, ns)).map((m) => m.metadata.name)).not.toContain(first.name),
      180_000,
      500,
    );
    expect(
      await onClaim([`runs/${first.runId}`, `runs/${second.runId}/ner-model.json`, 'base/1.0.0/ner-model.json']),
    ).toEqual([false, true, true]);
    expect(await api.eventNotes(ns, 'keep')).toContain(
      'BundlesDeleted: bundles of 1 pruned NerModel deleted (1 removed, 0 already gone)',
    );
  }, 900_000);
});
