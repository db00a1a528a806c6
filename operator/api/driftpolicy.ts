/**
 * DriftPolicy (nerops.io/v1alpha1): evaluates drift signals of a NerDeployment's stable track in
 * Prometheus against the serving model's baseline, and launches retraining Jobs whose result becomes
 * a new NerModel (which the NerDeployment's gates and canary take from there).
 */
import { z } from 'zod';
import {
  ConditionsSchema,
  ConfigMapKeyReferenceSchema,
  DnsLabelSchema,
  DurationSchema,
  ObjectMetaSchema,
  ObjectNameSchema,
  TimestampSchema,
  listMap,
  preserveUnknown,
  withCel,
  withDefaults,
  type CustomObject,
  type CustomObjectList,
} from './shared-schemas.js';
import { API_VERSION } from './group.js';
import { ArtifactUriSchema, OUTPUT_URI_PATTERN } from './nermodel.js';
import { ApprovalRecordSchema } from './approval.js';

/** The NerDeployment whose traffic is watched. */
export const DriftTargetRefSchema = z.object({
  /** Kind of the target; only `NerDeployment`. */
  kind: z.enum(['NerDeployment']).default('NerDeployment'),
  /** Name of the NerDeployment in the same namespace. */
  name: ObjectNameSchema,
});
export type DriftTargetRef = z.output<typeof DriftTargetRefSchema>;

/**
 * Kind of drift signal: `labelDistribution` (Jensen-Shannon distance of entity labels),
 * `confidence` and `documentLength` (PSI of the histograms), `unknownTokenRate` (absolute change),
 * `negatedShare` (absolute change of the share of entities the assertion stage negates, against the signal's
 * `baselineShare`), `promql` (any PromQL expression returning one number; higher is worse), or `groundTruthF1`
 * (live entity F1 against the corrections people post to `/v1/feedback`; lower is worse, docs/feedback.md).
 */
export const DriftSignalTypeSchema = z.enum([
  'labelDistribution',
  'confidence',
  'documentLength',
  'unknownTokenRate',
  'negatedShare',
  'promql',
  'groundTruthF1',
]);
export type DriftSignalType = z.output<typeof DriftSignalTypeSchema>;

/** Gold entities a `groundTruthF1` signal needs in its window when `minSamples` is omitted. */
export const DEFAULT_GROUND_TRUTH_MIN_SAMPLES = 200;

const THRESHOLD_ORDER = 'warning must be <= critical (for groundTruthF1, where lower is worse: warning >= critical)';
const GROUND_TRUTH_ONLY = 'window and minSamples are only allowed for type groundTruthF1';

/** One drift signal with its thresholds (higher values mean more drift, except for `groundTruthF1`). */
export const DriftSignalSchema = withCel(
  z
    .object({
      /** Unique name of the signal within the policy (a DNS label); used as the metric label. */
      name: DnsLabelSchema,
      /** Kind of signal. */
      type: DriftSignalTypeSchema,
      /** PromQL expression, required for (and only allowed with) type `promql`. `$namespace` and `$deployment` are substituted. */
      query: z.string().min(1).max(4096).optional(),
      /**
       * The expected share of negated entities (0-1), required for (and only allowed with) type `negatedShare`:
       * the value is |live share - baselineShare|. Take it from the model's evaluation or from a quiet week of
       * `nerops_entity_assertions_total` (docs/assertions.md, "Drift signal").
       */
      baselineShare: z.number().min(0).max(1).optional(),
      /**
       * Value at which the signal is in Warning: at or above it, or for `groundTruthF1` (an F1 in [0, 1])
       * at or below it.
       */
      warning: z.number().min(0),
      /** Value at which the signal is Critical: beyond warning in the same direction. */
      critical: z.number().min(0),
      /**
       * `groundTruthF1` only: the window the F1 is computed over (corrections arrive more slowly than traffic);
       * default the policy's `window`.
       */
      window: DurationSchema.optional(),
      /**
       * `groundTruthF1` only: gold entities (verified entities, TP + FN) the window must hold; below it the
       * signal is InsufficientData and never a breach. Default 200.
       */
      minSamples: z.int().min(1).max(100000000).optional(),
    })
    .refine((s) => (s.type === 'promql') === (s.query !== undefined), {
      message: 'query is required for type promql and not allowed otherwise',
      path: ['query'],
    })
    .refine((s) => (s.type === 'negatedShare') === (s.baselineShare !== undefined), {
      message: 'baselineShare is required for type negatedShare and not allowed otherwise',
      path: ['baselineShare'],
    })
    .refine((s) => (s.type === 'groundTruthF1' ? s.warning >= s.critical : s.warning <= s.critical), {
      message: THRESHOLD_ORDER,
      path: ['critical'],
    })
    .refine((s) => s.type !== 'groundTruthF1' || (s.warning <= 1 && s.critical <= 1), {
      message: 'groundTruthF1 thresholds are F1 values between 0 and 1',
      path: ['warning'],
    })
    .refine((s) => s.type === 'groundTruthF1' || (s.window === undefined && s.minSamples === undefined), {
      message: GROUND_TRUTH_ONLY,
      path: ['window'],
    }),
  [
    {
      rule: "(self.type == 'promql') == has(self.query)",
      message: 'query is required for type promql and not allowed otherwise',
    },
    {
      rule: "(self.type == 'negatedShare') == has(self.baselineShare)",
      message: 'baselineShare is required for type negatedShare and not allowed otherwise',
    },
    {
      rule: "self.type == 'groundTruthF1' ? self.warning >= self.critical : self.warning <= self.critical",
      message: THRESHOLD_ORDER,
    },
    {
      rule: "self.type != 'groundTruthF1' || (self.warning <= 1.0 && self.critical <= 1.0)",
      message: 'groundTruthF1 thresholds are F1 values between 0 and 1',
    },
    {
      rule: "self.type == 'groundTruthF1' || (!has(self.window) && !has(self.minSamples))",
      message: GROUND_TRUTH_ONLY,
    },
  ],
);
export type DriftSignal = z.output<typeof DriftSignalSchema>;

