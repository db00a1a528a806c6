/**
 * NerModel (nerops.io/v1alpha1): a versioned, immutable NER model artifact, verified by digest,
 * validated and evaluated by a Job, carrying its drift baseline and lineage in status.
 */
import { z } from 'zod';
import {
  ConditionsSchema,
  ConfigMapKeyReferenceSchema,
  DnsLabelSchema,
  ObjectMetaSchema,
  ObjectNameSchema,
  SecretKeyReferenceSchema,
  Sha256Schema,
  TimestampSchema,
  listMap,
  listSet,
  withCel,
  type CustomObject,
  type CustomObjectList,
} from './shared-schemas.js';
import { API_VERSION } from './group.js';
import {
  FHIR_FAMILY_HISTORY_TARGETS,
  FHIR_RESOURCE_TARGETS,
  SHIPPED_ASSERTION_LANGUAGES,
} from '../../contracts/serve.js';
import { PodTemplateOverridesSchema } from './pod-overrides.js';

/** URI schemes a model or dataset may be fetched from. `file://` is meant for tests. */
export const MODEL_URI_PATTERN = '^(pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/[^\\s]+|https?://[^\\s]+|file:///?[^\\s]+)$';

/** A model or dataset location: `pvc://claim/path`, `http(s)://…` or `file://…`. */
export const ArtifactUriSchema = z.string().min(1).max(2048).regex(new RegExp(MODEL_URI_PATTERN));

/**
 * Where a NerModel's bundle may come from: every {@link MODEL_URI_PATTERN} scheme, plus `s3://bucket/prefix`
 * and a digest-pinned `oci://registry/repo[:tag]@sha256:<hex>` (bundles only, not datasets).
 */
export const MODEL_SOURCE_URI_PATTERN =
  '^(pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/[^\\s]+|https?://[^\\s]+|file:///?[^\\s]+|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\\s]*)?|oci://[^\\s/@]+/[^\\s@]+@sha256:[a-f0-9]{64})$';

/**
 * Where a retraining Job may write its bundle (a prefix the run id is appended to): the
 * {@link MODEL_URI_PATTERN} schemes, `s3://bucket[/prefix]`, or an `oci://registry/repo` (no tag or digest:
 * the Job tags the run id and reports the digest-pinned reference).
 */
export const OUTPUT_URI_PATTERN =
  '^(pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?/[^\\s]+|https?://[^\\s]+|file:///?[^\\s]+|s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\\s]*)?|oci://[^\\s/@]+/[a-z0-9][a-z0-9._/-]*)$';

