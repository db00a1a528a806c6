import type { V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DriftPolicySpecSchema, type DriftPolicy } from '../../api/driftpolicy.js';
import type { NerModel } from '../../api/nermodel.js';
import type { InstantQueryResult, MetricsQuerier } from '../../prometheus/client.js';
import { PrometheusUnreachableError } from '../../prometheus/client.js';
import { desiredRetrainJob, desiredRetrainedModel, runIdFor } from './desired.js';
import { evaluateDrift, type Gathered, type WindowMeasurements } from './evaluate.js';
import { BASE_MODEL_ANNOTATION, evaluationDue, planPolicy, type PolicyObserved } from './plan.js';
import { customQuery, driftQueries, gatherMeasurements } from './queries.js';
import { encodeRetrainResult, RetrainingEnv } from '../../../contracts/retraining-job.js';
import { driftPolicy, nerModel } from '../../testing/builders.js';

const T0 = new Date('2024-05-06T10:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const MIN = 60_000;

const baseline = {
  profileVersion: 1,
  documents: 100,
  tokens: 2000,
  entities: 100,
  labelDistribution: { DISEASE: 0.5, TREATMENT: 0.5 },
  confidence: { bounds: [0.5, 0.9], counts: [10, 30, 60] },
  documentLength: { bounds: [10, 20], counts: [20, 50, 30] },
  unknownTokenRate: 0.02,
};

function model(name = 'clinical-v1', mod: (m: NerModel) => void = () => {}): NerModel {
  return nerModel(
    {
      name,
      metadata: { uid: `uid-${name}` },
      spec: { entityTypes: ['DISEASE', 'TREATMENT'] },
      source: { uri: 'file:///models/v1', digest: 'a'.repeat(64) },
      status: { phase: 'Ready', baseline },
    },
    mod,
  );
}

/** In-distribution traffic: proportions equal to the baseline. */
const healthy: WindowMeasurements = {
  documents: 500,
  labelCounts: { DISEASE: 250, TREATMENT: 250 },
  confidence: { counts: [50, 150, 300] },
  documentLength: { counts: [100, 250, 150] },
  tokens: 10_000,
  unknownTokens: 200,
};
/** Shifted traffic: the label mix moves (JS distance ≈ 0.174 → warning 0.1, below critical 0.25). */
const shifted: WindowMeasurements = { ...healthy, labelCounts: { DISEASE: 350, TREATMENT: 150 } };
/** Far off: unknown-token rate up by 0.3 (critical 0.15). */
const critical: WindowMeasurements = { ...healthy, unknownTokens: 3200 };

function observe(
  p: DriftPolicy,
  now: Date,
  m: WindowMeasurements | Gathered | undefined,
  extra: Partial<PolicyObserved> = {},
): PolicyObserved {
  const serving = extra.servingModel === undefined && !('servingModel' in extra) ? model() : extra.servingModel;
  const gathered: Gathered | undefined = m === undefined ? undefined : 'ok' in m ? m : { ok: true, measurements: m };
  return {
    policy: p,
    now,
    image: 'nerops:test',
    targetFound: true,
    servingModel: serving,
    models: serving ? [serving] : [],
    jobs: [],
    terminated: {},
    evaluation: gathered
      ? evaluateDrift({
          spec: p.spec,
          model: serving?.metadata.name,
          baseline: serving?.status?.baseline,
          gathered,
          previous: p.status?.lastEvaluation,
          now,
        })
      : undefined,
    datasetVersion: undefined,
    ...extra,
  };
}

/** Runs a sequence of evaluations, feeding each status back like the API server would. */
function run(
  p: DriftPolicy,
  steps: Array<{ t: number; m?: WindowMeasurements | Gathered; extra?: Partial<PolicyObserved> }>,
) {
  const plans = [];
  let cur = p;
  for (const s of steps) {
    const plan = planPolicy(observe(cur, at(s.t), s.m, s.extra));
    plans.push(plan);
    cur = { ...cur, status: plan.status };
  }
  return { plans, policy: cur };
}

describe('evaluateDrift', () => {
  it('Healthy traffic: every built-in signal ≈ 0, with samples', () => {
    const e = evaluateDrift({
      spec: driftPolicy().spec,
      model: 'm',
      baseline,
      gathered: { ok: true, measurements: healthy },
      previous: undefined,
      now: T0,
    });
    expect(e.state).toBe('Healthy');
    expect(e.evaluation.samples).toBe(500);
    expect(e.evaluation.signals).toEqual([
      { name: 'label-distribution', value: 0, warning: 0.1, critical: 0.25, samples: 500, level: 'Ok', breaches: 0 },
      { name: 'confidence', value: 0, warning: 0.1, critical: 0.25, samples: 500, level: 'Ok', breaches: 0 },
      { name: 'document-length', value: 0, warning: 0.1, critical: 0.25, samples: 500, level: 'Ok', breaches: 0 },
      { name: 'unknown-token-rate', value: 0, warning: 0.05, critical: 0.15, samples: 10000, level: 'Ok', breaches: 0 },
    ]);
  });

  it.each([
    [
      'Prometheus down → MetricsUnavailable',
      { ok: false, reason: 'PrometheusUnreachable', message: 'down' } as Gathered,
      baseline,
      'MetricsUnavailable',
      'PrometheusUnreachable',
    ],
    [
      'no data at all → InsufficientData',
      { ok: true, measurements: { documents: undefined } } as Gathered,
      baseline,
      'InsufficientData',
      'InsufficientData',
    ],
    [
      'below minSamples → InsufficientData',
      { ok: true, measurements: { ...healthy, documents: 199 } } as Gathered,
      baseline,
      'InsufficientData',
      'InsufficientData',
    ],
    [
      'no baseline → InsufficientData (NoBaseline)',
      { ok: true, measurements: healthy } as Gathered,
      undefined,
      'InsufficientData',
      'NoBaseline',
    ],
  ])('%s', (_n, gathered, b, state, reason) => {
    const e = evaluateDrift({
      spec: driftPolicy().spec,
      model: 'm',
      baseline: b,
      gathered,
      previous: undefined,
      now: T0,
    });
    expect(e).toMatchObject({ state, reason });
    expect(e.evaluation.signals.every((s) => s.level === 'NoData' && s.breaches === 0)).toBe(true);
  });

  it('histogram bounds that differ from the baseline give NoData for that signal, with a note', () => {
    const e = evaluateDrift({
      spec: driftPolicy().spec,
      model: 'm',
      baseline,
      gathered: { ok: true, measurements: { ...healthy, confidence: { error: 'bucket bounds differ' } } },
      previous: undefined,
      now: T0,
    });
    expect(e.evaluation.signals.find((s) => s.name === 'confidence')).toMatchObject({ level: 'NoData' });
    expect(e.evaluation.message).toContain('confidence: bucket bounds differ');
  });

  it('a promql signal uses the custom value', () => {
    const p = driftPolicy({ signals: [{ name: 'error-rate', type: 'promql', query: 'x', warning: 0.5, critical: 1 }] });
    const e = evaluateDrift({
      spec: p.spec,
      model: 'm',
      baseline,
      gathered: { ok: true, measurements: { ...healthy, custom: { 'error-rate': 0.7 } } },
      previous: undefined,
      now: T0,
    });
    expect(e.evaluation.signals[0]).toMatchObject({ value: 0.7, level: 'Warning', breaches: 1 });
  });
});

describe('groundTruthF1 signal', () => {
  const f1Policy = (minSamples?: number) =>
    driftPolicy({
      consecutiveBreaches: 1,
      signals: [
        {
          name: 'live-f1',
          type: 'groundTruthF1',
          warning: 0.8,
          critical: 0.6,
          window: '6h',
          ...(minSamples ? { minSamples } : {}),
        },
      ],
    });
  const evaluate = (counts: { tp: number; fp: number; fn: number }, minSamples?: number, previous?: never) =>
    evaluateDrift({
      spec: f1Policy(minSamples).spec,
      model: 'm',
      baseline,
      gathered: { ok: true, measurements: { ...healthy, groundTruth: { 'live-f1': counts } } },
      previous,
      now: T0,
    });

  it.each([
    // F1 = 2·TP / (2·TP + FP + FN); samples are the gold entities, TP + FN.
    [{ tp: 450, fp: 50, fn: 50 }, 0.9, 'Ok', 'Healthy'],
    [{ tp: 350, fp: 150, fn: 150 }, 0.7, 'Warning', 'Warning'],
    [{ tp: 250, fp: 250, fn: 250 }, 0.5, 'Critical', 'Critical'],
  ])('%j → F1 %s, %s (lower is worse)', (counts, f1, level, state) => {
    const e = evaluate(counts);
    expect(e.evaluation.signals[0]).toMatchObject({
      value: f1,
      samples: counts.tp + counts.fn,
      level,
      warning: 0.8,
      critical: 0.6,
    });
    expect(e.state).toBe(state);
    if (state !== 'Healthy') expect(e.message).toContain(`live-f1=${f1} (<= `);
  });

  it('is InsufficientData below minSamples gold entities (default 200), never a breach', () => {
    const low = evaluate({ tp: 50, fp: 100, fn: 100 });
    expect(low.evaluation.signals[0]).toMatchObject({ samples: 150, level: 'InsufficientData', breaches: 0 });
    expect(low.state).toBe('Healthy');
    expect(evaluate({ tp: 50, fp: 100, fn: 100 }, 100).evaluation.signals[0]).toMatchObject({ level: 'Critical' });
    expect(evaluate({ tp: 0, fp: 0, fn: 0 }).evaluation.signals[0]).toMatchObject({ level: 'InsufficientData' });
  });

  it('validates its thresholds downwards and keeps window and minSamples to itself', () => {
    const parse = (signal: Record<string, unknown>) =>
      DriftPolicySpecSchema.safeParse({
        targetRef: { name: 'ner' },
        retraining: { datasetUri: 'pvc://datasets/train.conll' },
        signals: [signal],
      }).success;
    expect(parse({ name: 'f1', type: 'groundTruthF1', warning: 0.8, critical: 0.6, minSamples: 500 })).toBe(true);
    expect(parse({ name: 'f1', type: 'groundTruthF1', warning: 0.6, critical: 0.8 })).toBe(false);
    expect(parse({ name: 'f1', type: 'groundTruthF1', warning: 1.5, critical: 0.8 })).toBe(false);
    expect(parse({ name: 'u', type: 'unknownTokenRate', warning: 0.1, critical: 0.2, minSamples: 5 })).toBe(false);
    expect(parse({ name: 'u', type: 'unknownTokenRate', warning: 0.1, critical: 0.2, window: '1h' })).toBe(false);
  });

  it("queries the serving model's feedback outcomes over the signal's own window", async () => {
    const t = { namespace: 'ns', deployment: 'ner', model: 'clinical-v2' };
    const want =
      'sum by (outcome) (increase(nerops_feedback_entities_total{namespace="ns",deployment="ner",track="stable",model="clinical-v2"}[6h]))';
    const fake: MetricsQuerier = {
      query: async (q) =>
        q === want
          ? {
              value: undefined,
              samples: [
                { labels: { outcome: 'tp' }, value: 90 },
                { labels: { outcome: 'fp' }, value: 10 },
                { labels: { outcome: 'fn' }, value: 30 },
              ],
            }
          : { value: 0, samples: [] },
    };
    const g = await gatherMeasurements(fake, f1Policy().spec, t, baseline);
    expect(g).toMatchObject({ ok: true, measurements: { groundTruth: { 'live-f1': { tp: 90, fp: 10, fn: 30 } } } });
  });
});

describe('planPolicy: hysteresis, actions, cooldown, approval', () => {
  it('Warning needs consecutiveBreaches evaluations; then one retraining Job with the contract env', () => {
    const { plans } = run(driftPolicy(), [
      { t: 0, m: shifted },
      { t: MIN, m: shifted },
    ]);
    expect(plans[0]?.status.state).toBe('Healthy');
    expect(plans[0]?.status.lastEvaluation?.signals[0]).toMatchObject({ level: 'Warning', breaches: 1 });
    expect(plans[0]?.createJob).toBeUndefined();
    const p = plans[1]!;
    expect(p.status.state).toBe('Warning');
    expect(p.events.map((e) => e.reason)).toEqual(['DriftWarning', 'RetrainingStarted']);
    const runId = runIdFor(at(MIN), 'Drift');
    expect(runId).toBe('20240506-100100-drift');
    expect(p.createJob?.metadata?.name).toBe(`drift-${runId}`);
    expect(p.status.activeJob).toEqual({
      name: `drift-${runId}`,
      runId,
      trigger: 'Drift',
      startTime: '2024-05-06T10:01:00Z',
    });
    const env = p.createJob?.spec?.template?.spec?.containers?.[0]?.env ?? [];
    expect(env).toEqual(
      expect.arrayContaining([
        { name: RetrainingEnv.BaseModelUri, value: 'file:///models/v1' },
        { name: RetrainingEnv.DatasetUri, value: 'file:///data/train.conll' },
        { name: RetrainingEnv.OutputUri, value: `file:///out/${runId}` },
        { name: RetrainingEnv.RunId, value: runId },
      ]),
    );
    expect(p.createJob?.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'DriftPolicy',
      name: 'drift',
      controller: true,
    });
    expect(p.createJob?.metadata?.annotations?.[BASE_MODEL_ANNOTATION]).toBe('clinical-v1');
    expect(p.status.conditions?.find((c) => c.type === 'Retraining')).toMatchObject({
      status: 'True',
      reason: 'JobRunning',
    });
  });

  it('a breach interrupted by a healthy evaluation starts counting again', () => {
    const { plans } = run(driftPolicy(), [
      { t: 0, m: shifted },
      { t: MIN, m: healthy },
      { t: 2 * MIN, m: shifted },
    ]);
    expect(plans.map((p) => p.status.state)).toEqual(['Healthy', 'Healthy', 'Healthy']);
    expect(plans[2]?.status.lastEvaluation?.signals[0]?.breaches).toBe(1);
    expect(plans.some((p) => p.createJob)).toBe(false);
  });

  it('MetricsUnavailable and InsufficientData never retrain and reset the breach count', () => {
    const { plans } = run(driftPolicy(), [
      { t: 0, m: shifted },
      { t: MIN, m: { ok: false, reason: 'PrometheusUnreachable', message: 'connection refused' } },
      { t: 2 * MIN, m: shifted },
      { t: 3 * MIN, m: { ...shifted, documents: 3 } },
    ]);
    expect(plans.map((p) => p.status.state)).toEqual(['Healthy', 'MetricsUnavailable', 'Healthy', 'InsufficientData']);
    expect(plans.some((p) => p.createJob)).toBe(false);
    expect(plans[1]?.status.conditions?.find((c) => c.type === 'MetricsAvailable')).toMatchObject({
      status: 'False',
      reason: 'PrometheusUnreachable',
    });
    expect(plans[1]?.events.map((e) => e.reason)).toEqual(['MetricsUnavailable']);
  });

  it('Critical alerts (Event, condition) and does not retrain with onCritical: Alert', () => {
    const { plans } = run(driftPolicy(), [
      { t: 0, m: critical },
      { t: MIN, m: critical },
    ]);
    const p = plans[1]!;
    expect(p.status.state).toBe('Critical');
    expect(p.events.map((e) => e.reason)).toEqual(['DriftCritical']);
    expect(p.createJob).toBeUndefined();
    expect(p.status.conditions?.find((c) => c.type === 'CriticalDrift')).toMatchObject({
      status: 'True',
      reason: 'CriticalThresholdExceeded',
    });
  });

  it('Critical retrains too with onCritical: Retrain', () => {
    const { plans } = run(driftPolicy({ onCritical: 'Retrain' }), [
      { t: 0, m: critical },
      { t: MIN, m: critical },
    ]);
    expect(plans[1]?.createJob).toBeDefined();
  });

  it.each([
    ['suspend', { suspend: true }, 'Suspended'],
    ['onWarning: Alert', { onWarning: 'Alert' as const }, 'AsExpected'],
    ['drift trigger off', { triggers: { drift: false } }, 'AsExpected'],
  ])('%s → no Job (Retraining reason %s)', (_n, spec, reason) => {
    const { plans } = run(driftPolicy(spec), [
      { t: 0, m: shifted },
      { t: MIN, m: shifted },
    ]);
    expect(plans[1]?.status.state).toBe('Warning');
    expect(plans[1]?.createJob).toBeUndefined();
    expect(plans[1]?.status.conditions?.find((c) => c.type === 'Retraining')).toMatchObject({
      status: 'False',
      reason,
    });
  });

  it('maxConcurrentRuns: a running Job blocks the next one; cooldown blocks after it finished', () => {
    const first = run(driftPolicy({ cooldown: '1h' }), [
      { t: 0, m: shifted },
      { t: MIN, m: shifted },
    ]);
    const job = finishedJob(first.plans[1]!.createJob!, 'Complete', at(10 * MIN));
    const running: V1Job = { ...first.plans[1]!.createJob!, status: {} };
    const next = run(first.policy, [
      { t: 2 * MIN, m: shifted, extra: { jobs: [running] } },
      {
        t: 20 * MIN,
        m: shifted,
        extra: { jobs: [job], terminated: { [job.metadata!.name!]: { exitCode: 0, message: okResult } } },
      },
      { t: 30 * MIN, m: shifted, extra: { jobs: [job] } },
      { t: 62 * MIN, m: shifted, extra: { jobs: [job] } },
    ]);
    expect(next.plans[0]?.createJob).toBeUndefined();
    expect(next.plans[0]?.status.conditions?.find((c) => c.type === 'Retraining')).toMatchObject({
      status: 'True',
      reason: 'JobRunning',
    });
    expect(next.plans[1]?.createModels).toHaveLength(1);
    expect(next.plans[2]?.createJob).toBeUndefined();
    expect(next.plans[2]?.status.conditions?.find((c) => c.type === 'Retraining')).toMatchObject({
      status: 'False',
      reason: 'CoolingDown',
    });
    expect(next.plans[2]?.requeueAfterMs).toBeLessThanOrEqual(MIN);
    expect(next.plans[3]?.createJob).toBeDefined();
  });

  it('approval: Manual parks the run until the approve annotation names it', () => {
    const first = run(driftPolicy({ approval: 'Manual' }), [
      { t: 0, m: shifted },
      { t: MIN, m: shifted },
      { t: 2 * MIN, m: shifted },
    ]);
    const runId = runIdFor(at(MIN), 'Drift');
    expect(first.plans[1]?.createJob).toBeUndefined();
    expect(first.plans[1]?.status.activeJob).toMatchObject({ runId, awaitingApproval: true });
    expect(first.plans[1]?.events.map((e) => e.reason)).toEqual(['DriftWarning', 'RetrainingAwaitingApproval']);
    expect(first.plans[2]?.createJob).toBeUndefined();
    expect(first.plans[2]?.status.conditions?.find((c) => c.type === 'AwaitingApproval')).toMatchObject({
      status: 'True',
      reason: 'AwaitingApproval',
    });
    expect(first.plans[2]?.status.conditions?.find((c) => c.type === 'Retraining')?.message).toContain(
      `nerops.io/approve=${runId}`,
    );
    const approved = {
      ...first.policy,
      metadata: {
        ...first.policy.metadata,
        annotations: {
          'nerops.io/approve': runId,
          'nerops.io/approved-by': 'alice',
          'nerops.io/approval-comment': 'ok',
        },
      },
    };
    const p = planPolicy(observe(approved, at(3 * MIN), undefined));
    expect(p.createJob?.metadata?.name).toBe(`drift-${runId}`);
    expect(p.status.activeJob).toMatchObject({ runId, trigger: 'Drift' });
    expect(p.status.activeJob?.awaitingApproval).toBeUndefined();
    expect(p.status.conditions?.find((c) => c.type === 'AwaitingApproval')?.status).toBe('False');
    expect(p.status.activeJob?.approval).toEqual({
      approver: 'alice',
      target: runId,
      time: at(3 * MIN)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      comment: 'ok',
    });
    expect(p.events.map((e) => e.reason)).toEqual(['Approved', 'RetrainingStarted']);
    expect(p.events[0]?.note).toBe(`run ${runId} approved by alice: ok`);
  });

  it('approval: Manual ignores an approval without an approver, or for another run', () => {
    const first = run(driftPolicy({ approval: 'Manual' }), [
      { t: 0, m: shifted },
      { t: MIN, m: shifted },
    ]);
    const runId = runIdFor(at(MIN), 'Drift');
    for (const annotations of <Record<string, string>[]>[
      { 'nerops.io/approve': runId },
      { 'nerops.io/approve': 'another-run', 'nerops.io/approved-by': 'alice' },
    ]) {
      const p = planPolicy(
        observe({ ...first.policy, metadata: { ...first.policy.metadata, annotations } }, at(3 * MIN), undefined),
      );
      expect(p.createJob).toBeUndefined();
      expect(p.status.activeJob?.awaitingApproval).toBe(true);
    }
  });

  it('manual trigger annotation: one run per new value, even within the cooldown', () => {
    const p0 = driftPolicy({}, (p) => (p.metadata.annotations = { 'nerops.io/retrain': 'please' }));
    const { plans, policy: after } = run(p0, [{ t: 0, m: healthy }]);
    expect(plans[0]?.createJob?.metadata?.name).toBe('drift-20240506-100000-manual');
    expect(plans[0]?.status.observedRetrainRequest).toBe('please');
    const job = finishedJob(plans[0]!.createJob!, 'Complete', at(5 * MIN));
    const again = run(after, [
      {
        t: 10 * MIN,
        m: healthy,
        extra: { jobs: [job], terminated: { [job.metadata!.name!]: { exitCode: 0, message: okResult } } },
      },
    ]);
    expect(again.plans[0]?.createJob).toBeUndefined();
    const bumped = {
      ...again.policy,
      metadata: { ...again.policy.metadata, annotations: { 'nerops.io/retrain': 'again' } },
    };
    expect(planPolicy(observe(bumped, at(11 * MIN), undefined, { jobs: [job] })).createJob?.metadata?.name).toBe(
      'drift-20240506-101100-manual',
    );
  });

  it('dataset version: first sight is recorded, a change triggers a run', () => {
    const { plans, policy: after } = run(driftPolicy(), [{ t: 0, m: healthy, extra: { datasetVersion: 'v1' } }]);
    expect(plans[0]?.createJob).toBeUndefined();
    expect(plans[0]?.status.observedDatasetVersion).toBe('v1');
    const p = planPolicy(observe(after, at(MIN), undefined, { datasetVersion: 'v2' }));
    expect(p.createJob?.metadata?.name).toBe('drift-20240506-100100-dataset');
    expect(p.status.observedDatasetVersion).toBe('v2');
  });

  it('cron schedule: starts counting at creation, fires once per tick', () => {
    const { plans, policy: after } = run(driftPolicy({ triggers: { schedule: '0 3 * * *' } }), [{ t: 0, m: healthy }]);
    expect(plans[0]?.createJob).toBeUndefined();
    expect(plans[0]?.status.lastScheduleTime).toBe('2024-05-06T10:00:00Z');
    expect(plans[0]?.requeueAfterMs).toBeLessThanOrEqual(MIN); // the next evaluation comes first
    const tick = new Date('2024-05-07T03:00:30Z').getTime() - T0.getTime();
    const p = planPolicy(observe(after, at(tick), undefined));
    expect(p.createJob?.metadata?.name).toBe('drift-20240507-030030-schedule');
    const later = planPolicy(
      observe({ ...after, status: p.status }, at(tick + 30 * MIN), undefined, {
        jobs: [{ ...p.createJob!, status: {} }],
      }),
    );
    expect(later.createJob).toBeUndefined();
  });

  it('a succeeded Job becomes a NerModel with lineage; a failed one backs off and keeps the serving model', () => {
    const started = run(driftPolicy(), [
      { t: 0, m: shifted },
      { t: MIN, m: shifted },
    ]);
    const job = started.plans[1]!.createJob!;
    const name = job.metadata!.name!;
    const ok = planPolicy(
      observe(started.policy, at(20 * MIN), undefined, {
        jobs: [finishedJob(job, 'Complete', at(15 * MIN))],
        terminated: { [name]: { exitCode: 0, message: okResult } },
      }),
    );
    expect(ok.createModels).toHaveLength(1);
    const m = ok.createModels[0]!;
    expect(m.metadata.name).toBe('clinical-20240506-100100-drift');
    expect(m.spec).toMatchObject({
      family: 'clinical',
      version: '20240506-100100-drift',
      source: { uri: 'file:///out/20240506-100100-drift', digest: 'b'.repeat(64) },
      entityTypes: ['DISEASE', 'TREATMENT'],
      lineage: {
        parentModel: 'clinical-v1',
        datasetDigest: 'c'.repeat(64),
        trainingJob: name,
        driftPolicy: 'drift',
        runId: '20240506-100100-drift',
      },
    });
    expect(m.metadata.ownerReferences).toBeUndefined();
    expect(ok.status.history).toEqual([
      expect.objectContaining({
        outcome: 'Succeeded',
        model: m.metadata.name,
        f1: 0.82,
        baseF1: 0.75,
        completionTime: '2024-05-06T10:15:00Z',
      }),
    ]);
    expect(ok.status.activeJob).toBeUndefined();
    expect(ok.finished).toEqual([{ runId: '20240506-100100-drift', result: 'succeeded' }]);
    expect(ok.events.map((e) => e.reason)).toEqual(['RetrainingSucceeded']);

    const failed = planPolicy(
      observe(started.policy, at(20 * MIN), undefined, {
        jobs: [finishedJob(job, 'Failed', at(15 * MIN))],
        terminated: {
          [name]: {
            exitCode: 3,
            message: encodeRetrainResult({
              resultVersion: 1,
              outcome: 'Failed',
              reason: 'InvalidDataset',
              message: '/data/train.conll:12: label X is not BIO',
            }),
          },
        },
      }),
    );
    expect(failed.createModels).toEqual([]);
    expect(failed.status.consecutiveFailures).toBe(1);
    expect(failed.status.history?.[0]).toMatchObject({
      outcome: 'Failed',
      message: 'InvalidDataset: /data/train.conll:12: label X is not BIO',
    });
    expect(failed.events.map((e) => e.reason)).toEqual(['RetrainingFailed']);
    expect(failed.status.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'JobFailed',
    });
    // Recorded once: the next reconcile with the same finished Job changes nothing about history.
    const again = planPolicy(
      observe({ ...started.policy, status: failed.status }, at(21 * MIN), undefined, {
        jobs: [finishedJob(job, 'Failed', at(15 * MIN))],
      }),
    );
    expect(again.status.history).toHaveLength(1);
    expect(again.events).toEqual([]);
  });

  it('a Job that succeeded without a readable result counts as failed', () => {
    const started = run(
      driftPolicy({}, (p) => (p.metadata.annotations = { 'nerops.io/retrain': '1' })),
      [{ t: 0, m: healthy }],
    );
    const job = finishedJob(started.plans[0]!.createJob!, 'Complete', at(MIN));
    const p = planPolicy(
      observe(started.policy, at(2 * MIN), undefined, {
        jobs: [job],
        terminated: { [job.metadata!.name!]: { exitCode: 0, message: 'some log line' } },
      }),
    );
    expect(p.status.history?.[0]).toMatchObject({
      outcome: 'Failed',
      message: expect.stringContaining('no usable result'),
    });
  });

  it('target missing → MetricsUnavailable/TargetNotFound, no Job', () => {
    const p = planPolicy(
      observe(
        driftPolicy({}, (x) => (x.metadata.annotations = { 'nerops.io/retrain': '1' })),
        T0,
        undefined,
        { targetFound: false, servingModel: undefined },
      ),
    );
    expect(p.status.state).toBe('MetricsUnavailable');
    expect(p.createJob).toBeUndefined();
    expect(p.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'TargetNotFound',
    });
  });

  it('a second identical reconcile produces the same status and no events', () => {
    const first = run(driftPolicy(), [{ t: 0, m: healthy }]);
    const second = planPolicy(observe(first.policy, at(10_000), undefined));
    expect(second.status).toEqual(first.plans[0]?.status);
    expect(second.events).toEqual([]);
  });

  it('evaluationDue: interval, model change, generation change', () => {
    const { policy: p } = run(driftPolicy({ interval: '1m' }), [{ t: 0, m: healthy }]);
    expect(evaluationDue(p, 'clinical-v1', at(30_000))).toBe(false);
    expect(evaluationDue(p, 'clinical-v1', at(MIN))).toBe(true);
    expect(evaluationDue(p, 'clinical-v2', at(30_000))).toBe(true);
    expect(evaluationDue({ ...p, metadata: { ...p.metadata, generation: 2 } }, 'clinical-v1', at(30_000))).toBe(true);
  });
});

