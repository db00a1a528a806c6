/**
 * Synthetic clinical notes with gold DISEASE / TREATMENT annotations, so the demo and self-contained
 * tests need nothing outside the repository. Lexicons and templates are written here (invented, no
 * patient data). Two vocabularies exist: `base` and `shifted` (other diseases, drugs and phrasing), the
 * latter standing in for a population or documentation change that the drift detector should notice.
 */
import { formatConll } from '../engine/corpus/conll.js';
import { tokenize } from '../engine/features/tokenize.js';
import { seededRandom } from '../engine/seeded-random.js';
import { writeFile } from 'node:fs/promises';

export interface SyntheticNote {
  tokens: string[];
  labels: string[];
  text: string;
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

/** Templates: `{D}` a disease, `{T}` a treatment; everything else is literal text. */
const TEMPLATES: Record<Vocabulary, string[]> = {
  base: [
    'Patient with a history of {D} presents for follow-up.',
    'Started {T} 500 mg b.i.d. for {D}.',
    '{D} is well controlled on {T}.',
    'Assessment: {D}. Plan: continue {T} and recheck in 3 months.',
    'Admitted with {D}, treated with {T} and discharged on day 4.',
    "No evidence of {D} on today's exam.",
    'History of {D} and {D}; currently taking {T}.',
    'Dr. Smith recommended {T} after the diagnosis of {D}.',
    'The patient tolerated {T} without adverse effects.',
    'Vitals stable, BP 128/82, HR 76. Denies chest pain.',
    'Family history of {D} in the mother.',
    'Discontinue {T} due to nausea; switch to {T}.',
    'Labs reviewed: creatinine 1.2 mg/dL, potassium 4.1.',
    'Follow up in clinic in 2 weeks.',
    '{T} was initiated for suspected {D}.',
  ],
  shifted: [
    'Pt seen via telehealth re: {D}, started on {T} x5 days.',
    'Positive PCR for {D}; {T} per protocol.',
    'ID consult: {D}, recommend {T} and repeat labs.',
    'Hx {D} s/p {T}, now with worsening fatigue.',
    'Screening for {D} ordered; if positive begin {T}.',
    'Pt reports good adherence to {T} for {D}.',
    'Telehealth visit completed, no acute issues.',
    'Suspect {D}; empiric {T} started in the ED.',
  ],
};

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** Generate `count` annotated notes deterministically from `seed`. */
export function generateNotes(options: { count: number; seed?: number; vocabulary?: Vocabulary }): SyntheticNote[] {
  const vocabulary = options.vocabulary ?? 'base';
  const random = seededRandom(options.seed ?? 1);
  const lex = LEXICON[vocabulary];
  const notes: SyntheticNote[] = [];
  for (let n = 0; n < options.count; n++) {
    const template = pick(TEMPLATES[vocabulary], random);
    let text = '';
    const spans: { start: number; end: number; type: 'DISEASE' | 'TREATMENT' }[] = [];
    for (const part of template.split(/(\{[DT]\})/)) {
      if (part === '{D}' || part === '{T}') {
        const type = part === '{D}' ? 'DISEASE' : 'TREATMENT';
        const phrase = pick(lex[type], random);
        spans.push({ start: text.length, end: text.length + phrase.length, type });
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
    notes.push({ tokens: toks.map((t) => t.text), labels, text });
  }
  return notes;
}

export async function writeConll(
  path: string,
  notes: readonly { tokens: readonly string[]; labels: readonly string[] }[],
): Promise<void> {
  await writeFile(path, formatConll(notes));
}
