/**
 * The normalised word form every word-level lookup shares: word features, the vocabulary, clusters,
 * gazetteer and lexicon phrases, embedding rows. Its own module because all of those import it, and
 * none of them should import the feature extractor for it.
 */

/** Normalised word form used for word features and the vocabulary: lower case, digits → 0. */
export function normalizeToken(token: string): string {
  return token.toLowerCase().replace(/[0-9]/g, '0');
}
