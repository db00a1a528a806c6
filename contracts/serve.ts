/**
 * `ner-ops serve`, the inference server of every NerDeployment pod: its command name, flags and environment.
 * The CLI parses exactly these flags; the operator builds the pod's args and env from them. Flags win over
 * environment variables, which win over defaults.
 */
import { ModelSourceEnv } from './model-source-env.js';
import { OTLP_ENDPOINT_FLAG } from './tracing.js';

/** The subcommand that runs the inference server. */
export const SERVE_COMMAND = 'serve';

/** The tracks a server can serve; a label on every metric series. */
export const TRACKS = ['stable', 'canary'] as const;
export type Track = (typeof TRACKS)[number];

/** Flag names of `ner-ops serve`, as the CLI parses them (without the leading `--`, see {@link flagArg}). */
export const ServeFlag = {
  model: 'model',
  modelDigest: 'model-digest',
  modelTokenFile: 'model-token-file',
  modelCaFile: 'model-ca-file',
  modelCacheDir: 'model-cache-dir',
  threads: 'threads',
  host: 'host',
  port: 'port',
  metricsPort: 'metrics-port',
  authTokenFile: 'auth-token-file',
  maxBatchSize: 'max-batch-size',
  maxBatchWaitMs: 'max-batch-wait-ms',
  maxQueue: 'max-queue',
  maxConcurrentBatches: 'max-concurrent-batches',
  requestTimeoutMs: 'request-timeout-ms',
  maxBodyBytes: 'max-body-bytes',
  maxDocumentChars: 'max-document-chars',
  maxDocuments: 'max-documents',
  maxRequestTokens: 'max-request-tokens',
  drainTimeoutMs: 'drain-timeout-ms',
  shutdownDelayMs: 'shutdown-delay-ms',
  namespace: 'namespace',
  deployment: 'deployment',
  modelName: 'model-name',
  modelVersion: 'model-version',
  track: 'track',
  shadowUrl: 'shadow-url',
  shadowPercent: 'shadow-percent',
  shadowConcurrency: 'shadow-concurrency',
  shadowTimeoutMs: 'shadow-timeout-ms',
  shadowTokenFile: 'shadow-token-file',
  logLevel: 'log-level',
  /** OTLP/HTTP base endpoint for traces (contracts/tracing.ts); the OTEL_EXPORTER_OTLP_* variables otherwise. */
  otlpEndpoint: OTLP_ENDPOINT_FLAG,
  /** Assertion language of requests without `Content-Language` (en, nb, or the bundle rules' language). */
  assertionLanguage: 'assertion-language',
  /** Label → FHIR resource overrides: `LABEL=Condition|Procedure|MedicationStatement|omit,...`. */
  fhirMapping: 'fhir-mapping',
  /** A relative's condition in FHIR output: `FamilyMemberHistory` or `omit`. */
  fhirFamilyHistory: 'fhir-family-history',
  feedbackStore: 'feedback-store',
  feedbackTokenFile: 'feedback-token-file',
  /** The audit log's sink: `off`, `stdout` (lines marked `nerops_audit`) or `file:/path` (server/audit/). */
  auditLog: 'audit-log',
  /** The key of the audit record's input HMACs (a mounted Secret; an absent file means no HMACs). */
  auditHmacKeyFile: 'audit-hmac-key-file',
  feedbackSegmentBytes: 'feedback-segment-bytes',
  feedbackMaxBytes: 'feedback-max-bytes',
} as const;
export type ServeFlag = (typeof ServeFlag)[keyof typeof ServeFlag];

/**
 * Languages whose assertion rules ship with every runtime (engine/assertions/rules), so `--assertion-language`
 * with one of them always starts; a bundle's own rule file may add its language.
 */
export const SHIPPED_ASSERTION_LANGUAGES = ['en', 'nb'] as const;

