import { describe, expect, it } from 'vitest';
import { decideReplicas, type AutoscaleInput, type Recommendation } from './autoscale.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const policy = { targetRequestsPerSecond: 10, tolerance: 0.1, scaleUpMaxStep: 4, scaleDownStabilizationSeconds: 300 };

function input(over: Partial<AutoscaleInput> & { rate?: number; at?: number }): AutoscaleInput {
  const { rate, at, ...rest } = over;
  return {
    now: new Date(T0 + (at ?? 0) * 1000),
    current: 2,
    min: 1,
    max: 10,
    policy,
    measurement:
      rate === undefined
        ? { ok: false, reason: 'PrometheusUnreachable', message: 'Prometheus at http://p:9090 is unreachable' }
        : { ok: true, rate },
    history: [],
    ...rest,
  };
}

describe('decideReplicas', () => {
  it.each([
    // [case, current, rate, desired, action]
    ['steady inside the tolerance (+9 %)', 2, 21.8, 2, 'Steady'],
    ['steady inside the tolerance (−9 %)', 2, 18.2, 2, 'Steady'],
    ['scale up just beyond the tolerance', 2, 22.5, 3, 'ScaleUp'],
    ['scale up at once', 2, 40, 4, 'ScaleUp'],
    ['scale up bounded by the step', 2, 100, 6, 'ScaleUp'],
    ['scale up bounded by max', 8, 500, 10, 'ScaleUp'],
    ['no deployment yet: start from min', undefined, 0, 1, 'Steady'],
    ['no deployment yet, traffic: up from min', undefined, 35, 4, 'ScaleUp'],
    ['current above max after a spec change', 12, 95, 10, 'Clamp'],
  ] as const)('%s', (_name, current, rate, desired, action) => {
    const d = decideReplicas(input({ current, rate }));
    expect(d).toMatchObject({ desired, action });
  });

  it('holds without metrics, says why, and forgets the window', () => {
    const d = decideReplicas(input({ current: 5, history: [{ timeMs: T0 - 400_000, replicas: 1 }] }));
    expect(d).toEqual({
      desired: 5,
      action: 'HoldNoMetrics',
      history: [],
      message: 'holding 5 replicas: Prometheus at http://p:9090 is unreachable',
    });
  });

  it('never scales below min nor above max on missing data, only clamps', () => {
    expect(decideReplicas(input({ current: 0 }))).toMatchObject({ desired: 1, action: 'Clamp' });
    expect(decideReplicas(input({ current: 11 }))).toMatchObject({ desired: 10, action: 'Clamp' });
  });

  it('scales down only after the window is covered, to the highest recommendation in it', () => {
    let history: Recommendation[] = [];
    let current = 6;
    const steps: Array<[number, number, number, string]> = [
      // [seconds, rate, expected desired, action]
      [0, 60, 6, 'Steady'],
      [60, 30, 6, 'ScaleDownPending'],
      [200, 10, 6, 'ScaleDownPending'],
      [300, 10, 6, 'ScaleDownPending'], // the 60 req/s observation at t=0 still anchors the window
      [361, 10, 3, 'ScaleDown'], // window [61, 361] holds 30 req/s at t=60 (anchor) → 3
      [450, 10, 3, 'ScaleDownPending'], // the 30 req/s at t=60 held until t=200
      [500, 10, 1, 'ScaleDown'], // 1 recommended since t=200
    ];
    for (const [at, rate, desired, action] of steps) {
      const d = decideReplicas(input({ at, rate, current, history }));
      expect({ at, desired: d.desired, action: d.action }).toEqual({ at, desired, action });
      history = d.history;
      current = d.desired;
    }
  });

  it('a spike inside the window cancels a pending scale-down; a spike scales up at once', () => {
    let d = decideReplicas(input({ current: 4, rate: 40, at: 0 }));
    d = decideReplicas(input({ current: 4, rate: 5, at: 100, history: d.history }));
    expect(d.action).toBe('ScaleDownPending');
    d = decideReplicas(input({ current: 4, rate: 80, at: 150, history: d.history }));
    expect(d).toMatchObject({ desired: 8, action: 'ScaleUp' });
    d = decideReplicas(input({ current: 8, rate: 5, at: 400, history: d.history }));
    expect(d).toMatchObject({ desired: 8, action: 'ScaleDownPending' }); // 80 req/s at t=150 is inside the window
    d = decideReplicas(input({ current: 8, rate: 5, at: 451, history: d.history }));
    expect(d).toMatchObject({ desired: 8, action: 'ScaleDownPending' }); // 80 req/s held from t=150 until t=400
    d = decideReplicas(input({ current: 8, rate: 5, at: 701, history: d.history }));
    expect(d).toMatchObject({ desired: 1, action: 'ScaleDown' });
  });

  it('after a metrics outage the window starts again (no scale-down on data that returns)', () => {
    let d = decideReplicas(input({ current: 4, rate: 5, at: 0 }));
    d = decideReplicas(input({ current: 4, at: 200, history: d.history }));
    expect(d.history).toEqual([]);
    d = decideReplicas(input({ current: 4, rate: 5, at: 301, history: d.history }));
    expect(d.action).toBe('ScaleDownPending');
    d = decideReplicas(input({ current: 4, rate: 5, at: 601, history: d.history }));
    expect(d).toMatchObject({ desired: 1, action: 'ScaleDown' });
  });

  it('a zero window scales down immediately', () => {
    const d = decideReplicas(input({ current: 5, rate: 10, policy: { ...policy, scaleDownStabilizationSeconds: 0 } }));
    expect(d).toMatchObject({ desired: 1, action: 'ScaleDown' });
  });

  it('messages carry the observed rate and the target', () => {
    expect(decideReplicas(input({ current: 2, rate: 40 })).message).toBe(
      'scaling up 2 → 4: 40.0 req/s for a target of 10.0/replica',
    );
  });
});
