/**
 * NerDeployment (nerops.io/v1alpha1): serves a NerModel behind a Service, rolls a new model out as
 * a canary with automated analysis, and scales on the request rate measured in Prometheus.
 * The Prometheus URL is an operator flag, not part of the spec.
 */
import { z } from 'zod';
import {
  ConditionsSchema,
  DnsLabelSchema,
  DurationSchema,
  ObjectMetaSchema,
  ObjectNameSchema,
  ResourceRequirementsSchema,
  SecretKeyReferenceSchema,
  TimestampSchema,
  listMap,
  withCel,
  withDefaults,
  type CustomObject,
  type CustomObjectList,
} from './shared-schemas.js';
import { API_VERSION } from './group.js';
import { ApprovalRecordSchema } from './approval.js';
import { PodTemplateOverridesSchema } from './pod-overrides.js';

export { PodTemplateOverridesSchema, type PodTemplateOverrides } from './pod-overrides.js';

/** Follow the newest Ready NerModel of a family that passes the gates. */
export const ModelSelectorSchema = z.object({
  /** NerModel family to follow (`spec.family` of the NerModels). */
  family: DnsLabelSchema,
});
export type ModelSelector = z.output<typeof ModelSelectorSchema>;

/** Replica bounds; autoscaling moves between them. */
export const ReplicasSchema = withCel(
  z
    .object({
      /** Minimum replicas of the stable track (also the count when autoscaling is off). */
      min: z.int().min(1).max(1000).default(1),
      /** Maximum replicas of the stable track. */
      max: z.int().min(1).max(1000).default(1),
      /**
       * The `/scale` subresource's spec value (`kubectl scale`, an HPA or a KEDA ScaledObject write it). Used
       * only when `spec.autoscaling.mode` is `External`, and then clamped into [min, max]: min is the floor
       * (no scale to zero). The operator never writes it.
       */
      desired: z.int().min(0).max(1000).optional(),
    })
    .refine((r) => r.min <= r.max, { message: 'spec.replicas.min must be <= spec.replicas.max', path: ['min'] }),
  [{ rule: 'self.min <= self.max', message: 'spec.replicas.min must be less than or equal to spec.replicas.max' }],
);
export type Replicas = z.output<typeof ReplicasSchema>;

/** Behaviour when the request rate cannot be measured. Only `Hold` (keep the current count) exists. */
export const OnMetricsUnavailableSchema = z.enum(['Hold']);

/**
 * Who scales the stable track: `Operator` (its own loop over the signals below) or `External` (an HPA or a
 * KEDA ScaledObject writes the `/scale` subresource; the operator uses `spec.replicas.desired`).
 */
export const AutoscalingModeSchema = z.enum(['Operator', 'External']);

const AUTOSCALING_TARGET_REQUIRED =
  'spec.autoscaling needs targetRequestsPerSecond or targetInFlightPerReplica unless mode is External';

/** Autoscaling of the stable track (per track; stable and canary are never averaged together). */
const autoscalingBase = z.object({
  /** `Operator` (default): the operator's loop decides; `External`: an HPA or KEDA drives `/scale`. */
  mode: AutoscalingModeSchema.default('Operator'),
  /** Target requests per second per replica; desired = ceil(observed rate / target). */
  targetRequestsPerSecond: z.number().gt(0).max(100000).optional(),
  /**
   * Target in-flight requests per replica (concurrency, the server's `nerops_inflight_requests` summed over
   * the stable pods); desired = ceil(in flight / target). With both targets the larger recommendation wins.
   */
  targetInFlightPerReplica: z.number().gt(0).max(100000).optional(),
  /**
   * Latency guardrail: when the stable track's p95 request latency (milliseconds, from the histogram over
   * `rateWindowSeconds`) exceeds it, scale up by one step whatever the rate or concurrency say.
   */
  maxP95LatencyMs: z.number().gt(0).max(600000).optional(),
  /** Relative deviation from the target ignored to avoid flapping (0.1 = 10 %). */
  tolerance: z.number().min(0).max(0.9).default(0.1),
  /** Largest number of replicas added in one scale-up decision. */
  scaleUpMaxStep: z.int().min(1).max(1000).default(4),
  /** A scale-down happens only when every recommendation over this many seconds allows it. */
  scaleDownStabilizationSeconds: z.int().min(0).max(86400).default(300),
  /** Window of the PromQL `rate()` over the request counter, in seconds. */
  rateWindowSeconds: z.int().min(10).max(3600).default(60),
  /** What to do when Prometheus is unreachable or has no data: `Hold` the current replica count. */
  onMetricsUnavailable: OnMetricsUnavailableSchema.default('Hold'),
});

