import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';
import { ControllerManager, keepOwnManagedFields, specChanged } from './controller.js';
import { KubeApiError, type KubeClient, type KubeRequest, type WatchEvent } from './kube.js';
import { builtin } from './resource.js';

/** A fake API serving one list per path and holding each watch open; `emit` pushes watch events. */
function fakeApi(objects: Record<string, KubernetesObject[]>) {
  const watchers = new Map<string, (e: WatchEvent) => void>();
  const kube = {
    onRequest: () => () => undefined,
    async request<T>(req: KubeRequest): Promise<T> {
      return { items: structuredClone(objects[req.path] ?? []), metadata: { resourceVersion: '1' } } as T;
    },
    async watch(path: string, _q: unknown, onEvent: (e: WatchEvent) => void, options: { signal?: AbortSignal }) {
      watchers.set(path, onEvent);
      await new Promise<void>((r) => options.signal?.addEventListener('abort', () => r(), { once: true }));
    },
  };
  return { kube: kube as unknown as KubeClient, emit: (path: string, e: WatchEvent) => watchers.get(path)?.(e) };
}

const obj = (name: string, extra: Partial<KubernetesObject['metadata']> = {}): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: '1', uid: `uid-${name}`, ...extra },
});

const log = pino({ level: 'silent' });

async function startManager(
  behaviour: (key: string, n: number) => Promise<{ requeueAfterMs?: number } | void>,
  objects: Record<string, KubernetesObject[]>,
) {
  const clock = new FakeClock();
  const { kube, emit } = fakeApi(objects);
  const manager = new ControllerManager({
    client: kube,
    logger: log,
    clock,
    namespace: 'ns',
    queue: { baseDelayMs: 1000, maxDelayMs: 60_000, qps: 0 },
  });
  const calls: Array<[string, number]> = [];
  const counts = new Map<string, number>();
  manager.register({
    name: 'test',
    resource: builtin.configMaps,
    owns: [builtin.secrets],
    async reconcile(key) {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      calls.push([key, clock.now()]);
      return behaviour(key, n);
    },
  });
  manager.start();
  await clock.advance(0);
  manager.startProcessing();
  await clock.advance(0);
  return { clock, manager, calls, emit };
}

const cmPath = '/api/v1/namespaces/ns/configmaps';
const secretPath = '/api/v1/namespaces/ns/secrets';

describe('ControllerManager error policy', () => {
  it('success: one reconcile, no retry; requeueAfterMs schedules the next one', async () => {
    const { clock, calls, manager } = await startManager(async () => ({ requeueAfterMs: 30_000 }), {
      [cmPath]: [obj('a')],
    });
    expect(calls.map(([k]) => k)).toEqual(['ns/a']);
    await clock.advance(29_000);
    expect(calls).toHaveLength(1);
    await clock.advance(1000);
    expect(calls).toHaveLength(2);
    await manager.stop(1000);
  });

  it('an error retries with exponential backoff; success resets it', async () => {
    const { clock, calls, manager } = await startManager(
      async (_k, n) => {
        if (n <= 3) throw new Error('transient');
      },
      { [cmPath]: [obj('a')] },
    );
    await clock.advance(10_000);
    const t0 = calls[0]![1];
    expect(calls.map(([, t]) => t - t0)).toEqual([0, 1000, 3000, 7000]);
    expect(manager.queue('test')?.failures('ns/a')).toBe(0);
    const errors = await manager.metrics.reconcileErrors.get();
    expect(errors.values[0]?.value).toBe(3);
    await manager.stop(1000);
  });

  it('a conflict requeues at once without backoff; NotFound ends the key', async () => {
    const { clock, calls, manager } = await startManager(
      async (key, n) => {
        if (key === 'ns/a' && n === 1) throw new KubeApiError('conflict', 409, 'Conflict');
        if (key === 'ns/b') throw new KubeApiError('gone', 404, 'NotFound');
      },
      { [cmPath]: [obj('a'), obj('b')] },
    );
    await clock.advance(60_000);
    expect(calls.filter(([k]) => k === 'ns/a').map(([, t]) => t - calls[0]![1])).toEqual([0, 0]);
    expect(calls.filter(([k]) => k === 'ns/b')).toHaveLength(1);
    const total = await manager.metrics.reconcileTotal.get();
    const byResult = Object.fromEntries(total.values.map((v) => [v.labels.result, v.value]));
    expect(byResult).toMatchObject({ conflict: 1, notfound: 1, success: 1 });
    await manager.stop(1000);
  });

  it('an owned object event enqueues its controller owner; status-only updates of the primary do not', async () => {
    const a = obj('a', { generation: 1 });
    const { clock, calls, emit, manager } = await startManager(async () => undefined, { [cmPath]: [a] });
    expect(calls).toHaveLength(1);
    emit(secretPath, {
      type: 'ADDED',
      object: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 's',
          namespace: 'ns',
          resourceVersion: '2',
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'a', uid: 'uid-a', controller: true }],
        },
      },
    });
    await clock.advance(0);
    expect(calls).toHaveLength(2);
    // A Secret owned by something else, or not as controller: ignored.
    emit(secretPath, {
      type: 'ADDED',
      object: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 't',
          namespace: 'ns',
          resourceVersion: '3',
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'a', uid: 'x', controller: true }],
        },
      },
    });
    await clock.advance(0);
    expect(calls).toHaveLength(2);
    // Primary update with the same generation (a status write): no reconcile. New generation: reconcile.
    emit(cmPath, { type: 'MODIFIED', object: { ...a, metadata: { ...a.metadata, resourceVersion: '4' } } });
    await clock.advance(0);
    expect(calls).toHaveLength(2);
    emit(cmPath, {
      type: 'MODIFIED',
      object: { ...a, metadata: { ...a.metadata, resourceVersion: '5', generation: 2 } },
    });
    await clock.advance(0);
    expect(calls).toHaveLength(3);
    await manager.stop(1000);
  });

  it('pauseProcessing stops reconciles at once and aborts the signal of running ones', async () => {
    let seenSignal: AbortSignal | undefined;
    const clock = new FakeClock();
    const { kube } = fakeApi({ [cmPath]: [obj('a')] });
    const manager = new ControllerManager({ client: kube, logger: log, clock, namespace: 'ns', queue: { qps: 0 } });
    let release!: () => void;
    let calls = 0;
    manager.register({
      name: 'slow',
      resource: builtin.configMaps,
      async reconcile(_key, ctx) {
        calls++;
        seenSignal = ctx.signal;
        await new Promise<void>((r) => (release = r));
      },
    });
    manager.start();
    await clock.advance(0);
    manager.startProcessing();
    await clock.advance(0);
    expect(calls).toBe(1);
    manager.pauseProcessing();
    expect(seenSignal?.aborted).toBe(true);
    manager.queue('slow')!.add('ns/a');
    release();
    await clock.advance(10_000);
    expect(calls).toBe(1);
    await manager.stop(1000);
  });
});

