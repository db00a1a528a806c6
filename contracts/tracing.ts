/**
 * Tracing: where `ner-ops serve` and `ner-ops operator` send their spans, and what the spans are called and
 * carry. The collector, trace UIs and the tests read these names; the operator passes the endpoint on to the
 * pods it builds. Spans carry ids, sizes and timings, never text (docs/operations.md, "Tracing").
 */

/** The standard OpenTelemetry variables we read; unset endpoints mean tracing is off and costs nothing. */
export const TracingEnv = {
  /** Base OTLP/HTTP endpoint (`http://collector:4318`); traces go to its `/v1/traces`. */
  endpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  /** Full OTLP/HTTP traces URL; wins over {@link TracingEnv.endpoint}. What the operator sets on served pods. */
  tracesEndpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  /** `true` turns tracing off whatever the endpoint. */
  sdkDisabled: 'OTEL_SDK_DISABLED',
  serviceName: 'OTEL_SERVICE_NAME',
} as const;

/** The flag of `serve` and `operator` that sets the base endpoint (as {@link TracingEnv.endpoint}; wins over it). */
export const OTLP_ENDPOINT_FLAG = 'otlp-endpoint';

/** `service.name` of each process, unless OTEL_SERVICE_NAME says otherwise. */
export const ServiceName = { server: 'nerops-server', operator: 'nerops-operator' } as const;

/**
 * An annotation on a NerModel, NerDeployment or DriftPolicy holding a W3C `traceparent` (a CI pipeline sets it
 * with its own trace): every reconcile of the object links to that trace.
 */
export const TRACEPARENT_ANNOTATION = 'nerops.io/traceparent';

/** Span names. The server span itself is named `METHOD route` (`POST /v1/extract`), as HTTP conventions say. */
export const SpanName = {
  /** From the request's arrival to its documents being handed to the batcher: body, JSON, validation. */
  parse: 'nerops.parse',
  /** One request's documents waiting for the engine. */
  queue: 'nerops.queue',
  /** One engine call over a batch of documents (a child of its first request, linked to the others). */
  batch: 'nerops.batch',
  /** One ONNX Runtime run. */
  onnxRun: 'nerops.onnx.run',
  /** Viterbi / argmax decoding of a group of documents into entities. */
  decode: 'nerops.decode',
  /** One reconcile of one object by one controller. */
  reconcile: 'nerops.reconcile',
  /** One PromQL instant query. */
  promql: 'nerops.promql',
  /** One server-side apply (or the check that found nothing to apply). */
  apply: 'nerops.apply',
} as const;

/** Attribute names of our own (standard ones, `http.*`, `k8s.*`, come from the semantic conventions). */
export const SpanAttr = {
  requestId: 'nerops.request.id',
  documents: 'nerops.documents',
  characters: 'nerops.characters',
  tokens: 'nerops.tokens',
  entities: 'nerops.entities',
  batchSize: 'nerops.batch.size',
  batchRequests: 'nerops.batch.requests',
  queueDepth: 'nerops.queue.depth',
  modelName: 'nerops.model.name',
  modelVersion: 'nerops.model.version',
  modelDigest: 'nerops.model.digest',
  track: 'nerops.track',
  controller: 'nerops.controller',
  kind: 'nerops.kind',
  name: 'nerops.name',
  generation: 'nerops.generation',
  result: 'nerops.result',
  requeueAfterMs: 'nerops.requeue_after_ms',
  samples: 'nerops.promql.samples',
  changed: 'nerops.apply.changed',
  subresource: 'nerops.apply.subresource',
} as const;

/**
 * The OTLP/HTTP traces URL from a flag and the environment, or undefined (tracing off). The flag and
 * OTEL_EXPORTER_OTLP_ENDPOINT are base URLs (`/v1/traces` is appended, as the OpenTelemetry spec says);
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as it is.
 */
export function otlpTracesUrl(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if ((env[TracingEnv.sdkDisabled] ?? '').trim().toLowerCase() === 'true') return undefined;
  const base = (u: string) => `${u.replace(/\/+$/, '')}/v1/traces`;
  if (flag) return base(flag);
  const traces = env[TracingEnv.tracesEndpoint];
  if (traces) return traces;
  const endpoint = env[TracingEnv.endpoint];
  return endpoint ? base(endpoint) : undefined;
}