/** Autoscaling; `Operator` mode needs at least one target. */
export const AutoscalingSchema = withCel(
  autoscalingBase.refine(
    (a) => a.mode === 'External' || a.targetRequestsPerSecond !== undefined || a.targetInFlightPerReplica !== undefined,
    { message: AUTOSCALING_TARGET_REQUIRED, path: ['targetRequestsPerSecond'] },
  ),
  [
    {
      rule: "self.mode == 'External' || has(self.targetRequestsPerSecond) || has(self.targetInFlightPerReplica)",
      message: AUTOSCALING_TARGET_REQUIRED,
    },
  ],
);
export type Autoscaling = z.output<typeof AutoscalingSchema>;

/** A human sign-off a canary step needs before it completes (docs/operator.md, "Approvals"). */
export const StepApprovalSchema = z.object({
  /**
   * True: once the step's pause is over and its analysis passes, the rollout waits (condition
   * `AwaitingApproval`) until a user approves this step of this candidate (`kubectl ner approve`); only then
   * does it move to the next step, or promote after the last one.
   */
  required: z.boolean().default(false),
});
export type StepApproval = z.output<typeof StepApprovalSchema>;

/** One canary step: send `weight` % of traffic to the candidate, then wait `pauseSeconds` with passing analysis. */
export const RolloutStepSchema = z.object({
  /** Percentage of traffic to the candidate during this step (1–100). */
  weight: z.int().min(1).max(100),
  /** Time to stay at this weight (with passing analysis) before the next step. */
  pauseSeconds: z.int().min(0).max(86400).default(60),
  /** Whether the step also needs an approval before it completes. */
  approval: StepApprovalSchema.optional(),
});
export type RolloutStep = z.output<typeof RolloutStepSchema>;

/** Default canary steps when `spec.rollout.steps` is omitted. */
export const DEFAULT_ROLLOUT_STEPS: readonly RolloutStep[] = [
  { weight: 10, pauseSeconds: 60 },
  { weight: 25, pauseSeconds: 60 },
  { weight: 50, pauseSeconds: 60 },
];

function strictlyIncreasing(steps: readonly { weight: number }[]): boolean {
  return steps.every((s, i) => i === 0 || (steps[i - 1]?.weight ?? 0) < s.weight);
}

/** Canary steps: weights strictly increasing, each <= 100. After the last step the candidate is promoted. */
export const RolloutStepsSchema = withCel(
  z
    .array(RolloutStepSchema)
    .min(1)
    .max(20)
    .refine(strictlyIncreasing, { message: 'spec.rollout.steps weights must be strictly increasing' }),
  [
    {
      rule: 'self.map(s, s.weight).isSorted() && self.all(s, self.exists_one(t, t.weight == s.weight))',
      message: 'spec.rollout.steps weights must be strictly increasing',
    },
  ],
);