describe('ControllerManager watches and deletions', () => {
  it('maps a related object event to primary keys, and calls onDeleted for a vanished primary', async () => {
    const clock = new FakeClock();
    const { kube, emit } = fakeApi({ [cmPath]: [obj('a'), obj('b')] });
    const manager = new ControllerManager({ client: kube, logger: log, clock, namespace: 'ns', queue: { qps: 0 } });
    const reconciled: string[] = [];
    const deleted: string[] = [];
    manager.register({
      name: 'mapped',
      resource: builtin.configMaps,
      watches: [{ resource: builtin.services, map: (svc) => [`ns/${(svc.metadata?.labels ?? {}).target ?? ''}`] }],
      async reconcile(key, ctx) {
        reconciled.push(key);
        expect(ctx.object.metadata?.name).toBe(ctx.name);
        expect(ctx.cache(builtin.services).hasSynced()).toBe(true);
        expect(() => ctx.cache(builtin.deployments)).toThrow(/does not watch/);
      },
      async onDeleted(key) {
        deleted.push(key);
      },
    });
    manager.start();
    await clock.advance(0);
    manager.startProcessing();
    await clock.advance(0);
    expect(reconciled.sort()).toEqual(['ns/a', 'ns/b']);
    emit('/api/v1/namespaces/ns/services', {
      type: 'ADDED',
      object: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's', namespace: 'ns', resourceVersion: '2', labels: { target: 'b' } },
      },
    });
    await clock.advance(0);
    expect(reconciled).toEqual(['ns/a', 'ns/b', 'ns/b']);
    emit(cmPath, { type: 'DELETED', object: obj('a') });
    await clock.advance(0);
    expect(deleted).toEqual(['ns/a']);
    expect(reconciled).toHaveLength(3);
    // The expectations inside reconcile held (a failed one would have counted as a reconcile error).
    expect((await manager.metrics.reconcileErrors.get()).values.reduce((n, v) => n + v.value, 0)).toBe(0);
    await manager.stop(1000);
  });
});

describe('helpers', () => {
  it('keepOwnManagedFields drops other managers entries', () => {
    const o = obj('a', {
      managedFields: [
        { manager: 'nerops', operation: 'Apply' },
        { manager: 'kube-controller-manager', operation: 'Update' },
      ],
    });
    expect(keepOwnManagedFields('nerops')(o).metadata?.managedFields).toEqual([
      { manager: 'nerops', operation: 'Apply' },
    ]);
  });

  it.each([
    [
      'same generation, only resourceVersion',
      { generation: 1, resourceVersion: '1' },
      { generation: 1, resourceVersion: '2' },
      false,
    ],
    ['new generation', { generation: 1 }, { generation: 2 }, true],
    ['labels changed', { generation: 1, labels: { a: '1' } }, { generation: 1, labels: { a: '2' } }, true],
    ['deletion started', { generation: 1 }, { generation: 1, deletionTimestamp: new Date(0) }, true],
    ['no generation (ConfigMap), new resourceVersion', { resourceVersion: '1' }, { resourceVersion: '2' }, true],
  ])('specChanged: %s', (_n, a, b, expected) => {
    expect(specChanged({ metadata: a }, { metadata: b })).toBe(expected);
  });
});
