/** spec.podTemplate applied to a serving Deployment (the merge itself is operator/controllers/pod-overrides.ts). */
import type { V1Deployment } from '@kubernetes/client-node';
import type { NerDeployment } from '../../api/nerdeployment.js';
import { withPodOverrides as mergeOverrides } from '../pod-overrides.js';

/** The server container's name (desired.ts `SERVER_CONTAINER`; repeated here to keep the import one-way). */
const SERVER_CONTAINER = 'server';

/** The Deployment with `nd.spec.podTemplate` merged into its pod template (a new object). */
export function withPodOverrides(nd: NerDeployment, dep: V1Deployment): V1Deployment {
  if (!nd.spec.podTemplate || !dep.spec) return dep;
  return {
    ...dep,
    spec: { ...dep.spec, template: mergeOverrides(nd.spec.podTemplate, dep.spec.template, SERVER_CONTAINER) },
  };
}
