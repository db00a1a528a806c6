import { describe, expect, it } from 'vitest';
import type { NerDeployment, NerDeploymentStatus } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import { analysisQueries, decideAnalysis, type AnalysisDecision, type Measurements } from './analysis.js';
import { analysisDue, canaryReplicas, nextAnalysisMs, stepRollout, stepsHash, type RolloutInput } from './rollout.js';
import { candidateGate } from './gates.js';
import { nerDeployment, nerModel, readyStatus } from '../../testing/builders.js';

const T0 = new Date('2025-01-01T00:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const iso = (s: number) =>
  at(s)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
const STEPS = [
  { weight: 10, pauseSeconds: 60 },
  { weight: 50, pauseSeconds: 60 },
];
const HASH = stepsHash(STEPS);

function nd(status: NerDeploymentStatus = {}, mod: (x: NerDeployment) => void = () => {}): NerDeployment {
  return nerDeployment(
    { spec: { replicas: { min: 2, max: 5 } }, rollout: { steps: STEPS }, status: { stableModel: 'v1', ...status } },
    mod,
  );
}

function model(name: string, f1: number | null = 0.9, phase: 'Ready' | 'Validating' | 'Rejected' = 'Ready'): NerModel {
  return nerModel({
    name,
    spec: { version: '1' },
    source: { uri: 'file:///m', digest: 'ab'.repeat(32) },
    status: readyStatus(f1, phase),
  });
}

const pass: AnalysisDecision = {
  outcome: 'Pass',
  result: { outcome: 'Pass', samples: 100, errorRate: 0, p95LatencyMs: 12, message: 'ok' },
};
const fail: AnalysisDecision = {
  outcome: 'Fail',
  result: {
    outcome: 'Fail',
    samples: 100,
    errorRate: 0.5,
    p95LatencyMs: 12,
    message: 'error rate 0.5 > maxErrorRate 0.01',
  },
};
const inconclusive: AnalysisDecision = {
  outcome: 'Inconclusive',
  result: { outcome: 'Inconclusive', message: 'PrometheusUnreachable: down' },
};

function run(input: Partial<RolloutInput> & { nd: NerDeployment }) {
  return stepRollout({ now: at(0), stable: model('v1'), target: model('v2'), canaryReady: true, ...input });
}

/** A rollout at step `idx` whose pause started at t=0. */
const running = (idx: number, extra: NerDeploymentStatus = {}): NerDeploymentStatus => ({
  canaryModel: 'v2',
  currentStepIndex: idx,
  stepsHash: HASH,
  weights: { stable: 100 - (STEPS[idx]?.weight ?? 0), canary: STEPS[idx]?.weight ?? 0 },
  pauseStartTime: iso(0),
  failedAnalyses: 0,
  paused: false,
  ...extra,
});

describe('stepRollout: offline gate', () => {
  it.each([
    ['below minF1', { minF1: 0.95 }, 0.9, 'BelowMinF1', /F1 0.9 is below gates.minF1 0.95/],
    [
      'regression against stable',
      { maxRegression: 0.02 },
      0.85,
      'RegressionTooLarge',
      /regresses 0.0500 against stable v1 F1 0.9/,
    ],
    ['no metrics', { minF1: 0.5 }, null, 'MissingMetrics', /no measured F1/],
  ])('%s → CandidateRejected with the numbers, Event, no traffic', (_n, gates, f1, reason, msg) => {
    const d = run({ nd: nd({}, (x) => (x.spec.gates = gates)), target: model('v2', f1) });
    expect(d.mode).toBe('Stable');
    expect(d.canaryModel).toBeUndefined();
    expect(d.status.weights).toEqual({ stable: 100, canary: 0 });
    expect(d.candidateRejected).toMatchObject({ status: 'True', reason });
    expect(d.candidateRejected?.message).toMatch(msg);
    expect(d.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'CandidateRejected' })]);
    expect(d.status.history?.at(-1)).toMatchObject({ model: 'v2', outcome: 'Rejected' });
    // Re-evaluating the same rejection records nothing new.
    const again = run({ nd: nd(d.status, (x) => (x.spec.gates = gates)), target: model('v2', f1) });
    expect(again.events).toEqual([]);
    expect(again.status.history).toHaveLength(1);
  });

  it('a Validating candidate: wait, no traffic, no rejection', () => {
    const d = run({ nd: nd(), target: model('v2', 0.9, 'Validating') });
    expect(d).toMatchObject({
      mode: 'Stable',
      phase: 'Progressing',
      candidateRejected: { status: 'False', reason: 'ModelNotReady' },
    });
  });

  it('a Rejected NerModel is refused', () => {
    expect(run({ nd: nd(), target: model('v2', 0.9, 'Rejected') }).candidateRejected).toMatchObject({ status: 'True' });
  });

  it('candidateGate passes without gates', () => {
    expect(candidateGate(nd(), model('v2', 0.1), model('v1'))).toBeUndefined();
  });
});

