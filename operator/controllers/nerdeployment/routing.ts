/**
 * Traffic routers, as pure functions.
 *
 * - `replicaRatio` (default): one Service selects both tracks; the candidate gets
 *   {@link canaryReplicas} replicas next to a fully scaled stable track (so a rollback is instant), and
 *   the share of traffic approximates the weight.
 * - `gatewayAPI`: an existing HTTPRoute's rules that point at this NerDeployment's Services get exactly two
 *   backendRefs, `<name>-stable` and `<name>-canary`, weighted with the rollout's weights.
 *
 * A spec the chosen router cannot honour is refused ({@link routingProblem}) rather than ignored.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { NerDeployment, Weights } from '../../api/nerdeployment.js';
import { trackServiceName } from './desired.js';

export { canaryReplicas } from './rollout.js';

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  [k: string]: unknown;
}

/** One HTTPRoute rule (only backendRefs matter here; other fields are kept as they are). */
export interface HttpRouteRule {
  backendRefs?: BackendRef[];
  [k: string]: unknown;
}

export interface HttpRoute extends KubernetesObject {
  spec?: { rules?: HttpRouteRule[]; [k: string]: unknown };
}

/** Why the configured router cannot honour the spec (undefined: it can). Checked before any traffic moves. */
export function routingProblem(
  nd: NerDeployment,
  route: HttpRoute | undefined,
  routeError?: string,
): string | undefined {
  const r = nd.spec.trafficRouting;
  if (r.type === 'replicaRatio') {
    if (r.gatewayAPI)
      return 'spec.trafficRouting.gatewayAPI is set but type is replicaRatio: the replica-ratio router cannot honour HTTPRoute settings (set type: gatewayAPI or remove them)';
    return undefined;
  }
  const name = r.gatewayAPI?.httpRouteName ?? '';
  if (routeError) return `cannot read HTTPRoute ${name}: ${routeError}`.slice(0, 1024);
  if (!route)
    return `HTTPRoute ${name} not found in namespace ${nd.metadata.namespace} (are the Gateway API CRDs installed and the route created?)`;
  if (managedRuleIndexes(nd, route).length === 0) {
    return `HTTPRoute ${name} has no rule with a backendRef to Service ${nd.metadata.name}, ${trackServiceName(nd, 'stable')} or ${trackServiceName(nd, 'canary')}`;
  }
  return undefined;
}

function ours(nd: NerDeployment): Set<string> {
  return new Set([nd.metadata.name ?? '', trackServiceName(nd, 'stable'), trackServiceName(nd, 'canary')]);
}

/** Indexes of the rules whose backends point at this NerDeployment's Services. */
export function managedRuleIndexes(nd: NerDeployment, route: HttpRoute): number[] {
  const names = ours(nd);
  return (route.spec?.rules ?? []).flatMap((rule, i) =>
    (rule.backendRefs ?? []).some((b) => (b.kind ?? 'Service') === 'Service' && !b.group && names.has(b.name))
      ? [i]
      : [],
  );
}

/**
 * The route's rules with the managed ones pointing at exactly the two track Services with `weights`;
 * every other field and rule is kept. Returns undefined when nothing changes (no write).
 */
export function weightedRules(nd: NerDeployment, route: HttpRoute, weights: Weights): HttpRouteRule[] | undefined {
  const port = nd.spec.server.port;
  const managed = new Set(managedRuleIndexes(nd, route));
  const rules = (route.spec?.rules ?? []).map((rule, i): HttpRouteRule => {
    if (!managed.has(i)) return rule;
    const backendRefs: BackendRef[] = [
      { kind: 'Service', name: trackServiceName(nd, 'stable'), port, weight: weights.stable },
      { kind: 'Service', name: trackServiceName(nd, 'canary'), port, weight: weights.canary },
    ];
    return { ...rule, backendRefs };
  });
  const same = JSON.stringify(normalise(rules)) === JSON.stringify(normalise(route.spec?.rules ?? []));
  return same ? undefined : rules;
}

function normalise(rules: HttpRouteRule[]): unknown {
  return rules.map((r) => (r.backendRefs ?? []).map((b) => [b.kind ?? 'Service', b.name, b.port, b.weight ?? 1]));
}

/** The weights the route currently sends to the two track Services (for tests and status). */
export function routeWeights(nd: NerDeployment, route: HttpRoute): Weights | undefined {
  const i = managedRuleIndexes(nd, route)[0];
  if (i === undefined) return undefined;
  const refs = route.spec?.rules?.[i]?.backendRefs ?? [];
  const w = (t: 'stable' | 'canary') => refs.find((b) => b.name === trackServiceName(nd, t))?.weight ?? 0;
  return { stable: w('stable'), canary: w('canary') };
}
