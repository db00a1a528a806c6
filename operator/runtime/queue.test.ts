import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from './clock.js';
import { TokenBucket, WorkQueue } from './queue.js';

/** A handler that records calls and lets the test decide when each call finishes. */
function controlledHandler() {
  const calls: string[] = [];
  const pending = new Map<string, Array<() => void>>();
  let active = 0;
  let maxActive = 0;
  const activeByKey = new Map<string, number>();
  let maxPerKey = 0;
  const handler = (key: string) => {
    calls.push(key);
    active++;
    maxActive = Math.max(maxActive, active);
    activeByKey.set(key, (activeByKey.get(key) ?? 0) + 1);
    maxPerKey = Math.max(maxPerKey, activeByKey.get(key)!);
    return new Promise<void>((resolve) => {
      const list = pending.get(key) ?? [];
      list.push(() => {
        active--;
        activeByKey.set(key, activeByKey.get(key)! - 1);
        resolve();
      });
      pending.set(key, list);
    });
  };
  const finish = async (key: string) => {
    const list = pending.get(key);
    const f = list?.shift();
    if (!f) throw new Error(`${key} is not in flight`);
    f();
    await flushMicrotasks();
  };
  return { handler, calls, finish, stats: () => ({ maxActive, maxPerKey, active }) };
}

const noLimit = { qps: 0, burst: 1 };