/** Analysis thresholds; a measurement beyond any of them fails the analysis. */
export const AnalysisThresholdsSchema = z.object({
  /** Highest tolerated share of 5xx responses of the candidate (0–1). */
  maxErrorRate: z.number().min(0).max(1).default(0.01),
  /** Highest tolerated p95 request latency of the candidate, in milliseconds (from the histogram). */
  maxP95LatencyMs: z.number().gt(0).max(600000).default(500),
  /** Lowest tolerated entity agreement between candidate and stable on shadow traffic (0–1). */
  minShadowAgreement: z.number().min(0).max(1).optional(),
});
export type AnalysisThresholds = z.output<typeof AnalysisThresholdsSchema>;

/** What a measurement without (enough) data counts as. Only `Inconclusive` (pause, never promote) exists. */
export const NoDataMeansSchema = z.enum(['Inconclusive']);

const CONDITION_REQUIRED = 'a custom analysis metric needs successCondition or failureCondition';

/**
 * One custom analysis query, Argo Rollouts style. `query` is PromQL whose `{{namespace}}`, `{{deployment}}`,
 * `{{track}}` (always `canary`) and `{{model}}` (the candidate NerModel) placeholders the operator fills.
 * The conditions are expressions over `result` (see docs/operator.md "Custom analysis"): `result` is the
 * first sample's value, `result[i]` the i-th; comparisons (`< <= > >= == !=`), `&&`, `||`, `!`, parentheses.
 * An empty result is Inconclusive, never a pass.
 */
export const AnalysisMetricSchema = withCel(
  z
    .object({
      /** Name, unique in the list (shown in status and Events). */
      name: DnsLabelSchema,
      /** PromQL instant query. */
      query: z.string().min(1).max(4096),
      /** True means the measurement passes (when only this is set, false fails). */
      successCondition: z.string().min(1).max(512).optional(),
      /** True means the measurement fails (when only this is set, false passes). */
      failureCondition: z.string().min(1).max(512).optional(),
    })
    .refine((m) => m.successCondition !== undefined || m.failureCondition !== undefined, {
      message: CONDITION_REQUIRED,
      path: ['successCondition'],
    }),
  [{ rule: 'has(self.successCondition) || has(self.failureCondition)', message: CONDITION_REQUIRED }],
);
export type AnalysisMetric = z.output<typeof AnalysisMetricSchema>;

/** Name of the feedback F1 gate's result in `status.lastAnalysis.metrics` (best not used by a custom metric). */
export const FEEDBACK_F1_METRIC = 'feedback-f1';

/**
 * The feedback F1 gate (docs/feedback.md, "Canary gate"): the candidate's live entity F1 on the corrections
 * people post must not be below the stable model's by more than `maxDrop`, once both tracks have
 * `minGoldEntities` gold entities (TP + FN) in the window; with fewer the gate is Inconclusive, never a pass.
 */
export const FeedbackF1GateSchema = z.object({
  /** Largest tolerated drop of the candidate's F1 below stable's (0–1), e.g. 0.02. */
  maxDrop: z.number().min(0).max(1),
  /** Gold entities each track needs in the window before the gate decides. */
  minGoldEntities: z.int().min(1).max(100000000).default(200),
  /** Window the F1 of each track is computed over (the candidate's series only exist since it started). */
  window: DurationSchema.default('1h'),
});
export type FeedbackF1Gate = z.output<typeof FeedbackF1GateSchema>;

/** Analysis added to the built-in thresholds. */
export const CustomAnalysisSchema = z.object({
  /** Extra PromQL measurements; each one's outcome joins the built-in one (any Fail fails, any Inconclusive holds). */
  metrics: listMap(z.array(AnalysisMetricSchema).max(10), ['name']).optional(),
  /** Compare the tracks' feedback F1; its outcome joins the others like a custom metric's. */
  feedbackF1: FeedbackF1GateSchema.optional(),
});
export type CustomAnalysis = z.output<typeof CustomAnalysisSchema>;

