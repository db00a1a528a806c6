/**
 * The server's Prometheus metrics: names, labels and buckets are the metrics contract (contracts/metrics.ts),
 * which the operator's autoscaler, canary analysis and drift detection query. Only aggregates are recorded:
 * no label ever carries request text or an entity string.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  ASSERTION_LABEL_VALUES,
  FEEDBACK_ASSERTION_OUTCOMES,
  FEEDBACK_OUTCOMES,
  FEEDBACK_STORED,
  SERVER_PROCESS_METRIC_PREFIX,
  SHADOW_OUTCOMES,
  ServerBuckets,
  ServerMetric,
  ServerMetricLabels,
  type ConstantLabels,
} from '../contracts/metrics.js';
import type { BaselineProfile, ExtractResult, ModelInfo } from '../engine/types.js';

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
  readonly entityAssertions: Counter<'label' | 'attribute' | 'value'>;
  readonly entityConfidence: Histogram;
  readonly documentLength: Histogram;
  readonly ready: Gauge;
  readonly shadowRequests: Counter<'outcome'>;
  readonly shadowErrors: Counter<'reason'>;
  readonly shadowAgreement: Histogram;
  readonly shadowLatency: Histogram;
  readonly feedbackEntities: Counter<'label' | 'outcome'>;
  readonly feedbackDocuments: Counter<'stored'>;
  readonly feedbackAssertions: Counter<'attribute' | 'outcome'>;

  constructor(
    labels: ConstantLabels,
    info: ModelInfo,
    profile: BaselineProfile | undefined,
    opts: {
      processMetrics?: boolean;
      /** The model has an assertion stage: pre-create its zero series. */
      assertions?: boolean;
    } = {},
  ) {
    const registry = new Registry();
    registry.setDefaultLabels({ ...labels });
    this.registry = registry;
    const r = [registry];
    this.requests = new Counter({
      name: ServerMetric.requests,
      help: 'HTTP requests by route and status code',
      labelNames: ServerMetricLabels.requests,
      registers: r,
    });
    this.requestDuration = new Histogram({
      name: ServerMetric.requestDuration,
      help: 'HTTP request latency in seconds, from first byte to response end',
      labelNames: ServerMetricLabels.requestDuration,
      buckets: [...ServerBuckets.latency],
      registers: r,
    });
    this.inflight = new Gauge({ name: ServerMetric.inflight, help: 'HTTP requests being served', registers: r });
    this.batchSize = new Histogram({
      name: ServerMetric.batchSize,
      help: 'Documents per engine batch',
      buckets: [...ServerBuckets.batchSize],
      registers: r,
    });
    this.queueDepth = new Gauge({
      name: ServerMetric.queueDepth,
      help: 'Documents waiting for an engine batch',
      registers: r,
    });
    this.documents = new Counter({ name: ServerMetric.documents, help: 'Documents processed', registers: r });
    this.tokens = new Counter({ name: ServerMetric.tokens, help: 'Tokens processed', registers: r });
    this.unknownTokens = new Counter({
      name: ServerMetric.unknownTokens,
      help: "Tokens not in the model's training vocabulary",
      registers: r,
    });
    this.entities = new Counter({
      name: ServerMetric.entities,
      help: 'Entities extracted, by entity type',
      labelNames: ServerMetricLabels.entities,
      registers: r,
    });
    this.entityAssertions = new Counter({
      name: ServerMetric.entityAssertions,
      help: 'Entities by entity type and assertion attribute value (negated, certainty, temporality, experiencer)',
      labelNames: ServerMetricLabels.entityAssertions,
      registers: r,
    });
    this.entityConfidence = new Histogram({
      name: ServerMetric.entityConfidence,
      help: "Entity confidence (score); buckets are the bundle's profile.json bounds",
      buckets: profileBounds(profile?.confidence.bounds, ServerBuckets.fallbackConfidence),
      registers: r,
    });
    this.documentLength = new Histogram({
      name: ServerMetric.documentLength,
      help: "Document length in tokens; buckets are the bundle's profile.json bounds",
      buckets: profileBounds(profile?.documentLength.bounds, ServerBuckets.fallbackDocumentLength),
      registers: r,
    });
    const modelInfo = new Gauge({
      name: ServerMetric.modelInfo,
      help: 'The loaded model bundle (value is always 1)',
      labelNames: ServerMetricLabels.modelInfo,
      registers: r,
    });
    modelInfo.set({ model_name: info.name, model_version: info.version, digest: info.digest, format: info.format }, 1);
    this.ready = new Gauge({
      name: ServerMetric.ready,
      help: '1 when the model is loaded and warmed up and the server is not draining',
      registers: r,
    });
    this.shadowRequests = new Counter({
      name: ServerMetric.shadowRequests,
      help: 'Shadow requests by outcome: ok, error, dropped (concurrency limit reached)',
      labelNames: ServerMetricLabels.shadowRequests,
      registers: r,
    });
    this.shadowErrors = new Counter({
      name: ServerMetric.shadowErrors,
      help: 'Failed shadow requests by reason',
      labelNames: ServerMetricLabels.shadowErrors,
      registers: r,
    });
    this.shadowAgreement = new Histogram({
      name: ServerMetric.shadowAgreement,
      help: 'Entity-level F1 between primary and shadow per compared document (1 = identical entity sets)',
      buckets: [...ServerBuckets.agreement],
      registers: r,
    });
    this.shadowLatency = new Histogram({
      name: ServerMetric.shadowLatency,
      help: 'Shadow request latency in seconds',
      buckets: [...ServerBuckets.latency],
      registers: r,
    });
    this.feedbackEntities = new Counter({
      name: ServerMetric.feedbackEntities,
      help: 'Entities of feedback documents by entity type and outcome: tp (found, verified), fp (found, not verified), fn (verified, not found)',
      labelNames: ServerMetricLabels.feedbackEntities,
      registers: r,
    });
    this.feedbackDocuments = new Counter({
      name: ServerMetric.feedbackDocuments,
      help: 'Feedback documents scored, by whether the feedback store kept them',
      labelNames: ServerMetricLabels.feedbackDocuments,
      registers: r,
    });
    this.feedbackAssertions = new Counter({
      name: ServerMetric.feedbackAssertions,
      help: 'Assertion attributes of feedback entities found at the verified span, by attribute and whether the model agrees with the person',
      labelNames: ServerMetricLabels.feedbackAssertions,
      registers: r,
    });
    for (const label of info.entityTypes)
      for (const outcome of FEEDBACK_OUTCOMES) this.feedbackEntities.inc({ label, outcome }, 0);
    for (const stored of FEEDBACK_STORED) this.feedbackDocuments.inc({ stored }, 0);
    // Pre-create the zero series operators alert on, so rate() works from the first scrape.
    for (const outcome of SHADOW_OUTCOMES) this.shadowRequests.inc({ outcome }, 0);
    for (const label of info.entityTypes) this.entities.inc({ label }, 0);
    if (opts.assertions)
      for (const label of info.entityTypes)
        for (const [attribute, values] of Object.entries(ASSERTION_LABEL_VALUES))
          for (const value of values) this.entityAssertions.inc({ label, attribute, value }, 0);
    if (opts.assertions)
      for (const attribute of Object.keys(ASSERTION_LABEL_VALUES))
        for (const outcome of FEEDBACK_ASSERTION_OUTCOMES) this.feedbackAssertions.inc({ attribute, outcome }, 0);
    if (opts.processMetrics !== false)
      collectDefaultMetrics({ register: registry, prefix: SERVER_PROCESS_METRIC_PREFIX });
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
      const a = e.assertion;
      if (a) {
        // Label values come from the assertion's closed enums (contracts ASSERTION_LABEL_VALUES), never from text.
        this.entityAssertions.inc({ label: e.label, attribute: 'negated', value: a.negated ? 'true' : 'false' });
        this.entityAssertions.inc({ label: e.label, attribute: 'certainty', value: a.certainty });
        this.entityAssertions.inc({ label: e.label, attribute: 'temporality', value: a.temporality });
        this.entityAssertions.inc({ label: e.label, attribute: 'experiencer', value: a.experiencer });
      }
    }
  }
}

/** prom-client wants strictly increasing, finite bounds; profile.json should already be, but never crash on it. */
function profileBounds(bounds: readonly number[] | undefined, fallback: readonly number[]): number[] {
  if (!bounds || bounds.length === 0) return [...fallback];
  const clean = bounds.filter((b) => Number.isFinite(b));
  return [...new Set(clean)].sort((a, b) => a - b);
}
