/**
 * Origins as the token rules compare them (the operator's credentials checks, `--default-model-credentials-origins`):
 * the WHATWG URL origin, i.e. scheme, host (lower case, IDNA) and port with the scheme's default port
 * dropped, so `https://Models.Example.org:443/x` is `https://models.example.org`.
 */

/** The normalized origin of an http(s) URI; undefined for other schemes or a URI that does not parse. */
export function originOf(uri: string): string | undefined {
  if (!/^https?:\/\//i.test(uri)) return undefined;
  try {
    return new URL(uri).origin;
  } catch {
    return undefined;
  }
}

/**
 * The origins an annotation value lists (comma or whitespace separated). An entry must be an origin: an
 * http(s) URL with no user info, path (a lone `/` is fine), query or fragment; anything else is `invalid`
 * and allows nothing. No wildcards: every origin a token may reach is written out.
 */
export function parseAllowedOrigins(value: string | undefined): { origins: string[]; invalid: string[] } {
  const origins: string[] = [];
  const invalid: string[] = [];
  for (const entry of (value ?? '').split(/[\s,]+/).filter((e) => e !== '')) {
    let url: URL | undefined;
    try {
      url = /^https?:\/\//i.test(entry) ? new URL(entry) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || url.username || url.password || url.pathname !== '/' || url.search || url.hash) invalid.push(entry);
    else if (!origins.includes(url.origin)) origins.push(url.origin);
  }
  return { origins, invalid };
}