/** Canary rollout of a new model. */
export const RolloutSchema = z.object({
  /** Steps of weight and pause. */
  steps: RolloutStepsSchema.default(DEFAULT_ROLLOUT_STEPS.map((s) => ({ ...s }))),
  /** Seconds between two analyses of the candidate. */
  analysisIntervalSeconds: z.int().min(5).max(3600).default(30),
  /** Thresholds of the analysis. */
  thresholds: withDefaults(AnalysisThresholdsSchema),
  /** Requests the candidate must have served in the interval for a measurement to count. */
  minSampleCount: z.int().min(0).max(1000000).default(50),
  /** Failed analyses tolerated; one more aborts the rollout (traffic back to stable). */
  failureLimit: z.int().min(0).max(100).default(2),
  /** What too little or no data means: `Inconclusive` (pause; never promote). */
  noDataMeans: NoDataMeansSchema.default('Inconclusive'),
  /** Custom PromQL analysis metrics, evaluated with every analysis beside the thresholds. */
  analysis: CustomAnalysisSchema.optional(),
});
export type Rollout = z.output<typeof RolloutSchema>;

/** Settings of the Gateway API traffic router. */
export const GatewayApiRoutingSchema = z.object({
  /** Existing HTTPRoute in the same namespace whose backendRefs weights the operator manages. */
  httpRouteName: ObjectNameSchema,
});

/** How traffic is split between stable and canary. */
export const TrafficRoutingSchema = withCel(
  z
    .object({
      /**
       * `replicaRatio` (default, needs nothing: one Service selects both tracks and the candidate's
       * replica share approximates the weight) or `gatewayAPI` (HTTPRoute backendRefs weights).
       */
      type: z.enum(['replicaRatio', 'gatewayAPI']).default('replicaRatio'),
      /** Required when `type` is `gatewayAPI`. */
      gatewayAPI: GatewayApiRoutingSchema.optional(),
    })
    .refine((t) => t.type !== 'gatewayAPI' || t.gatewayAPI !== undefined, {
      message: 'spec.trafficRouting.gatewayAPI is required when type is gatewayAPI',
      path: ['gatewayAPI'],
    }),
  [
    {
      rule: "self.type != 'gatewayAPI' || has(self.gatewayAPI)",
      message: 'spec.trafficRouting.gatewayAPI is required when type is gatewayAPI',
    },
  ],
);
export type TrafficRouting = z.output<typeof TrafficRoutingSchema>;

/** Shadow phase: the stable server mirrors a share of its requests to the candidate before any user traffic. */
export const ShadowSchema = z.object({
  /** Percentage of stable requests mirrored to the candidate (1–100). */
  percent: z.int().min(1).max(100),
  /** Seconds the shadow phase lasts (with passing analysis) before the first step. */
  durationSeconds: z.int().min(0).max(86400).default(60),
});
export type Shadow = z.output<typeof ShadowSchema>;

/** Offline promotion gates a candidate must pass before it receives any traffic. */
export const GatesSchema = z.object({
  /** Minimum micro F1 of the candidate (from its NerModel status). */
  minF1: z.number().min(0).max(1).optional(),
  /** Largest tolerated F1 drop against the stable model (absolute, 0–1). */
  maxRegression: z.number().min(0).max(1).optional(),
});
export type Gates = z.output<typeof GatesSchema>;

const METRICS_PORT_DIFFERS = 'spec.server.metricsPort must differ from spec.server.port';

