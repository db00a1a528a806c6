/**
 * `ner-ops serve`: the inference server of every NerDeployment pod. Flags win over environment variables
 * (which the operator sets on the pod), which win over defaults. See docs/server.md ("Configuration").
 */
import { readFileSync } from 'node:fs';
import { CliError, intFlag, numberFlag, parseCommandArgs, type Command } from '../command.js';
import { DEFAULT_SERVER_OPTIONS } from '../../server/app.js';
import { parseFhirMapping, type FhirMapping } from '../../server/fhir/mapping.js';
import { createLogger } from '../../server/logger.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, startServer, type ServeConfig } from '../../server/main.js';
import { parseAuditSinkSpec, type AuditSinkSpec } from '../../server/audit/sink.js';
import { readHmacKey } from '../../server/audit/audit-log.js';
import { otlpEndpointFlag, startTracing } from '../tracing.js';
import { ServiceName } from '../../contracts/tracing.js';
import { DEFAULT_STORE_LIMITS } from '../../engine/feedback/segments.js';
import {
  ServeEnv,
  ServeEnvFallback,
  ServeFlag as F,
  SERVE_COMMAND,
  TRACKS,
  type Track,
} from '../../contracts/serve.js';

const HELP = `usage: ner-ops serve --model DIR|URI [options]

model:
  --model DIR|URI            bundle directory, .tar/.tar.gz, file://, http(s)://      [env NEROPS_MODEL_URI]
  --model-digest SHA256      expected bundle digest; loading fails on mismatch        [env NEROPS_MODEL_DIGEST]
  --model-token-file PATH    bearer token for http(s) model sources                   [env NEROPS_MODEL_TOKEN_FILE]
  --model-ca-file PATH       PEM CA bundle for https model sources                    [env NEROPS_MODEL_CA_FILE]
                             the model token goes over plain http:// only with   [env NEROPS_MODEL_ALLOW_INSECURE_HTTP=true]
  --model-cache-dir DIR      where remote bundles are downloaded (default: temp dir)
  --threads N                ONNX Runtime intra-op threads                            [env NEROPS_THREADS]

http:
  --host H                   bind address (default 0.0.0.0)                           [env NEROPS_HOST]
  --port P                   port (default 8080)                                      [env NEROPS_PORT, PORT]
  --metrics-port P           serve GET /metrics (and /healthz) on this port only; the API port then
                             answers /metrics 404 (default: /metrics on --port)       [env NEROPS_METRICS_PORT]
  --auth-token-file PATH     require a bearer token whose sha256 is listed in PATH    [env NEROPS_AUTH_TOKEN_FILE]
  --max-batch-size N         documents per engine batch (default ${DEFAULT_SERVER_OPTIONS.maxBatchSize})
  --max-batch-wait-ms N      longest wait for a batch to fill (default ${DEFAULT_SERVER_OPTIONS.maxBatchWaitMs})
  --max-queue N              queued documents before 503 (default ${DEFAULT_SERVER_OPTIONS.maxQueue})
  --max-concurrent-batches N engine batches in flight at once (default ${DEFAULT_SERVER_OPTIONS.maxConcurrentBatches})
  --request-timeout-ms N     per-request deadline (default ${DEFAULT_SERVER_OPTIONS.requestTimeoutMs})
  --max-body-bytes N         request body limit (default ${DEFAULT_SERVER_OPTIONS.maxBodyBytes})
  --max-document-chars N     per-document limit (default ${DEFAULT_SERVER_OPTIONS.maxDocumentChars})
  --max-documents N          documents per request (default ${DEFAULT_SERVER_OPTIONS.maxDocuments})
  --max-request-tokens N     tokens per request (default ${DEFAULT_SERVER_OPTIONS.maxRequestTokens}) [env NEROPS_MAX_REQUEST_TOKENS]
  --drain-timeout-ms N       graceful shutdown budget (default ${DEFAULT_DRAIN_TIMEOUT_MS})
  --shutdown-delay-ms N      after SIGTERM, keep serving (unready) this long so endpoints can drop the pod (default 0)

metric labels (constant on every series):
  --namespace NS             [env NEROPS_NAMESPACE, POD_NAMESPACE]
  --deployment NAME          NerDeployment name                                       [env NEROPS_DEPLOYMENT]
  --model-name NAME          NerModel name (default: the bundle's name)               [env NEROPS_MODEL_NAME]
  --model-version V          (default: the bundle's version)                          [env NEROPS_MODEL_VERSION]
  --track stable|canary      (default stable)                                         [env NEROPS_TRACK]

shadow traffic:
  --shadow-url URL           mirror a sample of requests to this server after answering [env NEROPS_SHADOW_URL]
  --shadow-percent N         share of requests to mirror, 0-100 (default 0)           [env NEROPS_SHADOW_PERCENT]
  --shadow-concurrency N     shadow requests in flight before samples are dropped (default 4)
  --shadow-timeout-ms N      (default 2000)
  --shadow-token-file PATH   bearer token to send to the shadow server

clinical meaning and FHIR:
  --assertion-language L     assertion language of requests without Content-Language: en, nb, or the
                             bundle's rules' language (default: the bundle's; set, it also enables the
                             shipped rules for a model without its own)           [env NEROPS_ASSERTION_LANGUAGE]
  --fhir-mapping SPEC        label → FHIR resource overrides, LABEL=Condition|Procedure|MedicationStatement|omit,...
                             (default DISEASE=Condition,TREATMENT=Procedure,...)      [env NEROPS_FHIR_MAPPING]
  --fhir-family-history F    a relative's condition: FamilyMemberHistory (default) or omit
                                                                                  [env NEROPS_FHIR_FAMILY_HISTORY]

audit log (one PHI-free JSON line per inference request, apart from the operational log; docs/security.md):
  --audit-log SINK           off (default), stdout (lines carry "nerops_audit") or file:/absolute/path (rotated
                             at 100 MiB, 5 kept)                                      [env NEROPS_AUDIT_LOG]
  --audit-hmac-key-file PATH key of the per-document input HMACs (a Secret, ≥ 16 bytes); absent file: no HMACs
                                                                                  [env NEROPS_AUDIT_HMAC_KEY_FILE]

tracing (OpenTelemetry; off unless an endpoint is set):
  --otlp-endpoint URL        OTLP/HTTP collector, e.g. http://collector:4318 (spans go to URL/v1/traces)
                             [env OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT]
feedback (POST /v1/feedback, docs/feedback.md):
  --feedback-store URI       append verified documents to this store: pvc://claim/path (under
                             $NEROPS_PVC_ROOT) or file://; unset, feedback is counted, not stored [env NEROPS_FEEDBACK_STORE]
  --feedback-token-file PATH bearer tokens (sha256 per line) of the feedback scope; with --auth-token-file
                             and without this, feedback is refused (403)             [env NEROPS_FEEDBACK_TOKEN_FILE]
  --feedback-segment-bytes N seal a segment before it grows past N bytes (default ${DEFAULT_STORE_LIMITS.segmentBytes})
  --feedback-max-bytes N     the whole store's cap; beyond it 507 (default ${DEFAULT_STORE_LIMITS.maxBytes})

  --log-level LEVEL          pino level (default info)                                [env NEROPS_LOG_LEVEL]`;