describe('stepRollout: steps', () => {
  it('starts at step 0 with its weight and waits for the candidate pods before the pause starts', () => {
    const d = run({ nd: nd(), canaryReady: false });
    expect(d.status).toMatchObject({
      canaryModel: 'v2',
      currentStepIndex: 0,
      stepsHash: HASH,
      weights: { stable: 90, canary: 10 },
      failedAnalyses: 0,
    });
    expect(d.status.pauseStartTime).toBeUndefined();
    expect(d.mode).toBe('Canary');
    expect(d.events.map((e) => e.reason)).toEqual(['RolloutStarted']);
    const ready = run({ nd: nd(d.status), now: at(5) });
    expect(ready.status.pauseStartTime).toBe(iso(5));
    expect(ready.requeueAfterMs).toBe(30_000);
  });

  it.each([
    ['pass inside the pause: hold', 30, pass, 0, []],
    ['pass after the pause: advance one step', 60, pass, 1, ['StepCompleted']],
    ['inconclusive after the pause: hold, paused', 60, inconclusive, 0, ['AnalysisInconclusive']],
    ['first fail (limit 1): counted, hold', 60, fail, 0, ['AnalysisFailed']],
  ])('%s', (_n, t, analysis, nextIdx, reasons) => {
    const d = run({ nd: nd(running(0)), now: at(t), analysis });
    expect(d.status.currentStepIndex).toBe(nextIdx);
    expect(d.events.map((e) => e.reason)).toEqual(reasons);
    expect(d.status.lastAnalysis).toMatchObject({ time: iso(t), stepIndex: 0, outcome: analysis.outcome });
    if (nextIdx === 1) {
      expect(d.events[0]?.note).toBe('Step 1/2 completed (10%)');
      expect(d.status.weights).toEqual({ stable: 50, canary: 50 });
      expect(d.status.pauseStartTime).toBeUndefined();
    }
    if (analysis === inconclusive)
      expect(d).toMatchObject({
        phase: 'Paused',
        paused: { status: 'True', reason: 'AnalysisInconclusive' },
        status: { paused: true },
      });
  });

  it('a pass after the pause completes the step only once its pause is over, then at most one step', () => {
    const passed = running(0, { lastAnalysis: { time: iso(30), stepIndex: 0, outcome: 'Pass' } });
    expect(run({ nd: nd(passed), now: at(45) }).status.currentStepIndex).toBe(0);
    const d = run({ nd: nd(passed), now: at(61) });
    expect(d.status.currentStepIndex).toBe(1);
    // The next step's pause waits for its pods; a stale pass of step 0 does not complete step 1.
    const next = run({ nd: nd(d.status), now: at(200) });
    expect(next.status.currentStepIndex).toBe(1);
    expect(next.status.pauseStartTime).toBe(iso(200));
  });

  it('inconclusive never promotes; a later pass resumes', () => {
    const held = run({ nd: nd(running(1)), now: at(60), analysis: inconclusive });
    expect(held.mode).toBe('Canary');
    expect(held.status.stableModel).toBe('v1');
    const again = run({ nd: nd(held.status), now: at(90), analysis: inconclusive });
    expect(again.events).toEqual([]); // no repeated Event while still inconclusive
    expect(again.status.paused).toBe(true);
    const resumed = run({ nd: nd(again.status), now: at(120), analysis: pass });
    expect(resumed.status.stableModel).toBe('v2');
    expect(resumed.events.map((e) => e.reason)).toEqual(['StepCompleted', 'RolloutPromoted']);
  });

  it('after the last step: promote, history recorded, traffic 100% on the new stable', () => {
    const d = run({ nd: nd(running(1)), now: at(60), analysis: pass });
    expect(d.mode).toBe('Stable');
    expect(d.status).toMatchObject({ stableModel: 'v2', weights: { stable: 100, canary: 0 } });
    expect(d.status.canaryModel).toBeUndefined();
    expect(d.status.currentStepIndex).toBeUndefined();
    expect(d.status.history).toEqual([
      {
        model: 'v2',
        previousModel: 'v1',
        outcome: 'Promoted',
        endTime: iso(60),
        stepsCompleted: 2,
        message: 'all 2 steps completed',
      },
    ]);
  });

  it('failures past failureLimit abort: traffic back, RolledBack, measurements in the Event', () => {
    const d = run({ nd: nd(running(1, { failedAnalyses: 1 })), now: at(30), analysis: fail });
    expect(d).toMatchObject({ mode: 'Aborted', canaryModel: 'v2', phase: 'RolledBack' });
    expect(d.status).toMatchObject({ stableModel: 'v1', rejectedModel: 'v2', weights: { stable: 100, canary: 0 } });
    expect(d.status.abortReason).toMatch(
      /2 failed analyses > failureLimit 1; last: error rate 0.5 > maxErrorRate 0.01/,
    );
    expect(d.events.map((e) => [e.type, e.reason])).toEqual([
      ['Warning', 'AnalysisFailed'],
      ['Warning', 'RolloutAborted'],
    ]);
    expect(d.status.history?.at(-1)).toMatchObject({ model: 'v2', outcome: 'RolledBack', stepsCompleted: 1 });
    // Stays rolled back; not retried.
    const later = run({ nd: nd(d.status), now: at(100) });
    expect(later).toMatchObject({ mode: 'Aborted', phase: 'RolledBack', events: [] });
    // A newer candidate supersedes the rollback.
    const v3 = run({ nd: nd(d.status, (x) => (x.spec.model = 'v3')), target: model('v3'), now: at(200) });
    expect(v3.status).toMatchObject({ canaryModel: 'v3', currentStepIndex: 0 });
    expect(v3.status.rejectedModel).toBeUndefined();
  });

  it('a newer candidate supersedes a running rollout', () => {
    const d = run({ nd: nd(running(1)), target: model('v3') });
    expect(d.status).toMatchObject({ canaryModel: 'v3', currentStepIndex: 0, weights: { canary: 10 } });
    expect(d.status.history?.at(-1)).toMatchObject({ model: 'v2', outcome: 'Superseded' });
    expect(d.events.map((e) => e.reason)).toEqual(['RolloutSuperseded', 'RolloutStarted']);
  });

  it('a changed step list restarts the rollout', () => {
    const d = run({ nd: nd(running(1, { stepsHash: 'old' })), now: at(10) });
    expect(d.status).toMatchObject({ currentStepIndex: 0, stepsHash: HASH, pauseStartTime: iso(10) });
    expect(d.events[0]?.note).toMatch(/steps changed, rollout restarted/);
  });

  it('resuming from status alone: an analysis is due one interval after the last recorded one', () => {
    const s = running(0, { lastAnalysis: { time: iso(30), stepIndex: 0, outcome: 'Pass' } });
    expect(nextAnalysisMs(nd(s))).toBe(at(60).getTime());
    expect(analysisDue(nd(s), at(59))).toBe(false);
    expect(analysisDue(nd(s), at(60))).toBe(true);
    expect(analysisDue(nd({}), at(60))).toBe(false);
  });
});