/** Default signals when `spec.signals` is omitted: every built-in signal with conventional thresholds. */
export const DEFAULT_DRIFT_SIGNALS: readonly DriftSignal[] = [
  { name: 'label-distribution', type: 'labelDistribution', warning: 0.1, critical: 0.25 },
  { name: 'confidence', type: 'confidence', warning: 0.1, critical: 0.25 },
  { name: 'document-length', type: 'documentLength', warning: 0.1, critical: 0.25 },
  { name: 'unknown-token-rate', type: 'unknownTokenRate', warning: 0.05, critical: 0.15 },
];

/** Action on a drift level. */
export const DriftActionSchema = z.enum(['Retrain', 'Alert', 'None']);
export type DriftAction = z.output<typeof DriftActionSchema>;

/** Whether a retraining Job starts at once or waits for the approval annotation. */
export const ApprovalSchema = z.enum(['Automatic', 'Manual']);
export type Approval = z.output<typeof ApprovalSchema>;

/** Metadata of the retraining Job template. */
export const JobTemplateMetadataSchema = z.object({
  /** Labels added to the Job. */
  labels: z.record(z.string(), z.string()).optional(),
  /** Annotations added to the Job. */
  annotations: z.record(z.string(), z.string()).optional(),
});

/*
 * The retraining template is a free-form batch/v1 JobSpec, with just enough of its pod declared for CEL to
 * refuse early what is wrong whatever the operator's configuration: privileged containers, privilege
 * escalation, host namespaces and hostPath volumes. The operator checks the whole Pod Security "restricted"
 * profile, the ServiceAccount and the images before it creates a Job (controllers/pod-policy.ts). List
 * bounds keep the CEL cost estimate within the API server's limits.
 */

/** Most containers (and init containers) in a retraining template's pod. */
export const MAX_TEMPLATE_CONTAINERS = 32;
/** Most volumes in a retraining template's pod. */
export const MAX_TEMPLATE_VOLUMES = 128;

const PRIVILEGED_MESSAGE = 'privileged containers are not allowed (Pod Security restricted)';
const ESCALATION_MESSAGE = 'allowPrivilegeEscalation must not be true (Pod Security restricted)';
const HOST_PATH_MESSAGE = 'hostPath volumes are not allowed (Pod Security restricted)';
const hostNamespaceMessage = (field: string) => `${field} must not be true (Pod Security restricted)`;