const options = {
  [F.model]: { type: 'string' },
  [F.modelDigest]: { type: 'string' },
  [F.modelTokenFile]: { type: 'string' },
  [F.modelCaFile]: { type: 'string' },
  [F.modelCacheDir]: { type: 'string' },
  [F.threads]: { type: 'string' },
  [F.host]: { type: 'string' },
  [F.port]: { type: 'string' },
  [F.metricsPort]: { type: 'string' },
  [F.authTokenFile]: { type: 'string' },
  [F.maxBatchSize]: { type: 'string' },
  [F.maxBatchWaitMs]: { type: 'string' },
  [F.maxQueue]: { type: 'string' },
  [F.maxConcurrentBatches]: { type: 'string' },
  [F.requestTimeoutMs]: { type: 'string' },
  [F.maxBodyBytes]: { type: 'string' },
  [F.maxDocumentChars]: { type: 'string' },
  [F.maxDocuments]: { type: 'string' },
  [F.maxRequestTokens]: { type: 'string' },
  [F.drainTimeoutMs]: { type: 'string' },
  [F.shutdownDelayMs]: { type: 'string' },
  [F.namespace]: { type: 'string' },
  [F.deployment]: { type: 'string' },
  [F.modelName]: { type: 'string' },
  [F.modelVersion]: { type: 'string' },
  [F.track]: { type: 'string' },
  [F.shadowUrl]: { type: 'string' },
  [F.shadowPercent]: { type: 'string' },
  [F.shadowConcurrency]: { type: 'string' },
  [F.shadowTimeoutMs]: { type: 'string' },
  [F.shadowTokenFile]: { type: 'string' },
  [F.logLevel]: { type: 'string' },
  [F.otlpEndpoint]: { type: 'string' },
  [F.assertionLanguage]: { type: 'string' },
  [F.fhirMapping]: { type: 'string' },
  [F.fhirFamilyHistory]: { type: 'string' },
  [F.feedbackStore]: { type: 'string' },
  [F.feedbackTokenFile]: { type: 'string' },
  [F.auditLog]: { type: 'string' },
  [F.auditHmacKeyFile]: { type: 'string' },
  [F.feedbackSegmentBytes]: { type: 'string' },
  [F.feedbackMaxBytes]: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const env = (...names: string[]): string | undefined => {
  for (const n of names) {
    const v = process.env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
};

const serve: Command = async (argv) => {
  const { values: v } = parseCommandArgs(SERVE_COMMAND, argv, options);
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const model = v[F.model] ?? env(ServeEnv.modelUri);
  if (!model) throw new CliError('serve: --model DIR|URI is required (or set NEROPS_MODEL_URI)');
  const digest = v[F.modelDigest] ?? env(ServeEnv.modelDigest);
  if (digest !== undefined && !/^(sha256:)?[0-9a-fA-F]{64}$/.test(digest))
    throw new CliError('serve: --model-digest must be a sha256 hex digest');
  const track = v[F.track] ?? env(ServeEnv.track) ?? 'stable';
  if (!TRACKS.includes(track as Track)) throw new CliError(`serve: --track must be stable or canary, got '${track}'`);
  const shadowUrl = v[F.shadowUrl] ?? env(ServeEnv.shadowUrl);
  const shadowPercent = numberFlag(
    F.shadowPercent,
    v[F.shadowPercent] ?? env(ServeEnv.shadowPercent),
    shadowUrl ? 100 : 0,
  );
  if (shadowPercent < 0 || shadowPercent > 100) throw new CliError('serve: --shadow-percent must be between 0 and 100');
  if (shadowUrl) {
    try {
      const u = new URL(shadowUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    } catch {
      throw new CliError(`serve: --shadow-url must be an http(s) URL, got '${shadowUrl}'`);
    }
  }
  let shadowToken: string | undefined;
  const shadowTokenFile = v[F.shadowTokenFile];
  if (shadowTokenFile) {
    try {
      shadowToken = readFileSync(shadowTokenFile, 'utf8').trim();
    } catch (err) {
      throw new CliError(`serve: cannot read --shadow-token-file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const port = intFlag(F.port, v[F.port] ?? env(ServeEnv.port, ServeEnvFallback.port), 8080);
  if (port > 65535) throw new CliError('serve: --port must be <= 65535');
  const metricsPortRaw = v[F.metricsPort] ?? env(ServeEnv.metricsPort);
  const metricsPort = metricsPortRaw === undefined ? undefined : intFlag(F.metricsPort, metricsPortRaw, 0, 1);
  if (metricsPort !== undefined && metricsPort > 65535) throw new CliError('serve: --metrics-port must be <= 65535');
  if (metricsPort === port) throw new CliError('serve: --metrics-port must differ from --port');
  let fhirMapping: FhirMapping;
  try {
    fhirMapping = parseFhirMapping(
      v[F.fhirMapping] ?? env(ServeEnv.fhirMapping),
      v[F.fhirFamilyHistory] ?? env(ServeEnv.fhirFamilyHistory),
      F.fhirMapping,
      F.fhirFamilyHistory,
    );
  } catch (err) {
    throw new CliError(`serve: ${(err as Error).message}`);
  }
  const threadsRaw = v[F.threads] ?? env(ServeEnv.threads);
  const logger = createLogger(v[F.logLevel] ?? env(ServeEnv.logLevel, ServeEnvFallback.logLevel) ?? 'info');
  const D = DEFAULT_SERVER_OPTIONS;
  const labels = {
    namespace: v[F.namespace] ?? env(ServeEnv.namespace, ServeEnvFallback.namespace) ?? '',
    deployment: v[F.deployment] ?? env(ServeEnv.deployment) ?? '',
    model: v[F.modelName] ?? env(ServeEnv.modelName) ?? '',
    version: v[F.modelVersion] ?? env(ServeEnv.modelVersion) ?? '',
    track,
  };
  const tracing = startTracing({
    serviceName: ServiceName.server,
    flag: otlpEndpointFlag(v[F.otlpEndpoint]),
    attributes: {
      ...(labels.namespace ? { 'k8s.namespace.name': labels.namespace } : {}),
      ...(labels.deployment ? { 'nerops.deployment': labels.deployment } : {}),
      'nerops.track': track,
    },
  });
  if (tracing) logger.info({ otlpTracesUrl: tracing.url }, 'tracing on');

  let running;
  try {
    running = await startServer({
      model,
      modelDigest: digest?.replace(/^sha256:/, '').toLowerCase(),
      modelTokenFile: v[F.modelTokenFile] ?? env(ServeEnv.modelTokenFile),
      modelCaFile: v[F.modelCaFile] ?? env(ServeEnv.modelCaFile),
      modelAllowInsecureHttp: env(ServeEnv.modelAllowInsecureHttp) === 'true',
      modelCacheDir: v[F.modelCacheDir],
      threads: threadsRaw === undefined ? undefined : intFlag(F.threads, threadsRaw, 0, 1),
      host: v[F.host] ?? env(ServeEnv.host) ?? '0.0.0.0',
      port,
      metricsPort,
      authTokenFile: v[F.authTokenFile] ?? env(ServeEnv.authTokenFile),
      server: {
        maxBatchSize: intFlag(F.maxBatchSize, v[F.maxBatchSize], D.maxBatchSize, 1),
        maxBatchWaitMs: intFlag(F.maxBatchWaitMs, v[F.maxBatchWaitMs], D.maxBatchWaitMs, 0),
        maxQueue: intFlag(F.maxQueue, v[F.maxQueue], D.maxQueue, 1),
        maxConcurrentBatches: intFlag(F.maxConcurrentBatches, v[F.maxConcurrentBatches], D.maxConcurrentBatches, 1),
        requestTimeoutMs: intFlag(F.requestTimeoutMs, v[F.requestTimeoutMs], D.requestTimeoutMs, 1),
        maxBodyBytes: intFlag(F.maxBodyBytes, v[F.maxBodyBytes], D.maxBodyBytes, 64),
        maxDocumentChars: intFlag(F.maxDocumentChars, v[F.maxDocumentChars], D.maxDocumentChars, 1),
        maxDocuments: intFlag(F.maxDocuments, v[F.maxDocuments], D.maxDocuments, 1),
        maxRequestTokens: intFlag(
          F.maxRequestTokens,
          v[F.maxRequestTokens] ?? env(ServeEnv.maxRequestTokens),
          D.maxRequestTokens,
          1,
        ),
      },
      drainTimeoutMs: intFlag(F.drainTimeoutMs, v[F.drainTimeoutMs], DEFAULT_DRAIN_TIMEOUT_MS, 0),
      shutdownDelayMs: intFlag(F.shutdownDelayMs, v[F.shutdownDelayMs], 0, 0),
      labels,
      shadow:
        shadowUrl && shadowPercent > 0
          ? {
              url: shadowUrl,
              percent: shadowPercent,
              maxConcurrent: intFlag(F.shadowConcurrency, v[F.shadowConcurrency], 4, 1),
              timeoutMs: intFlag(F.shadowTimeoutMs, v[F.shadowTimeoutMs], 2000, 1),
              token: shadowToken,
            }
          : undefined,
      assertionLanguage: v[F.assertionLanguage] ?? env(ServeEnv.assertionLanguage),
      fhirMapping,
      audit: auditConfig(
        v[F.auditLog] ?? env(ServeEnv.auditLog),
        v[F.auditHmacKeyFile] ?? env(ServeEnv.auditHmacKeyFile),
      ),
      feedback: {
        storeUri: v[F.feedbackStore] ?? env(ServeEnv.feedbackStore),
        tokenFile: v[F.feedbackTokenFile] ?? env(ServeEnv.feedbackTokenFile),
        limits: {
          segmentBytes: intFlag(
            F.feedbackSegmentBytes,
            v[F.feedbackSegmentBytes],
            DEFAULT_STORE_LIMITS.segmentBytes,
            1024,
          ),
          maxBytes: intFlag(F.feedbackMaxBytes, v[F.feedbackMaxBytes], DEFAULT_STORE_LIMITS.maxBytes, 1024),
        },
      },
      handleSignals: true,
      logger,
    });
  } catch (err) {
    await tracing?.shutdown().catch(() => undefined);
    if (err instanceof CliError) throw err;
    const e = err as Error & { code?: string };
    // Which listener failed: the API port or the metrics port.
    const failed = (e as { port?: number }).port ?? port;
    if (e.code === 'EADDRINUSE') throw new CliError(`serve: port ${failed} is already in use`, 1);
    if (e.code === 'EACCES') throw new CliError(`serve: not allowed to bind port ${failed}`, 1);
    throw new CliError(`serve: ${e.message}`, 1);
  }
  // Resolve only when a signal has driven the graceful shutdown to its end.
  const code = await running.done;
  // Spans still buffered go out before the process ends (bounded by the exporter's own timeout).
  await tracing?.shutdown().catch(() => undefined);
  // ONNX Runtime's thread pool and lingering sockets must not keep a terminated pod alive; exit once the
  // asynchronous log destination has drained.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  setTimeout(() => process.exit(code), 20).unref();
  return code;
};

export default serve;

/** `--audit-log` and its key file, checked before the model loads so a typo fails fast (exit 2). */
function auditConfig(sink: string | undefined, keyFile: string | undefined): ServeConfig['audit'] {
  let spec: AuditSinkSpec;
  try {
    spec = parseAuditSinkSpec(sink ?? 'off');
  } catch (err) {
    throw new CliError(`serve: --${F.auditLog}: ${(err as Error).message}`);
  }
  if (spec.kind === 'off') return undefined;
  try {
    return { sink: spec, hmacKey: readHmacKey(keyFile) };
  } catch (err) {
    throw new CliError(`serve: --${F.auditHmacKeyFile}: ${(err as Error).message}`);
  }
}
