import { describe, expect, it } from 'vitest';
import { FEEDBACK_F1_METRIC, NerDeploymentSpecSchema } from '../../api/nerdeployment.js';
import type { InstantQueryResult, MetricsQuerier } from '../../prometheus/client.js';
import { PrometheusUnreachableError } from '../../prometheus/client.js';
import { nerDeployment } from '../../testing/builders.js';
import type { AnalysisDecision } from './analysis.js';
import { combineAnalysis } from './custom-analysis.js';
import {
  decideFeedbackGate,
  entityF1,
  measureFeedbackGate,
  trackOutcomesQuery,
  type OutcomeCounts,
} from './feedback-gate.js';

const gate = { maxDrop: 0.02, minGoldEntities: 200 };
/** F1 = 2·tp / (2·tp + fp + fn); gold = tp + fn. */
const c = (tp: number, fp: number, fn: number): OutcomeCounts => ({ tp, fp, fn });

describe('decideFeedbackGate', () => {
  it.each([
    // name, candidate, stable, outcome
    ['too few gold entities on the candidate', c(100, 0, 50), c(400, 50, 50), 'Inconclusive'],
    ['too few gold entities on stable', c(400, 50, 50), c(150, 0, 49), 'Inconclusive'],
    ['no feedback at all', c(0, 0, 0), c(0, 0, 0), 'Inconclusive'],
    ['candidate better', c(450, 20, 50), c(400, 50, 100), 'Pass'],
    ['candidate worse, within the margin', c(396, 50, 104), c(400, 50, 100), 'Pass'],
    ['candidate worse beyond the margin', c(350, 60, 150), c(400, 50, 100), 'Fail'],
  ] as const)('%s: %s', (_, candidate, stable, outcome) => {
    const r = decideFeedbackGate(gate, { ok: true, candidate, stable });
    expect(r).toMatchObject({ name: FEEDBACK_F1_METRIC, outcome });
  });

  it('reports the difference of F1s as the value and both F1s and gold counts in the message (counts only)', () => {
    const r = decideFeedbackGate(gate, { ok: true, candidate: c(350, 60, 150), stable: c(400, 50, 100) });
    const cf = entityF1(c(350, 60, 150)) ?? 0;
    const sf = entityF1(c(400, 50, 100)) ?? 0;
    expect(r.value).toBeCloseTo(cf - sf, 4);
    expect(r.message).toBe(
      `candidate F1 ${Math.round(cf * 1e4) / 1e4} vs stable ${Math.round(sf * 1e4) / 1e4} (gold entities 500 / 500): drop ${Math.round((sf - cf) * 1e4) / 1e4} > maxDrop 0.02`,
    );
    expect(decideFeedbackGate(gate, { ok: true, candidate: c(10, 0, 0), stable: c(500, 0, 0) }).message).toBe(
      'too few gold entities: candidate 10, stable 500 < minGoldEntities 200',
    );
  });

  it('is Inconclusive when it could not measure', () => {
    expect(decideFeedbackGate(gate, { ok: false, message: 'PrometheusUnreachable: refused' })).toEqual({
      name: FEEDBACK_F1_METRIC,
      outcome: 'Inconclusive',
      message: 'PrometheusUnreachable: refused',
    });
  });

  it('never passes a rollout the other checks did not: it joins them like a custom metric', () => {
    const pass: AnalysisDecision = { outcome: 'Pass', result: { outcome: 'Pass', samples: 100, message: 'ok' } };
    const held = decideFeedbackGate(gate, { ok: true, candidate: c(10, 0, 0), stable: c(10, 0, 0) });
    expect(combineAnalysis(pass, [held]).outcome).toBe('Inconclusive');
    const failed = decideFeedbackGate(gate, { ok: true, candidate: c(300, 100, 200), stable: c(450, 10, 50) });
    expect(combineAnalysis(pass, [failed])).toMatchObject({
      outcome: 'Fail',
      result: { message: expect.stringMatching(/^metric feedback-f1: candidate F1/) },
    });
  });
});

describe('measureFeedbackGate', () => {
  const nd = nerDeployment(
    { rollout: { analysis: { feedbackF1: { maxDrop: 0.02, minGoldEntities: 200, window: '2h' } } } },
    (x) => {
      x.status = { stableModel: 'clinical-v1', canaryModel: 'clinical-v2' };
    },
  );

  it('queries each track by its own model over the window, per outcome', () => {
    expect(trackOutcomesQuery(nd, 'canary', 'clinical-v2', '2h')).toBe(
      'sum by (outcome) (increase(nerops_feedback_entities_total{namespace="ns",deployment="notes",track="canary",model="clinical-v2"}[2h]))',
    );
  });

  it('decides from both tracks, and is Inconclusive when Prometheus fails', async () => {
    const seen: string[] = [];
    const samples = (tp: number, fp: number, fn: number) =>
      Object.entries({ tp, fp, fn }).map(([outcome, value]) => ({ labels: { outcome }, value }));
    const prometheus: MetricsQuerier = {
      query: (q: string): Promise<InstantQueryResult> => {
        seen.push(q);
        return Promise.resolve({
          value: undefined,
          samples: q.includes('track="canary"') ? samples(350, 60, 150) : samples(400, 50, 100),
        });
      },
    };
    expect(await measureFeedbackGate(prometheus, nd)).toEqual([expect.objectContaining({ outcome: 'Fail' })]);
    expect(seen).toEqual([
      expect.stringContaining('track="canary",model="clinical-v2"}[2h]'),
      expect.stringContaining('track="stable",model="clinical-v1"}[2h]'),
    ]);
    const down: MetricsQuerier = { query: () => Promise.reject(new PrometheusUnreachableError('refused')) };
    expect(await measureFeedbackGate(down, nd)).toEqual([expect.objectContaining({ outcome: 'Inconclusive' })]);
    expect(await measureFeedbackGate(undefined, nd)).toEqual([expect.objectContaining({ outcome: 'Inconclusive' })]);
  });

  it('measures nothing without the gate', async () => {
    expect(await measureFeedbackGate(undefined, nerDeployment())).toEqual([]);
  });

  it('defaults minGoldEntities and window', () => {
    const spec = NerDeploymentSpecSchema.parse({
      model: 'm',
      rollout: { analysis: { feedbackF1: { maxDrop: 0.05 } } },
    });
    expect(spec.rollout.analysis?.feedbackF1).toEqual({ maxDrop: 0.05, minGoldEntities: 200, window: '1h' });
  });
});
