import { describe, expect, it } from 'vitest';
import { generateNotes } from '../../trainer/synthetic.js';
import { f1Of, feedbackBody, liveF1, liveF1Line, type Querier } from './validation.js';

describe('the validation team', () => {
  it('posts a note with every gold entity and its verified assertion', () => {
    const [note] = generateNotes({ count: 1, seed: 3, assertions: true });
    const body = JSON.parse(feedbackBody(note!, 'team-a')) as { text: string; entities: unknown[]; source: string };
    expect(body).toEqual({
      text: note!.text,
      entities: note!.entities!.map(({ label, start, end, assertion }) => ({ label, start, end, assertion })),
      source: 'team-a',
    });
    const [plain] = generateNotes({ count: 1, seed: 3 });
    expect(() => feedbackBody(plain!, 'team-a')).toThrow(/gold entities/);
  });

  it('computes F1 as 2·TP / (2·TP + FP + FN), undefined without entities', () => {
    expect(f1Of({ tp: 8, fp: 2, fn: 2 })).toBeCloseTo(0.8);
    expect(f1Of({ tp: 0, fp: 0, fn: 0 })).toBeUndefined();
  });

  it('reads live F1 and gold entities by version with the contract query', async () => {
    const queries: string[] = [];
    const prom: Querier = {
      query: (q) => {
        queries.push(q);
        return Promise.resolve({
          samples: q.startsWith('2 *')
            ? [
                { labels: { version: '1.1.0' }, value: 0.25 },
                { labels: { version: 'r1' }, value: Number.NaN },
              ]
            : [
                { labels: { version: '1.1.0' }, value: 120 },
                { labels: { version: 'r1' }, value: 0 },
              ],
        });
      },
    };
    const v = await liveF1(prom, 'demo', 30.4);
    expect(v).toEqual({ '1.1.0': { f1: 0.25, gold: 120 }, r1: { f1: undefined, gold: 0 } });
    expect(
      queries.every((q) => q.includes('nerops_feedback_entities_total{namespace="demo"') && q.includes('[30s]')),
    ).toBe(true);
    expect(liveF1Line(v)).toBe('1.1.0 0.250 (120 gold)');
    expect(liveF1Line({})).toBe('no corrections in the window yet');
  });
});
