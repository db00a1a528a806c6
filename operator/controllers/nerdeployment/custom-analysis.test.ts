import { describe, expect, it } from 'vitest';
import type { AnalysisMetric } from '../../api/nerdeployment.js';
import type { AnalysisDecision } from './analysis.js';
import { ConditionSyntaxError, evaluateCondition, parseCondition } from './condition-expr.js';
import { combineAnalysis, decideMetric, fillQuery } from './custom-analysis.js';
import { externalReplicas, scaleSelector } from './scale.js';
import type { NerDeployment } from '../../api/nerdeployment.js';

const ev = (src: string, result: number[]) => evaluateCondition(parseCondition(src), result);

describe('condition expressions', () => {
  it.each([
    ['result < 0.05', [0.01], true],
    ['result < 0.05', [0.2], false],
    ['result[1] >= 0.9', [0, 0.95], true],
    ['result >= 0.9 && result[1] < 2', [1, 3], false],
    ['result > 5 || result[1] == 3', [1, 3], true],
    ['!(result != 1)', [1], true],
    ['result > -1e-3', [0], true],
    ['0.5 <= result', [0.5], true],
  ] as const)('%s over %j is %s', (src, result, expected) => {
    expect(ev(src, [...result])).toBe(expected);
  });

  it('a missing sample or NaN is no data, even inside || (never a pass)', () => {
    expect(ev('result[2] < 1', [0, 0])).toBeUndefined();
    expect(ev('result < 1 || result[3] > 0', [0])).toBeUndefined();
    expect(ev('result < 1', [Number.NaN])).toBeUndefined();
  });

  it.each(['result <', 'result ; 1', 'process.exit()', 'result < 1 &&', '(result < 1', 'result[x] < 1', '-result < 1'])(
    'refuses %j',
    (src) => {
      expect(() => parseCondition(src)).toThrow(ConditionSyntaxError);
    },
  );
});

const metric = (over: Partial<AnalysisMetric>): AnalysisMetric => ({ name: 'm', query: 'q', ...over });

describe('decideMetric', () => {
  it('no data is Inconclusive, never a pass', () => {
    expect(decideMetric(metric({ successCondition: 'result < 1' }), { ok: true, values: [] }).outcome).toBe(
      'Inconclusive',
    );
    expect(decideMetric(metric({ failureCondition: 'result > 1' }), { ok: false, message: 'down' }).outcome).toBe(
      'Inconclusive',
    );
  });

  it.each([
    [{ successCondition: 'result < 0.05' }, 0.01, 'Pass'],
    [{ successCondition: 'result < 0.05' }, 0.1, 'Fail'],
    [{ failureCondition: 'result > 0.05' }, 0.1, 'Fail'],
    [{ failureCondition: 'result > 0.05' }, 0.01, 'Pass'],
    [{ successCondition: 'result < 0.01', failureCondition: 'result > 0.1' }, 0.05, 'Inconclusive'],
    [{ successCondition: 'result < 0.01', failureCondition: 'result > 0.1' }, 0.5, 'Fail'],
    [{ successCondition: 'result <' }, 0.5, 'Inconclusive'],
  ] as const)('%j with %s is %s', (conds, value, outcome) => {
    expect(decideMetric(metric(conds), { ok: true, values: [value] })).toMatchObject({ outcome, value });
  });

  it('fills the placeholders', () => {
    expect(
      fillQuery('x{namespace="{{namespace}}",d="{{ deployment }}",track="{{track}}",model="{{model}}"}', {
        namespace: 'ns',
        deployment: 'web',
        track: 'canary',
        model: 'm2',
      }),
    ).toBe('x{namespace="ns",d="web",track="canary",model="m2"}');
  });
});

describe('combineAnalysis', () => {
  const pass: AnalysisDecision = { outcome: 'Pass', result: { outcome: 'Pass', samples: 100, message: 'ok' } };
  it('the worse outcome wins and every metric is recorded', () => {
    const d = combineAnalysis(pass, [
      { name: 'a', outcome: 'Pass' },
      { name: 'b', outcome: 'Inconclusive', message: 'the query returned no data' },
    ]);
    expect(d.outcome).toBe('Inconclusive');
    expect(d.result.message).toBe('metric b: the query returned no data');
    expect(d.result.metrics).toHaveLength(2);
  });
  it('a custom pass never lifts a built-in failure', () => {
    const fail: AnalysisDecision = { outcome: 'Fail', result: { outcome: 'Fail', message: 'error rate' } };
    expect(combineAnalysis(fail, [{ name: 'a', outcome: 'Pass' }]).outcome).toBe('Fail');
  });
});

describe('scale subresource', () => {
  it('selects the stable track', () => {
    expect(scaleSelector({ metadata: { name: 'web' } } as NerDeployment)).toBe(
      'nerops.io/deployment=web,nerops.io/track=stable',
    );
  });
  it('clamps the external count into [min, max] and starts at min', () => {
    expect(externalReplicas(undefined, 2, 5).replicas).toBe(2);
    expect(externalReplicas(0, 2, 5).replicas).toBe(2);
    expect(externalReplicas(9, 2, 5)).toMatchObject({ replicas: 5 });
    expect(externalReplicas(3, 2, 5).replicas).toBe(3);
  });
});
