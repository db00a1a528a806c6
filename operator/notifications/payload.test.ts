import { describe, expect, it } from 'vitest';
import { alertmanagerAlerts, buildNotification, NOTIFICATION_VERSION } from './payload.js';

const time = new Date('2026-12-06T01:00:00.000Z');
const nd = {
  apiVersion: 'nerops.io/v1alpha1',
  kind: 'NerDeployment',
  metadata: { name: 'ner', namespace: 'clinic', uid: 'u1', generation: 4 },
  spec: { rollout: { steps: [{ weight: 10 }, { weight: 50 }] } },
  status: {
    observedGeneration: 4,
    phase: 'Progressing',
    stableModel: 'm1',
    canaryModel: 'm2',
    currentStepIndex: 1,
    weights: { stable: 50, canary: 50 },
    lastAnalysis: { time: time.toISOString(), outcome: 'Pass', samples: 120, errorRate: 0 },
  },
};

describe('notification payload', () => {
  it("carries the event and the object's current state: generation, step, weights, digests, analysis", () => {
    const n = buildNotification({
      object: nd,
      event: { type: 'Normal', reason: 'StepCompleted', note: 'Step 2/2 completed (50%)' },
      digests: { m1: 'a'.repeat(64), m2: 'b'.repeat(64) },
      time,
      id: 'id-1',
    });
    expect(n).toEqual({
      version: NOTIFICATION_VERSION,
      id: 'id-1',
      time: '2026-12-06T01:00:00.000Z',
      event: { reason: 'StepCompleted', type: 'Normal', note: 'Step 2/2 completed (50%)' },
      object: {
        apiVersion: 'nerops.io/v1alpha1',
        kind: 'NerDeployment',
        namespace: 'clinic',
        name: 'ner',
        uid: 'u1',
        generation: 4,
        observedGeneration: 4,
      },
      state: {
        phase: 'Progressing',
        stable: { name: 'm1', digest: 'a'.repeat(64) },
        canary: { name: 'm2', digest: 'b'.repeat(64) },
        step: { index: 2, of: 2, weight: 50 },
        weights: { stable: 50, canary: 50 },
        analysis: nd.status.lastAnalysis,
      },
    });
  });

  it('as Alertmanager alerts: one per notification, and DriftResolved ends the drift alerts', () => {
    const policy = {
      kind: 'DriftPolicy',
      metadata: { name: 'p', namespace: 'clinic' },
      spec: { targetRef: { name: 'ner' } },
      status: { state: 'Healthy' },
    };
    const n = buildNotification({
      object: policy,
      event: { type: 'Normal', reason: 'DriftResolved', note: 'all signals within thresholds' },
      digests: {},
      time,
      id: 'id-2',
    });
    const alerts = alertmanagerAlerts(n);
    expect(alerts.map((a) => (a.labels as Record<string, string>).alertname)).toEqual([
      'NeropsDriftResolved',
      'NeropsDriftWarning',
      'NeropsDriftCritical',
    ]);
    expect(alerts[0]).toMatchObject({
      labels: { severity: 'info', namespace: 'clinic', kind: 'DriftPolicy', name: 'p' },
      startsAt: n.time,
      endsAt: '2026-12-06T02:00:00.000Z',
    });
    expect(alerts[1]).toMatchObject({ labels: { severity: 'warning' }, endsAt: n.time });
    expect(JSON.parse((alerts[0]!.annotations as Record<string, string>).state ?? '')).toEqual({
      state: 'Healthy',
      target: 'ner',
    });
  });
});
