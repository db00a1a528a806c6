/**
 * What the controllers are built from: the configuration the entrypoint (operator/main.ts) parses once from
 * the operator's options and environment, and the factories that build a controller from it.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ModelStorageDefaults } from './controllers/model-storage.js';
import { DEFAULT_IMAGE } from './controllers/pod-templates.js';
import { parseRegistryList } from './controllers/image-policy.js';
import { parseServiceAccountList, type TenantPolicy } from './controllers/pod-policy.js';
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
  /** OTLP/HTTP traces URL given to the inference pods (the operator's own), when tracing is on. */
  otlpTracesUrl?: string | undefined;
  /** Default model storage (`--default-model-*`), only when something is set. */
  modelStorage: ModelStorageDefaults | undefined;
  /** How often the request rate is re-read while autoscaling is on ($NEROPS_METRICS_INTERVAL_MS), when set. */
  metricsIntervalMs: number | undefined;
  /**
   * What tenants' specs may run: ServiceAccounts of retraining templates besides `default`
   * (`--allowed-service-accounts`, else $NEROPS_ALLOWED_SERVICE_ACCOUNTS) and the registries of their images
   * and of NerDeployment.spec.image (`--allowed-image-registries`, else $NEROPS_ALLOWED_IMAGE_REGISTRIES;
   * empty: only the repository of `image`).
   */
  tenant: TenantPolicy;
}

/** Parse the controllers' configuration from the operator options and the environment. */
export function controllerConfig(
  options: {
    image?: string;
    prometheusUrl?: string;
    otlpTracesUrl?: string;
    modelStorage?: ModelStorageDefaults;
    tenant?: TenantPolicyOptions;
  },
  env: NodeJS.ProcessEnv = process.env,
): ControllerConfig {
  const s = options.modelStorage;
  return {
    image: options.image ?? (env.NEROPS_IMAGE || DEFAULT_IMAGE),
    prometheusUrl: options.prometheusUrl,
    ...(options.otlpTracesUrl ? { otlpTracesUrl: options.otlpTracesUrl } : {}),
    modelStorage: s && (s.uri || s.credentialsSecret || s.caConfigMap || s.s3) ? s : undefined,
    metricsIntervalMs: env.NEROPS_METRICS_INTERVAL_MS ? Number(env.NEROPS_METRICS_INTERVAL_MS) : undefined,
    tenant: {
      allowedServiceAccounts: listOption(
        'allowed-service-accounts',
        options.tenant?.allowedServiceAccounts ?? env.NEROPS_ALLOWED_SERVICE_ACCOUNTS,
        parseServiceAccountList,
      ),
      allowedImageRegistries: listOption(
        'allowed-image-registries',
        options.tenant?.allowedImageRegistries ?? env.NEROPS_ALLOWED_IMAGE_REGISTRIES,
        parseRegistryList,
      ),
    },
  };
}

/** The tenant policy as the entrypoint receives it: lists, or a flag's comma-separated text. */
export interface TenantPolicyOptions {
  allowedServiceAccounts?: string | readonly string[];
  allowedImageRegistries?: string | readonly string[];
}

/** One list option, checked entry by entry; a bad entry throws naming the flag (the operator does not start). */
function listOption(
  flag: string,
  value: string | readonly string[] | undefined,
  parse: (text: string | undefined) => string[],
): string[] {
  try {
    return parse(typeof value === 'string' || value === undefined ? value : value.join(','));
  } catch (err) {
    throw new Error(`--${flag}: ${(err as Error).message}`);
  }
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
