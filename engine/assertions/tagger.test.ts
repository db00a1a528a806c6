import { describe, expect, it } from 'vitest';
import { createAssertionTagger, defaultAssertionRules, parseAssertionRules, type Assertion } from './index.js';

const en = createAssertionTagger(defaultAssertionRules('en'));
const nb = createAssertionTagger(defaultAssertionRules('nb'));

/** The text with `[[...]]` marks removed, and the spans they marked. */
function marked(s: string): { text: string; spans: { start: number; end: number }[] } {
  const spans: { start: number; end: number }[] = [];
  let text = '';
  let last = 0;
  for (const m of s.matchAll(/\[\[(.*?)\]\]/g)) {
    text += s.slice(last, m.index);
    spans.push({ start: text.length, end: text.length + m[1]!.length });
    text += m[1];
    last = m.index + m[0].length;
  }
  return { text: text + s.slice(last), spans };
}

/** A compact form of an assertion: N (negated) or A, then certainty, temporality, experiencer initials. */
function brief(a: Assertion): string {
  return `${a.negated ? 'N' : 'A'}${a.certainty[0]}${a.temporality[0]}${a.experiencer[0]}`;
}

function tag(tagger: ReturnType<typeof createAssertionTagger>, s: string): string[] {
  const { text, spans } = marked(s);
  return tagger.assert(text, spans).map(brief);
}

// N/A, c(ertain)/u(ncertain)/h(ypothetical), c(urrent)/h(istorical), p(atient)/o(ther)
describe('English rules', () => {
  it.each([
    ['negation, forward', 'No [[chest pain]].', ['Nccp']],
    ['negation, backward', '[[Pneumonia]] was ruled out.', ['Nccp']],
    ['negation after a colon-less heading value', 'Blood culture [[growth]] negative.', ['Nccp']],
    ['a list after one trigger', 'Denies [[fever]], [[chills]], or [[cough]].', ['Nccp', 'Nccp', 'Nccp']],
    ['affirmed, no trigger', 'The patient has [[pneumonia]].', ['Accp']],
    ['uncertainty', 'Possible [[pneumonia]] in the left lower lobe.', ['Aucp']],
    ['uncertainty, backward', '[[Sepsis]] cannot be excluded.', ['Aucp']],
    ['rule out is a hypothesis, not a negation', 'Rule out [[myocardial infarction]].', ['Aucp']],
    ['hypothetical', 'Return if [[fever]] develops.', ['Ahcp']],
    ['historical', 'History of [[asthma]].', ['Achp']],
    ['historical, backward', 'She had [[tuberculosis]] years ago.', ['Achp']],
    ['a relative, forward', 'Mother had [[breast cancer]].', ['Acco']],
    ['a relative, backward', '[[Diabetes]] in his father.', ['Acco']],
    ['family history', 'Family history of [[colon cancer]].', ['Acco']],
    ['a family member with a negation', 'No family history of [[diabetes]].', ['Ncco']],
    ["a relative's negated disease", 'His mother denies [[diabetes]].', ['Ncco']],
  ])('%s', (_name, text, expected) => {
    expect(tag(en, text)).toEqual(expected);
  });

  it.each([
    ['no increase', 'No increase in [[edema]].'],
    ['not only', 'Not only [[anemia]] but also bleeding.'],
    ['gram negative', 'Gram negative [[rods]] in the sputum.'],
    ['no change', 'No change in the [[nodule]].'],
    ['without contrast', 'CT of the chest without contrast shows [[effusion]].'],
  ])('a pseudo-trigger (%s) does not negate', (_name, text) => {
    expect(tag(en, text)).toEqual(['Accp']);
  });

  it('a scope ends at the end of the sentence', () => {
    expect(tag(en, 'No [[fever]]. [[Cough]] for two days.')).toEqual(['Nccp', 'Accp']);
  });

  it('a period after an abbreviation does not end the sentence', () => {
    expect(tag(en, 'Seen by Dr. Smith, no [[rash]].')).toEqual(['Nccp']);
    expect(tag(en, 'No fever, e.g. [[rigors]].')).toEqual(['Nccp']);
  });

  it.each([
    ['but', 'No [[fever]] but [[cough]] is present.'],
    ['however', 'No [[fever]], however [[cough]] is present.'],
    ['although', 'Denies [[nausea]] although [[vomiting]] occurred twice.'],
    ['except', 'Negative for [[rash]] except [[pruritus]].'],
  ])('a closing term (%s) ends the scope', (_name, text) => {
    expect(tag(en, text)).toEqual(['Nccp', 'Accp']);
  });

  it('a closing term ends only the categories it names', () => {
    // "presents" ends a history, "shows" a negation.
    expect(tag(en, 'History of [[asthma]], presents with [[wheezing]].')).toEqual(['Achp', 'Accp']);
    expect(tag(en, 'No [[fever]], presents with [[cough]].')).toEqual(['Nccp', 'Nccp']);
    expect(tag(en, 'No [[fever]]; the CT shows [[consolidation]].')).toEqual(['Nccp', 'Accp']);
  });

  it('a window ends a scope inside the sentence (the entity must start within its words)', () => {
    const rules = parseAssertionRules(
      'language: en\nrules:\n  - category: negation\n    direction: forward\n    window: 3\n    terms: [no]\n',
      'window.yaml',
    );
    const tagger = createAssertionTagger(rules);
    expect(tag(tagger, 'No [[fever]] or [[chills]] and then [[cough]].')).toEqual(['Nccp', 'Nccp', 'Accp']);
  });

  it('two triggers in one sentence each set their own attribute', () => {
    expect(tag(en, 'History of [[stroke]], no [[seizures]].')).toEqual(['Achp', 'Nchp']);
    expect(tag(en, 'Possible [[pneumonia]], no [[effusion]].')).toEqual(['Aucp', 'Nucp']);
  });

  it('the longest trigger wins where triggers overlap', () => {
    // "cannot rule out" (uncertainty) holds "not"/"rule out": neither fires on its own.
    expect(tag(en, 'We cannot rule out [[appendicitis]].')).toEqual(['Aucp']);
  });

  it('an entity is not its own trigger', () => {
    expect(tag(en, 'The [[negative pressure wound]] dressing was changed.')).toEqual(['Accp']);
  });

  it('a relative scope is ended by the patient', () => {
    expect(tag(en, 'Mother had [[diabetes]], the patient has [[hypertension]].')).toEqual(['Acco', 'Accp']);
  });

  it('returns one assertion per span, in order, and none for no spans', () => {
    expect(en.assert('No fever.', [])).toEqual([]);
    const { text, spans } = marked('[[Cough]] and no [[fever]].');
    expect(en.assert(text, [spans[1]!, spans[0]!]).map(brief)).toEqual(['Nccp', 'Accp']);
  });

  it('keeps offsets right when lower-casing changes the text length', () => {
    // U+0130 lower-cases to two code units: tokens are then lower-cased one by one.
    expect(tag(en, 'İstanbul visit. No [[fever]], [[cough]] present but [[rash]].')).toEqual(['Nccp', 'Nccp', 'Accp']);
  });

  it('judges many entities of a long document each against its own sentence', () => {
    const sentences = Array.from({ length: 200 }, (_, i) => (i % 2 ? 'No [[fever]].' : 'Mother had [[asthma]].'));
    const got = tag(en, sentences.join(' '));
    expect(got).toEqual(sentences.map((_, i) => (i % 2 ? 'Nccp' : 'Acco')));
  });

  it('refuses a span outside the text', () => {
    expect(() => en.assert('No fever.', [{ start: 3, end: 40 }])).toThrow(RangeError);
  });

  it('gives the same answers when reused (its buffers hold nothing over)', () => {
    const long = 'No fever. '.repeat(500) + 'History of [[asthma]].';
    tag(en, long);
    expect(tag(en, 'The patient has [[pneumonia]].')).toEqual(['Accp']);
  });
});