/** A container's securityContext (the other fields pass through to the Job). */
export const TemplateContainerSecuritySchema = withCel(
  preserveUnknown(
    z
      .looseObject({
        /** Must not be true. */
        privileged: z.boolean().optional(),
        /** Must not be true (the operator sets false when omitted). */
        allowPrivilegeEscalation: z.boolean().optional(),
      })
      .refine((c) => c.privileged !== true, { message: PRIVILEGED_MESSAGE, path: ['privileged'] })
      .refine((c) => c.allowPrivilegeEscalation !== true, {
        message: ESCALATION_MESSAGE,
        path: ['allowPrivilegeEscalation'],
      }),
  ),
  [
    { rule: '!has(self.privileged) || !self.privileged', message: PRIVILEGED_MESSAGE, fieldPath: '.privileged' },
    {
      rule: '!has(self.allowPrivilegeEscalation) || !self.allowPrivilegeEscalation',
      message: ESCALATION_MESSAGE,
      fieldPath: '.allowPrivilegeEscalation',
    },
  ],
);

/** A container of the template's pod (a core/v1 Container). */
export const TemplateContainerSchema = preserveUnknown(
  z.looseObject({
    /** Security settings; privileged and allowPrivilegeEscalation true are refused. */
    securityContext: TemplateContainerSecuritySchema.optional(),
  }),
);

/** A volume of the template's pod (a core/v1 Volume); hostPath is refused. */
export const TemplateVolumeSchema = withCel(
  preserveUnknown(
    z
      .looseObject({
        /** Not allowed. */
        hostPath: preserveUnknown(z.looseObject({})).optional(),
      })
      .refine((v) => v.hostPath === undefined, { message: HOST_PATH_MESSAGE, path: ['hostPath'] }),
  ),
  [{ rule: '!has(self.hostPath)', message: HOST_PATH_MESSAGE, fieldPath: '.hostPath' }],
);

/** The template's pod spec (a core/v1 PodSpec). */
export const TemplatePodSpecSchema = withCel(
  preserveUnknown(
    z
      .looseObject({
        /** Must not be true. */
        hostNetwork: z.boolean().optional(),
        /** Must not be true. */
        hostPID: z.boolean().optional(),
        /** Must not be true. */
        hostIPC: z.boolean().optional(),
        /** The containers (at most 32). */
        containers: z.array(TemplateContainerSchema).max(MAX_TEMPLATE_CONTAINERS).optional(),
        /** The init containers (at most 32). */
        initContainers: z.array(TemplateContainerSchema).max(MAX_TEMPLATE_CONTAINERS).optional(),
        /** The volumes (at most 128); hostPath is refused. */
        volumes: z.array(TemplateVolumeSchema).max(MAX_TEMPLATE_VOLUMES).optional(),
      })
      .refine((p) => p.hostNetwork !== true, { message: hostNamespaceMessage('hostNetwork'), path: ['hostNetwork'] })
      .refine((p) => p.hostPID !== true, { message: hostNamespaceMessage('hostPID'), path: ['hostPID'] })
      .refine((p) => p.hostIPC !== true, { message: hostNamespaceMessage('hostIPC'), path: ['hostIPC'] }),
  ),
  (['hostNetwork', 'hostPID', 'hostIPC'] as const).map((f) => ({
    rule: `!has(self.${f}) || !self.${f}`,
    message: hostNamespaceMessage(f),
    fieldPath: `.${f}`,
  })),
);

/** The template's pod template (a core/v1 PodTemplateSpec). */
export const TemplatePodSchema = preserveUnknown(
  z.looseObject({
    /** The pod spec. */
    spec: TemplatePodSpecSchema.optional(),
  }),
);

/** The template's Job spec (a batch/v1 JobSpec). */
export const TemplateJobSpecSchema = preserveUnknown(
  z.looseObject({
    /** The pod template. */
    template: TemplatePodSchema.optional(),
  }),
);

/** A batch/v1 Job template; the operator injects the contract env (base model, dataset, output URIs, run id). */
export const JobTemplateSchema = z.object({
  /** Labels and annotations of the Job. */
  metadata: JobTemplateMetadataSchema.optional(),
  /**
   * A batch/v1 JobSpec. The CRD refuses privileged containers, privilege escalation, host namespaces and
   * hostPath volumes; the operator refuses, before creating a Job, whatever else breaks the Pod Security
   * "restricted" profile, a ServiceAccount other than `default` or the allowed ones, and images from
   * registries not allowed (Ready=False, reason TemplateRefused). Fields it leaves out get the restricted
   * defaults (non-root user 65532, RuntimeDefault seccomp, no privilege escalation, all capabilities dropped).
   */
  spec: TemplateJobSpecSchema,
});
export type JobTemplate = z.output<typeof JobTemplateSchema>;