describe('stepRollout: shadow phase', () => {
  const shadow = (x: NerDeployment) => (x.spec.shadow = { percent: 20, durationSeconds: 30 });
  it('starts with weight 0, mirrors, then moves to step 0 after a passing analysis', () => {
    const d = run({ nd: nd({}, shadow) });
    expect(d).toMatchObject({ mode: 'Shadow', status: { weights: { stable: 100, canary: 0 }, currentStepIndex: 0 } });
    const analysed = run({ nd: nd(d.status, shadow), now: at(30), analysis: pass });
    expect(analysed.status.lastAnalysis?.stepIndex).toBe(-1);
    expect(analysed.status.weights).toEqual({ stable: 90, canary: 10 });
    expect(analysed.mode).toBe('Canary');
    expect(analysed.events[0]?.reason).toBe('StepCompleted');
  });
});

describe('stepRollout: manual control', () => {
  it.each([
    ['pause', { phase: 'Paused', consumeAction: false }, ['RolloutPaused']],
    ['abort', { phase: 'RolledBack', mode: 'Aborted', consumeAction: true }, ['RolloutAborted']],
    ['promote', { mode: 'Stable', consumeAction: true, status: { stableModel: 'v2' } }, ['RolloutPromoted']],
  ])('%s', (action, expected, reasons) => {
    const d = run({ nd: nd(running(0)), now: at(10), action });
    expect(d).toMatchObject(expected);
    expect(d.events.map((e) => e.reason)).toEqual(reasons);
  });

  it('paused by user: a passing analysis after the pause does not advance; resume does', () => {
    const paused = run({ nd: nd(running(0, { paused: true })), now: at(60), analysis: pass, action: 'pause' });
    expect(paused.status.currentStepIndex).toBe(0);
    const resumed = run({ nd: nd(paused.status), now: at(61), action: 'resume' });
    expect(resumed.status.currentStepIndex).toBe(1);
    expect(resumed.consumeAction).toBe(true);
    expect(resumed.events.map((e) => e.reason)).toEqual(['RolloutResumed', 'StepCompleted']);
  });
});

