/**
 * The assertion attributes of an entity (its clinical meaning in context) and the validated form of a rule
 * file. Plain data: the server, the CLI and the bundle writer all see these shapes.
 */

export type Certainty = 'certain' | 'uncertain' | 'hypothetical';
export type Temporality = 'current' | 'historical';
export type Experiencer = 'patient' | 'other';

/** What the text around an entity says about it. */
export interface Assertion {
  /** The text says the finding is absent ("no fever", "pneumonia was ruled out"). */
  negated: boolean;
  /** `uncertain`: possible or suspected; `hypothetical`: conditional or future ("return if fever develops"). */
  certainty: Certainty;
  /** `historical`: in the patient's past ("history of asthma"), not a current finding. */
  temporality: Temporality;
  /** `other`: someone else's finding, typically a relative's ("mother had breast cancer"). */
  experiencer: Experiencer;
}

/** The assertion of an entity no trigger reaches: a current, certain, affirmed finding of the patient. */
export const DEFAULT_ASSERTION: Readonly<Assertion> = Object.freeze({
  negated: false,
  certainty: 'certain',
  temporality: 'current',
  experiencer: 'patient',
});

/** The categories of trigger that set an attribute on the entities in their scope. */
export const SCOPE_CATEGORIES = ['negation', 'uncertainty', 'hypothetical', 'historical', 'other-experiencer'] as const;
export type ScopeCategory = (typeof SCOPE_CATEGORIES)[number];

/**
 * Every trigger category: the scope categories, `pseudo` (a phrase that looks like a trigger but is not one,
 * "no increase", "gram negative": it occupies its words so no shorter trigger inside it fires) and `closing`
 * (a word that ends scopes, "but", "however").
 */
export const TRIGGER_CATEGORIES = [...SCOPE_CATEGORIES, 'pseudo', 'closing'] as const;
export type TriggerCategory = (typeof TRIGGER_CATEGORIES)[number];

/** Which way a trigger's scope runs from it: towards the end of the sentence, its start, or both. */
export const DIRECTIONS = ['forward', 'backward', 'bidirectional'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** One group of trigger terms sharing category, direction and window. */
export interface AssertionRule {
  category: TriggerCategory;
  /** Scope categories: which way the scope runs. Ignored for `pseudo` and `closing`. */
  direction: Direction;
  /** Scope categories: the scope ends after this many words even inside the sentence; absent: the sentence. */
  window?: number | undefined;
  /** `closing` only: the scope categories whose scopes it ends; absent: all. */
  ends?: ScopeCategory[] | undefined;
  /** Phrases, matched word by word, case-insensitively; hyphens count as spaces. */
  terms: string[];
}

/** A complete, validated rule set for one language (no `extends`: inherited rules are already merged in). */
export interface AssertionRules {
  /** BCP 47 language tag of the text the rules are written for, e.g. `en`, `nb`. */
  language: string;
  rules: AssertionRule[];
  /** Words after which a period does not end a sentence ("dr", "e.g"), lower case, without the period. */
  abbreviations: string[];
}
