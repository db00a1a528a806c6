/**
 * spec.podTemplate applied to a serving Deployment, as one pure function over the desired object. Only the
 * fields the schema allows exist (placement, priority, pull Secrets, extra metadata and envFrom), so the pod
 * stays Pod Security "restricted"; the operator's labels and annotations are written last and win, so an
 * override can never change the selector, the model label or the scrape annotations.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { NerDeployment } from '../../api/nerdeployment.js';
import { SERVER_CONTAINER } from './desired.js';

/** The Deployment with `nd.spec.podTemplate` merged into its pod template (a new object; the input is unchanged). */
export function withPodOverrides(nd: NerDeployment, dep: V1Deployment): V1Deployment {
  const o = nd.spec.podTemplate;
  const template = dep.spec?.template;
  if (!o || !dep.spec || !template?.spec) return dep;
  const spec = { ...template.spec };
  if (o.nodeSelector && Object.keys(o.nodeSelector).length) spec.nodeSelector = { ...o.nodeSelector };
  if (o.tolerations?.length) spec.tolerations = o.tolerations.map((t) => ({ ...t }));
  if (o.priorityClassName) spec.priorityClassName = o.priorityClassName;
  if (o.imagePullSecrets?.length) spec.imagePullSecrets = o.imagePullSecrets.map((s) => ({ name: s.name }));
  if (o.envFrom?.length)
    spec.containers = spec.containers.map((c) =>
      c.name === SERVER_CONTAINER ? { ...c, envFrom: o.envFrom?.map((e) => ({ ...e })) ?? [] } : c,
    );
  const labels = { ...o.metadata?.labels, ...template.metadata?.labels };
  const annotations = { ...o.metadata?.annotations, ...template.metadata?.annotations };
  return {
    ...dep,
    spec: {
      ...dep.spec,
      template: {
        ...template,
        metadata: {
          ...template.metadata,
          ...(Object.keys(labels).length ? { labels } : {}),
          ...(Object.keys(annotations).length ? { annotations } : {}),
        },
        spec,
      },
    },
  };
}