describe('WorkQueue', () => {
  it('de-duplicates a key added many times while waiting', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, concurrency: 1, ...noLimit });
    const h = controlledHandler();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.depth).toBe(2);
    q.start(h.handler);
    await h.finish('a');
    await h.finish('b');
    expect(h.calls).toEqual(['a', 'b']);
  });

  it('never processes a key twice at once; a re-add while in flight runs once more after', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, concurrency: 4, ...noLimit });
    const h = controlledHandler();
    q.start(h.handler);
    q.add('a');
    await flushMicrotasks();
    expect(h.calls).toEqual(['a']);
    q.add('a');
    q.add('a');
    await flushMicrotasks();
    expect(h.calls).toEqual(['a']); // still in flight: not started again
    await h.finish('a');
    expect(h.calls).toEqual(['a', 'a']);
    await h.finish('a');
    expect(h.calls).toEqual(['a', 'a']);
    expect(h.stats().maxPerKey).toBe(1);
  });

  it('runs up to `concurrency` different keys in parallel', async () => {
    const q = new WorkQueue({ clock: new FakeClock(), concurrency: 2, ...noLimit });
    const h = controlledHandler();
    q.start(h.handler);
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await flushMicrotasks();
    expect(h.calls).toEqual(['a', 'b']);
    await h.finish('a');
    expect(h.calls).toEqual(['a', 'b', 'c']);
    expect(h.stats().maxActive).toBe(2);
  });

  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1000],
    [12, 1000],
  ])('backoff after %i failures is %i ms (base 100, max 1000)', (failures, delay) => {
    const q = new WorkQueue({ clock: new FakeClock(), baseDelayMs: 100, maxDelayMs: 1000 });
    expect(q.backoffDelay(failures)).toBe(delay);
  });

  it('addRateLimited retries after an exponentially growing delay; forget resets it', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, concurrency: 1, baseDelayMs: 100, maxDelayMs: 10_000, ...noLimit });
    const calls: number[] = [];
    let fail = true;
    q.start(async (key) => {
      calls.push(clock.now());
      if (fail) q.addRateLimited(key);
      else q.forget(key);
    });
    const t0 = clock.now();
    q.add('a');
    await clock.advance(0);
    await clock.advance(99);
    expect(calls.length).toBe(1);
    await clock.advance(1); // 100 ms after the first failure
    expect(calls.length).toBe(2);
    await clock.advance(200); // then 200 ms
    expect(calls.length).toBe(3);
    await clock.advance(399);
    expect(calls.length).toBe(3);
    await clock.advance(1); // then 400 ms
    expect(calls.map((t) => t - t0)).toEqual([0, 100, 300, 700]);
    expect(q.failures('a')).toBe(4);
    fail = false;
    await clock.advance(800);
    expect(calls.length).toBe(5);
    expect(q.failures('a')).toBe(0);
    await clock.advance(60_000);
    expect(calls.length).toBe(5);
  });

  it('limits the start rate with a token bucket (burst, then qps)', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, concurrency: 100, qps: 10, burst: 3 });
    const started: number[] = [];
    q.start(async () => {
      started.push(clock.now());
    });
    const t0 = clock.now();
    for (let i = 0; i < 8; i++) q.add(`k${i}`);
    await flushMicrotasks();
    expect(started.length).toBe(3); // the burst
    await clock.advance(100);
    expect(started.length).toBe(4);
    await clock.advance(400);
    expect(started.length).toBe(8);
    expect(started.map((t) => t - t0)).toEqual([0, 0, 0, 100, 200, 300, 400, 500]);
  });

  it('addAfter runs the key at the requested time and keeps the earliest of several', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, ...noLimit });
    const calls: Array<[string, number]> = [];
    const t0 = clock.now();
    q.start(async (key) => {
      calls.push([key, clock.now() - t0]);
    });
    q.addAfter('a', 5000);
    q.addAfter('a', 2000); // sooner: replaces
    q.addAfter('a', 9000); // later: ignored
    q.addAfter('b', 1000);
    expect(q.delayed).toBe(2);
    expect(q.dueAt('a')).toBe(t0 + 2000);
    await clock.advance(10_000);
    expect(calls).toEqual([
      ['b', 1000],
      ['a', 2000],
    ]);
  });

  it('an immediate add supersedes a pending timed add', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, ...noLimit });
    const calls: string[] = [];
    q.start(async (key) => {
      calls.push(key);
    });
    q.addAfter('a', 5000);
    q.add('a');
    await clock.advance(0);
    expect(calls).toEqual(['a']);
    await clock.advance(10_000);
    expect(calls).toEqual(['a']);
  });

  it('pause stops starting work; keys accumulate de-duplicated and run on resume', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, ...noLimit });
    const calls: string[] = [];
    const handler = async (key: string) => {
      calls.push(key);
    };
    q.start(handler);
    q.pause();
    q.add('a');
    q.add('a');
    q.add('b');
    await clock.advance(1000);
    expect(calls).toEqual([]);
    q.start(handler);
    await clock.advance(0);
    expect(calls).toEqual(['a', 'b']);
  });

  it('shutdown drains in-flight work, drops waiting and delayed keys, accepts nothing new', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, concurrency: 1, ...noLimit });
    const h = controlledHandler();
    q.start(h.handler);
    q.add('a');
    q.add('b');
    q.addAfter('c', 100);
    await flushMicrotasks();
    let drained: boolean | undefined;
    const p = q.shutdown(5000).then((d) => (drained = d));
    await flushMicrotasks();
    expect(drained).toBeUndefined(); // 'a' still running
    await h.finish('a');
    await p;
    expect(drained).toBe(true);
    q.add('d');
    await clock.advance(1000);
    expect(h.calls).toEqual(['a']);
    expect(q.depth).toBe(0);
  });

  it('shutdown gives up after its timeout when a handler hangs', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, ...noLimit });
    q.start(() => new Promise(() => undefined));
    q.add('stuck');
    await flushMicrotasks();
    const p = q.shutdown(1000);
    await clock.advance(1000);
    expect(await p).toBe(false);
  });

  it('a throwing handler does not stop the queue', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, concurrency: 1, ...noLimit });
    const calls: string[] = [];
    q.start(async (key) => {
      calls.push(key);
      throw new Error('boom');
    });
    q.add('a');
    q.add('b');
    await clock.advance(0);
    expect(calls).toEqual(['a', 'b']);
  });

  it('reports its depth', async () => {
    const depths: number[] = [];
    const q = new WorkQueue({ clock: new FakeClock(), ...noLimit, onDepth: (d) => depths.push(d) });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(depths).toEqual([1, 2]);
  });
});

describe('TokenBucket shared between queues', () => {
  it('limits the combined start rate of all queues that share it', async () => {
    const clock = new FakeClock();
    const limiter = new TokenBucket(10, 2, clock);
    const started: string[] = [];
    const a = new WorkQueue({ clock, limiter, concurrency: 10 });
    const b = new WorkQueue({ clock, limiter, concurrency: 10 });
    a.start(async (k) => void started.push(`a:${k}`));
    b.start(async (k) => void started.push(`b:${k}`));
    for (let i = 0; i < 3; i++) {
      a.add(String(i));
      b.add(String(i));
    }
    await flushMicrotasks();
    expect(started).toHaveLength(2); // one burst for both
    await clock.advance(400);
    expect(started).toHaveLength(6);
  });
});
