import { describe, expect, it } from 'vitest';
import { SHIPPED_ASSERTION_LANGUAGES } from '../contracts/serve.js';
import { SHIPPED_LANGUAGES, defaultAssertionRules } from '../engine/assertions/index.js';
import { AssertionStage, UnsupportedLanguageError, normalizeLanguage } from './assertions.js';

const entity = (text: string, word: string) => {
  const start = text.indexOf(word);
  return { label: 'DISEASE', start, end: start + word.length, text: word, score: 0.9 };
};

describe('normalizeLanguage', () => {
  it.each([
    ['en', 'en'],
    ['en-US', 'en'],
    ['NB-no', 'nb'],
    ['no', 'nb'],
    ['no-NO', 'nb'],
    [' nb ', 'nb'],
    ['en, nb', undefined],
    ['english!', undefined],
    ['', undefined],
  ])('%s → %s', (tag, lang) => expect(normalizeLanguage(tag)).toBe(lang));
});

describe('AssertionStage', () => {
  it('ships the languages the contract promises the operator (NerModel spec.assertions.language)', () => {
    expect([...SHIPPED_LANGUAGES]).toEqual([...SHIPPED_ASSERTION_LANGUAGES]);
  });

  it('is absent for a model without rules and without a configured language', () => {
    expect(AssertionStage.forModel(undefined)).toBeUndefined();
  });

  it("defaults to the bundle rules' language, and serves the shipped languages too", () => {
    const stage = AssertionStage.forModel(defaultAssertionRules('nb'))!;
    expect(stage.defaultLanguage).toBe('nb');
    expect(stage.languages).toEqual(['nb', 'en']);
    expect(stage.languageFor(undefined)).toBe('nb');
    expect(stage.languageFor('en-GB')).toBe('en');
    expect(stage.languageFor('no')).toBe('nb');
  });

  it('a configured language wins, and enables the shipped rules for a model without its own', () => {
    const stage = AssertionStage.forModel(undefined, 'no')!;
    expect(stage.defaultLanguage).toBe('nb');
    expect(() => AssertionStage.forModel(undefined, 'sv')).toThrow(UnsupportedLanguageError);
    expect(() => AssertionStage.forModel(undefined, 'sv')).toThrow('assertion rules exist for en, nb');
  });

  it('refuses a language without rules, never quoting it', () => {
    const stage = AssertionStage.forModel(undefined, 'en')!;
    for (const bad of ['fr', 'en, nb', 'x-secret-patient-name'])
      expect(() => stage.languageFor(bad)).toThrow(/^unsupported language; assertion rules exist for en, nb$/);
  });

  it('tags with the rules of the language asked for', () => {
    const stage = AssertionStage.forModel(undefined, 'en')!;
    const en = 'The patient denies fever.';
    expect(stage.tag('en', en, [entity(en, 'fever')])[0]!.assertion).toMatchObject({ negated: true });
    const nb = 'Pasienten har ikke feber.';
    expect(stage.tag('nb', nb, [entity(nb, 'feber')])[0]!.assertion).toMatchObject({ negated: true });
    // The English rules do not know the Norwegian trigger.
    expect(stage.tag('en', nb, [entity(nb, 'feber')])[0]!.assertion).toMatchObject({ negated: false });
    const plain = 'Pasienten har feber.';
    expect(stage.tag('nb', plain, [entity(plain, 'feber')])[0]!.assertion).toEqual({
      negated: false,
      certainty: 'certain',
      temporality: 'current',
      experiencer: 'patient',
    });
  });
});
