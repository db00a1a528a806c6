import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ClusterClient } from './client.js';
import { FakeClock } from './clock.js';
import type { Condition } from './conditions.js';
import { KubeApiError, type KubeClient, type KubeRequest } from './kube.js';
import { ChildConflictError } from './ownership.js';
import type { ResourceType } from './resource.js';

const widgets: ResourceType = { group: 'x.io', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true };

/**
 * A fake API: records writes (`requests`) and reads (`reads`), answers PATCHes with the body plus a new
 * resourceVersion and managedFields, and GETs from `existing` (404 when absent).
 */
function fakeKube(existing: Record<string, KubernetesObject> = {}) {
  const requests: KubeRequest[] = [];
  const reads: KubeRequest[] = [];
  let rv = 100;
  const kube = {
    async request<T>(req: KubeRequest): Promise<T> {
      if (req.method === 'GET') {
        reads.push(req);
        const found = existing[req.path];
        if (!found) throw new KubeApiError(`GET ${req.path}: not found`, 404, 'NotFound');
        return structuredClone(found) as T;
      }
      requests.push(req);
      if (req.method === 'PATCH') {
        const body = req.body as KubernetesObject;
        const fields = req.path.endsWith('/status') ? { 'f:status': {} } : { 'f:spec': { 'f:size': {} } };
        return {
          ...body,
          metadata: {
            ...body.metadata,
            resourceVersion: String(++rv),
            managedFields: [{ manager: 'nerops', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: fields }],
          },
        } as T;
      }
      return {} as T;
    },
  };
  return { kube: kube as unknown as KubeClient, requests, reads };
}

const cond = (status: Condition['status'], lastTransitionTime: string): Condition => ({
  type: 'Ready',
  status,
  reason: 'R',
  message: '',
  observedGeneration: 1,
  lastTransitionTime,
});

