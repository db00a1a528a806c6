/**
 * The assertion stage: what the text around each entity says about it (negated, uncertain or hypothetical,
 * historical, someone else's). Rules are per-language data files (rules/<language>.yaml); a model bundle may
 * pin its own (bundle.ts). docs/assertions.md is the user guide.
 *
 *   const tagger = createAssertionTagger(defaultAssertionRules('en'));
 *   const entities = withAssertions(tagger, text, result.entities);
 */
import type { AssertionTagger, TextSpan } from './tagger.js';
import type { Assertion } from './types.js';

export type {
  Assertion,
  AssertionRule,
  AssertionRules,
  Certainty,
  Direction,
  Experiencer,
  ScopeCategory,
  Temporality,
  TriggerCategory,
} from './types.js';
export { DEFAULT_ASSERTION, DIRECTIONS, SCOPE_CATEGORIES, TRIGGER_CATEGORIES } from './types.js';
export {
  AssertionRulesError,
  SHIPPED_LANGUAGES,
  defaultAssertionRules,
  loadAssertionRules,
  parseAssertionRules,
  serializeAssertionRules,
  shippedLanguageFor,
  type ParseOptions,
  type ShippedLanguage,
} from './rules.js';
export { createAssertionTagger, type AssertionTagger, type TextSpan } from './tagger.js';
export {
  EvaluationDataError,
  parseNegexTsv,
  scoreNegation,
  type GoldData,
  type GoldItem,
  type NegationScores,
} from './evaluate.js';
export { ASSERTIONS_FILE, assertionBundleParts, bundleAssertionRules } from './bundle.js';

/** Each entity with its `assertion` (a new array of new objects; the entities given are not changed). */
export function withAssertions<E extends TextSpan>(
  tagger: AssertionTagger,
  text: string,
  entities: readonly E[],
): (E & { assertion: Assertion })[] {
  const assertions = tagger.assert(text, entities);
  return entities.map((e, i) => ({ ...e, assertion: assertions[i]! }));
}