/** S3 settings of an `s3://` source: the store's API endpoint, region and addressing style. */
export const S3SettingsSchema = z.object({
  /** The S3 API endpoint, e.g. `https://s3.hospital.local:9000` (default: the operator's, else AWS). */
  endpoint: z
    .string()
    .max(512)
    .regex(/^https?:\/\/[^\s/?#]+\/?$/)
    .optional(),
  /** Region to sign requests for (default us-east-1). */
  region: z
    .string()
    .max(64)
    .regex(/^[a-z0-9-]+$/)
    .optional(),
  /** Path-style addressing (`endpoint/bucket/key`), which most on-prem stores need. */
  forcePathStyle: z.boolean().optional(),
});

/** Bundle format. */
export const ModelFormatSchema = z.enum(['crf', 'token-classification']);
export type ModelFormat = z.output<typeof ModelFormatSchema>;

/** An entity type name as the model emits it, without BIO prefix (e.g. `DISEASE`). */
export const EntityTypeSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/);

/** Where the bundle comes from and what it must hash to. */
export const ModelSourceSchema = z.object({
  /**
   * Location of the bundle (a directory or a tar of it): `pvc://<claim>/<path>`, `http://…`,
   * `https://…`, `s3://bucket/prefix` (or `…/bundle.tar.gz`), `oci://registry/repo[:tag]@sha256:<manifest
   * digest>` (an artifact `ner-ops package --push` publishes), or `file://…` (tests).
   */
  uri: z.string().min(1).max(2048).regex(new RegExp(MODEL_SOURCE_URI_PATTERN)),
  /** Expected sha256 (64 lower-case hex characters) of the bundle manifest, which pins every file. */
  digest: Sha256Schema,
  /**
   * Secret with credentials for the URI (HTTP: key `token` sent as a bearer token; S3: keys `accessKeyId` and
   * `secretAccessKey`; OCI: key `.dockerconfigjson`; `key` is ignored for S3 and OCI). Only the fetching pod
   * mounts it; the operator reads its metadata only: the token is used only when the Secret's
   * `nerops.io/allowed-origins` annotation lists the URI's origin (otherwise the model stays Pending with
   * reason CredentialsOriginRefused and no Job is created).
   */
  credentialsSecretRef: SecretKeyReferenceSchema.optional(),
  /**
   * Accept sending a token (this source's Secret or the operator's default) over plain `http://`. Off: an
   * http:// source with a Secret is refused (InsecureCredentials) and gets no default token.
   */
  allowInsecureHttp: z.boolean().optional(),
  /** `s3://` sources: endpoint, region and path-style (credentials: the Secret's `accessKeyId` / `secretAccessKey`). */
  s3: S3SettingsSchema.optional(),
  /**
   * `oci://` sources: talk plain http to the registry (a lab mirror without TLS). Credentials (a
   * kubernetes.io/dockerconfigjson Secret, key `.dockerconfigjson`) then also need `allowInsecureHttp`.
   */
  plainHttp: z.boolean().optional(),
  /** ConfigMap holding a PEM CA bundle to trust for `https://` (default key `ca.crt`). */
  caBundleConfigMapRef: ConfigMapKeyReferenceSchema.optional(),
  /**
   * Size cap in bytes for fetching the bundle: downloaded bytes, an archive's expanded bytes and the bundle's
   * files each stay under it (default 2 GiB, `ner-ops fetch-model --help`).
   */
  maxBytes: z
    .int()
    .min(1)
    .max(2 ** 50)
    .optional(),
  /** Overall deadline in seconds for fetching (downloading and extracting) the bundle (default 900). */
  fetchDeadlineSeconds: z.int().min(1).max(86400).optional(),
});
export type ModelSource = z.output<typeof ModelSourceSchema>;

/** Minimum entity-level micro metrics; each in [0, 1]. */
export const MinMetricsSchema = z.object({
  /** Minimum micro precision. */
  precision: z.number().min(0).max(1).optional(),
  /** Minimum micro recall. */
  recall: z.number().min(0).max(1).optional(),
  /** Minimum micro F1. */
  f1: z.number().min(0).max(1).optional(),
});
export type MinMetrics = z.output<typeof MinMetricsSchema>;

/** Optional evaluation of the model during validation. */
export const ModelEvaluationSchema = z.object({
  /** Annotated held-out dataset (CoNLL/BIO) to evaluate on: same URI schemes as the source. */
  datasetUri: ArtifactUriSchema,
  /** The model is Rejected when any measured metric is below these. */
  minMetrics: MinMetricsSchema.optional(),
});
export type ModelEvaluation = z.output<typeof ModelEvaluationSchema>;

/** The feedback export a retrained model was trained on besides its dataset. */
export const FeedbackLineageSchema = z.object({
  /** The feedback store (the target NerDeployment's `spec.feedback.storeUri`). */
  storeUri: z.string().max(2048),
  /** sha256 of the export (train.conll then dev.conll), as `ner-ops feedback export` prints it. */
  digest: Sha256Schema,
  /** Unique documents of the export (train + held-out). */
  documents: z.int().min(0),
  /** Of those, held out for the evaluation. */
  heldOutDocuments: z.int().min(0).optional(),
});
export type FeedbackLineage = z.output<typeof FeedbackLineageSchema>;

/** Where a model came from: set by whoever creates it (the DriftPolicy controller for retrained models). */
export const ModelLineageSchema = z.object({
  /** NerModel this one was trained or warm-started from. */
  parentModel: ObjectNameSchema.optional(),
  /** sha256 of the training dataset (for a retrained model: the dataset at `datasetUri`, without feedback). */
  datasetDigest: Sha256Schema.optional(),
  /** URI of the training dataset. */
  datasetUri: z.string().max(2048).optional(),
  /** The feedback a retraining merged into the dataset (docs/feedback.md): digests and counts, never content. */
  feedback: FeedbackLineageSchema.optional(),
  /** Name of the retraining Job that produced the bundle. */
  trainingJob: ObjectNameSchema.optional(),
  /** Name of the DriftPolicy that triggered the retraining. */
  driftPolicy: ObjectNameSchema.optional(),
  /** Run id of the retraining (also the Job's `NEROPS_RUN_ID`). */
  runId: z.string().max(128).optional(),
  /** Identifier of the evaluation comparing this model with its parent on the same held-out data. */
  evaluationId: z.string().max(128).optional(),
});
export type ModelLineage = z.output<typeof ModelLineageSchema>;

/** The assertion stage of the model's servers (`ner-ops serve --assertion-language`). */
export const AssertionServingSchema = z.object({
  /**
   * Language of requests without `Content-Language`: `en` or `nb`. Absent: the language of the bundle's own
   * rule file. Set on a model whose bundle has no rules, its servers run the shipped rules of that language.
   */
  language: z.enum(SHIPPED_ASSERTION_LANGUAGES),
});

/** One entity label's FHIR resource. */
export const FhirMappingEntrySchema = z.object({
  /** Entity label as the model emits it (matched case-insensitively). */
  label: EntityTypeSchema,
  /** `Condition`, `Procedure`, `MedicationStatement`, or `omit` (left out of FHIR output). */
  resource: z.enum(FHIR_RESOURCE_TARGETS),
});

/** FHIR R4 output of the model's servers (`ner-ops serve --fhir-mapping`, `--fhir-family-history`). */
export const FhirOutputSchema = z.object({
  /**
   * Label → resource entries over the server's defaults (DISEASE, PROBLEM → Condition; TREATMENT, PROCEDURE →
   * Procedure; CHEMICAL, DRUG, MEDICATION → MedicationStatement; other labels left out).
   */
  mapping: listMap(z.array(FhirMappingEntrySchema).max(64), ['label']).optional(),
  /** A relative's condition: `FamilyMemberHistory` (default) or `omit`. */
  familyHistory: z.enum(FHIR_FAMILY_HISTORY_TARGETS).optional(),
});
export type FhirOutput = z.output<typeof FhirOutputSchema>;

const nerModelSpecBase = z.object({
  /** Model family: models of one family may replace each other in a NerDeployment (a DNS label). */
  family: DnsLabelSchema,
  /** Version of the model within its family, e.g. `1.4.0` or `2024-05-01-r3`. */
  version: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[A-Za-z0-9]([A-Za-z0-9._+-]*[A-Za-z0-9])?$/),
  /**
   * Bundle format: `crf` (the project's own trained bundle) or `token-classification`
   * (a transformer exported to ONNX with `tokenizer.json` and `config.json`).
   */
  format: ModelFormatSchema,
  /** Where to fetch the bundle and the digest it must match. */
  source: ModelSourceSchema,
  /** Entity types the model emits (without BIO prefixes); the bundle must declare exactly these. */
  entityTypes: listSet(z.array(EntityTypeSchema).min(1).max(64)),
  /** Optional evaluation on an annotated dataset during validation. */
  evaluation: ModelEvaluationSchema.optional(),
  /** Lineage recorded by the creator of the model (copied to status once validated). */
  lineage: ModelLineageSchema.optional(),
  /** The assertion stage of the model's servers. */
  assertions: AssertionServingSchema.optional(),
  /** How servers of this model answer `Accept: application/fhir+json` (docs/assertions.md, "HTTP and FHIR output"). */
  fhir: FhirOutputSchema.optional(),
  /** Settings of the validation Job. */
  validation: z
    .object({
      /** Pod overrides of the validation Job (placement, priority, pull Secrets, metadata, envFrom). */
      podTemplate: PodTemplateOverridesSchema.optional(),
    })
    .optional(),
});

