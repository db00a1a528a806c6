/**
 * Whether a DriftPolicy's retraining template may become a Job: the pod it would run, with the operator's
 * safe defaults filled in (desired.ts builds the Job from the same {@link templatePodSpec}), judged by the
 * tenant pod policy (pod-policy.ts). Pure.
 */
import type { V1JobSpec, V1PodSpec } from '@kubernetes/client-node';
import type { DriftPolicy } from '../../api/driftpolicy.js';
import { podViolations, withRestrictedDefaults, type PolicyViolation, type TenantPolicy } from '../pod-policy.js';

/** Field path of the template's pod spec, the prefix of every violation. */
export const TEMPLATE_POD_PATH = 'spec.retraining.template.spec.template.spec';

/** The template's Job spec as the API types see it (a copy). */
export function templateJobSpec(policy: DriftPolicy): V1JobSpec | undefined {
  const template = policy.spec.retraining.template;
  return template ? (structuredClone(template.spec) as unknown as V1JobSpec) : undefined;
}

/** The pod a template Job runs: the template's pod spec with the restricted defaults where it says nothing. */
export function templatePodSpec(spec: V1JobSpec): V1PodSpec {
  return withRestrictedDefaults(spec.template?.spec ?? { containers: [] });
}

/** Every violation of the policy's template (empty without a template: the default Job is the operator's own). */
export function templateViolations(policy: DriftPolicy, tenant: TenantPolicy, ownImage: string): PolicyViolation[] {
  const spec = templateJobSpec(policy);
  if (!spec) return [];
  return podViolations(
    templatePodSpec(spec),
    TEMPLATE_POD_PATH,
    tenant,
    ownImage,
    spec.template?.metadata?.annotations,
  );
}
