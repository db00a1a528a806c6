/**
 * The inference server's Prometheus metrics, as scraped by Prometheus and queried by the operator (autoscaler,
 * canary analysis, drift detection), the Helm chart's dashboard and alerts, and the tests. The server
 * registers exactly these names, labels and buckets; every PromQL that reads them imports them from here.
 * Only aggregates: no label ever carries request text or an entity string (entity *labels* such as DISEASE
 * are model vocabulary, not patient data).
 */

/** Metric names of `ner-ops serve`. */
export const ServerMetric = {
  requests: 'nerops_requests_total',
  requestDuration: 'nerops_request_duration_seconds',
  inflight: 'nerops_inflight_requests',
  batchSize: 'nerops_batch_size',
  queueDepth: 'nerops_queue_depth',
  documents: 'nerops_documents_total',
  tokens: 'nerops_tokens_total',
  unknownTokens: 'nerops_unknown_tokens_total',
  entities: 'nerops_entities_total',
  /**
   * Entities by label and assertion attribute (`attribute` negated|certainty|temporality|experiencer, `value`
   * one of {@link ASSERTION_LABEL_VALUES}); only models with an assertion stage count here. Each entity adds 1
   * to one series per attribute, so `sum by (label)` over one attribute equals its entity count.
   */
  entityAssertions: 'nerops_entity_assertions_total',
  entityConfidence: 'nerops_entity_confidence',
  documentLength: 'nerops_document_length_tokens',
  modelInfo: 'nerops_model_info',
  ready: 'nerops_ready',
  shadowRequests: 'nerops_shadow_requests_total',
  shadowErrors: 'nerops_shadow_errors_total',
  shadowAgreement: 'nerops_shadow_agreement',
  shadowLatency: 'nerops_shadow_duration_seconds',
  /** Entities of `POST /v1/feedback` documents by entity type and outcome ({@link FEEDBACK_OUTCOMES}). */
  feedbackEntities: 'nerops_feedback_entities_total',
  /** Feedback documents scored, by whether the feedback store kept them. */
  feedbackDocuments: 'nerops_feedback_documents_total',
  /**
   * Assertion attributes of feedback entities the model found at the verified span and type (`tp`), compared
   * with the attribute the person verified: `attribute` negated|certainty|temporality|experiencer, `outcome`
   * {@link FEEDBACK_ASSERTION_OUTCOMES}. Only models with an assertion stage count here.
   */
  feedbackAssertions: 'nerops_feedback_assertions_total',
} as const;
export type ServerMetric = (typeof ServerMetric)[keyof typeof ServerMetric];

/** Prefix of the Node.js process metrics (prom-client's default metrics) of the server. */
export const SERVER_PROCESS_METRIC_PREFIX = 'nerops_';

/** Constant labels on every series of a server: who this pod is in the cluster. */
export interface ConstantLabels {
  namespace: string;
  /** NerDeployment name. */
  deployment: string;
  /** NerModel name. */
  model: string;
  version: string;
  /** `stable` or `canary` (contracts/serve.ts `Track`). */
  track: string;
}

/** Label names of the metrics that carry labels beyond {@link ConstantLabels}, in registration order. */
export const ServerMetricLabels = {
  requests: ['route', 'code'],
  requestDuration: ['route'],
  entities: ['label'],
  entityAssertions: ['label', 'attribute', 'value'],
  modelInfo: ['model_name', 'model_version', 'digest', 'format'],
  shadowRequests: ['outcome'],
  shadowErrors: ['reason'],
  feedbackEntities: ['label', 'outcome'],
  feedbackDocuments: ['stored'],
  feedbackAssertions: ['attribute', 'outcome'],
} as const;

/**
 * The `attribute` and `value` labels of {@link ServerMetric.entityAssertions}: a closed set (9 series per entity
 * label), so cardinality is bounded by the model's entity types. The values are the assertion stage's own
 * (engine/assertions), spelled here because PromQL (the drift signal) reads them.
 */
export const ASSERTION_LABEL_VALUES = {
  negated: ['true', 'false'],
  certainty: ['certain', 'uncertain', 'hypothetical'],
  temporality: ['current', 'historical'],
  experiencer: ['patient', 'other'],
} as const;
export type AssertionAttribute = keyof typeof ASSERTION_LABEL_VALUES;

/** Values of the `outcome` label of {@link ServerMetric.shadowRequests}; `dropped`: concurrency limit reached. */
export const SHADOW_OUTCOMES = ['ok', 'error', 'dropped'] as const;
export type ShadowOutcome = (typeof SHADOW_OUTCOMES)[number];

/**
 * Values of the `outcome` label of {@link ServerMetric.feedbackEntities}, comparing the server's entities with
 * the ones a person verified (exact span and type): `tp` found and right, `fp` found but not in the gold set,
 * `fn` in the gold set but not found.
 */
export const FEEDBACK_OUTCOMES = ['tp', 'fp', 'fn'] as const;
export type FeedbackOutcome = (typeof FEEDBACK_OUTCOMES)[number];

/**
 * Values of the `outcome` label of {@link ServerMetric.feedbackAssertions}: the model's value of the attribute
 * is the verified one (`agree`) or not (`disagree`). Agreement per attribute over a window is
 * `agree / (agree + disagree)`.
 */
export const FEEDBACK_ASSERTION_OUTCOMES = ['agree', 'disagree'] as const;
export type FeedbackAssertionOutcome = (typeof FEEDBACK_ASSERTION_OUTCOMES)[number];

/** Values of the `stored` label of {@link ServerMetric.feedbackDocuments}. */
export const FEEDBACK_STORED = ['true', 'false'] as const;

/**
 * Live entity F1 from feedback: 2·TP / (2·TP + FP + FN), written as 2·TP / (all + TP) so it is one ratio of
 * two sums. `by` lists the grouping labels (e.g. `namespace, deployment, version, track`); `selector` the
 * extra label matchers inside the braces (e.g. `namespace="a",deployment="b"`). No feedback in the window
 * gives no sample (or NaN when only zero series exist), never 0.
 */
export function feedbackF1Query(window: string, by: string, selector = ''): string {
  const m = ServerMetric.feedbackEntities;
  const tpSel = selector ? `{${selector},outcome="tp"}` : '{outcome="tp"}';
  const allSel = selector ? `{${selector}}` : '';
  const tp = `sum by (${by}) (increase(${m}${tpSel}[${window}]))`;
  const all = `sum by (${by}) (increase(${m}${allSel}[${window}]))`;
  return `2 * ${tp} / (${all} + ${tp})`;
}

/** Histogram buckets of the server. */
export const ServerBuckets = {
  /** Latency (seconds) of a ms-scale service with a long tail up to the request timeout. */
  latency: [0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  /** Documents per engine batch. */
  batchSize: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  /** Entity-level F1 between primary and shadow answers. */
  agreement: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
  /**
   * Entity confidence, used only when a bundle ships no profile.json: a bundle's profile bounds always win,
   * so drift detection compares the live histogram with the baseline bucket by bucket.
   */
  fallbackConfidence: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
  /** Document length in tokens, used only when a bundle ships no profile.json. */
  fallbackDocumentLength: [5, 10, 20, 40, 80, 160, 320, 640, 1280],
} as const;
