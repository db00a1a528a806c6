/**
 * Where a model-store token may go. A NerModel names a Secret and a URI; without a check anyone who may
 * create NerModels in a namespace could send any Secret of it to a server of their choosing. So (pure,
 * decided before any pod exists):
 *
 * - a Secret's token goes only to the origins the Secret lists in its `nerops.io/allowed-origins`
 *   annotation; a Secret without the annotation allows none (the safe default: whoever owns the Secret
 *   says where it may go, not whoever writes the NerModel);
 * - a token never goes over plain `http://` unless the NerModel says `spec.source.allowInsecureHttp: true`
 *   (and, for a Secret's token, the Secret lists that `http://` origin: both sides consent).
 *
 * Origins compare as contracts/origins.ts normalizes them.
 */
import { ALLOWED_ORIGINS_ANNOTATION, NerModelReason } from '../api/nermodel-constants.js';
import { originOf, parseAllowedOrigins } from '../../contracts/origins.js';

export { originOf, parseAllowedOrigins };

/** What the operator read of a credentials Secret: its annotations only (never its data), or that it is missing. */
export type SecretMetadata = { name: string; annotations: Record<string, string> } | { name: string; missing: true };

/** Why a source's credentials may not be used: the condition/Event reason and a message without secrets. */
export interface CredentialsRefusal {
  reason: typeof NerModelReason.CredentialsOriginRefused | typeof NerModelReason.InsecureCredentials;
  message: string;
}

export interface SourceCredentials {
  uri: string;
  /** The Secret the source names itself (the operator's default token is filtered by withStorageDefaults). */
  secret?: SecretMetadata | undefined;
  allowInsecureHttp?: boolean | undefined;
}

/**
 * Whether the source's own Secret may be sent to its URI; undefined when it may (or no token is sent: no
 * Secret, or a `pvc://` / `file://` URI, which never carries a token). Messages name the Secret, the origin
 * and the rule, never the token.
 */
export function checkSourceCredentials(s: SourceCredentials): CredentialsRefusal | undefined {
  const origin = originOf(s.uri);
  if (!s.secret || origin === undefined) return undefined;
  const name = s.secret.name;
  if (origin.startsWith('http:') && !s.allowInsecureHttp)
    return {
      reason: NerModelReason.InsecureCredentials,
      message:
        `the token of Secret ${name} would be sent in clear to ${origin}: use https, or set ` +
        'spec.source.allowInsecureHttp: true (and list the http origin on the Secret) to accept that',
    };
  if ('missing' in s.secret)
    return {
      reason: NerModelReason.CredentialsOriginRefused,
      message: `Secret ${name} does not exist, so the origins it allows cannot be checked; nothing was started`,
    };
  const { origins, invalid } = parseAllowedOrigins(s.secret.annotations[ALLOWED_ORIGINS_ANNOTATION]);
  if (origins.includes(origin)) return undefined;
  const listed =
    origins.length > 0
      ? `it allows only ${origins.join(', ')}`
      : `it has no ${ALLOWED_ORIGINS_ANNOTATION} annotation listing origins`;
  const bad = invalid.length > 0 ? ` (${invalid.length} entries are not origins and allow nothing)` : '';
  return {
    reason: NerModelReason.CredentialsOriginRefused,
    message: `Secret ${name} does not allow its token to be sent to ${origin}: ${listed}${bad}; add the origin to its ${ALLOWED_ORIGINS_ANNOTATION} annotation`,
  };
}
