/**
 * Assertion rules inside a model bundle: a self-contained rule file pinned in the manifest like every other
 * file, named by the manifest's `assertions` entry (format version 2). A bundle without that entry has no
 * rules of its own and serves exactly as before the assertion stage existed.
 */
import { ASSERTIONS_FORMAT_VERSION, type AssertionsManifestSection } from '../../contracts/bundle-manifest.js';
import { BundleVerificationError, type VerifiedBundle } from '../bundle/bundle.js';
import { AssertionRulesError, parseAssertionRules, serializeAssertionRules } from './rules.js';
import type { AssertionRules } from './types.js';

/** The rule file's name in bundles the project writes. */
export const ASSERTIONS_FILE = 'assertions.yaml';

const parsed = new WeakMap<VerifiedBundle, AssertionRules | undefined>();

/**
 * The bundle's assertion rules, or undefined when it has none. Parsed once per verified bundle. A rule file
 * that does not parse, or says `extends` (its meaning would then depend on the runtime's shipped rules, not
 * on the digest), refuses the bundle.
 */
export function bundleAssertionRules(bundle: VerifiedBundle): AssertionRules | undefined {
  if (parsed.has(bundle)) return parsed.get(bundle);
  const entry = bundle.manifest.assertions;
  let rules: AssertionRules | undefined;
  if (entry) {
    const data = bundle.files.get(entry.file);
    if (!data)
      throw new BundleVerificationError(`assertion rules ${entry.file} are not among the bundle's files`, bundle.dir);
    try {
      rules = parseAssertionRules(data.toString('utf8'), entry.file, { selfContained: true });
    } catch (err) {
      if (err instanceof AssertionRulesError) throw new BundleVerificationError(err.message, bundle.dir);
      throw err;
    }
    if (rules.language !== entry.language)
      throw new BundleVerificationError(
        `assertion rules ${entry.file} are for language ${rules.language}, the manifest says ${entry.language}`,
        bundle.dir,
      );
  }
  parsed.set(bundle, rules);
  return rules;
}

/**
 * What a bundle writer adds to carry `rules`: the file to pin, the manifest entry, and the format version the
 * manifest must then have.
 */
export function assertionBundleParts(rules: AssertionRules): {
  files: Record<string, string>;
  assertions: AssertionsManifestSection;
  formatVersion: typeof ASSERTIONS_FORMAT_VERSION;
} {
  return {
    files: { [ASSERTIONS_FILE]: serializeAssertionRules(rules) },
    assertions: { language: rules.language, file: ASSERTIONS_FILE },
    formatVersion: ASSERTIONS_FORMAT_VERSION,
  };
}
