/**
 * The controllers `ner-ops operator` runs. Owned by the controllers; the runtime only imports this list.
 * Each entry is a factory `(deps) => ControllerSpec`, built from the configuration operator/main.ts parsed
 * (operator/config.ts).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ControllerConfig, ControllerFactory } from '../config.js';
import type { ControllerSpec } from '../runtime/controller.js';
import { PrometheusClient } from '../prometheus/client.js';
import { nerModelController } from './nermodel/reconcile.js';
import { nerDeploymentController } from './nerdeployment/reconcile.js';
import { driftPolicyController } from './driftpolicy/reconcile.js';

function erase<T extends KubernetesObject>(spec: ControllerSpec<T>): ControllerSpec<KubernetesObject> {
  return spec as unknown as ControllerSpec<KubernetesObject>;
}

/** The options every controller shares: the image, what tenants may run, and the model storage defaults when set. */
function common(config: ControllerConfig) {
  return {
    image: config.image,
    tenant: config.tenant,
    ...(config.modelStorage ? { storage: config.modelStorage } : {}),
  };
}

function prometheusOf(config: ControllerConfig) {
  return config.prometheusUrl
    ? { prometheus: new PrometheusClient({ url: config.prometheusUrl, timeoutMs: 5000 }) }
    : {};
}

export const controllers: ControllerFactory[] = [
  ({ config }) => erase(nerModelController(common(config))),
  ({ config, metrics }) =>
    erase(
      nerDeploymentController({
        ...common(config),
        ...prometheusOf(config),
        ...(config.metricsIntervalMs !== undefined ? { metricsIntervalMs: config.metricsIntervalMs } : {}),
        ...(config.otlpTracesUrl ? { otlpTracesUrl: config.otlpTracesUrl } : {}),
        ...(metrics ? { registry: metrics.registry } : {}),
      }),
    ),
  ({ config, metrics }) =>
    erase(
      driftPolicyController({
        ...common(config),
        ...prometheusOf(config),
        ...(metrics ? { registry: metrics.registry } : {}),
      }),
    ),
];
