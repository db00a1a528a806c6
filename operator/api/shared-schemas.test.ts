import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './shared-schemas.js';
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