/** NerModel spec. Immutable: publish a new NerModel (new name) for a new version. */
export const NerModelSpecSchema = withCel(nerModelSpecBase, [
  { rule: 'self == oldSelf', message: 'spec is immutable: create a new NerModel instead' },
]);
export type NerModelSpec = z.output<typeof NerModelSpecSchema>;
export type NerModelSpecInput = z.input<typeof NerModelSpecSchema>;

/** Lifecycle phase of a NerModel. */
export const NerModelPhaseSchema = z.enum(['Pending', 'Validating', 'Ready', 'Rejected', 'Failed']);
export type NerModelPhase = z.output<typeof NerModelPhaseSchema>;

/** Entity-level exact-span scores (mirror of engine PrfScores). */
export const PrfScoresSchema = z.object({
  /** Precision in [0, 1]. */
  precision: z.number().min(0).max(1),
  /** Recall in [0, 1]. */
  recall: z.number().min(0).max(1),
  /** F1 in [0, 1]. */
  f1: z.number().min(0).max(1),
  /** Number of gold entities. */
  support: z.int().min(0).optional(),
  /** Number of predicted entities. */
  predicted: z.int().min(0).optional(),
  /** Number of correct predicted entities. */
  correct: z.int().min(0).optional(),
});
export type PrfScores = z.output<typeof PrfScoresSchema>;

