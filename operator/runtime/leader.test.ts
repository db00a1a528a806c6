import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';
import { KubeApiError, type KubeClient, type KubeRequest } from './kube.js';
import { LeaderElector } from './leader.js';

/** One Lease in memory with resourceVersion preconditions; `down` makes every request fail. */
function fakeLeaseApi() {
  const state = {
    lease: undefined as
      | undefined
      | { metadata: { name: string; namespace: string; resourceVersion: string }; spec: Record<string, unknown> },
    rv: 1,
    down: false,
    requests: [] as string[],
  };
  const kube = {
    async request<T>(req: KubeRequest): Promise<T> {
      state.requests.push(req.method);
      if (state.down) throw new KubeApiError('connection refused', 0);
      const body = req.body as
        | { metadata: { name: string; namespace: string; resourceVersion?: string }; spec: Record<string, unknown> }
        | undefined;
      switch (req.method) {
        case 'GET':
          if (!state.lease) throw new KubeApiError('not found', 404, 'NotFound');
          return structuredClone(state.lease) as T;
        case 'POST':
          if (state.lease) throw new KubeApiError('exists', 409, 'AlreadyExists');
          state.lease = { metadata: { ...body!.metadata, resourceVersion: String(++state.rv) }, spec: body!.spec };
          return structuredClone(state.lease) as T;
        case 'PUT':
          if (!state.lease) throw new KubeApiError('not found', 404, 'NotFound');
          if (body!.metadata.resourceVersion !== state.lease.metadata.resourceVersion)
            throw new KubeApiError('conflict', 409, 'Conflict');
          state.lease = { metadata: { ...body!.metadata, resourceVersion: String(++state.rv) }, spec: body!.spec };
          return structuredClone(state.lease) as T;
        default:
          throw new Error(`unexpected ${req.method}`);
      }
    },
  };
  return { kube: kube as unknown as KubeClient, state };
}

const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

describe('LeaderElector', () => {
  it('creates the lease and leads; a second candidate waits until the lease has not changed for a lease duration', async () => {
    const clock = new FakeClock();
    const { kube, state } = fakeLeaseApi();
    const events: string[] = [];
    const a = new LeaderElector(kube, {
      namespace: 'ns',
      identity: 'a',
      clock,
      ...timing,
      onStartedLeading: () => events.push('a leads'),
      onStoppedLeading: () => events.push('a lost'),
    });
    const b = new LeaderElector(kube, {
      namespace: 'ns',
      identity: 'b',
      clock,
      ...timing,
      onStartedLeading: () => events.push('b leads'),
    });
    const runA = a.run();
    void b.run();
    await clock.advance(0);
    expect(a.isLeader()).toBe(true);
    expect(state.lease?.spec.holderIdentity).toBe('a');
    await clock.advance(30_000);
    expect(b.isLeader()).toBe(false); // a keeps renewing
    expect(b.leader).toBe('a');

    // a dies silently: b takes over one lease duration after it last saw the record change.
    a.stop();
    await runA;
    await clock.advance(14_000);
    expect(b.isLeader()).toBe(false);
    await clock.advance(5_000);
    expect(b.isLeader()).toBe(true);
    expect(state.lease?.spec.holderIdentity).toBe('b');
    expect(state.lease?.spec.leaseTransitions).toBe(1);
    expect(events).toEqual(['a leads', 'b leads']);
    b.stop();
  });

  it('does not trust renewTime written by another clock: a far-future or far-past renewTime changes nothing', async () => {
    const clock = new FakeClock();
    const { kube, state } = fakeLeaseApi();
    state.lease = {
      metadata: { name: 'nerops-operator', namespace: 'ns', resourceVersion: '1' },
      spec: { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '1999-01-01T00:00:00.000000Z' },
    };
    const c = new LeaderElector(kube, { namespace: 'ns', identity: 'c', clock, ...timing });
    void c.run();
    await clock.advance(10_000);
    expect(c.isLeader()).toBe(false); // the ancient renewTime alone does not expire it
    await clock.advance(8_000);
    expect(c.isLeader()).toBe(true); // unchanged for 15 s of our clock
    c.stop();
  });

  it('stops leading when it cannot renew within the renew deadline, before the lease expires for others', async () => {
    const clock = new FakeClock();
    const { kube, state } = fakeLeaseApi();
    let lostAt: number | undefined;
    const a = new LeaderElector(kube, {
      namespace: 'ns',
      identity: 'a',
      clock,
      ...timing,
      onStoppedLeading: () => (lostAt = clock.now()),
    });
    const t0 = clock.now();
    const run = a.run();
    await clock.advance(4_000);
    expect(a.isLeader()).toBe(true);
    state.down = true;
    const downAt = clock.now();
    await clock.advance(20_000);
    expect(await run).toBe('lost');
    expect(a.isLeader()).toBe(false);
    // Last renewal was at downAt - 0..retryPeriod; it gives up within the renew deadline (+ one retry period).
    expect(lostAt! - downAt).toBeLessThanOrEqual(timing.renewDeadlineMs + timing.retryPeriodMs);
    expect(lostAt! - t0).toBeLessThan(downAt - t0 + timing.leaseDurationMs);
  });

  it('gives up at once when it sees another holder', async () => {
    const clock = new FakeClock();
    const { kube, state } = fakeLeaseApi();
    const a = new LeaderElector(kube, { namespace: 'ns', identity: 'a', clock, ...timing });
    const run = a.run();
    await clock.advance(0);
    expect(a.isLeader()).toBe(true);
    state.lease!.spec.holderIdentity = 'intruder';
    state.lease!.metadata.resourceVersion = String(++state.rv);
    await clock.advance(2_000);
    expect(await run).toBe('lost');
  });

  it('release empties the holder so a standby acquires on its next try', async () => {
    const clock = new FakeClock();
    const { kube, state } = fakeLeaseApi();
    const a = new LeaderElector(kube, { namespace: 'ns', identity: 'a', clock, ...timing });
    const b = new LeaderElector(kube, { namespace: 'ns', identity: 'b', clock, ...timing });
    void a.run();
    await clock.advance(0);
    void b.run();
    await clock.advance(2_000);
    await a.release();
    expect(state.lease?.spec.holderIdentity).toBeNull();
    await clock.advance(2_500);
    expect(b.isLeader()).toBe(true);
    b.stop();
  });

  it('a leader renews with one PUT per retry period', async () => {
    const clock = new FakeClock();
    const { kube, state } = fakeLeaseApi();
    const a = new LeaderElector(kube, { namespace: 'ns', identity: 'a', clock, ...timing });
    void a.run();
    await clock.advance(0);
    state.requests.length = 0;
    await clock.advance(10_000);
    expect(state.requests).toEqual(['PUT', 'PUT', 'PUT', 'PUT', 'PUT']);
    expect(a.isLeader()).toBe(true);
    a.stop();
  });

  it('refuses inconsistent timings', () => {
    const { kube } = fakeLeaseApi();
    expect(
      () => new LeaderElector(kube, { namespace: 'ns', identity: 'x', leaseDurationMs: 5000, renewDeadlineMs: 5000 }),
    ).toThrow(/renewDeadline/);
    expect(
      () =>
        new LeaderElector(kube, {
          namespace: 'ns',
          identity: 'x',
          leaseDurationMs: 5000,
          renewDeadlineMs: 3000,
          retryPeriodMs: 3000,
        }),
    ).toThrow(/retryPeriod/);
  });
});
