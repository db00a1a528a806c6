/**
 * Synthetic clinical notes with gold DISEASE / TREATMENT annotations, so the demo and self-contained
 * tests need nothing outside the repository. Lexicons and templates are written here (invented, no
 * patient data). Two vocabularies exist: `base` and `shifted` (other diseases, drugs and phrasing), the
 * latter standing in for a population or documentation change that the drift detector should notice.
 *
 * With `assertions: true` the notes also draw from templates whose findings are negated, a relative's,
 * uncertain or historical (ConText trigger phrases of the shipped English rules), and every note carries its
 * gold entities with offsets and the assertion a reader gives each one. Without it the output is exactly what
 * it always was: trained-bundle digests of tests and benches depend on these bytes.
 */
import type { Assertion } from '../engine/assertions/types.js';
import { formatConll } from '../engine/corpus/conll.js';
import { tokenize } from '../engine/features/tokenize.js';
import { seededRandom } from '../engine/seeded-random.js';
import { writeFile } from 'node:fs/promises';

export interface SyntheticNote {
  tokens: string[];
  labels: string[];
  text: string;
  /** Only with `assertions: true`: the gold entities, in text order, with what the note says about each. */
  entities?: GoldEntity[];
}

/** A gold entity of a note: UTF-16 offsets (end exclusive) and the assertion a clinician reads in the text. */
export interface GoldEntity {
  label: 'DISEASE' | 'TREATMENT';
  start: number;
  end: number;
  assertion: Assertion;
}

export type Vocabulary = 'base' | 'shifted';

const LEXICON: Record<Vocabulary, { DISEASE: string[]; TREATMENT: string[] }> = {
  base: {
    DISEASE: [
      'type 2 diabetes mellitus',
      'hypertension',
      'community-acquired pneumonia',
      'atrial fibrillation',
      'chronic kidney disease',
      'asthma',
      'congestive heart failure',
      'COPD',
      'urinary tract infection',
      'migraine',
      'hyperlipidemia',
      'deep vein thrombosis',
      'major depressive disorder',
      'rheumatoid arthritis',
      'osteoarthritis',
      'hypothyroidism',
      'sepsis',
      'cellulitis',
      'gastroesophageal reflux disease',
      'iron deficiency anemia',
      'acute kidney injury',
      'pulmonary embolism',
      'gout',
      'bronchitis',
      'psoriasis',
      'epilepsy',
      'stroke',
      'myocardial infarction',
      'breast cancer',
      'colorectal cancer',
    ],
    TREATMENT: [
      'metformin',
      'lisinopril',
      'amoxicillin',
      'apixaban',
      'furosemide',
      'albuterol',
      'atorvastatin',
      'levothyroxine',
      'insulin glargine',
      'sertraline',
      'methotrexate',
      'ibuprofen',
      'acetaminophen',
      'ceftriaxone',
      'prednisone',
      'warfarin',
      'omeprazole',
      'physical therapy',
      'cognitive behavioral therapy',
      'hemodialysis',
      'coronary artery bypass grafting',
      'chemotherapy',
      'radiation therapy',
      'allopurinol',
      'enoxaparin',
      'vancomycin',
      'nitrofurantoin',
      'sumatriptan',
      'iron supplementation',
      'total knee replacement',
    ],
  },
  shifted: {
    DISEASE: [
      'long COVID',
      'mpox',
      'RSV bronchiolitis',
      'dengue fever',
      'Lyme disease',
      'sickle cell crisis',
      'tuberculosis',
      'hepatitis C',
      'HIV infection',
      'celiac disease',
      'Crohn disease',
      'ulcerative colitis',
      'multiple sclerosis',
      'myasthenia gravis',
      'sarcoidosis',
      'endometriosis',
      'polycystic ovary syndrome',
      'narcolepsy',
      'Kawasaki disease',
      'Guillain-Barre syndrome',
    ],
    TREATMENT: [
      'nirmatrelvir',
      'tecovirimat',
      'palivizumab',
      'doxycycline',
      'hydroxyurea',
      'rifampin',
      'sofosbuvir',
      'dolutegravir',
      'gluten-free diet',
      'infliximab',
      'mesalamine',
      'ocrelizumab',
      'pyridostigmine',
      'intravenous immunoglobulin',
      'plasmapheresis',
      'letrozole',
      'modafinil',
      'aspirin therapy',
      'semaglutide',
      'tirzepatide',
    ],
  },
};

/**
 * Templates: `{D}` a disease, `{T}` a treatment; everything else is literal text. A mark after `|` says what
 * the note means about that finding when a clinician reads it: `neg` negated, `fam` a relative's, `unc`
 * uncertain, `hyp` hypothetical, `hist` historical (unmarked: a current, certain finding of the patient). The
 * marks are the gold of `assertions: true`; they never change the text.
 */