/** Inference server tuning; omitted fields use the server's defaults (`ner-ops serve --help`). */
export const ServerTuningSchema = withCel(
  z
    .object({
      /** Container port (named `http`) of the inference API and the probes; the Services expose only this one. */
      port: z.int().min(1024).max(65535).default(8080),
      /**
       * Container port (named `metrics`) that serves only `GET /metrics`; the API port does not serve it, so a
       * NetworkPolicy can open the scrape without opening the API. Must differ from `port`.
       */
      metricsPort: z.int().min(1024).max(65535).default(9090),
      /** Documents per engine batch. */
      maxBatchSize: z.int().min(1).max(4096).optional(),
      /** Longest wait for a batch to fill, in milliseconds. */
      maxBatchWaitMs: z.int().min(0).max(10000).optional(),
      /** Queued documents before the server answers 503. */
      maxQueue: z.int().min(1).max(1000000).optional(),
      /** Engine batches in flight at once. */
      maxConcurrentBatches: z.int().min(1).max(64).optional(),
      /** Per-request deadline in milliseconds. */
      requestTimeoutMs: z.int().min(1).max(600000).optional(),
      /** Per-document character limit. */
      maxDocumentChars: z.int().min(1).max(10000000).optional(),
      /** Documents per request. */
      maxDocuments: z.int().min(1).max(100000).optional(),
      /** Tokens per request; beyond it the server answers 413 (server default 262,144, docs/server.md). */
      maxRequestTokens: z.int().min(1).max(100000000).optional(),
      /** ONNX Runtime intra-op threads. */
      threads: z.int().min(1).max(256).optional(),
      /** Server log level. */
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).optional(),
      /**
       * The PHI-free audit log: one JSON line per inference request on stdout, marked `nerops_audit`, apart
       * from the operational log (docs/security.md, "Audit log"); unset means `stdout`. `off` turns it off.
       */
      auditLog: z.enum(['stdout', 'off']).optional(),
      /**
       * Secret key (default key `key`, at least 16 bytes) of the audit records' per-document input HMACs;
       * without it the records carry no HMACs.
       */
      auditKeySecretRef: SecretKeyReferenceSchema.optional(),
    })
    .refine((s) => s.metricsPort !== s.port, { message: METRICS_PORT_DIFFERS, path: ['metricsPort'] }),
  [{ rule: 'self.metricsPort != self.port', message: METRICS_PORT_DIFFERS }],
);
export type ServerTuning = z.output<typeof ServerTuningSchema>;

/** Client authentication of the inference endpoints. */
export const AuthSchema = z.object({
  /** Secret whose key (default `token-hashes`) lists accepted sha256 token hashes, one per line. */
  tokenHashesSecretRef: SecretKeyReferenceSchema,
  /**
   * Secret whose key (default `token`) holds a token the candidate accepts (its sha256 is in the token hashes).
   * The stable pods send it with the requests they mirror in the shadow phase; required when `shadow` is set,
   * since a candidate that refuses every mirrored request leaves nothing to compare.
   */
  shadowTokenSecretRef: SecretKeyReferenceSchema.optional(),
});
export type Auth = z.output<typeof AuthSchema>;

/** Where feedback may be stored: a claim (`pvc://claim/path`), or `file://` for tests on process nodes. */
export const FEEDBACK_STORE_URI_PATTERN = '^(pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/[^\\s]+|file:///?[^\\s]+)$';

/** `POST /v1/feedback` on the serving pods (docs/feedback.md). */
export const FeedbackSchema = z.object({
  /**
   * The feedback store the serving pods append verified documents to: `pvc://claim/path` (the claim is mounted
   * read-write in every serving pod, so with more than one replica it must be ReadWriteMany). Each pod writes
   * its own segments and manifest. When omitted, feedback is scored and counted but not stored.
   */
  storeUri: z.string().min(1).max(2048).regex(new RegExp(FEEDBACK_STORE_URI_PATTERN)).optional(),
  /** Cap of the whole store in bytes; beyond it the servers answer 507 (server default 1 GiB). */
  maxBytes: z.int().min(1024).max(1099511627776).optional(),
  /** A segment is sealed before it grows past this many bytes (server default 4 MiB). */
  segmentBytes: z.int().min(1024).max(1073741824).optional(),
  /**
   * Secret whose key (default `token-hashes`) lists the sha256 hashes of the tokens allowed to post feedback.
   * With `spec.auth` and without this, feedback is refused (403): an extract token must not write training data.
   */
  tokenHashesSecretRef: SecretKeyReferenceSchema.optional(),
});
export type Feedback = z.output<typeof FeedbackSchema>;