/** How retraining runs. */
export const RetrainingSchema = z.object({
  /** Job template; when omitted the operator runs `ner-ops retrain` in its own image, with the policy's pvc:// claims mounted. */
  template: JobTemplateSchema.optional(),
  /** Annotated training data (CoNLL/BIO): `pvc://claim/path`, `http(s)://…` or `file://…`. */
  datasetUri: ArtifactUriSchema,
  /** Version or sha256 of the dataset; a change triggers a retraining (new annotated data). */
  datasetVersion: z.string().min(1).max(128).optional(),
  /**
   * Where Jobs write bundles: a prefix to which the run id is appended (`pvc://`, `file://`, `s3://bucket/prefix`
   * or `oci://registry/repo`; S3 and OCI outputs use the base model's store settings and credentials, which the
   * registered NerModel inherits). When omitted, the operator's
   * default model storage (`ner-ops operator --default-model-uri`, Helm `modelStorage.defaultUri`) +
   * `/<namespace>/<policy name>`; without either, no retraining Job starts (Ready=False, OutputUnconfigured).
   */
  outputUri: z.string().min(1).max(2048).regex(new RegExp(OUTPUT_URI_PATTERN)).optional(),
  /**
   * Passed to the Job as `--from-scratch` for templates that warm-start. The default Job always trains a
   * new model from the dataset (the CRF trainer has no warm start) with the base model's label set and
   * setup, so there this field changes nothing.
   */
  fromScratch: z.boolean().default(false),
  /** Seconds a retraining Job may run before it is counted as failed. */
  activeDeadlineSeconds: z.int().min(60).max(604800).default(7200),
  /**
   * When the target NerDeployment stores feedback (`spec.feedback.storeUri`), the Job trains on the dataset
   * plus the store's export (`ner-ops feedback export`), and the new NerModel's lineage records both digests
   * and the feedback document count (docs/feedback.md, "Retraining on feedback"). False: the dataset alone.
   */
  includeFeedback: z.boolean().default(true),
});
export type Retraining = z.output<typeof RetrainingSchema>;

/**
 * Garbage collection of retrained models: of the NerModels this policy's runs created, per family, the
 * newest `keepLast` (and the newest `keepLast` Ready) are kept and older ones deleted, except a model that is served (stable or canary),
 * pinned by a NerDeployment, still validating, or the base of a run. Models the policy did not create are
 * never deleted. Bundles are not deleted (docs/operations.md, "Model retention").
 */
export const RetentionSchema = z.object({
  /** Retrained NerModels kept per family besides those still needed (1–100). */
  keepLast: z.int().min(1).max(100),
});
export type Retention = z.output<typeof RetentionSchema>;

/** Five-field cron expression or a macro such as `@daily`. */
export const CRON_PATTERN =
  '^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([0-9*/,?-]+|[A-Za-z]{3}) ([0-9*/,?-]+) ([0-9*/,?LW-]+) ([0-9*/,?-]+|[A-Za-z]{3}(-[A-Za-z]{3})?) ([0-9*/,?#L-]+|[A-Za-z]{3}(-[A-Za-z]{3})?))$';

/** The new-annotations trigger: enough corrections stored since the last run. */
export const NewAnnotationsSchema = z.object({
  /** Stored feedback documents since the last run's start that start a retraining. */
  minDocuments: z.int().min(1).max(100000000),
});
export type NewAnnotations = z.output<typeof NewAnnotationsSchema>;

/** Retraining triggers besides drift. */
export const TriggersSchema = z.object({
  /** Cron schedule (UTC) of periodic retraining, e.g. `0 3 * * 0`. */
  schedule: z.string().max(128).regex(new RegExp(CRON_PATTERN)).optional(),
  /** ConfigMap key holding the dataset version or digest; a change triggers retraining (new annotated data). */
  datasetRef: ConfigMapKeyReferenceSchema.optional(),
  /** Whether drift (onWarning/onCritical) may trigger retraining at all. */
  drift: z.boolean().default(true),
  /**
   * Retrain when this many validated documents were stored by the target's feedback store since the last run
   * started (counted in Prometheus from `nerops_feedback_documents_total{stored="true"}`; docs/feedback.md).
   */
  newAnnotations: NewAnnotationsSchema.optional(),
});
export type Triggers = z.output<typeof TriggersSchema>;