describe('Norwegian (bokmål) rules', () => {
  it.each([
    ['ingen', 'Ingen [[feber]].', ['Nccp']],
    ['ikke, a list', 'Pasienten har ikke [[feber]], [[frysninger]] eller [[hoste]].', ['Nccp', 'Nccp', 'Nccp']],
    ['uten', 'Uten [[smerter]] i brystet.', ['Nccp']],
    ['negativ for', 'Negativ for [[pneumoni]].', ['Nccp']],
    ['avkreftet, backward', '[[Lungeemboli]] ble avkreftet.', ['Nccp']],
    ['mistanke om', 'Mistanke om [[lungeemboli]].', ['Aucp']],
    ['obs. (an abbreviation, not a sentence end)', 'Obs. [[pneumoni]].', ['Aucp']],
    ['hypothetical', 'Kontakt lege ved [[feber]].', ['Ahcp']],
    ['tidligere', 'Tidligere [[hjerteinfarkt]].', ['Achp']],
    ['mor', 'Mor hadde [[brystkreft]].', ['Acco']],
    ['søsken, backward', '[[Diabetes]] hos søsken.', ['Acco']],
    ['hereditet', 'Hereditet for [[tarmkreft]].', ['Acco']],
    ['a relative with a negation', 'Ingen i familien har hatt [[diabetes]].', ['Ncco']],
    ['affirmed', 'Pasienten har [[pneumoni]].', ['Accp']],
  ])('%s', (_name, text, expected) => {
    expect(tag(nb, text)).toEqual(expected);
  });

  it.each([
    ['ikke bare', 'Ikke bare [[anemi]], men også blødning.'],
    ['ingen endring', 'Ingen endring i [[svulsten]].'],
    ['gram negative', 'Gram negative [[staver]] i blodkultur.'],
  ])('a pseudo-trigger (%s) does not negate', (_name, text) => {
    expect(tag(nb, text)).toEqual(['Accp']);
  });

  it('scopes end at the sentence and at closing terms', () => {
    expect(tag(nb, 'Ingen [[feber]]. [[Hoste]] i to dager.')).toEqual(['Nccp', 'Accp']);
    expect(tag(nb, 'Ingen [[feber]], men [[hoste]] i to dager.')).toEqual(['Nccp', 'Accp']);
    expect(tag(nb, 'Tidligere [[hjerteinfarkt]], innlegges nå med [[dyspné]].')).toEqual(['Achp', 'Accp']);
  });

  it('two triggers in one sentence', () => {
    expect(tag(nb, 'Mistanke om [[lungeemboli]], men [[DVT]] er avkreftet.')).toEqual(['Aucp', 'Nccp']);
  });
});