describe('ClusterClient', () => {
  const owner = { apiVersion: 'x.io/v1', kind: 'Gadget', name: 'g', uid: 'gadget-uid', controller: true };
  const desired = {
    apiVersion: 'x.io/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'ns', ownerReferences: [owner] },
    spec: { size: 1 },
  } as KubernetesObject;
  const path = (name: string) => `/apis/x.io/v1/namespaces/ns/widgets/${name}`;

  it('applies with field manager nerops and force, then skips the same desired object', async () => {
    const { kube, requests } = fakeKube();
    const client = new ClusterClient(kube);
    const first = await client.apply(widgets, desired, { current: null });
    expect(first.changed).toBe(true);
    expect(requests[0]).toMatchObject({
      method: 'PATCH',
      path: '/apis/x.io/v1/namespaces/ns/widgets/w',
      query: { fieldManager: 'nerops', force: true },
      contentType: 'application/apply-patch+yaml',
    });
    const second = await client.apply(widgets, desired, { current: first.object });
    expect(second.changed).toBe(false);
    expect(requests).toHaveLength(1);
    const third = await client.apply(widgets, { ...desired, spec: { size: 2 } } as KubernetesObject, {
      current: first.object,
    });
    expect(third.changed).toBe(true);
    expect(requests).toHaveLength(2);
  });

  it('compares against its own last write while the cache still shows the version it replaced', async () => {
    const { kube, requests } = fakeKube();
    const client = new ClusterClient(kube);
    const v1 = (await client.apply(widgets, desired, { current: null })).object;
    const v2 = (await client.apply(widgets, { ...desired, spec: { size: 2 } } as KubernetesObject, { current: v1 }))
      .object;
    // The cache still holds v1: no second write of size 2.
    expect(
      (await client.apply(widgets, { ...desired, spec: { size: 2 } } as KubernetesObject, { current: v1 })).changed,
    ).toBe(false);
    expect(requests).toHaveLength(2);
    // Once the cache moved on, it is the reference again.
    expect(
      (await client.apply(widgets, { ...desired, spec: { size: 2 } } as KubernetesObject, { current: v2 })).changed,
    ).toBe(false);
    expect(requests).toHaveLength(2);
  });

  it('reads an object the cache does not show before creating it, and never writes over one that is not ours', async () => {
    const foreign = {
      apiVersion: 'x.io/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'ns', resourceVersion: '7', uid: 'theirs' },
      spec: { size: 9 },
    };
    const { kube, requests, reads } = fakeKube({ [path('w')]: foreign });
    const client = new ClusterClient(kube);
    const err = await client.apply(widgets, desired, { current: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChildConflictError);
    expect(err).toMatchObject({ kind: 'Widget', childName: 'w', namespace: 'ns' });
    expect(reads.map((r) => r.path)).toEqual([path('w')]);
    expect(requests, 'nothing written').toHaveLength(0);
    // A cached copy owned by another controller is just as foreign (no GET needed).
    const otherOwner = { ...foreign, metadata: { ...foreign.metadata, ownerReferences: [{ ...owner, uid: 'x' }] } };
    await expect(client.apply(widgets, desired, { current: otherOwner })).rejects.toBeInstanceOf(ChildConflictError);
    expect(reads).toHaveLength(1);
    expect(requests).toHaveLength(0);
  });

  it('applyAll checks every child before the first write', async () => {
    const foreign = { apiVersion: 'x.io/v1', kind: 'Widget', metadata: { name: 'b', namespace: 'ns' } };
    const { kube, requests } = fakeKube({ [path('b')]: foreign });
    const client = new ClusterClient(kube);
    const a = { ...desired, metadata: { ...desired.metadata, name: 'a' } };
    const b = { ...desired, metadata: { ...desired.metadata, name: 'b' } };
    await expect(
      client.applyAll([
        { rt: widgets, desired: a, current: null },
        { rt: widgets, desired: b, current: null },
      ]),
    ).rejects.toThrow(/Widget b already exists in namespace ns and is not owned by this object/);
    expect(requests, 'not even the first, free child was created').toHaveLength(0);
  });

  it('writes status through /status only when it changed, ignoring lastTransitionTime churn', async () => {
    const { kube, requests } = fakeKube();
    const client = new ClusterClient(kube);
    const obj = {
      ...desired,
      metadata: { ...desired.metadata, resourceVersion: '5' },
      status: { phase: 'Ready', conditions: [cond('True', '2020-01-01T00:00:00Z')] },
    };
    const same = await client.applyStatus(widgets, obj, {
      phase: 'Ready',
      conditions: [cond('True', '2030-01-01T00:00:00Z')],
    });
    expect(same.changed).toBe(false);
    expect(requests).toHaveLength(0);

    const changed = await client.applyStatus(widgets, obj, {
      phase: 'Degraded',
      conditions: [cond('True', '2030-01-01T00:00:00Z')],
    });
    expect(changed.changed).toBe(true);
    expect(requests[0]?.path).toBe('/apis/x.io/v1/namespaces/ns/widgets/w/status');
    // The unchanged condition keeps its original transition time in what is written.
    expect(
      (requests[0]?.body as { status: { conditions: Condition[] } }).status.conditions[0]?.lastTransitionTime,
    ).toBe('2020-01-01T00:00:00Z');
  });

  it('records an Event once per distinct note within the dedupe window', async () => {
    const { kube, requests } = fakeKube();
    const clock = new FakeClock();
    const client = new ClusterClient(kube, { clock, eventDedupeMs: 60_000, identity: 'pod-1' });
    const obj = { ...desired, metadata: { ...desired.metadata, uid: 'u1' } };
    expect(await client.event(obj, { type: 'Normal', reason: 'StepCompleted', note: 'Step 1/3 completed' })).toBe(true);
    expect(await client.event(obj, { type: 'Normal', reason: 'StepCompleted', note: 'Step 1/3 completed' })).toBe(
      false,
    );
    expect(await client.event(obj, { type: 'Normal', reason: 'StepCompleted', note: 'Step 2/3 completed' })).toBe(true);
    await clock.advance(60_000);
    expect(await client.event(obj, { type: 'Normal', reason: 'StepCompleted', note: 'Step 2/3 completed' })).toBe(true);
    expect(requests).toHaveLength(3);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: '/apis/events.k8s.io/v1/namespaces/ns/events',
      body: {
        reason: 'StepCompleted',
        note: 'Step 1/3 completed',
        type: 'Normal',
        action: 'StepCompleted',
        reportingController: 'nerops.io/operator',
        reportingInstance: 'pod-1',
        regarding: { kind: 'Widget', name: 'w', uid: 'u1' },
      },
    });
  });
});