const driftPolicySpecBase = z.object({
  /** The NerDeployment to watch. */
  targetRef: DriftTargetRefSchema,
  /** How often signals are evaluated, e.g. `1m`. */
  interval: DurationSchema.default('1m'),
  /** Window the signals are computed over, e.g. `15m`. */
  window: DurationSchema.default('15m'),
  /** Documents in the window below which the state is InsufficientData. */
  minSamples: z.int().min(1).max(100000000).default(200),
  /** Signals with thresholds; the built-in ones when omitted. */
  signals: listMap(z.array(DriftSignalSchema).min(1).max(32), ['name']).default(
    DEFAULT_DRIFT_SIGNALS.map((s) => ({ ...s })),
  ),
  /** Consecutive breaching evaluations before the state changes (hysteresis). */
  consecutiveBreaches: z.int().min(1).max(100).default(3),
  /** Minimum time between two retraining Jobs, e.g. `1h`. */
  cooldown: DurationSchema.default('1h'),
  /** Retraining Jobs allowed to run at once. */
  maxConcurrentRuns: z.int().min(1).max(10).default(1),
  /** Stop starting Jobs (evaluation continues). */
  suspend: z.boolean().default(false),
  /** How retraining runs. */
  retraining: RetrainingSchema,
  /** Other retraining triggers. */
  triggers: withDefaults(TriggersSchema),
  /** Action when a signal reaches its warning threshold. */
  onWarning: DriftActionSchema.default('Retrain'),
  /** Action when a signal reaches its critical threshold (an alert is always raised). */
  onCritical: DriftActionSchema.default('Alert'),
  /** `Manual`: Jobs wait for the approval annotation. */
  approval: ApprovalSchema.default('Automatic'),
  /** Deletes older retrained NerModels of this policy; when omitted every one is kept. */
  retention: RetentionSchema.optional(),
});

/** DriftPolicy spec. */
export const DriftPolicySpecSchema = driftPolicySpecBase;
export type DriftPolicySpec = z.output<typeof DriftPolicySpecSchema>;
export type DriftPolicySpecInput = z.input<typeof DriftPolicySpecSchema>;

/** Overall drift state. */
export const DriftStateSchema = z.enum(['Healthy', 'Warning', 'Critical', 'InsufficientData', 'MetricsUnavailable']);
export type DriftState = z.output<typeof DriftStateSchema>;

/** Level of one signal in one evaluation. */
export const SignalLevelSchema = z.enum(['Ok', 'Warning', 'Critical', 'NoData', 'InsufficientData']);

/** One signal's value in an evaluation. */
export const SignalResultSchema = z.object({
  /** Signal name. */
  name: z.string().max(63),
  /** Measured value (absent when there was no data). */
  value: z.number().optional(),
  /** Warning threshold in effect. */
  warning: z.number(),
  /** Critical threshold in effect. */
  critical: z.number(),
  /** Samples the value is based on. */
  samples: z.number().min(0).optional(),
  /** Ok, Warning, Critical, NoData, or InsufficientData (a `groundTruthF1` signal below its `minSamples`). */
  level: SignalLevelSchema.optional(),
  /** Consecutive evaluations at or beyond warning. */
  breaches: z.int().min(0).optional(),
});
export type SignalResult = z.output<typeof SignalResultSchema>;

/** The last evaluation. */
export const DriftEvaluationSchema = z.object({
  /** When it ran. */
  time: TimestampSchema,
  /** NerModel whose baseline was compared against. */
  model: ObjectNameSchema.optional(),
  /** Documents in the window. */
  samples: z.number().min(0).optional(),
  /** Every signal. */
  signals: z.array(SignalResultSchema).max(32),
  /** Why the evaluation could not complete (Prometheus error, no baseline). */
  message: z.string().max(1024).optional(),
});
export type DriftEvaluation = z.output<typeof DriftEvaluationSchema>;

/** What started a retraining. */
export const RetrainTriggerSchema = z.enum(['Drift', 'Schedule', 'Dataset', 'Annotations', 'Manual']);
export type RetrainTrigger = z.output<typeof RetrainTriggerSchema>;

/** The running retraining Job. */
export const ActiveJobSchema = z.object({
  /** Job name. */
  name: ObjectNameSchema,
  /** Run id given to the Job. */
  runId: z.string().max(128),
  /** What triggered it. */
  trigger: RetrainTriggerSchema,
  /** When it was created. */
  startTime: TimestampSchema,
  /** True while waiting for the approval annotation (approval: Manual). */
  awaitingApproval: z.boolean().optional(),
  /** Who approved the run (approval: Manual), when, and their comment. */
  approval: ApprovalRecordSchema.optional(),
});
export type ActiveJob = z.output<typeof ActiveJobSchema>;

