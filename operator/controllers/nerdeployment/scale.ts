/**
 * The `/scale` subresource of a NerDeployment, as pure functions.
 *
 * What an HPA or KEDA sees is the stable track: `spec.replicas.desired` sets the stable Deployment's replicas,
 * `status.scale.replicas` counts its pods and `status.scale.selector` selects them. The canary track is left
 * out on purpose: its pods are added on top of the stable count by weight during a rollout and leave after it.
 * Counting them would make the HPA's proportional rule (desired = ceil(current · metric / target)) feed the
 * canary's pods back into the stable count at every sync, so the stable track would creep up for as long as a
 * rollout lasts. With the stable track on both sides, spec and status describe the same pods.
 */
import type { NerDeploymentStatus } from '../../api/nerdeployment.js';
import { selectorLabels } from './desired.js';
import type { DeploymentObserved } from './observed.js';

/** The label selector of the stable track's pods in string form (`k=v,k=v`, sorted: a stable status). */
export function scaleSelector(nd: DeploymentObserved['nd']): string {
  const labels = selectorLabels(nd, 'stable');
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** status.scale: the stable Deployment's pods (0 before it exists) and their selector. */
export function scaleStatus(o: DeploymentObserved): NonNullable<NerDeploymentStatus['scale']> {
  return { replicas: o.deployment?.status?.replicas ?? 0, selector: scaleSelector(o.nd) };
}

/**
 * The stable count in External mode: the `/scale` spec value clamped into [min, max] (min is the floor: no
 * scale to zero, which would leave the Service without endpoints); `min` until something writes it.
 */
export function externalReplicas(
  desired: number | undefined,
  min: number,
  max: number,
): { replicas: number; message: string } {
  if (desired === undefined)
    return { replicas: min, message: `external scaler has not set spec.replicas.desired yet; running min ${min}` };
  const replicas = Math.min(max, Math.max(min, desired));
  const clamped = replicas !== desired ? ` (asked ${desired}, clamped into [${min}, ${max}])` : '';
  return { replicas, message: `external scaler sets ${replicas} replicas${clamped}` };
}
