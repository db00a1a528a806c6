import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';
import { Informer, type InformerEvent } from './informer.js';
import { KubeApiError, type KubeClient, type KubeRequest, type WatchEvent } from './kube.js';
import { builtin } from './resource.js';

const cm = (
  name: string,
  rv: string,
  data: Record<string, string> = {},
): KubernetesObject & { data: Record<string, string> } => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  data,
});

type WatchScript = (emit: (e: WatchEvent) => void, signal: AbortSignal) => Promise<void>;

/**
 * A fake API: `lists` answers list calls in order (an Error is thrown), `watches` scripts each watch call.
 * A watch script that never resolves stays open until aborted.
 */
function fakeApi(lists: Array<KubernetesObject[] | Error>, watches: WatchScript[]) {
  const calls: string[] = [];
  const watchQueries: Array<Record<string, unknown>> = [];
  const kube = {
    async request<T>(_req: KubeRequest): Promise<T> {
      calls.push('list');
      const next = lists.shift();
      if (!next) throw new Error('no more lists scripted');
      if (next instanceof Error) throw next;
      return {
        items: next.map((o) => structuredClone(o)),
        metadata: { resourceVersion: String(100 + calls.length) },
      } as T;
    },
    async watch(
      _path: string,
      query: Record<string, unknown>,
      onEvent: (e: WatchEvent) => void,
      options: { signal?: AbortSignal; onActivity?: () => void },
    ) {
      calls.push('watch');
      watchQueries.push(query);
      const script = watches.shift() ?? (() => new Promise<void>(() => undefined));
      const aborted = new Promise<void>((r) => options.signal?.addEventListener('abort', () => r(), { once: true }));
      await Promise.race([
        script((e) => {
          options.onActivity?.();
          onEvent(e);
        }, options.signal!),
        aborted,
      ]);
    },
  };
  return { kube: kube as unknown as KubeClient, calls, watchQueries };
}

const forever: WatchScript = () => new Promise(() => undefined);

function record(inf: Informer) {
  const events: string[] = [];
  inf.on((e: InformerEvent<KubernetesObject>) => {
    if (e.type === 'added' || e.type === 'deleted' || e.type === 'updated')
      events.push(`${e.type}:${e.object.metadata?.name}`);
    else if (e.type === 'restarted') events.push(`restarted:${e.reason}`);
    else if (e.type === 'relisted') events.push(`relisted:${e.count}`);
    else events.push(e.type);
  });
  return events;
}

