import { describe, expect, it } from 'vitest';
import { EvaluationDataError, createAssertionTagger, defaultAssertionRules } from './index.js';
import { parseNegexTsv, scoreNegation } from './evaluate.js';

const HEADER = 'Report No.\tConcept\tSentence\tNegation\n';

describe('NegEx-format evaluation data', () => {
  it('finds the upper-cased concept, undoes the upper case, and reads the label', () => {
    const { items, skipped } = parseNegexTsv(
      HEADER + '1\tcough\tNo fever, COUGH today.\tAffirmed\n2\tfever\t"The patient denies FEVER ""today""."\tNegated\n',
      'gold.tsv',
    );
    expect(skipped).toEqual([]);
    expect(items).toEqual([
      { line: 2, text: 'No fever, cough today.', start: 10, end: 15, negated: false },
      { line: 3, text: 'The patient denies fever "today".', start: 19, end: 24, negated: true },
    ]);
  });

  it('prefers the upper-case occurrence over an earlier lower-case one', () => {
    const { items } = parseNegexTsv(HEADER + '1\tpain\tpain resolved, no PAIN now.\tNegated\n', 'gold.tsv');
    expect(items[0]!.start).toBe(18);
  });

  it.each([
    ['a line with three fields', '1\tcough\tCOUGH.\n', /^gold\.tsv:2: expected 4 tab-separated fields, found 3$/],
    ['an unknown label', '1\tcough\tCOUGH.\tMaybe\n', /^gold\.tsv:2: the 4th field must be Affirmed or Negated$/],
    ['an empty concept', '1\t\tCOUGH.\tNegated\n', /^gold\.tsv:2: the concept/],
  ])('%s is an error naming file and line', (_name, line, expected) => {
    expect(() => parseNegexTsv(HEADER + line, 'gold.tsv')).toThrow(EvaluationDataError);
    expect(() => parseNegexTsv(HEADER + line, 'gold.tsv')).toThrow(expected);
  });

  it('skips (and lists) a line whose concept is not in its sentence', () => {
    const data = parseNegexTsv(HEADER + '1\tcough\tNo FEVER.\tNegated\n1\tfever\tNo FEVER.\tNegated\n', 'gold.tsv');
    expect(data.skipped).toEqual([2]);
    expect(data.items).toHaveLength(1);
  });

  it('scores negation: accuracy and the negated class', () => {
    const { items } = parseNegexTsv(
      HEADER +
        [
          '1\tfever\tNo FEVER.\tNegated', // true positive
          '1\tcough\tCOUGH today.\tAffirmed', // true negative
          '1\trash\tRASH is not itchy.\tAffirmed', // not negated by the rules ("not" is after it, forward only)
          '1\tpain\tPAIN is gone.\tNegated', // false negative: no rule for "is gone"
          '1\tedema\tWithout EDEMA.\tAffirmed', // false positive (against a deliberately wrong label)
        ].join('\n') +
        '\n',
      'gold.tsv',
    );
    const scores = scoreNegation(createAssertionTagger(defaultAssertionRules('en')), items);
    expect(scores.n).toBe(5);
    expect(scores.accuracy).toBeCloseTo(3 / 5);
    expect(scores.negated).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2, predicted: 2 });
  });
});
