import { describe, expect, it } from 'vitest';
import { IN_USE_FINALIZER } from '../../api/nermodel-constants.js';
import type { NerDeploymentStatus } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import { nerDeployment, nerModel, readyStatus } from '../../testing/builders.js';
import { planModel, type ModelObserved } from './plan.js';
import { finalizersAfter, holdersOf, planProtection } from './protection.js';
import { servedModelKeys } from './reconcile.js';

const NOW = new Date('2025-01-01T00:00:00Z');
const DELETED = new Date('2025-01-01T00:00:00Z');

function model(mod: (m: NerModel) => void = () => {}): NerModel {
  return nerModel({ name: 'v1', metadata: { generation: 1, resourceVersion: '7' }, status: readyStatus() }, (m) => {
    m.status = { ...m.status, observedGeneration: 1 };
    mod(m);
  });
}

const withFinalizer = (m: NerModel) => (m.metadata.finalizers = [IN_USE_FINALIZER]);
const deleting = (m: NerModel) => (m.metadata.deletionTimestamp = DELETED);

function serving(name: string, status: NerDeploymentStatus, mod: { namespace?: string; deleting?: boolean } = {}) {
  return nerDeployment({
    metadata: {
      name,
      namespace: mod.namespace ?? 'ns',
      ...(mod.deleting ? { deletionTimestamp: DELETED } : {}),
    },
    status,
  });
}

describe('holdersOf', () => {
  it('names the NerDeployments of the namespace serving the model, with their tracks, sorted', () => {
    const deployments = [
      serving('triage', { stableModel: 'v0', canaryModel: 'v1' }),
      serving('notes', { stableModel: 'v1' }),
      serving('both', { stableModel: 'v1', canaryModel: 'v1' }),
      serving('elsewhere', { stableModel: 'v1' }, { namespace: 'other' }),
      serving('going', { stableModel: 'v1' }, { deleting: true }),
      serving('unrelated', { stableModel: 'v2' }),
      nerDeployment({ metadata: { name: 'new' } }),
    ];
    expect(holdersOf(model(), deployments)).toEqual([
      { name: 'both', tracks: ['stable', 'canary'] },
      { name: 'notes', tracks: ['stable'] },
      { name: 'triage', tracks: ['canary'] },
    ]);
  });
});

describe('planProtection', () => {
  const served = [serving('notes', { stableModel: 'v1' })];
  it.each<[string, (m: NerModel) => void, boolean, ReturnType<typeof planProtection>['finalizer'], boolean]>([
    ['served, no finalizer yet: add it', () => {}, true, 'add', false],
    ['served, finalizer present: nothing to do', withFinalizer, true, undefined, false],
    ['not served, finalizer present: remove it', withFinalizer, false, 'remove', false],
    ['not served, no finalizer: nothing to do', () => {}, false, undefined, false],
    ['deleted while served: blocked', (m) => (withFinalizer(m), deleting(m)), true, undefined, true],
    ['deleted, no longer served: remove it', (m) => (withFinalizer(m), deleting(m)), false, 'remove', false],
    ['deleted before the finalizer was added: cannot add it any more', deleting, true, undefined, false],
  ])('%s', (_name, mod, isServed, finalizer, blocked) => {
    const p = planProtection(model(mod), isServed ? served : []);
    expect(p.finalizer).toBe(finalizer);
    expect(p.blocked).toBe(blocked);
  });

  it("keeps others' finalizers in their order", () => {
    const m = model((x) => (x.metadata.finalizers = ['a', IN_USE_FINALIZER, 'b']));
    expect(finalizersAfter(m, 'remove')).toEqual(['a', 'b']);
    expect(
      finalizersAfter(
        model((x) => (x.metadata.finalizers = ['a'])),
        'add',
      ),
    ).toEqual(['a', IN_USE_FINALIZER]);
  });
});

describe('planModel with deletion protection', () => {
  const obs = (m: NerModel, deployments = [serving('notes', { stableModel: 'v1' })]): ModelObserved => ({
    model: m,
    jobs: [],
    now: NOW,
    image: 'nerops:test',
    deployments,
  });

  it('a Ready served model gets the finalizer and keeps its status', () => {
    const p = planModel(obs(model()));
    expect(p.finalizer).toBe('add');
    expect(p.createJob).toBeUndefined();
    expect(p.events).toEqual([]);
  });

  it('a deletion of a served model is blocked: condition and Event name the NerDeployments, no Job', () => {
    const deployments = [
      serving('notes', { stableModel: 'v1' }),
      serving('triage', { stableModel: 'v0', canaryModel: 'v1' }),
    ];
    // Even a model whose validation is not final starts no Job once it is being deleted.
    const m = model((x) => (withFinalizer(x), deleting(x), (x.status = { phase: 'Failed', observedGeneration: 1 })));
    const p = planModel(obs(m, deployments));
    expect(p.finalizer).toBeUndefined();
    expect(p.createJob).toBeUndefined();
    const message = 'deletion waits: served by NerDeployment notes (stable), triage (canary)';
    expect(p.status.conditions?.find((c) => c.type === 'DeletionBlocked')).toEqual({
      type: 'DeletionBlocked',
      status: 'True',
      reason: 'InUse',
      message,
      observedGeneration: 1,
      lastTransitionTime: '2025-01-01T00:00:00Z',
    });
    expect(p.events).toEqual([{ type: 'Warning', reason: 'DeletionBlocked', note: message }]);
  });

  it('once nothing serves a model being deleted, the finalizer goes', () => {
    const m = model((x) => (withFinalizer(x), deleting(x)));
    const p = planModel(obs(m, [serving('notes', { stableModel: 'v2' })]));
    expect(p).toEqual({ status: expect.any(Object), events: [], finalizer: 'remove' });
  });

  it('after a promotion the old stable model loses the finalizer (and stays otherwise untouched)', () => {
    const p = planModel(obs(model(withFinalizer), [serving('notes', { stableModel: 'v2' })]));
    expect(p.finalizer).toBe('remove');
    expect(p.events).toEqual([]);
  });
});

describe('servedModelKeys', () => {
  it('maps a NerDeployment to the models on its tracks, once each', () => {
    expect(servedModelKeys(serving('notes', { stableModel: 'v1', canaryModel: 'v2' }))).toEqual(['ns/v1', 'ns/v2']);
    expect(servedModelKeys(serving('notes', { stableModel: 'v1', canaryModel: 'v1' }))).toEqual(['ns/v1']);
    expect(servedModelKeys(serving('notes', {}))).toEqual([]);
  });
});
