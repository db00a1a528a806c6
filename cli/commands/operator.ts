/**
 * `ner-ops operator`: runs the controllers (operator/controllers/index.ts) with the runtime's
 * informers, work queues, leader election and /metrics, /healthz, /readyz. Flags win over environment
 * variables, which win over defaults. SIGTERM/SIGINT stop it gracefully (drain, release the lease).
 */
import { CliError, intFlag, parseCommandArgs, type Command } from '../command.js';
import { parseAllowedOrigins } from '../../contracts/origins.js';
import type { OperatorHandle, OperatorOptions } from '../../operator/main.js';
import type { ClusterAccess } from '../../operator/runtime/kubeconfig.js';
import { OTLP_ENDPOINT_FLAG, otlpTracesUrl, ServiceName } from '../../contracts/tracing.js';
import { otlpEndpointFlag, startTracing } from '../tracing.js';

const HELP = `usage: ner-ops operator [options]

cluster:
  --kubeconfig PATH          kubeconfig file (default: in-cluster config, else $KUBECONFIG, else ~/.kube/config)
  --namespace NS             watch and reconcile only this namespace (default: all)    [env NEROPS_WATCH_NAMESPACE]
  --prometheus-url URL       Prometheus for autoscaling, analysis and drift            [env NEROPS_PROMETHEUS_URL]
  --image IMAGE              image of the pods the operator creates (default nerops:dev) [env NEROPS_IMAGE]

default model storage (objects named here live in each workload namespace):
  --default-model-uri URI    where retraining Jobs write when a DriftPolicy sets no spec.retraining.outputUri:
                             pvc://CLAIM[/PATH] or file://PATH; runs go to URI/<namespace>/<policy>/<run id>
                                                                                      [env NEROPS_DEFAULT_MODEL_URI]
  --default-model-credentials-secret NAME
                             Secret (key token) for http(s) model sources without credentialsSecretRef
                                                                                      [env NEROPS_DEFAULT_MODEL_CREDENTIALS_SECRET]
  --default-model-credentials-origins ORIGIN[,ORIGIN]
                             the model store's origins (https://host[:port]): the only ones that Secret's
                             token is sent to (unset: it is sent nowhere)   [env NEROPS_DEFAULT_MODEL_CREDENTIALS_ORIGINS]
  --default-model-ca-configmap NAME
                             ConfigMap (key ca.crt) for https model sources without caBundleConfigMapRef
                                                                                      [env NEROPS_DEFAULT_MODEL_CA_CONFIGMAP]
  --default-model-s3-endpoint URL, --default-model-s3-region R, --default-model-s3-force-path-style true|false
                             S3 settings for s3:// model sources that set no spec.source.s3 fields
                                                       [env NEROPS_DEFAULT_MODEL_S3_ENDPOINT, _REGION, _FORCE_PATH_STYLE]

what tenants may run (comma-separated lists; a flag wins over its variable):
  --allowed-service-accounts LIST
                             ServiceAccounts a DriftPolicy retraining template may name besides the
                             namespace's default                                  [env NEROPS_ALLOWED_SERVICE_ACCOUNTS]
  --allowed-image-registries LIST
                             registry or repository prefixes (ghcr.io, ghcr.io/acme, registry.local:5000/ml)
                             images of retraining templates and NerDeployment spec.image may come from; the
                             --image repository is always allowed (default: only it)
                                                                                      [env NEROPS_ALLOWED_IMAGE_REGISTRIES]

metrics and health (/metrics, /healthz, /readyz):
  --metrics-host H           bind address (default 0.0.0.0)                           [env NEROPS_METRICS_HOST]
  --metrics-port P           port (default 8081; 0 = any free port)                   [env NEROPS_METRICS_PORT]

leader election (coordination.k8s.io/v1 Lease):
  --leader-elect true|false  (default true)                                           [env NEROPS_LEADER_ELECT]
  --lease-name NAME          (default nerops-operator)
  --lease-namespace NS       (default: --namespace, else the pod's namespace, else default) [env POD_NAMESPACE]
  --lease-duration-ms N      (default 15000)
  --renew-deadline-ms N      (default 10000)
  --retry-period-ms N        (default 2000)
  --identity ID              candidate identity (default: pod name + random suffix)

runtime:
  --controllers LIST         comma-separated controller names to run; empty = none (default: all)
  --concurrency N            reconciles in parallel per controller (default 4)
  --qps N                    reconciles started per second, all keys (default 50)
  --burst N                  token bucket size (default 200)
  --resync-ms N              periodic full resync (default 600000)
  --watchdog-ms N            restart a watch silent for this long (default 360000)
  --drain-timeout-ms N       graceful shutdown budget for in-flight reconciles (default 30000)
  --log-level LEVEL          pino level (default info)                                [env NEROPS_LOG_LEVEL]

tracing (OpenTelemetry; off unless an endpoint is set):
  --otlp-endpoint URL        OTLP/HTTP collector, e.g. http://collector:4318 (spans go to URL/v1/traces); the
                             inference pods the operator builds export there too
                             [env OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT]`;