const nerDeploymentSpecBase = z.object({
  /** Pin one NerModel by name. Exactly one of `model` and `modelSelector` is set. */
  model: ObjectNameSchema.optional(),
  /** Follow the newest Ready NerModel of a family that passes the gates. Exactly one of `model` and `modelSelector`. */
  modelSelector: ModelSelectorSchema.optional(),
  /** Replica bounds of the stable track. */
  replicas: withDefaults(ReplicasSchema),
  /** Request-rate autoscaling; when omitted the stable track runs `replicas.min` replicas. */
  autoscaling: AutoscalingSchema.optional(),
  /** Canary rollout of a new model (defaults apply when omitted). */
  rollout: withDefaults(RolloutSchema),
  /** How traffic is split between stable and canary. */
  trafficRouting: withDefaults(TrafficRoutingSchema),
  /** Optional shadow phase before the first canary step. */
  shadow: ShadowSchema.optional(),
  /** Offline promotion gates. */
  gates: GatesSchema.optional(),
  /** Inference server tuning. */
  server: withDefaults(ServerTuningSchema),
  /** Compute resources of the server container. */
  resources: ResourceRequirementsSchema.optional(),
  /** Client authentication; when omitted the endpoints are open inside the cluster. */
  auth: AuthSchema.optional(),
  /** Container image override (default: the operator's `--image` flag). */
  image: z.string().min(1).max(512).optional(),
  /** Corrections from people (`POST /v1/feedback`): where the pods store them and who may post them. */
  feedback: FeedbackSchema.optional(),
  /** Pod overrides of the serving pods: placement, priority, pull Secrets, extra metadata and environment. */
  podTemplate: PodTemplateOverridesSchema.optional(),
});

const SHADOW_TOKEN_REQUIRED =
  'spec.auth.shadowTokenSecretRef is required when spec.shadow and spec.auth are both set: the candidate refuses mirrored requests without a token';

/** NerDeployment spec. */
export const NerDeploymentSpecSchema = withCel(
  nerDeploymentSpecBase
    .refine((s) => (s.model === undefined) !== (s.modelSelector === undefined), {
      message: 'exactly one of spec.model or spec.modelSelector must be set',
      path: ['model'],
    })
    .refine((s) => !s.shadow || !s.auth || s.auth.shadowTokenSecretRef !== undefined, {
      message: SHADOW_TOKEN_REQUIRED,
      path: ['auth', 'shadowTokenSecretRef'],
    }),
  [
    {
      rule: 'has(self.model) != has(self.modelSelector)',
      message: 'exactly one of spec.model or spec.modelSelector must be set',
    },
    {
      rule: '!has(self.shadow) || !has(self.auth) || has(self.auth.shadowTokenSecretRef)',
      message: SHADOW_TOKEN_REQUIRED,
    },
  ],
);
export type NerDeploymentSpec = z.output<typeof NerDeploymentSpecSchema>;
export type NerDeploymentSpecInput = z.input<typeof NerDeploymentSpecSchema>;

/** Phase of a NerDeployment, derived from its conditions. */
export const NerDeploymentPhaseSchema = z.enum(['Healthy', 'Progressing', 'Paused', 'Degraded', 'RolledBack']);
export type NerDeploymentPhase = z.output<typeof NerDeploymentPhaseSchema>;

/** Outcome of one canary analysis: three-valued. */
export const AnalysisOutcomeSchema = z.enum(['Pass', 'Fail', 'Inconclusive']);
export type AnalysisOutcome = z.output<typeof AnalysisOutcomeSchema>;

