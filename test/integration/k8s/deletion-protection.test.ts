/**
 * Deletion protection against the real API server, with the operator running in-process:
 *   Given a Ready NerModel served (stable) by a NerDeployment
 *   Then  it carries the nerops.io/in-use finalizer
 *   When  it is deleted
 *   Then  it is still there, DeletionBlocked=True (reason InUse) and a Warning Event name the NerDeployment
 *   When  the NerDeployment is deleted
 *   Then  the finalizer is removed and the model goes.
 * A model nothing serves carries no finalizer and is deleted at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
import { isNotFound } from '../../../operator/runtime/kube.js';
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

const FINALIZER = 'nerops.io/in-use';
const { kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator;

async function gone(name: string): Promise<void> {
  await eventually(
    async () => {
      const err = await api.get(nerModels, ns, name).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isNotFound(err), `${name} is gone`).toBe(true);
    },
    30_000,
    200,
  );
}

beforeAll(async () => {
  const [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  ns = await createTestNamespace(core, 'protect');
  api = new Api(kc);
  op = await startOperator(kc, ns);
  await api.create(nerModels, ns, nerModel('clinical-v1', bundle.uri, bundle.digest));
  await api.create(nerModels, ns, nerModel('spare', bundle.uri, bundle.digest));
  for (const name of ['clinical-v1', 'spare'])
    await eventually(
      async () => expect((await api.get<NerModel>(nerModels, ns, name)).status?.phase).toBe('Ready'),
      90_000,
      500,
    );
}, 180_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
  if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('NerModel deletion protection', () => {
  it('Given a model nothing serves, When it is deleted, Then it goes at once (no finalizer)', async () => {
    expect((await api.get<NerModel>(nerModels, ns, 'spare')).metadata.finalizers ?? []).toEqual([]);
    await api.delete(nerModels, ns, 'spare');
    await gone('spare');
  });

  it('Given a served model, When it is deleted, Then it waits, saying which NerDeployment holds it; When that goes, Then the model goes', async () => {
    await api.create(nerDeployments, ns, nerDeployment('notes', 'clinical-v1', { replicas: { min: 1, max: 1 } }));
    await eventually(
      async () =>
        expect((await api.get<NerDeployment>(nerDeployments, ns, 'notes')).status?.stableModel).toBe('clinical-v1'),
      60_000,
      250,
    );
    await eventually(
      async () =>
        expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).metadata.finalizers).toEqual([FINALIZER]),
      30_000,
      200,
    );

    await api.delete(nerModels, ns, 'clinical-v1');
    const blocked = await eventually(
      async () => {
        const m = await api.get<NerModel>(nerModels, ns, 'clinical-v1');
        expect(m.metadata.deletionTimestamp).toBeTruthy();
        const c = m.status?.conditions?.find((x) => x.type === 'DeletionBlocked');
        expect(c).toMatchObject({ status: 'True', reason: 'InUse' });
        return c;
      },
      30_000,
      200,
    );
    expect(blocked?.message).toBe('deletion waits: served by NerDeployment notes (stable)');
    await eventually(
      async () =>
        expect(await api.eventNotes(ns, 'clinical-v1')).toContain(
          'DeletionBlocked: deletion waits: served by NerDeployment notes (stable)',
        ),
      15_000,
      200,
    );
    // Still there a while later: nothing but the NerDeployment's going releases it.
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).metadata.finalizers).toEqual([FINALIZER]);

    await api.delete(nerDeployments, ns, 'notes');
    await gone('clinical-v1');
  });
});