describe('desiredRetrainJob', () => {
  it('uses the template, injects the env into every container, keeps its own settings', () => {
    const p = driftPolicy({
      retraining: {
        datasetUri: 'pvc://data/train.conll',
        outputUri: 'pvc://models/runs',
        template: {
          metadata: { labels: { team: 'nlp' } },
          spec: {
            backoffLimit: 2,
            template: {
              spec: {
                containers: [
                  {
                    name: 'ft',
                    image: 'hf:1',
                    env: [
                      { name: 'NEROPS_RUN_ID', value: 'stale' },
                      { name: 'X', value: '1' },
                    ],
                  },
                ],
              },
            },
          },
        },
      },
    });
    const job = desiredRetrainJob({ policy: p, runId: 'r1', trigger: 'Manual', baseModel: model(), image: 'nerops:x' });
    expect(job.spec?.backoffLimit).toBe(2);
    expect(job.metadata?.labels).toMatchObject({
      team: 'nlp',
      'nerops.io/drift-policy': 'drift',
      'nerops.io/run-id': 'r1',
    });
    const env = job.spec?.template?.spec?.containers?.[0]?.env;
    expect(env?.filter((e) => e.name === 'NEROPS_RUN_ID')).toEqual([{ name: 'NEROPS_RUN_ID', value: 'r1' }]);
    expect(env).toContainEqual({ name: 'X', value: '1' });
    expect(env).toContainEqual({ name: 'NEROPS_OUTPUT_URI', value: 'pvc://models/runs/r1' });
    expect(job.spec?.template?.spec?.restartPolicy).toBe('Never');
    expect(job.spec?.activeDeadlineSeconds).toBe(7200);
  });

  it('the default Job runs ner-ops retrain with restricted security and pvc claims mounted', () => {
    const p = driftPolicy({ retraining: { datasetUri: 'pvc://data/train.conll', outputUri: 'pvc://models/runs' } });
    const job = desiredRetrainJob({ policy: p, runId: 'r1', trigger: 'Drift', baseModel: model(), image: 'nerops:x' });
    const c = job.spec?.template?.spec?.containers?.[0];
    expect(c?.command).toEqual(['ner-ops']);
    expect(c?.args).toEqual(['retrain']);
    expect(c?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(
      job.spec?.template?.spec?.volumes
        ?.filter((v) => v.persistentVolumeClaim)
        .map((v) => v.persistentVolumeClaim?.claimName),
    ).toEqual(['data', 'models']);
    expect(c?.volumeMounts?.map((m) => m.mountPath)).toContain('/mnt/nerops/pvc/claims/models');
    // Deterministic: same input, same Job.
    expect(
      desiredRetrainJob({ policy: p, runId: 'r1', trigger: 'Drift', baseModel: model(), image: 'nerops:x' }),
    ).toEqual(job);
  });

  it('the retrained model copies the base model evaluation and credentials', () => {
    const base = model('base', (m) => {
      m.spec.evaluation = { datasetUri: 'file:///data/dev.conll', minMetrics: { f1: 0.5 } };
    });
    const m = desiredRetrainedModel(
      driftPolicy(),
      base,
      { runId: 'r1', jobName: 'drift-r1' },
      { resultVersion: 1, outcome: 'Succeeded', bundleUri: 'file:///out/r1', digest: 'b'.repeat(64) },
    );
    expect(m.spec.evaluation).toEqual(base.spec.evaluation);
    expect(m.metadata.labels).toMatchObject({ 'nerops.io/family': 'clinical', 'nerops.io/drift-policy': 'drift' });
  });
});

describe('operator storage defaults', () => {
  const noOutput = (mod: (p: DriftPolicy) => void = () => {}) =>
    driftPolicy({ retraining: { datasetUri: 'pvc://data/train.conll' } }, mod);
  const manual = (p: DriftPolicy) => (p.metadata.annotations = { 'nerops.io/retrain': '1' });
  const ready = (plan: { status: { conditions?: Array<{ type: string }> } }) =>
    plan.status.conditions?.find((c) => c.type === 'Ready');
  const outputEnv = (job: V1Job | undefined) =>
    job?.spec?.template?.spec?.containers?.[0]?.env?.find((e) => e.name === RetrainingEnv.OutputUri)?.value;

  it('outputUri is optional in the schema', () => {
    expect(
      DriftPolicySpecSchema.parse({ targetRef: { name: 'd' }, retraining: { datasetUri: 'file:///d' } }).retraining
        .outputUri,
    ).toBeUndefined();
  });

  it('without outputUri the Job writes under <default-model-uri>/<namespace>/<policy>/<run id>, and the claim is mounted', () => {
    const p = planPolicy(observe(noOutput(manual), T0, healthy, { storage: { uri: 'pvc://models/nerops/' } }));
    const runId = runIdFor(T0, 'Manual');
    expect(outputEnv(p.createJob)).toBe(`pvc://models/nerops/ns/drift/${runId}`);
    expect(
      p.createJob?.spec?.template?.spec?.volumes
        ?.filter((v) => v.persistentVolumeClaim)
        .map((v) => v.persistentVolumeClaim?.claimName),
    ).toEqual(['data', 'models']);
    expect(ready(p)).toMatchObject({ status: 'True', reason: 'AsExpected' });
    expect(p.events.map((e) => e.reason)).toEqual(['RetrainingStarted']);
    // The retrained model's fallback location follows the same rule.
    const m = desiredRetrainedModel(
      noOutput(),
      model(),
      { runId, jobName: 'j' },
      { resultVersion: 1, outcome: 'Succeeded', digest: 'b'.repeat(64) },
      'file:///srv/models',
    );
    expect(m.spec.source.uri).toBe(`file:///srv/models/ns/drift/${runId}`);
  });

  it("the policy's own outputUri wins over the default", () => {
    const p = planPolicy(observe(driftPolicy({}, manual), T0, healthy, { storage: { uri: 'pvc://models/nerops' } }));
    expect(outputEnv(p.createJob)).toBe(`file:///out/${runIdFor(T0, 'Manual')}`);
  });

  it('without outputUri and without a default: drift is still evaluated, Ready=False OutputUnconfigured, one Event, never a Job', () => {
    const { plans, policy: after } = run(noOutput(manual), [
      { t: 0, m: shifted },
      { t: MIN, m: shifted },
      { t: 2 * MIN, m: shifted },
    ]);
    expect(plans.every((p) => p.createJob === undefined)).toBe(true);
    expect(plans.map((p) => p.status.state)).toEqual(['Healthy', 'Warning', 'Warning']);
    expect(plans[1]?.status.lastEvaluation?.signals[0]).toMatchObject({ level: 'Warning', breaches: 2 });
    const message = 'spec.retraining.outputUri is not set and the operator has no --default-model-uri';
    for (const p of plans) {
      expect(ready(p)).toMatchObject({
        status: 'False',
        reason: 'OutputUnconfigured',
        message,
        lastTransitionTime: '2024-05-06T10:00:00Z',
      });
      expect(p.status.conditions?.find((c) => c.type === 'Retraining')).toMatchObject({
        status: 'False',
        reason: 'OutputUnconfigured',
      });
      expect(p.status.conditions?.find((c) => c.type === 'DriftDetected')?.status).toBe(
        p.status.state === 'Warning' ? 'True' : 'False',
      );
    }
    expect(plans[0]?.events).toEqual([
      {
        type: 'Warning',
        reason: 'OutputUnconfigured',
        note: `${message}: no retraining Job can start (drift is still evaluated)`,
      },
    ]);
    expect(plans[1]?.events.map((e) => e.reason)).toEqual(['DriftWarning']);
    expect(plans[2]?.events).toEqual([]);
    // The manual request stays pending; once the operator has a default, it starts.
    expect(after.status?.observedRetrainRequest).toBeUndefined();
    const fixed = planPolicy(observe(after, at(3 * MIN), undefined, { storage: { uri: 'file:///srv/models' } }));
    expect(outputEnv(fixed.createJob)).toBe(`file:///srv/models/ns/drift/${runIdFor(at(3 * MIN), 'Manual')}`);
    expect(ready(fixed)).toMatchObject({ status: 'True' });
  });

  it('a parked run approved without an output location waits', () => {
    const p = noOutput((x) => {
      x.spec.approval = 'Manual';
      x.metadata.annotations = { 'nerops.io/approve': 'r1', 'nerops.io/approved-by': 'alice' };
      x.status = {
        activeJob: {
          name: 'drift-r1',
          runId: 'r1',
          trigger: 'Manual',
          startTime: '2024-05-06T09:00:00Z',
          awaitingApproval: true,
        },
      };
    });
    const plan = planPolicy(observe(p, T0, undefined));
    expect(plan.createJob).toBeUndefined();
    expect(plan.status.conditions?.find((c) => c.type === 'Retraining')).toMatchObject({
      status: 'True',
      reason: 'OutputUnconfigured',
    });
  });

  describe('default Job: credentials and CA of an http(s) base model', () => {
    const storage = {
      credentialsSecret: 'store-token',
      caConfigMap: 'store-ca',
      credentialsOrigins: ['https://models.example', 'http://models.internal'],
    };
    const httpsBase = (mod: (m: NerModel) => void = () => {}) =>
      model('clinical-v1', (m) => {
        m.spec.source = { uri: 'https://models.example/clinical/v1/', digest: 'a'.repeat(64) };
        mod(m);
      });
    const job = (base: NerModel, p = driftPolicy()) =>
      desiredRetrainJob({ policy: p, runId: 'r1', trigger: 'Drift', baseModel: base, image: 'i', storage });

    it('defaults are mounted and named in env (NEROPS_MODEL_TOKEN_FILE, NEROPS_MODEL_CA_FILE, NODE_EXTRA_CA_CERTS)', () => {
      const pod = job(httpsBase()).spec?.template?.spec;
      expect(pod?.volumes).toEqual(
        expect.arrayContaining([
          {
            name: 'base-model-credentials',
            secret: { secretName: 'store-token', items: [{ key: 'token', path: 'token' }] },
          },
          { name: 'base-model-ca', configMap: { name: 'store-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ]),
      );
      const c = pod?.containers?.[0];
      expect(c?.volumeMounts?.map((m) => m.name)).toEqual(
        expect.arrayContaining(['base-model-credentials', 'base-model-ca']),
      );
      expect(c?.env).toEqual(
        expect.arrayContaining([
          { name: 'NEROPS_MODEL_TOKEN_FILE', value: '/var/run/secrets/nerops/model/base-model/token' },
          { name: 'NEROPS_MODEL_CA_FILE', value: '/etc/nerops/model-ca/base-model/ca.crt' },
          { name: 'NODE_EXTRA_CA_CERTS', value: '/etc/nerops/model-ca/base-model/ca.crt' },
        ]),
      );
    });

    it("the base model's fetch limits reach retrain as environment", () => {
      const c = job(httpsBase((m) => (m.spec.source.maxBytes = 123456))).spec?.template?.spec?.containers?.[0];
      expect(c?.env).toContainEqual({ name: 'NEROPS_MODEL_MAX_BYTES', value: '123456' });
      expect(c?.env?.map((e) => e.name)).not.toContain('NEROPS_MODEL_FETCH_DEADLINE_MS');
    });

    it('an http base model with allowInsecureHttp gets NEROPS_MODEL_ALLOW_INSECURE_HTTP=true; without it no token', () => {
      const plain = (allow: boolean) =>
        model('clinical-v1', (m) => {
          m.spec.source = {
            uri: 'http://models.internal/clinical/v1/',
            digest: 'a'.repeat(64),
            ...(allow ? { allowInsecureHttp: true } : {}),
          };
        });
      const env = job(plain(true)).spec?.template?.spec?.containers?.[0]?.env;
      expect(env).toEqual(
        expect.arrayContaining([
          { name: 'NEROPS_MODEL_TOKEN_FILE', value: '/var/run/secrets/nerops/model/base-model/token' },
          { name: 'NEROPS_MODEL_ALLOW_INSECURE_HTTP', value: 'true' },
        ]),
      );
      const without = job(plain(false)).spec?.template?.spec?.containers?.[0]?.env?.map((e) => e.name);
      expect(without).not.toContain('NEROPS_MODEL_TOKEN_FILE');
      expect(without).not.toContain('NEROPS_MODEL_ALLOW_INSECURE_HTTP');
    });

    it("the base model's own refs win", () => {
      const pod = job(httpsBase((m) => (m.spec.source.credentialsSecretRef = { name: 'mine', key: 'bearer' }))).spec
        ?.template?.spec;
      expect(pod?.volumes?.find((v) => v.name === 'base-model-credentials')?.secret).toEqual({
        secretName: 'mine',
        items: [{ key: 'bearer', path: 'token' }],
      });
      expect(pod?.volumes?.find((v) => v.name === 'base-model-ca')?.configMap?.name).toBe('store-ca');
    });

    it('nothing for a file:// or pvc:// base model, nor in a template Job', () => {
      for (const uri of ['file:///models/v1', 'pvc://models/clinical/v1']) {
        const pod = job(model('clinical-v1', (m) => (m.spec.source.uri = uri))).spec?.template?.spec;
        expect(pod?.volumes?.some((v) => v.secret || v.configMap)).toBe(false);
        expect(pod?.containers?.[0]?.env?.map((e) => e.name)).not.toEqual(
          expect.arrayContaining(['NEROPS_MODEL_TOKEN_FILE']),
        );
      }
      const templated = driftPolicy({
        retraining: {
          datasetUri: 'file:///d',
          outputUri: 'file:///o',
          template: { spec: { template: { spec: { containers: [{ name: 'ft', image: 'hf:1' }] } } } },
        },
      });
      const pod = job(httpsBase(), templated).spec?.template?.spec;
      expect(pod?.volumes).toBeUndefined();
      expect(pod?.containers?.[0]?.env?.map((e) => e.name)).toEqual([
        'NEROPS_BASE_MODEL_URI',
        'NEROPS_BASE_MODEL_DIGEST',
        'NEROPS_DATASET_URI',
        'NEROPS_OUTPUT_URI',
        'NEROPS_RUN_ID',
      ]);
    });

    it('without defaults an https base model without refs mounts nothing', () => {
      const pod = desiredRetrainJob({
        policy: driftPolicy(),
        runId: 'r1',
        trigger: 'Drift',
        baseModel: httpsBase(),
        image: 'i',
      }).spec?.template?.spec;
      expect(pod?.volumes?.map((v) => v.name)).toEqual(['tmp']);
    });
  });
});

describe('queries', () => {
  const t = { namespace: 'ns', deployment: 'ner' };
  it('aggregates the stable track across pods over the window', () => {
    const q = driftQueries(t, '15m');
    expect(q.entitiesByLabel).toBe(
      'sum by (label) (increase(nerops_entities_total{namespace="ns",deployment="ner",track="stable"}[15m]))',
    );
    expect(q.confidenceBuckets).toBe(
      'sum by (le) (increase(nerops_entity_confidence_bucket{namespace="ns",deployment="ner",track="stable"}[15m]))',
    );
    expect(q.documents).toBe(
      'sum(increase(nerops_documents_total{namespace="ns",deployment="ner",track="stable"}[15m]))',
    );
    expect(
      customQuery({ query: 'sum(rate(x{namespace="$namespace",deployment="$deployment"}[$window]))' }, t, '5m'),
    ).toBe('sum(rate(x{namespace="ns",deployment="ner"}[5m]))');
  });

  it('counts only the serving model once it is known (no previous-model series after a promotion)', () => {
    expect(driftQueries({ ...t, model: 'clinical-v2' }, '5m').tokens).toBe(
      'sum(increase(nerops_tokens_total{namespace="ns",deployment="ner",track="stable",model="clinical-v2"}[5m]))',
    );
  });

  it('gathers and converts; Prometheus errors become a reason', async () => {
    const answers: Record<string, InstantQueryResult> = {};
    const q = driftQueries(t, '15m');
    answers[q.documents] = { value: 500, samples: [] };
    answers[q.entitiesByLabel] = {
      value: undefined,
      samples: [
        { labels: { label: 'DISEASE' }, value: 250 },
        { labels: { label: 'TREATMENT' }, value: 250 },
      ],
    };
    answers[q.confidenceBuckets] = {
      value: undefined,
      samples: [
        { labels: { le: '0.5' }, value: 50 },
        { labels: { le: '0.9' }, value: 200 },
        { labels: { le: '+Inf' }, value: 500 },
      ],
    };
    const fake: MetricsQuerier = { query: async (s) => answers[s] ?? { value: undefined, samples: [] } };
    const g = await gatherMeasurements(fake, driftPolicy().spec, t, baseline);
    expect(g).toMatchObject({
      ok: true,
      measurements: {
        documents: 500,
        labelCounts: { DISEASE: 250, TREATMENT: 250 },
        confidence: { counts: [50, 150, 300] },
      },
    });
    const down: MetricsQuerier = {
      query: async () => {
        throw new PrometheusUnreachableError('Prometheus at http://x is unreachable: ECONNREFUSED');
      },
    };
    expect(await gatherMeasurements(down, driftPolicy().spec, t, baseline)).toMatchObject({
      ok: false,
      reason: 'PrometheusUnreachable',
    });
    expect(await gatherMeasurements(undefined, driftPolicy().spec, t, baseline)).toMatchObject({
      ok: false,
      reason: 'PrometheusUnreachable',
    });
  });
});

const okResult = encodeRetrainResult({
  resultVersion: 1,
  outcome: 'Succeeded',
  bundleUri: 'file:///out/20240506-100100-drift',
  digest: 'b'.repeat(64),
  format: 'crf',
  entityTypes: ['TREATMENT', 'DISEASE'],
  datasetDigest: 'c'.repeat(64),
  metrics: {
    new: { micro: { precision: 0.8, recall: 0.84, f1: 0.82 } },
    base: { micro: { precision: 0.7, recall: 0.8, f1: 0.75 } },
  },
});

function finishedJob(job: V1Job, type: 'Complete' | 'Failed', when: Date): V1Job {
  return {
    ...job,
    metadata: {
      ...job.metadata,
      creationTimestamp: job.metadata?.creationTimestamp ?? new Date(when.getTime() - 5 * MIN),
    },
    status: {
      ...(type === 'Complete' ? { completionTime: when } : {}),
      conditions: [{ type, status: 'True', lastTransitionTime: when }],
    },
  };
}

describe('retraining template policy (tenant boundary)', () => {
  // Set after the schema's parse: the operator refuses what the CRD's CEL rules refuse too (an older CRD,
  // or a cluster without them, must not open the boundary).
  const manual = (template: Record<string, unknown> | undefined) =>
    driftPolicy({}, (p) => {
      p.metadata.annotations = { 'nerops.io/retrain': 'now' };
      if (template) p.spec.retraining.template = { spec: { template: { spec: template } } };
    });
  const ready = (plan: ReturnType<typeof planPolicy>) => plan.status.conditions?.find((c) => c.type === 'Ready');

  it('a template that omits the security fields gets the restricted defaults in the Job it creates', () => {
    const plan = planPolicy(observe(manual({ containers: [{ name: 'ft', image: 'nerops:test' }] }), T0, healthy));
    const pod = plan.createJob?.spec?.template?.spec;
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod?.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(ready(plan)?.reason).not.toBe('TemplateRefused');
  });

  it.each([
    ['privileged', { containers: [{ name: 'ft', image: 'nerops:test', securityContext: { privileged: true } }] }],
    [
      'hostPath /',
      { containers: [{ name: 'ft', image: 'nerops:test' }], volumes: [{ name: 'r', hostPath: { path: '/' } }] },
    ],
    ['hostNetwork', { hostNetwork: true, containers: [{ name: 'ft', image: 'nerops:test' }] }],
    ['a foreign ServiceAccount', { serviceAccountName: 'nerops', containers: [{ name: 'ft', image: 'nerops:test' }] }],
    ['an image from a registry not allowed', { containers: [{ name: 'ft', image: 'evil.example/miner:1' }] }],
  ])('%s: no Job, Ready=False TemplateRefused naming the field, one Warning Event', (_name, template) => {
    const plan = planPolicy(observe(manual(template), T0, healthy));
    expect(plan.createJob).toBeUndefined();
    expect(plan.status.activeJob).toBeUndefined();
    expect(ready(plan)).toMatchObject({ status: 'False', reason: 'TemplateRefused' });
    expect(ready(plan)?.message).toMatch(
      /^spec\.retraining\.template refused .*spec\.retraining\.template\.spec\.template\.spec\./,
    );
    expect(plan.status.conditions?.find((c) => c.type === 'Retraining')).toMatchObject({ reason: 'TemplateRefused' });
    expect(plan.events.filter((e) => e.reason === 'TemplateRefused')).toEqual([
      { type: 'Warning', reason: 'TemplateRefused', note: ready(plan)?.message },
    ]);
    // The manual request stays pending: fixing the template lets it run.
    expect(plan.status.observedRetrainRequest).toBeUndefined();
    // The same refusal again: no second Event.
    const again = planPolicy(observe({ ...manual(template), status: plan.status }, at(MIN), healthy));
    expect(again.events.filter((e) => e.reason === 'TemplateRefused')).toEqual([]);
    expect(again.createJob).toBeUndefined();
  });

  it('the allowed ServiceAccounts and registries come from the operator configuration', () => {
    const template = { serviceAccountName: 'trainer', containers: [{ name: 'ft', image: 'ghcr.io/acme/ft:1' }] };
    const tenant = { allowedServiceAccounts: ['trainer'], allowedImageRegistries: ['ghcr.io/acme'] };
    const plan = planPolicy(observe(manual(template), T0, healthy, { tenant }));
    expect(plan.createJob?.spec?.template?.spec?.serviceAccountName).toBe('trainer');
    expect(plan.createJob?.spec?.template?.spec?.automountServiceAccountToken).toBeUndefined();
  });

  it('a refused template does not touch a Job already running (it was judged when it was created)', () => {
    const first = planPolicy(observe(manual(undefined), T0, healthy));
    const running = first.createJob!;
    const edited = {
      ...manual({ hostNetwork: true, containers: [{ name: 'ft', image: 'nerops:test' }] }),
      status: first.status,
    };
    const plan = planPolicy(observe(edited, at(MIN), healthy, { jobs: [running] }));
    expect(plan.createJob).toBeUndefined();
    expect(plan.status.activeJob?.name).toBe(running.metadata?.name);
    expect(ready(plan)?.reason).toBe('TemplateRefused');
  });
});