/** The outcome of one custom analysis metric. */
export const MetricResultSchema = z.object({
  /** spec.rollout.analysis.metrics[].name. */
  name: DnsLabelSchema,
  /** Pass, Fail or Inconclusive. */
  outcome: AnalysisOutcomeSchema,
  /** The first sample's value, when there was one. */
  value: z.number().optional(),
  /** Why (condition held or not, no data, query refused). */
  message: z.string().max(256).optional(),
});
export type MetricResult = z.output<typeof MetricResultSchema>;

/** The last canary analysis measurements. */
export const AnalysisResultSchema = z.object({
  /** When the measurement was taken. */
  time: TimestampSchema,
  /** Index of the step the analysis belonged to (-1: shadow phase). */
  stepIndex: z.int().min(-1).optional(),
  /** Pass, Fail or Inconclusive. */
  outcome: AnalysisOutcomeSchema,
  /** Candidate requests in the interval. */
  samples: z.number().min(0).optional(),
  /** Candidate 5xx share in the interval. */
  errorRate: z.number().min(0).optional(),
  /** Candidate p95 latency in milliseconds. */
  p95LatencyMs: z.number().min(0).optional(),
  /** Entity agreement on shadow traffic (0–1). */
  shadowAgreement: z.number().min(0).optional(),
  /** Why the outcome is what it is (threshold crossed, too few samples, Prometheus down). */
  message: z.string().max(1024).optional(),
  /** Outcomes of the custom analysis metrics (spec.rollout.analysis.metrics), then the feedbackF1 gate's. */
  metrics: z.array(MetricResultSchema).max(11).optional(),
});
export type AnalysisResult = z.output<typeof AnalysisResultSchema>;

/** Traffic weights currently in effect (percent, summing to 100). */
export const WeightsSchema = z.object({
  /** Percent of traffic on the stable model. */
  stable: z.int().min(0).max(100),
  /** Percent of traffic on the candidate. */
  canary: z.int().min(0).max(100),
});
export type Weights = z.output<typeof WeightsSchema>;

/** The `/scale` subresource's status (statusReplicasPath and labelSelectorPath). */
export const ScaleStatusSchema = z.object({
  /** Pods of the stable track's Deployment (its status.replicas). */
  replicas: z.int().min(0),
  /** Label selector of those pods, in string form (what an HPA lists pods and their metrics with). */
  selector: z.string().max(512),
});

/** Replica counts of one track or of the whole NerDeployment. */
export const ReplicaCountsSchema = z.object({
  /** Replicas the operator asks for. */
  desired: z.int().min(0),
  /** Replicas that are ready. */
  ready: z.int().min(0),
});
export type ReplicaCounts = z.output<typeof ReplicaCountsSchema>;

/** Replica status: totals plus per-track counts. */
export const ReplicaStatusSchema = ReplicaCountsSchema.extend({
  /** Stable track. */
  stable: ReplicaCountsSchema.optional(),
  /** Canary track. */
  canary: ReplicaCountsSchema.optional(),
});

/** How a rollout ended. */
export const RolloutOutcomeSchema = z.enum(['Promoted', 'RolledBack', 'Superseded', 'Rejected']);
export type RolloutOutcome = z.output<typeof RolloutOutcomeSchema>;

/** Most approvals kept for one rollout (one per step at most). */
export const MAX_APPROVALS = 20;

/** One finished rollout. */
export const RolloutHistoryEntrySchema = z.object({
  /** The candidate NerModel. */
  model: ObjectNameSchema,
  /** The stable model before the rollout. */
  previousModel: ObjectNameSchema.optional(),
  /** Promoted, RolledBack, Superseded or Rejected (failed the gates). */
  outcome: RolloutOutcomeSchema,
  /** When the rollout started. */
  startTime: TimestampSchema.optional(),
  /** When it ended. */
  endTime: TimestampSchema,
  /** Steps completed before the end. */
  stepsCompleted: z.int().min(0).optional(),
  /** Details (abort reason with measurements). */
  message: z.string().max(1024).optional(),
  /** The approvals given during the rollout (steps with `approval.required`). */
  approvals: z.array(ApprovalRecordSchema).max(MAX_APPROVALS).optional(),
});
export type RolloutHistoryEntry = z.output<typeof RolloutHistoryEntrySchema>;

