import { describe, expect, it } from 'vitest';
import { bucketsFromCumulative, jensenShannonDistance, psi, PSI_EPSILON, unknownTokenRateDelta } from './statistics.js';
import { cronMatches, lastCronTimeBetween, nextCronTime, parseCron } from './cron.js';

describe('jensenShannonDistance', () => {
  it.each([
    ['identical', { A: 0.7, B: 0.3 }, { A: 70, B: 30 }, 0],
    ['disjoint', { A: 1 }, { B: 5 }, 1],
    // M = (0.75, 0.25); KL(P||M) = ½log2(⅔) + ½log2(2) = 0.2075187; KL(Q||M) = log2(4/3) = 0.4150375;
    // JSD = ½(0.2075187 + 0.4150375) = 0.3112781; distance = √0.3112781 = 0.5579230
    ['half vs all', { A: 0.5, B: 0.5 }, { A: 1 }, 0.557923],
  ])('%s', (_n, p, q, want) => {
    expect(jensenShannonDistance(p, q)).toBeCloseTo(want, 5);
  });
  it('is symmetric and undefined for an empty side', () => {
    expect(jensenShannonDistance({ A: 0.5, B: 0.5 }, { A: 1 })).toBeCloseTo(
      jensenShannonDistance({ A: 1 }, { A: 0.5, B: 0.5 }) as number,
      12,
    );
    expect(jensenShannonDistance({ A: 1 }, {})).toBeUndefined();
    expect(jensenShannonDistance({ A: 1 }, { A: 0 })).toBeUndefined();
  });
});

describe('psi', () => {
  it.each([
    ['identical', [50, 50], [5, 5], 0],
    // (0.25-0.5)·ln(0.5) + (0.75-0.5)·ln(1.5) = 0.1732868 + 0.1013663
    ['shifted', [50, 50], [25, 75], 0.2746531],
    // empty baseline bucket floored at 1e-4: (0.5-1)·ln(0.5) + (0.5-1e-4)·ln(0.5/1e-4) = 0.3465736 + 4.2577448
    ['empty bucket uses epsilon', [1, 0], [1, 1], 4.6043184],
  ])('%s', (_n, e, a, want) => {
    expect(psi(e, a)).toBeCloseTo(want, 5);
  });
  it('documents its epsilon and refuses mismatched or empty input', () => {
    expect(PSI_EPSILON).toBe(1e-4);
    expect(psi([1, 2], [1, 2, 3])).toBeUndefined();
    expect(psi([0, 0], [1, 1])).toBeUndefined();
    expect(psi([], [])).toBeUndefined();
  });
});

describe('unknownTokenRateDelta', () => {
  it.each([
    [0.02, 1000, 70, 0.05],
    [0.1, 1000, 50, 0.05],
    [0.02, 0, 0, undefined],
  ])('baseline %s, %s tokens, %s unknown → %s', (base, tokens, unknown, want) => {
    const got = unknownTokenRateDelta(base, tokens, unknown);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toBeCloseTo(want, 10);
  });
});

describe('bucketsFromCumulative', () => {
  it('turns cumulative le buckets (any order) into per-bucket counts with the overflow last', () => {
    const samples = [
      { le: '+Inf', value: 10 },
      { le: '0.5', value: 2 },
      { le: '1', value: 7 },
    ];
    expect(bucketsFromCumulative(samples, [0.5, 1])).toEqual({ counts: [2, 5, 3] });
  });
  it('clamps negative differences from extrapolation to 0', () => {
    const r = bucketsFromCumulative(
      [
        { le: '5', value: 3.25 },
        { le: '10', value: 3 },
        { le: '+Inf', value: 4.5 },
      ],
      [5, 10],
    );
    expect(r).toEqual({ counts: [3.25, 0, 1.25] });
  });
  it('refuses buckets whose bounds differ from the baseline', () => {
    const r = bucketsFromCumulative(
      [
        { le: '0.5', value: 1 },
        { le: '+Inf', value: 2 },
      ],
      [0.4],
    );
    expect(r).toMatchObject({ error: expect.stringContaining('differ') });
    expect(bucketsFromCumulative([], [1])).toEqual({ error: 'no histogram buckets' });
  });
});

describe('cron', () => {
  const at = (s: string) => new Date(s);
  it.each([
    ['0 3 * * 0', '2024-05-05T03:00:00Z', true], // a Sunday
    ['0 3 * * 0', '2024-05-06T03:00:00Z', false],
    ['*/15 * * * *', '2024-05-06T10:45:00Z', true],
    ['*/15 * * * *', '2024-05-06T10:46:00Z', false],
    ['0 0 1 * MON', '2024-05-06T00:00:00Z', true], // dom OR dow when both restricted
    ['30 9 * JAN-MAR MON-FRI', '2024-02-14T09:30:00Z', true],
    ['@daily', '2024-02-14T00:00:00Z', true],
    ['0 0 * * 7', '2024-05-05T00:00:00Z', true], // 7 = Sunday
  ])('%s at %s → %s', (expr, time, want) => {
    expect(cronMatches(parseCron(expr), at(time))).toBe(want);
  });
  it('finds the next and the last firing', () => {
    const s = parseCron('0 3 * * 0');
    expect(nextCronTime(s, at('2024-05-05T03:00:00Z'))?.toISOString()).toBe('2024-05-12T03:00:00.000Z');
    expect(lastCronTimeBetween(s, at('2024-05-01T00:00:00Z'), at('2024-05-10T00:00:00Z'))?.toISOString()).toBe(
      '2024-05-05T03:00:00.000Z',
    );
    expect(lastCronTimeBetween(s, at('2024-05-05T03:00:00Z'), at('2024-05-10T00:00:00Z'))).toBeUndefined();
  });
  it.each(['0 3 L * *', '0 3 * * 1#2', '61 * * * *', '* * *'])('refuses %s', (expr) => {
    expect(() => parseCron(expr)).toThrow(/cron/);
  });
});
