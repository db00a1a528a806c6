/**
 * The server's Prometheus metrics: the "Metrics contract" of DESIGN.md. The operator's autoscaler, canary
 * analysis and drift detection run PromQL over these names, so they are exported as constants and
 * documented in the README. Only aggregates are exported: no label ever carries request text or an
 * entity string (entity *labels* such as DISEASE are model vocabulary, not patient data).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BaselineProfile, ExtractResult, ModelInfo } from '../engine/types.js';

/** Metric names, shared with the operator's PromQL. */
export const MetricNames = {
  requests: 'nerops_requests_total',
  requestDuration: 'nerops_request_duration_seconds',
  inflight: 'nerops_inflight_requests',
  batchSize: 'nerops_batch_size',
  queueDepth: 'nerops_queue_depth',
  documents: 'nerops_documents_total',
  tokens: 'nerops_tokens_total',
  unknownTokens: 'nerops_unknown_tokens_total',
  entities: 'nerops_entities_total',
  entityConfidence: 'nerops_entity_confidence',
  documentLength: 'nerops_document_length_tokens',
  modelInfo: 'nerops_model_info',
  ready: 'nerops_ready',
  shadowRequests: 'nerops_shadow_requests_total',
  shadowErrors: 'nerops_shadow_errors_total',
  shadowAgreement: 'nerops_shadow_agreement',
  shadowLatency: 'nerops_shadow_duration_seconds',
} as const;

/** Constant labels on every series: who this pod is in the cluster. */
export interface ConstantLabels {
  namespace: string;
  deployment: string;
  model: string;
  version: string;
  /** `stable` or `canary`. */
  track: string;
}

/** Latency buckets (seconds) tuned for a ms-scale service with a long tail up to the request timeout. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const AGREEMENT_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1];
/** Used only when a bundle ships no profile.json; a bundle's profile always wins. */
const FALLBACK_CONFIDENCE_BOUNDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];
const FALLBACK_LENGTH_BOUNDS = [5, 10, 20, 40, 80, 160, 320, 640, 1280];

export class ServerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'code'>;
  readonly requestDuration: Histogram<'route'>;
  readonly inflight: Gauge;
  readonly batchSize: Histogram;
  readonly queueDepth: Gauge;
  readonly documents: Counter;
  readonly tokens: Counter;
  readonly unknownTokens: Counter;
  readonly entities: Counter<'label'>;
  readonly entityConfidence: Histogram;
  readonly documentLength: Histogram;
  readonly ready: Gauge;
  readonly shadowRequests: Counter<'outcome'>;
  readonly shadowErrors: Counter<'reason'>;
  readonly shadowAgreement: Histogram;
  readonly shadowLatency: Histogram;

  constructor(
    labels: ConstantLabels,
    info: ModelInfo,
    profile: BaselineProfile | undefined,
    opts: { processMetrics?: boolean } = {},
  ) {
    const registry = new Registry();
    registry.setDefaultLabels({ ...labels });
    this.registry = registry;
    const r = [registry];
    this.requests = new Counter({
      name: MetricNames.requests,
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'code'],
      registers: r,
    });
    this.requestDuration = new Histogram({
      name: MetricNames.requestDuration,
      help: 'HTTP request latency in seconds, from first byte to response end',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    this.inflight = new Gauge({ name: MetricNames.inflight, help: 'HTTP requests being served', registers: r });
    this.batchSize = new Histogram({
      name: MetricNames.batchSize,
      help: 'Documents per engine batch',
      buckets: BATCH_BUCKETS,
      registers: r,
    });
    this.queueDepth = new Gauge({
      name: MetricNames.queueDepth,
      help: 'Documents waiting for an engine batch',
      registers: r,
    });
    this.documents = new Counter({ name: MetricNames.documents, help: 'Documents processed', registers: r });
    this.tokens = new Counter({ name: MetricNames.tokens, help: 'Tokens processed', registers: r });
    this.unknownTokens = new Counter({
      name: MetricNames.unknownTokens,
      help: "Tokens not in the model's training vocabulary",
      registers: r,
    });
    this.entities = new Counter({
      name: MetricNames.entities,
      help: 'Entities extracted, by entity type',
      labelNames: ['label'],
      registers: r,
    });
    this.entityConfidence = new Histogram({
      name: MetricNames.entityConfidence,
      help: "Entity confidence (score); buckets are the bundle's profile.json bounds",
      buckets: profileBounds(profile?.confidence.bounds, FALLBACK_CONFIDENCE_BOUNDS),
      registers: r,
    });
    this.documentLength = new Histogram({
      name: MetricNames.documentLength,
      help: "Document length in tokens; buckets are the bundle's profile.json bounds",
      buckets: profileBounds(profile?.documentLength.bounds, FALLBACK_LENGTH_BOUNDS),
      registers: r,
    });
    const modelInfo = new Gauge({
      name: MetricNames.modelInfo,
      help: 'The loaded model bundle (value is always 1)',
      labelNames: ['model_name', 'model_version', 'digest', 'format'],
      registers: r,
    });
    modelInfo.set({ model_name: info.name, model_version: info.version, digest: info.digest, format: info.format }, 1);
    this.ready = new Gauge({
      name: MetricNames.ready,
      help: '1 when the model is loaded and warmed up and the server is not draining',
      registers: r,
    });
    this.shadowRequests = new Counter({
      name: MetricNames.shadowRequests,
      help: 'Shadow requests by outcome: ok, error, dropped (concurrency limit reached)',
      labelNames: ['outcome'],
      registers: r,
    });
    this.shadowErrors = new Counter({
      name: MetricNames.shadowErrors,
      help: 'Failed shadow requests by reason',
      labelNames: ['reason'],
      registers: r,
    });
    this.shadowAgreement = new Histogram({
      name: MetricNames.shadowAgreement,
      help: 'Entity-level F1 between primary and shadow per compared document (1 = identical entity sets)',
      buckets: AGREEMENT_BUCKETS,
      registers: r,
    });
    this.shadowLatency = new Histogram({
      name: MetricNames.shadowLatency,
      help: 'Shadow request latency in seconds',
      buckets: LATENCY_BUCKETS,
      registers: r,
    });
    // Pre-create the zero series operators alert on, so rate() works from the first scrape.
    for (const outcome of ['ok', 'error', 'dropped']) this.shadowRequests.inc({ outcome }, 0);
    for (const label of info.entityTypes) this.entities.inc({ label }, 0);
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'nerops_' });
  }

  /** Record the aggregates of one extracted document. Reads entity labels and scores, never their text. */
  observeDocument(result: ExtractResult): void {
    this.documents.inc();
    this.tokens.inc(result.stats.tokens);
    this.unknownTokens.inc(result.stats.unknownTokens);
    this.documentLength.observe(result.stats.tokens);
    for (const e of result.entities) {
      this.entities.inc({ label: e.label });
      this.entityConfidence.observe(e.score);
    }
  }
}

/** prom-client wants strictly increasing, finite bounds; profile.json should already be, but never crash on it. */
function profileBounds(bounds: readonly number[] | undefined, fallback: number[]): number[] {
  if (!bounds || bounds.length === 0) return fallback;
  const clean = bounds.filter((b) => Number.isFinite(b));
  return [...new Set(clean)].sort((a, b) => a - b);
}