/** Measured metrics of the model. */
export const ModelMetricsSchema = z.object({
  /** Micro-averaged entity P/R/F1. */
  micro: PrfScoresSchema,
  /** Scores per entity type. */
  perType: z.record(z.string(), PrfScoresSchema).optional(),
  /** Where the numbers come from: `evaluation` (spec.evaluation dataset) or `bundle` (the bundle's metrics.json). */
  source: z.enum(['evaluation', 'bundle']).optional(),
  /** Number of evaluated sentences. */
  sentences: z.int().min(0).optional(),
});
export type ModelMetrics = z.output<typeof ModelMetricsSchema>;

/** Histogram with explicit upper bounds; `counts` has one more entry (the +Inf bucket). Mirror of engine Histogram. */
export const HistogramSchema = z.object({
  /** Upper bounds, increasing. */
  bounds: z.array(z.number()).max(64),
  /** Per-bucket counts (not cumulative), `bounds.length + 1` entries. */
  counts: z.array(z.number().min(0)).max(65),
});
export type HistogramStatus = z.output<typeof HistogramSchema>;

/** Compact drift baseline of the model (mirror of engine BaselineProfile), from held-out data. */
export const BaselineProfileSchema = z.object({
  /** Profile format version. */
  profileVersion: z.int().min(1),
  /** Number of documents profiled. */
  documents: z.int().min(0),
  /** Number of tokens profiled. */
  tokens: z.int().min(0),
  /** Number of predicted entities. */
  entities: z.int().min(0),
  /** Fraction of predicted entities per entity type (sums to 1 when entities > 0). */
  labelDistribution: z.record(z.string(), z.number().min(0).max(1)),
  /** Entity confidence histogram. */
  confidence: HistogramSchema,
  /** Document length (tokens) histogram. */
  documentLength: HistogramSchema,
  /** Unknown tokens / tokens over the held-out data. */
  unknownTokenRate: z.number().min(0).max(1),
});
export type BaselineProfileStatus = z.output<typeof BaselineProfileSchema>;

/** Observed state of a NerModel. */
export const NerModelStatusSchema = z.object({
  /** `metadata.generation` this status was computed from. */
  observedGeneration: z.int().min(0).optional(),
  /** Pending → Validating → Ready | Rejected (the artifact is bad) | Failed (validation could not run). */
  phase: NerModelPhaseSchema.optional(),
  /** Digest verified by the validation Job (equals spec.source.digest when Ready). */
  verifiedDigest: Sha256Schema.optional(),
  /** Size of the bundle in bytes. */
  sizeBytes: z.int().min(0).optional(),
  /** Entity types declared by the bundle. */
  entityTypes: z.array(z.string()).max(64).optional(),
  /** Measured metrics. */
  metrics: ModelMetricsSchema.optional(),
  /** Drift baseline profile shipped in (or computed for) the bundle. */
  baseline: BaselineProfileSchema.optional(),
  /** Lineage, copied from spec.lineage. */
  lineage: ModelLineageSchema.optional(),
  /** Name of the current or last validation Job. */
  validationJob: ObjectNameSchema.optional(),
  /** Number of validation attempts that failed for transient reasons. */
  failedAttempts: z.int().min(0).optional(),
  /** When validation finished. */
  validatedAt: TimestampSchema.optional(),
  /** Human-readable summary of the phase (e.g. the digest mismatch). */
  message: z.string().max(4096).optional(),
  /** Ready, Progressing, Degraded (and Validated). */
  conditions: ConditionsSchema.optional(),
});
export type NerModelStatus = z.output<typeof NerModelStatusSchema>;

/** A full NerModel object (for manifests and tests; controllers use {@link NerModel}). */
export const NerModelSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('NerModel'),
  metadata: ObjectMetaSchema,
  spec: NerModelSpecSchema,
  status: NerModelStatusSchema.optional(),
});

/** A NerModel as read from the API server (defaults applied). */
export type NerModel = CustomObject<'NerModel', NerModelSpec, NerModelStatus>;
export type NerModelList = CustomObjectList<NerModel>;
