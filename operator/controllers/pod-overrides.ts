/**
 * A pod overrides object (operator/api/pod-overrides.ts) merged into a pod template, as one pure function.
 * Only the fields the schema allows exist (placement, priority, pull Secrets, extra metadata, envFrom), so the
 * pod stays Pod Security "restricted"; the operator's labels and annotations are written last and win, so an
 * override never changes a selector, a model label or the scrape annotations.
 */
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type { PodTemplateOverrides } from '../api/pod-overrides.js';

/** `template` with `o` merged in (a new object); `container` receives the envFrom sources. */
export function withPodOverrides(
  o: PodTemplateOverrides | undefined,
  template: V1PodTemplateSpec,
  container: string,
): V1PodTemplateSpec {
  if (!o || !template.spec) return template;
  const spec = { ...template.spec };
  if (o.nodeSelector && Object.keys(o.nodeSelector).length) spec.nodeSelector = { ...o.nodeSelector };
  if (o.tolerations?.length) spec.tolerations = o.tolerations.map((t) => ({ ...t }));
  if (o.affinity && Object.keys(o.affinity).length) spec.affinity = structuredClone(o.affinity);
  if (o.topologySpreadConstraints?.length)
    spec.topologySpreadConstraints = structuredClone(
      o.topologySpreadConstraints,
    ) as unknown as typeof spec.topologySpreadConstraints;
  if (o.priorityClassName) spec.priorityClassName = o.priorityClassName;
  if (o.imagePullSecrets?.length) spec.imagePullSecrets = o.imagePullSecrets.map((s) => ({ name: s.name }));
  if (o.envFrom?.length) {
    const envFrom = o.envFrom.map((e) => ({ ...e }));
    spec.containers = spec.containers.map((c) => (c.name === container ? { ...c, envFrom } : c));
  }
  const labels = { ...o.metadata?.labels, ...template.metadata?.labels };
  const annotations = { ...o.metadata?.annotations, ...template.metadata?.annotations };
  return {
    ...template,
    metadata: {
      ...template.metadata,
      ...(Object.keys(labels).length ? { labels } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    spec,
  };
}
