/**
 * DriftPolicy retention over several real retraining rounds (`ner-ops retrain` Jobs on the process node,
 * requested by the manual trigger annotation), with the NerModel and DriftPolicy controllers in-process:
 *   Given a policy with retention.keepLast 1
 *   When  three rounds run, and the first round's model is served (canary) meanwhile
 *   Then  the second round's model is deleted, the served first one is kept beside the newest,
 *         and the base model is never touched
 *   When  the first one is no longer served
 *   Then  it is deleted too, leaving the base and the newest.
 * The NerDeployment controller is not started: the test writes the target's status.canaryModel itself,
 * as that controller would during a canary.
 */
import { mkdtemp, rm } from 'node:fs/promises';
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
  nerModels,
  givenRetrainingTarget,
  startRetrainingOperator,
  trainBundle,
  type NerModel,
  type TestOperator,
} from '../../../testing/operator-fixture.js';

const { kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator | undefined;
let bundle: Awaited<ReturnType<typeof trainBundle>>;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-retention-it-'));
  [bundle] = await Promise.all([
    trainBundle(),
    installCrds(kc),
    writeConll(join(dir, 'train.conll'), generateNotes({ count: 150, seed: 43, vocabulary: 'shifted' })),
  ]);
  ns = await createTestNamespace(core, 'retention');
  api = new Api(kc);
  op = await startRetrainingOperator(kc, ns);
  await givenRetrainingTarget(api, ns, bundle);
}, 240_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
  await bundle?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
  if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

/** Requests one round and waits until its NerModel is Ready; returns the model's name. */
async function round(n: number): Promise<string> {
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
  const name = p.status?.history?.at(-1)?.model as string;
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, name)).status?.phase).toBe('Ready'),
    120_000,
    500,
  );
  return name;
}

const names = async () =>
  (await api.list<NerModel>(nerModels, ns)).filter((m) => !m.metadata.deletionTimestamp).map((m) => m.metadata.name);

/** Writes the target's status.canaryModel as the NerDeployment controller would during a canary. */
async function setCanary(model: string | null): Promise<void> {
  await api.patchStatus(nerDeployments, ns, 'ner', { stableModel: 'clinical-v1', canaryModel: model });
}

describe('DriftPolicy retention', () => {
  it('keeps the last N retrained models plus the served one, never the base, over three rounds', async () => {
    await api.create(driftPolicies, ns, {
      apiVersion: 'nerops.io/v1alpha1',
      kind: 'DriftPolicy',
      metadata: { name: 'keep' },
      spec: {
        targetRef: { name: 'ner' },
        retraining: {
          datasetUri: pathToFileURL(join(dir, 'train.conll')).href,
          outputUri: pathToFileURL(join(dir, 'runs')).href,
        },
        triggers: { drift: false },
        retention: { keepLast: 1 },
      },
    });
    const first = await round(1);
    await setCanary(first);
    const second = await round(2);
    // keepLast 1: the second is the newest; the first stays because it is served.
    expect((await names()).sort()).toEqual(['clinical-v1', first, second].sort());

    const third = await round(3);
    await eventually(async () => expect((await names()).sort()).toEqual(['clinical-v1', first, third].sort()), 30_000);
    const events = await api.eventNotes(ns, 'keep');
    expect(events).toContain(`ModelsPruned: deleted NerModel ${second} (spec.retention.keepLast 1)`);

    // No longer served: the first goes too, at the next reconcile of the policy.
    await setCanary(null);
    await api.patch(driftPolicies, ns, 'keep', { metadata: { annotations: { 'nerops.io/nudge': '1' } } });
    await eventually(async () => expect((await names()).sort()).toEqual(['clinical-v1', third].sort()), 30_000);
  }, 900_000);
});
