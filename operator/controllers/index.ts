/**
 * The controllers `ner-ops operator` runs. Owned by the controllers; the runtime only imports this list.
 * Each entry is a ControllerSpec or a factory `(deps) => ControllerSpec` (see operator/main.ts).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ControllerDeps, ControllerFactory } from '../main.js';
import type { ControllerSpec } from '../runtime/controller.js';
import { DEFAULT_IMAGE, type ModelStorageDefaults } from './common.js';
import { nerModelController } from './nermodel/reconcile.js';
import { nerDeploymentController } from './nerdeployment/reconcile.js';
import { PrometheusClient } from '../prometheus/client.js';
import { driftPolicyController } from './driftpolicy/reconcile.js';

/** The image for pods the operator creates: `deps.image` (operator flag `--image`), else $NEROPS_IMAGE, else nerops:dev. */
export function imageOf(deps: ControllerDeps): string {
  return (deps as ControllerDeps & { image?: string }).image ?? (process.env.NEROPS_IMAGE || DEFAULT_IMAGE);
}

/** The operator's default model storage, for the controllers' options (only when something is set). */
function storageOf(deps: ControllerDeps): { storage?: ModelStorageDefaults } {
  const s = deps.modelStorage;
  return s && (s.uri || s.credentialsSecret || s.caConfigMap) ? { storage: s } : {};
}

function erase<T extends KubernetesObject>(spec: ControllerSpec<T>): ControllerSpec<KubernetesObject> {
  return spec as unknown as ControllerSpec<KubernetesObject>;
}

export const controllers: ControllerFactory[] = [
  (deps) => erase(nerModelController({ image: imageOf(deps), ...storageOf(deps) })),
  (deps) =>
    erase(
      nerDeploymentController({
        image: imageOf(deps),
        ...storageOf(deps),
        ...(deps.prometheusUrl
          ? { prometheus: new PrometheusClient({ url: deps.prometheusUrl, timeoutMs: 5000 }) }
          : {}),
        ...(process.env.NEROPS_METRICS_INTERVAL_MS
          ? { metricsIntervalMs: Number(process.env.NEROPS_METRICS_INTERVAL_MS) }
          : {}),
        ...(deps.metrics ? { registry: deps.metrics.registry } : {}),
      }),
    ),
  (deps) =>
    erase(
      driftPolicyController({
        image: imageOf(deps),
        ...storageOf(deps),
        ...(deps.prometheusUrl
          ? { prometheus: new PrometheusClient({ url: deps.prometheusUrl, timeoutMs: 5000 }) }
          : {}),
        ...(deps.metrics ? { registry: deps.metrics.registry } : {}),
      }),
    ),
];