/** The resources `--fhir-mapping` may map an entity label to; `omit` leaves the label out of FHIR output. */
export const FHIR_RESOURCE_TARGETS = ['Condition', 'Procedure', 'MedicationStatement', 'omit'] as const;
export type FhirResourceTarget = (typeof FHIR_RESOURCE_TARGETS)[number];

/** Values of `--fhir-family-history`: what a relative's condition becomes in FHIR output. */
export const FHIR_FAMILY_HISTORY_TARGETS = ['FamilyMemberHistory', 'omit'] as const;
export type FhirFamilyHistoryTarget = (typeof FHIR_FAMILY_HISTORY_TARGETS)[number];

/** The value of `--fhir-mapping`: `LABEL=Resource` entries joined by commas. */
export function fhirMappingArg(entries: readonly { label: string; resource: FhirResourceTarget }[]): string {
  return entries.map((e) => `${e.label}=${e.resource}`).join(',');
}

/** A flag as it appears on a command line: `--name`. */
export function flagArg<F extends string>(flag: F): `--${F}` {
  return `--${flag}`;
}

/** Environment variables `ner-ops serve` reads; the operator sets them on NerDeployment pods. */
export const ServeEnv = {
  modelUri: ModelSourceEnv.uri,
  modelDigest: ModelSourceEnv.digest,
  modelTokenFile: ModelSourceEnv.tokenFile,
  modelCaFile: ModelSourceEnv.caFile,
  modelAllowInsecureHttp: ModelSourceEnv.allowInsecureHttp,
  threads: 'NEROPS_THREADS',
  host: 'NEROPS_HOST',
  port: 'NEROPS_PORT',
  /** A port of its own for `GET /metrics` (the API port then answers it 404); unset, one port serves both. */
  metricsPort: 'NEROPS_METRICS_PORT',
  authTokenFile: 'NEROPS_AUTH_TOKEN_FILE',
  namespace: 'NEROPS_NAMESPACE',
  deployment: 'NEROPS_DEPLOYMENT',
  modelName: 'NEROPS_MODEL_NAME',
  modelVersion: 'NEROPS_MODEL_VERSION',
  /** `stable` or `canary`. */
  track: 'NEROPS_TRACK',
  shadowUrl: 'NEROPS_SHADOW_URL',
  shadowPercent: 'NEROPS_SHADOW_PERCENT',
  /** Most tokens in one request; beyond it, 413 (see docs/server.md, "Memory"). */
  maxRequestTokens: 'NEROPS_MAX_REQUEST_TOKENS',
  logLevel: 'NEROPS_LOG_LEVEL',
  assertionLanguage: 'NEROPS_ASSERTION_LANGUAGE',
  fhirMapping: 'NEROPS_FHIR_MAPPING',
  fhirFamilyHistory: 'NEROPS_FHIR_FAMILY_HISTORY',
  /** Where `POST /v1/feedback` documents are kept (`pvc://claim/path` or `file://`); unset, nothing is stored. */
  feedbackStore: 'NEROPS_FEEDBACK_STORE',
  /** Token hashes of the feedback scope (`POST /v1/feedback`), separate from the extract tokens. */
  feedbackTokenFile: 'NEROPS_FEEDBACK_TOKEN_FILE',
  auditLog: 'NEROPS_AUDIT_LOG',
  auditHmacKeyFile: 'NEROPS_AUDIT_HMAC_KEY_FILE',
} as const;

/** Conventional variables read when the {@link ServeEnv} one is unset. */
export const ServeEnvFallback = {
  /** The usual port variable of container platforms. */
  port: 'PORT',
  /** Set from the downward API (`metadata.namespace`) on operator-built pods. */
  namespace: 'POD_NAMESPACE',
  logLevel: 'LOG_LEVEL',
  /** The pod's name (downward API), else the hostname: the feedback store names this writer's segments by it. */
  podName: 'POD_NAME',
  hostname: 'HOSTNAME',
} as const;