const flags = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  'prometheus-url': { type: 'string' },
  image: { type: 'string' },
  'default-model-uri': { type: 'string' },
  'default-model-credentials-secret': { type: 'string' },
  'default-model-ca-configmap': { type: 'string' },
  'default-model-s3-endpoint': { type: 'string' },
  'default-model-s3-region': { type: 'string' },
  'default-model-s3-force-path-style': { type: 'string' },
  'allowed-service-accounts': { type: 'string' },
  'allowed-image-registries': { type: 'string' },
  'default-model-credentials-origins': { type: 'string' },
  'metrics-host': { type: 'string' },
  'metrics-port': { type: 'string' },
  'leader-elect': { type: 'string' },
  'lease-name': { type: 'string' },
  'lease-namespace': { type: 'string' },
  'lease-duration-ms': { type: 'string' },
  'renew-deadline-ms': { type: 'string' },
  'retry-period-ms': { type: 'string' },
  identity: { type: 'string' },
  controllers: { type: 'string' },
  concurrency: { type: 'string' },
  qps: { type: 'string' },
  burst: { type: 'string' },
  'resync-ms': { type: 'string' },
  'watchdog-ms': { type: 'string' },
  'drain-timeout-ms': { type: 'string' },
  'log-level': { type: 'string' },
  [OTLP_ENDPOINT_FLAG]: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Cluster access without importing @kubernetes/client-node's generated API, which costs tens of MB of RSS: see
 * operator/runtime/kubeconfig.ts; exec plugins and merged kubeconfigs still go through client-node.
 */
async function loadKubeConfig(path: string | undefined): Promise<ClusterAccess> {
  let access: ClusterAccess;
  try {
    const { loadClusterAccess } = await import('../../operator/runtime/kubeconfig.js');
    access = await loadClusterAccess(path);
  } catch (err) {
    throw new CliError(`operator: cannot load kubeconfig: ${(err as Error).message}`);
  }
  if (!access.getCurrentCluster())
    throw new CliError('operator: no cluster configured (use --kubeconfig or KUBECONFIG, or run in a cluster)');
  return access;
}

/** A Secret or ConfigMap name (DNS-1123 subdomain), or undefined when unset/empty. */
function objectNameFlag(name: string, kind: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value)) {
    throw new CliError(`--${name} must be a ${kind} name (lower-case letters, digits, '-' and '.'), got '${value}'`);
  }
  return value;
}

/**
 * `--default-model-uri`: a location retraining Jobs can write to, `pvc://claim[/path]` or `file://path`.
 * http(s) stores are read-only to the Jobs (and other schemes are not supported), so they are refused.
 */
function defaultModelUriFlag(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const uri = value.replace(/\/+$/, '');
  if (/^pvc:\/\/[a-z0-9]([-a-z0-9]*[a-z0-9])?(\/\S*)?$/.test(uri) && uri.length <= 1500) return uri;
  if (/^file:\/\/\/?\S+$/.test(uri) && uri.length <= 1500) return uri;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  const why =
    scheme === 'http' || scheme === 'https'
      ? 'retraining Jobs write their bundles there and cannot write to an http(s) store'
      : scheme === 'pvc'
        ? 'the claim must be a lower-case DNS label'
        : 'only pvc:// and file:// locations are writable by retraining Jobs';
  throw new CliError(`--default-model-uri must be pvc://<claim>[/<path>] or file://<path> (${why}), got '${value}'`);
}