describe('Informer', () => {
  it('lists, then applies watch events to the cache and emits typed events', async () => {
    const clock = new FakeClock();
    const { kube, watchQueries } = fakeApi(
      [[cm('a', '1')]],
      [
        async (emit) => {
          emit({ type: 'ADDED', object: cm('b', '2') });
          emit({ type: 'MODIFIED', object: cm('a', '3', { k: 'v' }) });
          emit({ type: 'DELETED', object: cm('b', '4') });
          emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } });
          await new Promise(() => undefined);
        },
      ],
    );
    const inf = new Informer(kube, builtin.configMaps, { namespace: 'ns', clock, resyncMs: 0 });
    const events = record(inf);
    inf.start();
    await clock.advance(0);
    expect(inf.hasSynced()).toBe(true);
    expect(events).toEqual(['added:a', 'relisted:1', 'added:b', 'updated:a', 'deleted:b']);
    expect(inf.list().map((o) => o.metadata?.name)).toEqual(['a']);
    expect((inf.get('ns', 'a') as { data?: unknown }).data).toEqual({ k: 'v' });
    // List items get apiVersion/kind filled in.
    expect(inf.get('ns', 'a')?.kind).toBe('ConfigMap');
    expect(inf.resourceVersion).toBe('9');
    expect(watchQueries[0]).toMatchObject({ resourceVersion: '101', allowWatchBookmarks: true });
    await inf.stop();
  });

  it('relists after a 410 ERROR event and emits the differences', async () => {
    const clock = new FakeClock();
    const { kube, calls } = fakeApi(
      [
        [cm('a', '1'), cm('b', '1')],
        [cm('a', '5'), cm('c', '6')],
      ],
      [
        async (emit) =>
          emit({ type: 'ERROR', object: { code: 410, reason: 'Expired', message: 'too old' } as KubernetesObject }),
        forever,
      ],
    );
    const inf = new Informer(kube, builtin.configMaps, { namespace: 'ns', clock, resyncMs: 0 });
    const events = record(inf);
    inf.start();
    await clock.advance(0);
    expect(calls).toEqual(['list', 'watch', 'list', 'watch']);
    expect(events).toEqual([
      'added:a',
      'added:b',
      'relisted:2',
      'restarted:expired',
      'updated:a',
      'added:c',
      'deleted:b',
      'relisted:2',
    ]);
    await inf.stop();
  });

  it('relists with backoff after any error, list errors included', async () => {
    const clock = new FakeClock();
    const { kube, calls } = fakeApi(
      [[cm('a', '1')], new KubeApiError('boom', 500), new KubeApiError('refused', 0), [cm('a', '1')]],
      [
        async () => {
          throw new KubeApiError('connection reset', 0);
        },
        forever,
      ],
    );
    const inf = new Informer(kube, builtin.configMaps, {
      namespace: 'ns',
      clock,
      resyncMs: 0,
      relistBackoffMs: 1000,
      relistBackoffMaxMs: 10_000,
    });
    const events = record(inf);
    inf.start();
    await clock.advance(0);
    expect(calls).toEqual(['list', 'watch']);
    await clock.advance(1300); // first backoff ≈ 1 s (±20 %)
    expect(calls).toEqual(['list', 'watch', 'list']);
    await clock.advance(2500); // second ≈ 2 s
    expect(calls).toEqual(['list', 'watch', 'list', 'list']);
    await clock.advance(5000); // third ≈ 4 s, then it works
    expect(calls).toEqual(['list', 'watch', 'list', 'list', 'list', 'watch']);
    expect(events.filter((e) => e === 'restarted:error')).toHaveLength(3);
    expect(events.at(-1)).toBe('relisted:1');
    await inf.stop();
  });

  it('the watchdog restarts a silent watch from the last resourceVersion; activity re-arms it', async () => {
    const clock = new FakeClock();
    let emitLater: ((e: WatchEvent) => void) | undefined;
    const { kube, calls, watchQueries } = fakeApi(
      [[cm('a', '1')]],
      [
        (emit) => {
          emitLater = emit;
          return new Promise(() => undefined);
        },
        forever,
      ],
    );
    const inf = new Informer(kube, builtin.configMaps, { namespace: 'ns', clock, resyncMs: 0, watchdogMs: 10_000 });
    const events = record(inf);
    inf.start();
    await clock.advance(8000);
    emitLater!({ type: 'MODIFIED', object: cm('a', '7') });
    await clock.advance(8000); // 16 s after start, 8 s after the last event: still fine
    expect(calls).toEqual(['list', 'watch']);
    await clock.advance(2500);
    expect(events).toContain('restarted:watchdog');
    expect(calls).toEqual(['list', 'watch', 'watch']); // no relist: resumes from the last resourceVersion
    expect(watchQueries[1]).toMatchObject({ resourceVersion: '7' });
    await inf.stop();
  });

  it('emits resync periodically once synced', async () => {
    const clock = new FakeClock();
    const { kube } = fakeApi([[cm('a', '1')]], [forever]);
    const inf = new Informer(kube, builtin.configMaps, { namespace: 'ns', clock, resyncMs: 60_000, watchdogMs: 1e9 });
    const events = record(inf);
    inf.start();
    await clock.advance(130_000);
    expect(events.filter((e) => e === 'resync')).toHaveLength(2);
    await inf.stop();
  });

  it('filters the cache by namespace and labels', async () => {
    const clock = new FakeClock();
    const objs = [
      { metadata: { name: 'a', namespace: 'n1', resourceVersion: '1', labels: { app: 'x' } } },
      { metadata: { name: 'b', namespace: 'n2', resourceVersion: '1', labels: { app: 'x' } } },
      { metadata: { name: 'c', namespace: 'n1', resourceVersion: '1' } },
    ];
    const { kube } = fakeApi([objs], [forever]);
    const inf = new Informer(kube, builtin.configMaps, { clock, resyncMs: 0 });
    inf.start();
    await clock.advance(0);
    expect(inf.list('n1').map((o) => o.metadata?.name)).toEqual(['a', 'c']);
    expect(inf.list(undefined, { app: 'x' }).map((o) => o.metadata?.name)).toEqual(['a', 'b']);
    expect(inf.getByKey('n2/b')?.metadata?.name).toBe('b');
    await inf.stop();
  });
});