describe('routing and spec problems', () => {
  it('a router problem is refused: no traffic moves', () => {
    const d = run({ nd: nd(), routingProblem: 'HTTPRoute r not found' });
    expect(d).toMatchObject({
      mode: 'Stable',
      progressing: { status: 'False', reason: 'UnsupportedRouting', message: 'HTTPRoute r not found' },
    });
  });

  it.each([
    [10, 1, 1],
    [10, 4, 1],
    [25, 4, 1],
    [50, 4, 2],
    [50, 5, 3],
    [100, 3, 3],
  ])('canaryReplicas(weight %i, stable %i) = %i', (w, stable, want) => {
    expect(canaryReplicas(w, stable)).toBe(want);
  });
});

describe('decideAnalysis', () => {
  const t = { maxErrorRate: 0.01, maxP95LatencyMs: 100, minSampleCount: 50 };
  it.each<
    [
      string,
      Measurements,
      { maxErrorRate: number; maxP95LatencyMs: number; minSampleCount: number; minShadowAgreement?: number },
      boolean,
      string,
      RegExp,
    ]
  >([
    [
      'healthy',
      { ok: true, samples: 120, errors: 0, p95Seconds: 0.02 },
      t,
      false,
      'Pass',
      /error rate 0 <= 0.01, p95 20 ms <= 100 ms \(120 candidate requests\)/,
    ],
    [
      'errors',
      { ok: true, samples: 100, errors: 5, p95Seconds: 0.02 },
      t,
      false,
      'Fail',
      /error rate 0.05 > maxErrorRate 0.01/,
    ],
    [
      'slow',
      { ok: true, samples: 100, errors: 0, p95Seconds: 0.25 },
      t,
      false,
      'Fail',
      /p95 latency 250 ms > maxP95LatencyMs 100/,
    ],
    [
      'too few samples',
      { ok: true, samples: 10, errors: 10, p95Seconds: 9 },
      t,
      false,
      'Inconclusive',
      /too few samples: 10 candidate requests < minSampleCount 50/,
    ],
    ['no series', { ok: true }, t, false, 'Inconclusive', /too few samples: 0/],
    ['no histogram', { ok: true, samples: 100, errors: 0 }, t, false, 'Inconclusive', /no latency histogram/],
    [
      'Prometheus down',
      { ok: false, reason: 'PrometheusUnreachable', message: 'connection refused' },
      t,
      false,
      'Inconclusive',
      /PrometheusUnreachable: connection refused/,
    ],
    [
      'agreement too low (shadow)',
      { ok: true, samples: 100, errors: 0, p95Seconds: 0.01, shadowSamples: 80, shadowAgreement: 0.7 },
      { ...t, minShadowAgreement: 0.9 },
      true,
      'Fail',
      /shadow agreement 0.7 < minShadowAgreement 0.9/,
    ],
    [
      'agreement ok (shadow)',
      { ok: true, samples: 100, errors: 0, p95Seconds: 0.01, shadowSamples: 80, shadowAgreement: 0.95 },
      { ...t, minShadowAgreement: 0.9 },
      true,
      'Pass',
      /shadow agreement 0.95 >= 0.9/,
    ],
    [
      'too few mirrored requests (shadow)',
      { ok: true, samples: 100, errors: 0, p95Seconds: 0.01, shadowSamples: 3, shadowAgreement: 0.2 },
      { ...t, minShadowAgreement: 0.9 },
      true,
      'Inconclusive',
      /too few samples: 3 mirrored requests < minSampleCount 50/,
    ],
    [
      'every mirrored request refused (401) is a shadow error, not a sample (shadow)',
      { ok: true, samples: 100, errors: 0, p95Seconds: 0.01, shadowSamples: 0, shadowErrors: 100 },
      t,
      true,
      'Fail',
      /shadow error rate 1 > maxErrorRate 0.01 \(100 mirrored requests\)/,
    ],
    [
      'zero comparisons is never a pass, even without minShadowAgreement (shadow)',
      { ok: true, samples: 100, errors: 0, p95Seconds: 0.01, shadowErrors: 0 },
      t,
      true,
      'Inconclusive',
      /too few samples: 0 mirrored requests/,
    ],
    [
      'too few comparisons among tolerated errors (shadow)',
      { ok: true, samples: 100, errors: 0, p95Seconds: 0.01, shadowSamples: 40, shadowErrors: 15 },
      { ...t, maxErrorRate: 0.5 },
      true,
      'Inconclusive',
      /too few shadow comparisons: 40 < minSampleCount 50/,
    ],
    [
      'enough comparisons, no agreement threshold (shadow)',
      { ok: true, samples: 0, errors: 0, p95Seconds: 0.01, shadowSamples: 80, shadowErrors: 0, shadowAgreement: 0.5 },
      t,
      true,
      'Pass',
      /error rate 0 <= 0.01, p95 10 ms <= 100 ms \(80 mirrored requests\)/,
    ],
    [
      'agreement not checked outside shadow',
      { ok: true, samples: 100, errors: 0, p95Seconds: 0.01 },
      { ...t, minShadowAgreement: 0.9 },
      false,
      'Pass',
      /p95 10 ms/,
    ],
  ])('%s → expected outcome', (_n, m, th, shadow, outcome, msg) => {
    const d = decideAnalysis(m, th, shadow);
    expect(d.outcome).toBe(outcome);
    expect(d.result.outcome).toBe(outcome);
    expect(d.result.message).toMatch(msg);
  });

  it('PromQL: candidate track, summed over pods, p95 from the histogram', () => {
    const q = analysisQueries(nd(), 30);
    expect(q.samples).toBe(
      'sum(increase(nerops_requests_total{namespace="ns",deployment="notes",track="canary"}[30s]))',
    );
    expect(q.errors).toBe(
      'sum(increase(nerops_requests_total{namespace="ns",deployment="notes",track="canary",code=~"5.."}[30s])) or vector(0)',
    );
    expect(q.p95Seconds).toBe(
      'histogram_quantile(0.95, sum by (le) (rate(nerops_request_duration_seconds_bucket{namespace="ns",deployment="notes",track="canary"}[30s])))',
    );
    expect(q.shadowAgreement).toContain(
      'nerops_shadow_agreement_sum{namespace="ns",deployment="notes",track="stable"}',
    );
    expect(q.shadowErrors).toBe(
      'sum(increase(nerops_shadow_errors_total{namespace="ns",deployment="notes",track="stable"}[30s])) or vector(0)',
    );
  });
});
