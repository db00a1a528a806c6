/**
 * What the controllers are built from: the configuration the entrypoint (operator/main.ts) parses once from
 * the operator's options and environment, and the factories that build a controller from it.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ModelStorageDefaults } from './controllers/model-storage.js';
import { DEFAULT_IMAGE } from './controllers/pod-templates.js';
import type { Clock } from './runtime/clock.js';
import type { ControllerSpec } from './runtime/controller.js';
import type { OperatorMetrics } from './runtime/metrics.js';

/**
 * The controllers' configuration, parsed once (by {@link controllerConfig}) from the operator's options and
 * environment: nothing below the entrypoint reads `process.env`.
 */
export interface ControllerConfig {
  /** Image for the pods the operator creates: `--image`, else $NEROPS_IMAGE, else nerops:dev. */
  image: string;
  /** Base URL of Prometheus for autoscaling/analysis/drift queries, when configured. */
  prometheusUrl: string | undefined;
  /** Default model storage (`--default-model-*`), only when something is set. */
  modelStorage: ModelStorageDefaults | undefined;
  /** How often the request rate is re-read while autoscaling is on ($NEROPS_METRICS_INTERVAL_MS), when set. */
  metricsIntervalMs: number | undefined;
}

/** Parse the controllers' configuration from the operator options and the environment. */
export function controllerConfig(
  options: { image?: string; prometheusUrl?: string; modelStorage?: ModelStorageDefaults },
  env: NodeJS.ProcessEnv = process.env,
): ControllerConfig {
  const s = options.modelStorage;
  return {
    image: options.image ?? (env.NEROPS_IMAGE || DEFAULT_IMAGE),
    prometheusUrl: options.prometheusUrl,
    modelStorage: s && (s.uri || s.credentialsSecret || s.caConfigMap) ? s : undefined,
    metricsIntervalMs: env.NEROPS_METRICS_INTERVAL_MS ? Number(env.NEROPS_METRICS_INTERVAL_MS) : undefined,
  };
}

/** What controllers get to build themselves: configuration that is not a Kubernetes object. */
export interface ControllerDeps {
  /** Namespace scope (undefined = all namespaces). */
  namespace: string | undefined;
  config: ControllerConfig;
  logger: Logger;
  clock: Clock | undefined;
  /** The operator's metrics (controllers register their own series on `metrics.registry`). */
  metrics?: OperatorMetrics;
}

/** A controller, or a function building one from the operator's configuration. */
export type ControllerFactory =
  ControllerSpec<KubernetesObject> | ((deps: ControllerDeps) => ControllerSpec<KubernetesObject>);
