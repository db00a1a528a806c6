import { describe, expect, it } from 'vitest';
import { decideReplicas, inFlightQuery, p95LatencyQuery, type AutoscaleInput } from './autoscale.js';
import type { NerDeployment } from '../../api/nerdeployment.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const base = { tolerance: 0.1, scaleUpMaxStep: 4, scaleDownStabilizationSeconds: 0 };

function input(policy: AutoscaleInput['policy'], measurement: AutoscaleInput['measurement'], current = 2) {
  return { now: new Date(T0), current, min: 1, max: 10, policy, measurement, history: [] };
}

describe('decideReplicas with concurrency and a latency guardrail', () => {
  it('scales on in-flight requests alone: ceil(in flight / target)', () => {
    const d = decideReplicas(input({ ...base, targetInFlightPerReplica: 4 }, { ok: true, rate: 0, inFlight: 19 }));
    expect(d).toMatchObject({ desired: 5, action: 'ScaleUp' });
    expect(d.message).toContain('19.0 in flight');
  });

  it('takes the larger of the rate and concurrency recommendations', () => {
    const policy = { ...base, targetRequestsPerSecond: 10, targetInFlightPerReplica: 4 };
    expect(decideReplicas(input(policy, { ok: true, rate: 60, inFlight: 4 })).desired).toBe(6);
    expect(decideReplicas(input(policy, { ok: true, rate: 10, inFlight: 24 })).desired).toBe(6);
  });

  it('holds when the concurrency target has no series (metric loss), whatever the rate says', () => {
    const d = decideReplicas(input({ ...base, targetInFlightPerReplica: 4 }, { ok: true, rate: 100 }));
    expect(d).toMatchObject({ desired: 2, action: 'HoldNoMetrics' });
  });

  it('scales up by one when p95 breaches the guardrail even at a low rate', () => {
    const policy = { ...base, targetRequestsPerSecond: 10, maxP95LatencyMs: 200 };
    const d = decideReplicas(input(policy, { ok: true, rate: 5, p95Seconds: 0.35 }, 3));
    expect(d).toMatchObject({ desired: 4, action: 'ScaleUp' });
    expect(d.message).toContain('p95 350 ms > maxP95LatencyMs 200');
  });

  it('a p95 within the guardrail, or none (no traffic), does not block a scale-down', () => {
    const policy = { ...base, targetRequestsPerSecond: 10, maxP95LatencyMs: 200 };
    expect(decideReplicas(input(policy, { ok: true, rate: 5, p95Seconds: 0.05 }, 3)).desired).toBe(1);
    expect(decideReplicas(input(policy, { ok: true, rate: 5 }, 3)).desired).toBe(1);
  });

  it('the guardrail respects max', () => {
    const policy = { ...base, targetRequestsPerSecond: 10, maxP95LatencyMs: 200 };
    expect(decideReplicas(input(policy, { ok: true, rate: 5, p95Seconds: 1 }, 10))).toMatchObject({ desired: 10 });
  });

  it('queries sum the gauge over pods and take p95 from summed buckets', () => {
    const nd = { metadata: { name: 'web', namespace: 'ns1' } } as NerDeployment;
    expect(inFlightQuery(nd)).toBe('sum(nerops_inflight_requests{namespace="ns1",deployment="web",track="stable"})');
    expect(p95LatencyQuery(nd, 60)).toBe(
      'histogram_quantile(0.95, sum by (le) (rate(nerops_request_duration_seconds_bucket{namespace="ns1",deployment="web",track="stable"}[60s])))',
    );
  });
});
