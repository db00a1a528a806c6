/**
 * The assertion stage as the server and `ner-ops predict` run it: which rules a request's language gets, and
 * tagging a document's entities with them. The bundle's own rules (engine/assertions, pinned by its digest)
 * serve their language; the rules the project ships serve the others (en, nb). A model without rules of its
 * own and no configured language has no stage: its entities carry no `assertion`, exactly as before.
 */
import {
  SHIPPED_LANGUAGES,
  createAssertionTagger,
  defaultAssertionRules,
  withAssertions,
  type AssertionRules,
  type AssertionTagger,
  type ShippedLanguage,
} from '../engine/assertions/index.js';
import type { Entity } from '../engine/types.js';

/**
 * The primary language subtag of a BCP 47 tag, lower-cased, with Norwegian's macrolanguage `no` read as
 * bokmål (`nb`), the written standard of most clinical notes; undefined when `tag` is not a language tag.
 */
export function normalizeLanguage(tag: string): string | undefined {
  const m = /^([A-Za-z]{2,3})(?:-[A-Za-z0-9]{1,8})*$/.exec(tag.trim());
  if (!m) return undefined;
  const primary = m[1]!.toLowerCase();
  return primary === 'no' ? 'nb' : primary;
}

/** A language nobody has rules for, or a malformed tag. The message lists what is supported, never the input. */
export class UnsupportedLanguageError extends Error {
  constructor(readonly supported: readonly string[]) {
    super(`unsupported language; assertion rules exist for ${supported.join(', ')}`);
    this.name = 'UnsupportedLanguageError';
  }
}

export class AssertionStage {
  /** The language of a request that does not say: the configured one, else the bundle's rules' language. */
  readonly defaultLanguage: string;
  /** Every language a request may ask for, the default first. */
  readonly languages: readonly string[];
  readonly #rules = new Map<string, AssertionRules>();
  readonly #taggers = new Map<string, AssertionTagger>();

  /**
   * The stage of a model: its bundle's rules (`bundleRules`) and the language configured for it
   * (`--assertion-language`); undefined when it has neither. Throws UnsupportedLanguageError for a configured
   * language with no rules.
   */
  static forModel(bundleRules: AssertionRules | undefined, language?: string): AssertionStage | undefined {
    if (!bundleRules && language === undefined) return undefined;
    return new AssertionStage(bundleRules, language);
  }

  private constructor(bundleRules: AssertionRules | undefined, language: string | undefined) {
    const own = bundleRules ? normalizeLanguage(bundleRules.language) : undefined;
    if (bundleRules && own) this.#rules.set(own, bundleRules);
    const languages = [...new Set([...(own ? [own] : []), ...SHIPPED_LANGUAGES])];
    const configured = language === undefined ? undefined : normalizeLanguage(language);
    if (language !== undefined && (configured === undefined || !languages.includes(configured)))
      throw new UnsupportedLanguageError(languages);
    this.defaultLanguage = configured ?? own ?? 'en';
    this.languages = [this.defaultLanguage, ...languages.filter((l) => l !== this.defaultLanguage)];
  }

  /** The language to use for a `Content-Language` value (absent: the default). Throws UnsupportedLanguageError. */
  languageFor(header: string | undefined): string {
    if (header === undefined || header.trim() === '') return this.defaultLanguage;
    // One language per request: a list ("en, nb") would leave the stage to guess which rules apply.
    const lang = normalizeLanguage(header);
    if (lang === undefined || !this.languages.includes(lang)) throw new UnsupportedLanguageError(this.languages);
    return lang;
  }

  /** The tagger of `language` (one of {@link languages}), made on first use. */
  tagger(language: string): AssertionTagger {
    let t = this.#taggers.get(language);
    if (!t) {
      const rules = this.#rules.get(language) ?? defaultAssertionRules(language as ShippedLanguage);
      t = createAssertionTagger(rules);
      this.#taggers.set(language, t);
    }
    return t;
  }

  /** `entities` of `text`, each with its assertion in `language`. */
  tag(language: string, text: string, entities: readonly Entity[]): Entity[] {
    return withAssertions(this.tagger(language), text, entities);
  }
}