const TEMPLATES: Record<Vocabulary, string[]> = {
  base: [
    'Patient with a history of {D|hist} presents for follow-up.',
    'Started {T} 500 mg b.i.d. for {D}.',
    '{D} is well controlled on {T}.',
    'Assessment: {D}. Plan: continue {T} and recheck in 3 months.',
    'Admitted with {D}, treated with {T} and discharged on day 4.',
    "No evidence of {D|neg} on today's exam.",
    'History of {D|hist} and {D|hist}; currently taking {T}.',
    'Dr. Smith recommended {T} after the diagnosis of {D}.',
    'The patient tolerated {T} without adverse effects.',
    'Vitals stable, BP 128/82, HR 76. Denies chest pain.',
    'Family history of {D|fam} in the mother.',
    'Discontinue {T} due to nausea; switch to {T}.',
    'Labs reviewed: creatinine 1.2 mg/dL, potassium 4.1.',
    'Follow up in clinic in 2 weeks.',
    '{T} was initiated for suspected {D|unc}.',
  ],
  shifted: [
    'Pt seen via telehealth re: {D}, started on {T} x5 days.',
    'Positive PCR for {D}; {T} per protocol.',
    'ID consult: {D}, recommend {T} and repeat labs.',
    'Hx {D|hist} s/p {T|hist}, now with worsening fatigue.',
    'Screening for {D|hyp} ordered; if positive begin {T|hyp}.',
    'Pt reports good adherence to {T} for {D}.',
    'Telehealth visit completed, no acute issues.',
    'Suspect {D|unc}; empiric {T} started in the ED.',
  ],
};

/**
 * Drawn besides {@link TEMPLATES} only with `assertions: true`: more findings that are absent, a relative's,
 * uncertain or in the past, in phrasing a clinician writes (each sentence holds one kind of trigger, so what a
 * reader takes from it is unambiguous).
 */
const ASSERTION_TEMPLATES: Record<Vocabulary, string[]> = {
  base: [
    'Patient denies {D|neg}.',
    '{D|neg} was ruled out; continue {T}.',
    'Mother had {D|fam}; father has {D|fam}.',
    'Negative for {D|neg}. Started {T} for {D}.',
    'Assessment: possible {D|unc}. Continue {T}.',
    'His sister has {D|fam}.',
    'Patient is not on {T|neg}.',
    'Hx of {D|hist}, now on {T}.',
  ],
  shifted: [
    'Pt denies {D|neg}. {T} per protocol.',
    'PCR negative for {D|neg}.',
    'Sibling diagnosed with {D|fam}.',
    'Father w/ {D|fam}.',
    'Concern for {D|unc}; ID consult requested.',
    'Pt not started on {T|neg}.',
  ],
};

const MARKS = new Set(['neg', 'fam', 'unc', 'hyp', 'hist']);

/** The assertion a template mark stands for. */
function markAssertion(mark: string | undefined): Assertion {
  if (mark !== undefined && !MARKS.has(mark)) throw new Error(`synthetic template: unknown mark ${mark}`);
  return {
    negated: mark === 'neg',
    certainty: mark === 'unc' ? 'uncertain' : mark === 'hyp' ? 'hypothetical' : 'certain',
    temporality: mark === 'hist' ? 'historical' : 'current',
    experiencer: mark === 'fam' ? 'other' : 'patient',
  };
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

/**
 * Generate `count` annotated notes deterministically from `seed`. `assertions: true` adds the
 * {@link ASSERTION_TEMPLATES} to the draw and each note's gold `entities`.
 */
export function generateNotes(options: {
  count: number;
  seed?: number;
  vocabulary?: Vocabulary;
  assertions?: boolean;
}): SyntheticNote[] {
  const vocabulary = options.vocabulary ?? 'base';
  const random = seededRandom(options.seed ?? 1);
  const lex = LEXICON[vocabulary];
  const templates = options.assertions
    ? [...TEMPLATES[vocabulary], ...ASSERTION_TEMPLATES[vocabulary]]
    : TEMPLATES[vocabulary];
  const notes: SyntheticNote[] = [];
  for (let n = 0; n < options.count; n++) {
    const template = pick(templates, random);
    let text = '';
    const spans: { start: number; end: number; type: 'DISEASE' | 'TREATMENT'; mark: string | undefined }[] = [];
    for (const part of template.split(/(\{[DT](?:\|[a-z]+)?\})/)) {
      const placeholder = /^\{([DT])(?:\|([a-z]+))?\}$/.exec(part);
      if (placeholder) {
        const type = placeholder[1] === 'D' ? 'DISEASE' : 'TREATMENT';
        const phrase = pick(lex[type], random);
        spans.push({ start: text.length, end: text.length + phrase.length, type, mark: placeholder[2] });
        text += phrase;
      } else {
        text += part;
      }
    }
    // Capitalise a sentence that starts with an entity, as a clinician would write it.
    text = text.charAt(0).toUpperCase() + text.slice(1);
    const toks = tokenize(text, { splitHyphens: true });
    const labels = toks.map((t) => {
      const s = spans.find((sp) => t.start >= sp.start && t.end <= sp.end);
      if (!s) return 'O';
      return t.start === s.start ? `B-${s.type}` : `I-${s.type}`;
    });
    const note: SyntheticNote = { tokens: toks.map((t) => t.text), labels, text };
    if (options.assertions)
      note.entities = spans.map((sp) => ({
        label: sp.type,
        start: sp.start,
        end: sp.end,
        assertion: markAssertion(sp.mark),
      }));
    notes.push(note);
  }
  return notes;
}

export async function writeConll(
  path: string,
  notes: readonly { tokens: readonly string[]; labels: readonly string[] }[],
): Promise<void> {
  await writeFile(path, formatConll(notes));
}
