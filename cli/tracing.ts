/**
 * The OpenTelemetry SDK for one process (`serve` or `operator`), started only when an OTLP endpoint is
 * configured. Without one nothing is registered: the server, engine and operator code call the API's no-op
 * tracer, whose spans record nothing, and they build no attributes for spans that do not record.
 *
 * With one: a NodeTracerProvider (AsyncLocalStorage context, so a reconcile's or a batch's children find
 * their parent across awaits), the W3C trace-context propagator, the sampler of OTEL_TRACES_SAMPLER
 * (default: parent-based, always on), and a batching OTLP/HTTP JSON exporter. It lives here, at the
 * entrypoint, because both the server and the operator use it and neither may import the other.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { OTLP_ENDPOINT_FLAG, otlpTracesUrl, TracingEnv } from '../contracts/tracing.js';
import { CliError } from './command.js';

export interface TracingOptions {
  /** `service.name` unless OTEL_SERVICE_NAME is set. */
  serviceName: string;
  /** `--otlp-endpoint` (a base URL), when given. */
  flag?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
  /** Resource attributes of this process (namespace, deployment, track…): ids only. */
  attributes?: Record<string, string>;
}

export interface Tracing {
  /** Where spans go. */
  url: string;
  /** Export what is buffered (tests, benches). */
  flush(): Promise<void>;
  /** Export what is buffered and unregister the provider; the API is back to no-op. */
  shutdown(): Promise<void>;
}

const VERSION = '0.1.0';
/** Longest a shutdown waits for the last spans to be exported. */
const SHUTDOWN_BUDGET_MS = 2_000;

/** `--otlp-endpoint`: an http(s) URL, or a CliError naming the flag. */
export function otlpEndpointFlag(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new CliError(`--${OTLP_ENDPOINT_FLAG} must be an http(s) URL, got '${value}'`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new CliError(`--${OTLP_ENDPOINT_FLAG} must be an http(s) URL, got '${value}'`);
  return value;
}

/** Start the SDK if an endpoint is configured; undefined (and nothing registered) otherwise. */
export function startTracing(options: TracingOptions): Tracing | undefined {
  const env = options.env ?? process.env;
  const url = otlpTracesUrl(options.flag, env);
  if (!url) return undefined;
  // Batched: a span costs the request a push onto a buffer, never a network round trip.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url }));
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: env[TracingEnv.serviceName] || options.serviceName,
    [ATTR_SERVICE_VERSION]: VERSION,
    ...options.attributes,
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return {
    url,
    flush: () => provider.forceFlush(),
    async shutdown() {
      // Bounded: an unreachable collector must not hold a terminating pod past its grace period.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        provider.shutdown(),
        new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_BUDGET_MS).unref())),
      ]);
      clearTimeout(timer);
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
