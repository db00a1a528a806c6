/**
 * The resource types the controllers read and write that are not built into Kubernetes: the three nerops
 * kinds and the Gateway API HTTPRoute. Registered here once; the controllers, tests, demo and benches
 * import them from this module. Built-in kinds (Deployments, Jobs, ...) are in runtime/resource.ts.
 */
import type { ResourceType } from '../runtime/resource.js';
import { DRIFT_POLICY, GROUP, NER_DEPLOYMENT, NER_MODEL, VERSION, type KindNames } from './group.js';

function nerops(kind: KindNames): ResourceType {
  return { group: GROUP, version: VERSION, kind: kind.kind, plural: kind.plural, namespaced: true };
}

/** NerModel as a runtime resource type. */
export const nerModels: ResourceType = nerops(NER_MODEL);
/** NerDeployment as a runtime resource type. */
export const nerDeployments: ResourceType = nerops(NER_DEPLOYMENT);
/** DriftPolicy as a runtime resource type. */
export const driftPolicies: ResourceType = nerops(DRIFT_POLICY);

/** gateway.networking.k8s.io/v1 HTTPRoute (the user's; the gatewayAPI router sets its backend weights). */
export const httpRoutes = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  kind: 'HTTPRoute',
  plural: 'httproutes',
  namespaced: true,
} as const satisfies ResourceType;
