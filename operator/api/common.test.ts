import { describe, expect, it } from 'vitest';
import { formatDuration, getCondition, parseDuration, setCondition, type Condition } from './common.js';
import { NerDeploymentSpecSchema, DEFAULT_ROLLOUT_STEPS } from './nerdeployment.js';
import { DriftPolicySpecSchema } from './driftpolicy.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2m30s500ms', 150_500],
    ['0s', 0],
  ])('parseDuration(%s) = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', '1d', '5 m', '-1s', '1.5s', 'm5'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
  });

  it.each([0, 250, 30_000, 300_000, 5_400_000, 150_500])('formatDuration(%d) round-trips', (ms) => {
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});

describe('setCondition', () => {
  const t0 = new Date('2025-01-01T00:00:00.123Z');
  const t1 = new Date('2025-01-01T00:05:00Z');

  it('adds a new condition with observedGeneration and a second-precision transition time', () => {
    expect(
      setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Reconciling', message: 'm' }, 3, t0),
    ).toEqual([
      {
        type: 'Ready',
        status: 'False',
        observedGeneration: 3,
        lastTransitionTime: '2025-01-01T00:00:00Z',
        reason: 'Reconciling',
        message: 'm',
      },
    ]);
  });

  it('moves lastTransitionTime only when the status flips', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1, t0);
    const same = setCondition(first, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, 2, t1);
    expect(getCondition(same, 'Ready')).toMatchObject({
      reason: 'B',
      observedGeneration: 2,
      lastTransitionTime: '2025-01-01T00:00:00Z',
    });
    const flipped = setCondition(same, { type: 'Ready', status: 'True', reason: 'C', message: 'c' }, 2, t1);
    expect(getCondition(flipped, 'Ready')?.lastTransitionTime).toBe('2025-01-01T00:05:00Z');
  });

  it('keeps order, appends new types and does not mutate its input', () => {
    const list: Condition[] = setCondition([], { type: 'Ready', status: 'True', reason: 'A', message: '' }, 1, t0);
    const snapshot = structuredClone(list);
    const next = setCondition(list, { type: 'Degraded', status: 'False', reason: 'A', message: '' }, 1, t0);
    expect(next.map((c) => c.type)).toEqual(['Ready', 'Degraded']);
    expect(list).toEqual(snapshot);
  });
});

describe('defaults', () => {
  it('NerDeployment defaults are complete and independent per parse', () => {
    const a = NerDeploymentSpecSchema.parse({ model: 'm' });
    const b = NerDeploymentSpecSchema.parse({ model: 'm' });
    expect(a.replicas).toEqual({ min: 1, max: 1 });
    expect(a.rollout.steps).toEqual(DEFAULT_ROLLOUT_STEPS);
    expect(a.rollout.thresholds).toEqual({ maxErrorRate: 0.01, maxP95LatencyMs: 500 });
    expect(a.trafficRouting).toEqual({ type: 'replicaRatio' });
    a.rollout.steps.push({ weight: 90, pauseSeconds: 0 });
    expect(b.rollout.steps).toEqual(DEFAULT_ROLLOUT_STEPS);
  });

  it('DriftPolicy defaults: one Job at a time, retrain on warning, alert on critical, automatic approval', () => {
    const s = DriftPolicySpecSchema.parse({
      targetRef: { name: 'd' },
      retraining: { datasetUri: 'file:///d', outputUri: 'file:///o' },
    });
    expect(s).toMatchObject({
      maxConcurrentRuns: 1,
      onWarning: 'Retrain',
      onCritical: 'Alert',
      approval: 'Automatic',
      suspend: false,
      interval: '1m',
    });
    expect(s.signals.map((x) => x.type)).toEqual([
      'labelDistribution',
      'confidence',
      'documentLength',
      'unknownTokenRate',
    ]);
  });
});
