import { describe, expect, it } from 'vitest';
import { DriftSignalSchema } from '../../api/driftpolicy.js';
import type { InstantQueryResult, MetricsQuerier } from '../../prometheus/client.js';
import { driftPolicy } from '../../testing/builders.js';
import { evaluateDrift, negatedShareDelta, type WindowMeasurements } from './evaluate.js';
import { driftQueries, gatherMeasurements } from './queries.js';

const T0 = new Date('2026-12-06T01:00:00Z');
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
const signal = {
  name: 'negated-share',
  type: 'negatedShare',
  baselineShare: 0.3,
  warning: 0.1,
  critical: 0.25,
} as const;
const t = { namespace: 'ns', deployment: 'ner' };

describe('negatedShare signal', () => {
  it('needs baselineShare, and only with its type', () => {
    expect(DriftSignalSchema.safeParse(signal).success).toBe(true);
    const { baselineShare: _omit, ...without } = signal;
    expect(DriftSignalSchema.safeParse(without).error?.issues[0]).toMatchObject({ path: ['baselineShare'] });
    expect(DriftSignalSchema.safeParse({ ...signal, type: 'unknownTokenRate' }).error?.issues[0]?.path).toEqual([
      'baselineShare',
    ]);
    expect(DriftSignalSchema.safeParse({ ...signal, baselineShare: 1.5 }).success).toBe(false);
  });

  it('queries the negated and all asserted entities of the stable track', () => {
    const q = driftQueries({ ...t, model: 'm1' }, '15m');
    expect(q.negatedEntities).toBe(
      'sum(increase(nerops_entity_assertions_total{namespace="ns",deployment="ner",track="stable",model="m1",attribute="negated",value="true"}[15m]))',
    );
    expect(q.assertedEntities).toBe(
      'sum(increase(nerops_entity_assertions_total{namespace="ns",deployment="ner",track="stable",model="m1",attribute="negated"}[15m]))',
    );
  });

  it('gathers the two sums only when a negatedShare signal asks for them', async () => {
    const q = driftQueries(t, '15m');
    const answers: Record<string, InstantQueryResult> = {
      [q.documents]: { value: 400, samples: [] },
      [q.negatedEntities]: { value: 120, samples: [] },
      [q.assertedEntities]: { value: 600, samples: [] },
    };
    const asked: string[] = [];
    const fake: MetricsQuerier = {
      query: async (s) => {
        asked.push(s);
        return answers[s] ?? { value: undefined, samples: [] };
      },
    };
    const withSignal = await gatherMeasurements(fake, driftPolicy({ signals: [signal] }).spec, t, baseline);
    expect(withSignal).toMatchObject({ ok: true, measurements: { negatedEntities: 120, assertedEntities: 600 } });
    asked.length = 0;
    await gatherMeasurements(fake, driftPolicy().spec, t, baseline);
    expect(asked).not.toContain(q.negatedEntities);
  });

  it.each([
    ['as in the baseline', 180, 600, 0, 'Ok'],
    ['a new template that negates more', 300, 600, 0.2, 'Warning'],
    ['a department that negates far less', 10, 500, 0.28, 'Critical'],
    ['no asserted entity (no assertion stage)', 0, 0, undefined, 'NoData'],
  ])('%s', (_n, negated, asserted, value, level) => {
    const m: WindowMeasurements = { documents: 500, negatedEntities: negated, assertedEntities: asserted };
    const e = evaluateDrift({
      spec: driftPolicy({ signals: [signal] }).spec,
      model: 'm',
      baseline,
      gathered: { ok: true, measurements: m },
      previous: undefined,
      now: T0,
    });
    const s = e.evaluation.signals[0]!;
    expect(s.level).toBe(level);
    if (value === undefined) expect(s.value).toBeUndefined();
    else expect(s.value).toBeCloseTo(value, 6);
    expect(s.samples).toBe(asserted);
  });

  it('clamps a share that counter resets push past 1', () => {
    expect(negatedShareDelta(0.3, 10, 12)).toEqual({ value: 0.7, samples: 10 });
  });
});