/** Most entries kept in `status.history` (oldest dropped first). */
export const MAX_ROLLOUT_HISTORY = 10;

/** Observed state of a NerDeployment; everything needed to resume a rollout after a restart. */
export const NerDeploymentStatusSchema = z.object({
  /** `metadata.generation` this status was computed from. */
  observedGeneration: z.int().min(0).optional(),
  /** Healthy, Progressing, Paused, Degraded or RolledBack (derived from the conditions). */
  phase: NerDeploymentPhaseSchema.optional(),
  /** NerModel serving the stable track. */
  stableModel: ObjectNameSchema.optional(),
  /** Candidate NerModel being rolled out, if any. */
  canaryModel: ObjectNameSchema.optional(),
  /** Index of the current canary step (into spec.rollout.steps), when a rollout runs. */
  currentStepIndex: z.int().min(0).optional(),
  /** Hash of spec.rollout.steps the index refers to; a change restarts the rollout. */
  stepsHash: z.string().max(128).optional(),
  /** When the current step's pause started. */
  pauseStartTime: TimestampSchema.optional(),
  /** True while the rollout is paused by a user (annotation) or by inconclusive analysis. */
  paused: z.boolean().optional(),
  /** Failed analyses counted against spec.rollout.failureLimit in the current rollout. */
  failedAnalyses: z.int().min(0).optional(),
  /** Why the last rollout was aborted. */
  abortReason: z.string().max(1024).optional(),
  /** Candidate that was rolled back (not retried until a newer candidate appears). */
  rejectedModel: ObjectNameSchema.optional(),
  /** Traffic weights in effect. */
  weights: WeightsSchema.optional(),
  /** Last analysis measurements. */
  lastAnalysis: AnalysisResultSchema.optional(),
  /** Approvals given to the running rollout, oldest first (moved into its history entry when it ends). */
  approvals: z.array(ApprovalRecordSchema).max(MAX_APPROVALS).optional(),
  /** Replica counts. */
  replicas: ReplicaStatusSchema.optional(),
  /** Requests per second over the stable track measured in Prometheus (aggregated over pods). */
  observedRequestRate: z.number().min(0).optional(),
  /**
   * What the `/scale` subresource reports: the stable track's pods (the track `spec.replicas.desired` sets; the
   * canary's pods come and go with rollouts on top of it) and their label selector.
   */
  scale: ScaleStatusSchema.optional(),
  /** When the autoscaler last changed the desired replicas. */
  lastScaleTime: TimestampSchema.optional(),
  /** Finished rollouts, newest last, at most {@link MAX_ROLLOUT_HISTORY}. */
  history: z.array(RolloutHistoryEntrySchema).max(MAX_ROLLOUT_HISTORY).optional(),
  /** Name of the Service clients use. */
  serviceName: ObjectNameSchema.optional(),
  /** Human-readable summary. */
  message: z.string().max(4096).optional(),
  /** Ready, Progressing, Degraded, MetricsAvailable, CandidateRejected, ... */
  conditions: ConditionsSchema.optional(),
});
export type NerDeploymentStatus = z.output<typeof NerDeploymentStatusSchema>;

/** A full NerDeployment object (for manifests and tests; controllers use {@link NerDeployment}). */
export const NerDeploymentSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('NerDeployment'),
  metadata: ObjectMetaSchema,
  spec: NerDeploymentSpecSchema,
  status: NerDeploymentStatusSchema.optional(),
});

/** A NerDeployment as read from the API server (defaults applied). */
export type NerDeployment = CustomObject<'NerDeployment', NerDeploymentSpec, NerDeploymentStatus>;
export type NerDeploymentList = CustomObjectList<NerDeployment>;
