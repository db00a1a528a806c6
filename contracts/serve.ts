/**
 * `ner-ops serve`, the inference server of every NerDeployment pod: its command name, flags and environment.
 * The CLI parses exactly these flags; the operator builds the pod's args and env from them. Flags win over
 * environment variables, which win over defaults.
 */
import { ModelSourceEnv } from './model-source-env.js';

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
  feedbackStore: 'feedback-store',
  feedbackTokenFile: 'feedback-token-file',
  feedbackSegmentBytes: 'feedback-segment-bytes',
  feedbackMaxBytes: 'feedback-max-bytes',
} as const;
export type ServeFlag = (typeof ServeFlag)[keyof typeof ServeFlag];

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
  /** Where `POST /v1/feedback` documents are kept (`pvc://claim/path` or `file://`); unset, nothing is stored. */
  feedbackStore: 'NEROPS_FEEDBACK_STORE',
  /** Token hashes of the feedback scope (`POST /v1/feedback`), separate from the extract tokens. */
  feedbackTokenFile: 'NEROPS_FEEDBACK_TOKEN_FILE',
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
