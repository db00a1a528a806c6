import { describe, expect, it } from 'vitest';
import {
  AssertionRulesError,
  SHIPPED_LANGUAGES,
  createAssertionTagger,
  defaultAssertionRules,
  parseAssertionRules,
  serializeAssertionRules,
  shippedLanguageFor,
} from './index.js';

/** The error a rule file's text gives, as `file:line: field: problem`. */
function problem(text: string): string {
  try {
    parseAssertionRules(text, 'hospital.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(AssertionRulesError);
    return (err as Error).message;
  }
  throw new Error('the file parsed');
}

const negatedOf = (rules: ReturnType<typeof parseAssertionRules>, text: string, word: string) => {
  const start = text.indexOf(word);
  return createAssertionTagger(rules).assert(text, [{ start, end: start + word.length }])[0]!.negated;
};

describe('rule files', () => {
  it.each(SHIPPED_LANGUAGES)('the shipped %s rules parse and round-trip through serialization', (language) => {
    const rules = defaultAssertionRules(language);
    expect(rules.language).toBe(language);
    expect(rules.rules.length).toBeGreaterThan(0);
    expect(parseAssertionRules(serializeAssertionRules(rules), 'copy.yaml')).toEqual(rules);
  });

  it.each([
    [
      'an unknown category, at its line',
      'language: en\nrules:\n  - category: negation\n    direction: forward\n    terms: [no]\n  - category: doubt\n    direction: forward\n    terms: [maybe]\n',
      /^hospital\.yaml:6: rules\[1\]\.category: /,
    ],
    [
      'a missing direction',
      'language: en\nrules:\n  - category: negation\n    terms: [no]\n',
      /^hospital\.yaml:3: rules\[0\]\.direction: is required for category negation$/,
    ],
    [
      'a window that is not a positive whole number',
      'language: en\nrules:\n  - category: negation\n    direction: forward\n    window: 0\n    terms: [no]\n',
      /^hospital\.yaml:5: rules\[0\]\.window: /,
    ],
    [
      'a term that is not a string, in a block list',
      'language: en\nrules:\n  - category: negation\n    direction: forward\n    terms:\n      - no\n      - 42\n',
      /^hospital\.yaml:7: rules\[0\]\.terms\[1\]: /,
    ],
    [
      'a blank term',
      'language: en\nrules:\n  - category: closing\n    terms: ["   "]\n',
      /^hospital\.yaml:4: rules\[0\]\.terms\[0\]: must contain a word or a punctuation mark$/,
    ],
    [
      'a term defined twice (the second place)',
      'language: en\nrules:\n  - category: negation\n    direction: forward\n    terms: [no]\n  - category: pseudo\n    terms:\n      - No\n',
      /^hospital\.yaml:8: rules\[1\]\.terms\[0\]: the same term as rules\[0\]\.terms\[0\]$/,
    ],
    ['an unknown field', 'language: en\nrulez: []\nrules: []\n', /^hospital\.yaml:1: \(root\): /],
    [
      'ends on a non-closing rule',
      'language: en\nrules:\n  - category: pseudo\n    ends: [negation]\n    terms: [x]\n',
      /:4: rules\[0\]\.ends: is only for category closing$/,
    ],
    ['a bad language tag', 'language: English\nrules: []\n', /^hospital\.yaml:1: language: must be a language tag/],
    ['remove without extends', 'language: en\nremove: [no]\nrules: []\n', /^hospital\.yaml:2: remove: needs extends/],
    ['not YAML', 'language: en\nrules: [\n  - {\n', /^hospital\.yaml:\d+: \(root\): not valid YAML/],
  ])('%s is refused with file, line and field', (_name, text, expected) => {
    expect(problem(text)).toMatch(expected);
  });

  it('never quotes the rule text in an error', () => {
    const secret = 'Kari Nordmann';
    const message = problem(
      `language: en\nrules:\n  - category: negation\n    direction: sideways\n    terms: [${secret}]\n`,
    );
    expect(message).not.toContain('Kari');
    expect(problem(`language: en\nrules: [${secret}: {\n`)).not.toContain('Kari');
  });

  it('a file without extends replaces the shipped rules entirely', () => {
    const rules = parseAssertionRules(
      'language: en\nrules:\n  - category: negation\n    direction: forward\n    terms: [absent]\n',
      'own.yaml',
    );
    expect(negatedOf(rules, 'No fever.', 'fever')).toBe(false);
    expect(negatedOf(rules, 'Absent reflexes.', 'reflexes')).toBe(true);
  });

  it('extends adds to the shipped rules, redefines terms, and removes the ones listed', () => {
    const rules = parseAssertionRules(
      [
        'language: en',
        'extends: en',
        'remove: [denies]',
        'rules:',
        '  - category: negation',
        '    direction: forward',
        '    terms: [nil by history]',
        '  - category: pseudo',
        '    terms: [not]',
      ].join('\n'),
      'hospital.yaml',
    );
    expect(negatedOf(rules, 'Nil by history headache.', 'headache')).toBe(true);
    expect(negatedOf(rules, 'No fever.', 'fever')).toBe(true);
    expect(negatedOf(rules, 'Denies fever.', 'fever')).toBe(false);
    // "not" is now a pseudo-trigger: the inherited negation term is replaced, not duplicated.
    expect(negatedOf(rules, 'Not febrile, fever.', 'fever')).toBe(false);
    expect(rules.abbreviations).toEqual(defaultAssertionRules('en').abbreviations);
  });

  it('a Norwegian hospital file extends the shipped bokmål rules', () => {
    const rules = parseAssertionRules(
      'language: nb\nextends: nb\nrules:\n  - category: negation\n    direction: backward\n    window: 2\n    terms: [ikke aktuelt]\n',
      'sykehus.yaml',
    );
    expect(negatedOf(rules, 'Ingen feber.', 'feber')).toBe(true);
    expect(negatedOf(rules, 'Kjemoterapi ikke aktuelt.', 'Kjemoterapi')).toBe(true);
  });

  it('removing a term the base does not have is an error naming the entry', () => {
    expect(problem('language: en\nextends: en\nremove: [no, nothing like this]\nrules: []\n')).toMatch(
      /^hospital\.yaml:3: remove\[1\]: no rule of en has this term$/,
    );
  });

  it('a self-contained file (as in a bundle) may not extend', () => {
    expect(() =>
      parseAssertionRules('language: en\nextends: en\nrules: []\n', 'assertions.yaml', { selfContained: true }),
    ).toThrow(/^assertions\.yaml:2: extends: is not allowed here/);
  });
});

describe('shippedLanguageFor', () => {
  it.each([
    ['en', 'en'],
    ['en-GB', 'en'],
    ['EN_us', 'en'],
    ['nb', 'nb'],
    ['nb-NO', 'nb'],
    ['no', 'nb'],
    ['nn', undefined],
    ['de', undefined],
    ['', undefined],
  ])('%s → %s', (tag, expected) => {
    expect(shippedLanguageFor(tag)).toBe(expected);
  });
});
