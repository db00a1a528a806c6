import { describe, expect, it } from 'vitest';
import { MicroBatcher } from './batcher.js';
import { HttpProblem } from './problem.js';

/** An engine stand-in for the batching mechanics only (behaviour tests use the real engine). */
function recorder(delayMs = 0) {
  const batches: string[][] = [];
  let release: (() => void) | undefined;
  const run = async (texts: readonly string[]) => {
    batches.push([...texts]);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return texts.map((t) => t.toUpperCase());
  };
  return { batches, run, release: () => release?.() };
}

const opts = { maxBatchSize: 4, maxWaitMs: 5, maxQueue: 10, maxConcurrentBatches: 1 };

describe('MicroBatcher', () => {
  it('coalesces concurrent submissions into one batch and preserves order', async () => {
    const r = recorder();
    const b = new MicroBatcher(r.run, opts);
    const out = await Promise.all([b.submit(['a'], 1000), b.submit(['b', 'c'], 1000), b.submit(['d'], 1000)]);
    expect(out).toEqual([['A'], ['B', 'C'], ['D']]);
    expect(r.batches).toEqual([['a', 'b', 'c', 'd']]);
  });

  it('splits at maxBatchSize and sends documents that queued during a batch as the next batch', async () => {
    const r = recorder(20);
    const b = new MicroBatcher(r.run, opts);
    const p = Promise.all(['1', '2', '3', '4', '5', '6'].map((t) => b.submit([t], 1000)));
    expect((await p).flat()).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(r.batches).toEqual([
      ['1', '2', '3', '4'],
      ['5', '6'],
    ]);
  });

  it('refuses submissions beyond the queue bound with an overloaded problem', async () => {
    const r = recorder(30);
    const b = new MicroBatcher(r.run, { ...opts, maxQueue: 3, maxBatchSize: 2 });
    const first = b.submit(['a', 'b'], 1000); // dispatched at once (full batch)
    const queued = b.submit(['c', 'd', 'e'], 1000);
    const err = await b.submit(['f'], 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpProblem);
    expect((err as HttpProblem).kind).toBe('overloaded');
    expect((err as HttpProblem).extra.retryAfterSeconds).toBe(1);
    await expect(first).resolves.toEqual(['A', 'B']);
    await expect(queued).resolves.toEqual(['C', 'D', 'E']);
  });

  it('times out queued documents and removes them from the queue', async () => {
    const r = recorder(60);
    const b = new MicroBatcher(r.run, { ...opts, maxBatchSize: 1 });
    const first = b.submit(['a'], 1000);
    const late = b.submit(['b'], 10).catch((e: unknown) => e);
    const err = await late;
    expect((err as HttpProblem).kind).toBe('timeout');
    expect(b.queueDepth).toBe(0);
    await first;
    await b.drain();
    expect(r.batches).toEqual([['a']]);
  });

  it('rejects every document of a failed batch and keeps working', async () => {
    let fail = true;
    const b = new MicroBatcher(async (texts: readonly string[]) => {
      if (fail) throw new Error('boom');
      return [...texts];
    }, opts);
    await expect(b.submit(['x'], 1000)).rejects.toThrow('boom');
    fail = false;
    await expect(b.submit(['y'], 1000)).resolves.toEqual(['y']);
  });

  it('drain finishes queued work and then refuses new submissions', async () => {
    const r = recorder(10);
    const b = new MicroBatcher(r.run, { ...opts, maxWaitMs: 1000 });
    const p = b.submit(['a'], 5000);
    await b.drain();
    await expect(p).resolves.toEqual(['A']);
    await expect(b.submit(['b'], 1000)).rejects.toMatchObject({ kind: 'shuttingDown' });
  });

  it('with maxWaitMs 0 still coalesces documents submitted in the same tick', async () => {
    const r = recorder();
    const b = new MicroBatcher(r.run, { ...opts, maxWaitMs: 0 });
    await Promise.all([b.submit(['a'], 1000), b.submit(['b'], 1000)]);
    expect(r.batches).toEqual([['a', 'b']]);
  });
});