/** One finished retraining. */
export const RetrainingRecordSchema = z.object({
  /** Run id. */
  runId: z.string().max(128),
  /** Job name. */
  jobName: ObjectNameSchema.optional(),
  /** What triggered it. */
  trigger: RetrainTriggerSchema,
  /** When it started. */
  startTime: TimestampSchema.optional(),
  /** When it finished. */
  completionTime: TimestampSchema,
  /** Succeeded (a NerModel was created) or Failed. */
  outcome: z.enum(['Succeeded', 'Failed']),
  /** NerModel created from the result. */
  model: ObjectNameSchema.optional(),
  /** Held-out F1 of the new model. */
  f1: z.number().min(0).max(1).optional(),
  /** Held-out F1 of the base model on the same data. */
  baseF1: z.number().min(0).max(1).optional(),
  /** Feedback documents the run trained and evaluated on besides the dataset (a count, never content). */
  feedbackDocuments: z.int().min(0).optional(),
  /** Failure reason or summary. */
  message: z.string().max(1024).optional(),
  /** Who approved the run (approval: Manual), when, and their comment. */
  approval: ApprovalRecordSchema.optional(),
});
export type RetrainingRecord = z.output<typeof RetrainingRecordSchema>;

/** Progress of the new-annotations trigger. */
export const AnnotationCountSchema = z.object({
  /** Documents are counted from this time on: the last run's start, or when the trigger was first seen. */
  since: TimestampSchema,
  /** Stored feedback documents counted since then at the last evaluation (absent: not measured yet). */
  documents: z.int().min(0).optional(),
});
export type AnnotationCount = z.output<typeof AnnotationCountSchema>;

/** Most entries kept in `status.history`. */
export const MAX_RETRAINING_HISTORY = 20;

/** Observed state of a DriftPolicy. */
export const DriftPolicyStatusSchema = z.object({
  /** `metadata.generation` this status was computed from. */
  observedGeneration: z.int().min(0).optional(),
  /** Healthy, Warning, Critical, InsufficientData or MetricsUnavailable. */
  state: DriftStateSchema.optional(),
  /** The last evaluation with every signal's value, thresholds and samples. */
  lastEvaluation: DriftEvaluationSchema.optional(),
  /** The running retraining Job, if any. */
  activeJob: ActiveJobSchema.optional(),
  /** When the last retraining Job started (for the cooldown). */
  lastRetrainTime: TimestampSchema.optional(),
  /** When the schedule trigger last fired. */
  lastScheduleTime: TimestampSchema.optional(),
  /** Dataset version/digest seen at the last retraining (new annotated data trigger). */
  observedDatasetVersion: z.string().max(128).optional(),
  /** The new-annotations trigger's count (spec.triggers.newAnnotations). */
  annotations: AnnotationCountSchema.optional(),
  /** Value of the `nerops.io/retrain` annotation already acted on (a new value triggers a retraining). */
  observedRetrainRequest: z.string().max(256).optional(),
  /** Consecutive failed retraining Jobs (backoff). */
  consecutiveFailures: z.int().min(0).optional(),
  /** Finished retrainings, newest last, at most {@link MAX_RETRAINING_HISTORY}. */
  history: z.array(RetrainingRecordSchema).max(MAX_RETRAINING_HISTORY).optional(),
  /** Human-readable summary. */
  message: z.string().max(4096).optional(),
  /** Ready, Progressing, Degraded, DriftDetected, MetricsAvailable, ... */
  conditions: ConditionsSchema.optional(),
});
export type DriftPolicyStatus = z.output<typeof DriftPolicyStatusSchema>;

/** A full DriftPolicy object (for manifests and tests; controllers use {@link DriftPolicy}). */
export const DriftPolicySchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('DriftPolicy'),
  metadata: ObjectMetaSchema,
  spec: DriftPolicySpecSchema,
  status: DriftPolicyStatusSchema.optional(),
});

/** A DriftPolicy as read from the API server (defaults applied). */
export type DriftPolicy = CustomObject<'DriftPolicy', DriftPolicySpec, DriftPolicyStatus>;
export type DriftPolicyList = CustomObjectList<DriftPolicy>;
