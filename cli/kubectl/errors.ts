/**
 * API errors as `kubectl ner` explains them (pure). Exit codes (docs/kubectl-ner.md):
 * 0 done; 1 an error (or, for `status`, Degraded / RolledBack); 2 usage (or, for `status`, the timeout);
 * 3 forbidden (RBAC, or the approval policy); 4 not found.
 */
import type { ApiError } from './client.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, timeout: 2, forbidden: 3, notFound: 4 } as const;

/** The role that grants a verb on nerops objects (charts/nerops: aggregated roles). */
function roleFor(verb: string, approving: boolean): string {
  if (approving) return 'nerops-approver';
  return ['get', 'list', 'watch'].includes(verb) ? 'nerops-view' : 'nerops-edit';
}

/**
 * One line for the user. A 403 from RBAC names the user, the verb, the resource and the role to ask for
 * (parsed from the Status message, e.g. `User "bob" cannot patch resource "nerdeployments" in API group
 * "nerops.io" in the namespace "ns"`); a 403 from an admission policy passes its message on; a 404 says what
 * was not found.
 */
export function explainApiError(
  e: Pick<ApiError, 'statusCode' | 'status'>,
  ctx: { namespace: string; what?: string; approving?: boolean },
): { message: string; exitCode: number } {
  const msg = e.status.message ?? '';
  if (e.statusCode === 403) {
    const m =
      /User "([^"]*)" cannot (\w+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]+)")?/.exec(
        msg,
      );
    if (m) {
      const [, user, verb = '', resource, group, namespace] = m;
      const res = group ? `${resource}.${group}` : resource;
      const where = namespace ? `in namespace ${namespace}` : 'cluster-wide';
      return {
        message: `you (user ${user}) cannot ${verb} ${res} ${where}: ask for the ${roleFor(verb, ctx.approving === true)} role`,
        exitCode: EXIT.forbidden,
      };
    }
    return { message: `refused by the API server: ${msg}`, exitCode: EXIT.forbidden };
  }
  if (e.statusCode === 404) {
    const d = e.status.details;
    const what = d?.name ? `${d.kind ?? 'object'}${d.group ? `.${d.group}` : ''} ${d.name}` : (ctx.what ?? 'object');
    return {
      message: `${what} not found in namespace ${ctx.namespace}${d?.kind ? '' : ' (are the nerops CRDs installed?)'}`,
      exitCode: EXIT.notFound,
    };
  }
  if (e.statusCode === 401)
    return { message: 'not authenticated: check your kubeconfig credentials', exitCode: EXIT.failed };
  return { message: `API server answered ${e.statusCode}: ${msg}`, exitCode: EXIT.failed };
}
