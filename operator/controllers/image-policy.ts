/**
 * Which images the operator may run for a tenant: the platform team's list of allowed registry / repository
 * prefixes (`--allowed-image-registries`, Helm `security.allowedImageRegistries`) plus the operator's own
 * image. Used for `NerDeployment.spec.image` and for every container of a DriftPolicy's retraining template.
 *
 * References are compared after the normalisation container runtimes apply (`nerops` is
 * `docker.io/library/nerops`, `index.docker.io` is `docker.io`), by whole path segments: `ghcr.io/acme`
 * allows `ghcr.io/acme/ner` but not `ghcr.io/acme-evil/ner` nor `ghcr.io.evil.com/acme/ner`. A reference
 * that does not parse is never allowed, so nothing the runtime would read differently slips through.
 */

/** A parsed image reference: registry host, repository path, and the tag and digest when given. */
export interface ImageReference {
  /** Registry host (lower case, `:port` kept); `docker.io` for Docker Hub. */
  domain: string;
  /** Repository path, e.g. `library/nerops`. */
  path: string;
  tag?: string;
  digest?: string;
}

/** An allowed prefix: every repository at or under `path` on `domain` (`path` empty: the whole registry). */
export interface RegistryPrefix {
  domain: string;
  path: string;
}

const DOCKER_HUB = 'docker.io';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]{1,5})?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
/** Longest repository name a registry accepts (distribution/reference). */
const MAX_NAME = 255;

/** Docker's rule: the first component names a registry when it has a dot or a port, is localhost, or has upper case. */
function looksLikeDomain(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
}

function normalDomain(domain: string): string {
  const d = domain.toLowerCase();
  return d === 'index.docker.io' || d === 'registry-1.docker.io' ? DOCKER_HUB : d;
}

/** Splits `name` (no tag or digest) into domain and path components; undefined when malformed. */
function splitName(name: string, bareDomain: boolean): { domain: string; parts: string[] } | undefined {
  if (name.length === 0 || name.length > MAX_NAME) return undefined;
  const parts = name.split('/');
  let domain = DOCKER_HUB;
  const first = parts[0] as string;
  if ((parts.length > 1 || bareDomain) && looksLikeDomain(first)) {
    if (!DOMAIN.test(first)) return undefined;
    domain = normalDomain(first);
    parts.shift();
  }
  if (!parts.every((p) => PATH_COMPONENT.test(p))) return undefined;
  return { domain, parts };
}

/** Parses an image reference the way container runtimes do; undefined when it is not a valid reference. */
export function parseImageReference(ref: string): ImageReference | undefined {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return undefined;
  }
  const split = splitName(rest, false);
  if (!split || split.parts.length === 0) return undefined;
  const { domain, parts } = split;
  if (domain === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  return { domain, path: parts.join('/'), ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/**
 * Parses one allowed prefix. `ghcr.io` or `registry.local:5000` is a whole registry; `ghcr.io/acme` a
 * repository and everything under it; `nerops` is normalised like an image name (`docker.io/library/nerops`).
 * A trailing `/` takes the path as written (`docker.io/acme/` is the Docker Hub namespace `acme`, not
 * `library/acme`). Tags and digests are refused: a prefix names repositories, not versions.
 */
export function parseRegistryPrefix(entry: string): RegistryPrefix {
  const trimmed = entry.trim();
  const asWritten = trimmed.endsWith('/');
  const name = trimmed.replace(/\/+$/, '');
  const split = name.includes('@') ? undefined : splitName(name, true);
  if (!split) {
    throw new Error(
      `'${entry}' is not a registry or repository prefix (e.g. ghcr.io, ghcr.io/acme, registry.local:5000/ml; no tag or digest)`,
    );
  }
  const { domain, parts } = split;
  if (domain === DOCKER_HUB && parts.length === 1 && !asWritten) parts.unshift('library');
  return { domain, path: parts.join('/') };
}

/** Parses a comma- or whitespace-separated list of prefixes (flag or environment value); empty entries are skipped. */
export function parseRegistryList(text: string | undefined): string[] {
  const entries = (text ?? '')
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of entries) parseRegistryPrefix(e);
  return entries;
}

function under(ref: ImageReference, prefix: RegistryPrefix): boolean {
  if (ref.domain !== prefix.domain) return false;
  return prefix.path === '' || ref.path === prefix.path || ref.path.startsWith(`${prefix.path}/`);
}

/** What decides whether an image may run. */
export interface ImagePolicy {
  /** Allowed prefixes, as configured (parsed with {@link parseRegistryPrefix}). */
  allowedImageRegistries: readonly string[];
  /** The operator's own image (`--image`): its repository is always allowed, with any tag or digest. */
  ownImage: string;
}

/**
 * Why `image` may not run, or undefined when it may. With an empty list only the operator's own repository
 * is allowed: its registry as a whole could be a public one (`nerops:dev` lives on docker.io), which would
 * allow any image. The message names the image and the configuration (both are configuration, not data).
 */
export function imageRefusal(image: string, policy: ImagePolicy): string | undefined {
  const ref = parseImageReference(image);
  if (!ref) return `image '${image}' is not a valid image reference`;
  const own = parseImageReference(policy.ownImage);
  if (own && under(ref, { domain: own.domain, path: own.path })) return undefined;
  if (policy.allowedImageRegistries.some((e) => under(ref, parseRegistryPrefix(e)))) return undefined;
  const allowed = [own ? `${own.domain}/${own.path}` : undefined, ...policy.allowedImageRegistries].filter(Boolean);
  return `image '${image}' is not from an allowed registry (allowed: ${allowed.join(', ')}; operator flag --allowed-image-registries, Helm security.allowedImageRegistries)`;
}