/**
 * `--default-model-credentials-origins`: the model store's origins, the only ones the default token is sent
 * to (comma separated `https://host[:port]`). An entry that is not an origin is an error, not ignored.
 */
function defaultCredentialsOriginsFlag(value: string | undefined): string[] {
  const { origins, invalid } = parseAllowedOrigins(value);
  if (invalid.length > 0)
    throw new CliError(
      `--default-model-credentials-origins takes origins like https://models.example.org[:port], got '${invalid[0]}'`,
    );
  return origins;
}

function boolFlag(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new CliError(`--${name} must be true or false, got '${value}'`);
}

const operator: Command = async (argv) => {
  const { values: v } = parseCommandArgs('operator', argv, flags);
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const env = process.env;
  const namespace = v.namespace ?? (env.NEROPS_WATCH_NAMESPACE || undefined);
  const leaderElect = boolFlag('leader-elect', v['leader-elect'] ?? env.NEROPS_LEADER_ELECT, true);
  const leaseDurationMs = intFlag('lease-duration-ms', v['lease-duration-ms'], 15_000, 1000);
  const renewDeadlineMs = intFlag('renew-deadline-ms', v['renew-deadline-ms'], 10_000, 1);
  const retryPeriodMs = intFlag('retry-period-ms', v['retry-period-ms'], 2_000, 1);
  if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new CliError('operator: need --retry-period-ms < --renew-deadline-ms < --lease-duration-ms');
  }
  const metricsPort = intFlag('metrics-port', v['metrics-port'] ?? env.NEROPS_METRICS_PORT, 8081);
  if (metricsPort > 65535) throw new CliError('--metrics-port must be <= 65535');
  const prometheusUrl = v['prometheus-url'] ?? (env.NEROPS_PROMETHEUS_URL || undefined);
  if (prometheusUrl) {
    try {
      new URL(prometheusUrl);
    } catch {
      throw new CliError(`--prometheus-url is not a URL: '${prometheusUrl}'`);
    }
  }
  const defaultModelUri = defaultModelUriFlag(v['default-model-uri'] ?? env.NEROPS_DEFAULT_MODEL_URI);
  const credentialsSecret = objectNameFlag(
    'default-model-credentials-secret',
    'Secret',
    v['default-model-credentials-secret'] ?? env.NEROPS_DEFAULT_MODEL_CREDENTIALS_SECRET,
  );
  const caConfigMap = objectNameFlag(
    'default-model-ca-configmap',
    'ConfigMap',
    v['default-model-ca-configmap'] ?? env.NEROPS_DEFAULT_MODEL_CA_CONFIGMAP,
  );
  const credentialsOrigins = defaultCredentialsOriginsFlag(
    v['default-model-credentials-origins'] ?? env.NEROPS_DEFAULT_MODEL_CREDENTIALS_ORIGINS,
  );
  const s3Endpoint = v['default-model-s3-endpoint'] ?? (env.NEROPS_DEFAULT_MODEL_S3_ENDPOINT || undefined);
  if (s3Endpoint !== undefined && !/^https?:\/\/[^\s/?#]+\/?$/.test(s3Endpoint))
    throw new CliError(`--default-model-s3-endpoint must be an http(s) origin like https://s3.example.org:9000`);
  const s3Region = v['default-model-s3-region'] ?? (env.NEROPS_DEFAULT_MODEL_S3_REGION || undefined);
  if (s3Region !== undefined && !/^[a-z0-9-]{1,64}$/.test(s3Region))
    throw new CliError('--default-model-s3-region must be lower-case letters, digits and dashes');
  const s3PathStyle =
    v['default-model-s3-force-path-style'] ?? (env.NEROPS_DEFAULT_MODEL_S3_FORCE_PATH_STYLE || undefined);
  if (s3PathStyle !== undefined && s3PathStyle !== 'true' && s3PathStyle !== 'false')
    throw new CliError('--default-model-s3-force-path-style must be true or false');
  const s3 = {
    ...(s3Endpoint ? { endpoint: s3Endpoint } : {}),
    ...(s3Region ? { region: s3Region } : {}),
    ...(s3PathStyle ? { forcePathStyle: s3PathStyle === 'true' } : {}),
  };
  const modelStorage = {
    ...(defaultModelUri ? { uri: defaultModelUri } : {}),
    ...(credentialsSecret ? { credentialsSecret } : {}),
    ...(credentialsOrigins.length > 0 ? { credentialsOrigins } : {}),
    ...(caConfigMap ? { caConfigMap } : {}),
    ...(Object.keys(s3).length > 0 ? { s3 } : {}),
  };
  // Parsed (and refused, naming the flag) once, by the operator's controllerConfig (operator/config.ts).
  const tenant = {
    allowedServiceAccounts: v['allowed-service-accounts'] ?? env.NEROPS_ALLOWED_SERVICE_ACCOUNTS ?? '',
    allowedImageRegistries: v['allowed-image-registries'] ?? env.NEROPS_ALLOWED_IMAGE_REGISTRIES ?? '',
  };
  const otlpEndpoint = otlpEndpointFlag(v[OTLP_ENDPOINT_FLAG]);
  const tracesUrl = otlpTracesUrl(otlpEndpoint, env);
  const options: Omit<OperatorOptions, 'logger' | 'kubeConfig'> = {
    ...(namespace ? { namespace } : {}),
    ...(prometheusUrl ? { prometheusUrl } : {}),
    ...(tracesUrl ? { otlpTracesUrl: tracesUrl } : {}),
    ...((v.image ?? env.NEROPS_IMAGE) ? { image: v.image ?? env.NEROPS_IMAGE } : {}),
    ...(Object.keys(modelStorage).length > 0 ? { modelStorage } : {}),
    tenant,
    metrics: { host: v['metrics-host'] ?? env.NEROPS_METRICS_HOST ?? '0.0.0.0', port: metricsPort },
    leaderElection: leaderElect
      ? {
          namespace: v['lease-namespace'] ?? namespace ?? env.POD_NAMESPACE ?? 'default',
          name: v['lease-name'] ?? 'nerops-operator',
          leaseDurationMs,
          renewDeadlineMs,
          retryPeriodMs,
          ...(v.identity ? { identity: v.identity } : {}),
        }
      : false,
    ...(v.controllers !== undefined
      ? {
          only: v.controllers
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean),
        }
      : {}),
    concurrency: intFlag('concurrency', v.concurrency, 4, 1),
    queue: { qps: intFlag('qps', v.qps, 50, 1), burst: intFlag('burst', v.burst, 200, 1) },
    informer: {
      resyncMs: intFlag('resync-ms', v['resync-ms'], 600_000),
      watchdogMs: intFlag('watchdog-ms', v['watchdog-ms'], 360_000, 1000),
    },
    drainTimeoutMs: intFlag('drain-timeout-ms', v['drain-timeout-ms'], 30_000),
  };
  // After every other flag is checked: a flag error is reported even without a reachable kubeconfig.
  const kubeConfig = await loadKubeConfig(v.kubeconfig);

  // Loaded only now: `ner-ops operator --help` and flag errors stay fast.
  const { runOperator, controllers, createOperatorLogger } = await import('../../operator/main.js');
  const logger = createOperatorLogger(v['log-level']);
  if (options.modelStorage) logger.info({ modelStorage: options.modelStorage }, 'default model storage configured');
  if (options.modelStorage?.credentialsSecret && !options.modelStorage.credentialsOrigins)
    logger.warn(
      '--default-model-credentials-secret is set without --default-model-credentials-origins: the default token is sent nowhere',
    );
  const tracing = startTracing({
    serviceName: ServiceName.operator,
    flag: otlpEndpoint,
    ...(env.POD_NAMESPACE ? { attributes: { 'k8s.namespace.name': env.POD_NAMESPACE } } : {}),
  });
  if (tracing) logger.info({ otlpTracesUrl: tracing.url }, 'tracing on');
  let handle: OperatorHandle;
  try {
    handle = await runOperator({ ...options, kubeConfig, logger }, controllers);
  } catch (err) {
    await tracing?.shutdown();
    throw new CliError(`operator: ${(err as Error).message}`, 1);
  }
  const onSignal = (sig: NodeJS.Signals) => {
    logger.info({ signal: sig }, 'signal received, shutting down');
    void handle.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const code = await handle.done;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  await tracing?.shutdown();
  logger.flush();
  return code;
};

export default operator;
