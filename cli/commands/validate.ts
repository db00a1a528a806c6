/**
 * `ner-ops validate URI --digest D [--dataset CONLL] [--min-f1 X]`: the NerModel validation Job.
 *
 * Fetches the bundle with the same code as `fetch-model` / `serve`, verifies the digest and every file,
 * loads it in ONNX Runtime, runs a smoke inference, optionally evaluates it on a CoNLL dataset, and writes
 * a compact JSON result (digest, size, metrics, drift baseline, entity types) to the termination message
 * (`$NEROPS_TERMINATION_LOG`, else /dev/termination-log; ≤ 4 KiB), which the operator reads from the Pod
 * status. Exit codes distinguish a bad artifact (Rejected) from one that could not be examined (Failed);
 * see VALIDATE_EXIT.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CliError, parseCommandArgs, type Command } from '../command.js';
import { downloadFile, materializeBundle, ModelSourceError } from '../../engine/bundle/model-source.js';
import { FETCH_LIMITS_HELP, fetchLimitOptions, fetchLimits, type FetchLimits } from '../fetch-limits.js';
import { MANIFEST_FILE } from '../../contracts/bundle-manifest.js';
import {
  encodeValidationResult,
  r4,
  VALIDATE_EXIT,
  ValidationReason,
  type CompactProfile,
  type ValidationMetrics,
  type ValidationResult,
} from '../../contracts/validation-result.js';
import { DEFAULT_TERMINATION_MESSAGE_PATH, sanitizeMessage } from '../../contracts/termination-message.js';
import { ProcessNodeEnv } from '../../contracts/process-node-env.js';
import { VALIDATE_COMMAND, ValidateFlag as F } from '../../contracts/task-commands.js';
import type { BaselineProfile, EvaluationReport, NerEngine, PrfScores } from '../../engine/types.js';
import type { VerifiedBundle } from '../../engine/bundle/bundle.js';

const HELP = `usage: ner-ops validate URI --digest SHA256 [options]

Validate a model bundle for a NerModel: fetch, verify the digest, load in ONNX Runtime, smoke-test,
optionally evaluate, and write the JSON result to the termination message.

  URI                       bundle directory, .tar/.tar.gz, file://, http(s)://
  --digest SHA256           expected bundle digest (sha256 of ner-model.json)
  --dataset PATH|URI        CoNLL file to evaluate on (path, file://, http(s)://)
  --min-f1 X                reject the model when micro F1 on the dataset is below X (0..1)
  --token-file PATH         bearer token for http(s) sources
  --ca-file PATH            PEM CA bundle for https sources
  --allow-insecure-http     send the token over plain http:// too (NerModel spec.source.allowInsecureHttp)
  --timeout-ms N            per-request network timeout (default 60000)
${FETCH_LIMITS_HELP}
  --termination-log PATH    where to write the result (default $NEROPS_TERMINATION_LOG or /dev/termination-log)

Exit codes: 0 Ready, ${VALIDATE_EXIT.rejected} Rejected (bad artifact), ${VALIDATE_EXIT.failed} Failed (could not examine it), 2 usage.`;

const options = {
  [F.digest]: { type: 'string' },
  [F.dataset]: { type: 'string' },
  'min-f1': { type: 'string' },
  [F.tokenFile]: { type: 'string' },
  [F.caFile]: { type: 'string' },
  [F.allowInsecureHttp]: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  ...fetchLimitOptions,
  'termination-log': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A classified validation failure: carries its outcome and reason to the single exit path. */
class ValidationFailure extends Error {
  constructor(
    readonly outcome: 'Rejected' | 'Failed',
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Smoke input: short, synthetic, no patient data. */
const SMOKE_TEXT = 'Patient with type 2 diabetes was started on metformin and denies chest pain.';

/** ModelSourceErrors that mean the artifact is bad rather than unreachable. */
const SOURCE_REJECTIONS: Array<[RegExp, string]> = [
  [/digest mismatch/i, ValidationReason.DigestMismatch],
  [
    /not valid JSON|lists no files|unsafe path|cannot extract|contains no|size cap|file cap/i,
    ValidationReason.InvalidBundle,
  ],
];

function classifySourceError(err: ModelSourceError): ValidationFailure {
  for (const [re, reason] of SOURCE_REJECTIONS)
    if (re.test(err.message)) return new ValidationFailure('Rejected', reason, err.message);
  return new ValidationFailure('Failed', ValidationReason.SourceUnreachable, err.message);
}

function compactPrf(s: PrfScores): { precision: number; recall: number; f1: number; support: number } {
  return { precision: r4(s.precision), recall: r4(s.recall), f1: r4(s.f1), support: s.support };
}

/**
 * Scores for the result. With `entityTypes`, per-type scores only for the model's types: a dataset's other
 * "types" are whatever its label column holds (patient text, once), and the operator copies per-type keys
 * into NerModel status. Their entities still count in the micro scores, as misses.
 */
function compactMetrics(
  report: EvaluationReport,
  source: 'evaluation' | 'bundle',
  entityTypes?: readonly string[],
): ValidationMetrics {
  const known = entityTypes ? new Set(entityTypes) : undefined;
  return {
    source,
    micro: compactPrf(report.micro),
    perType: Object.fromEntries(
      Object.entries(report.perType)
        .filter(([k]) => !known || known.has(k))
        .map(([k, v]) => [k, compactPrf(v)]),
    ),
    sentences: report.sentences,
  };
}

export function compactProfile(p: BaselineProfile): CompactProfile {
  return {
    documents: p.documents,
    tokens: p.tokens,
    entities: p.entities,
    labelDistribution: Object.fromEntries(Object.entries(p.labelDistribution).map(([k, v]) => [k, r4(v)])),
    confidence: { bounds: p.confidence.bounds, counts: p.confidence.counts },
    documentLength: { bounds: p.documentLength.bounds, counts: p.documentLength.counts },
    unknownTokenRate: r4(p.unknownTokenRate),
  };
}

/**
 * A CoNLL dataset from a path, file:// or http(s):// as a local path (a download goes to the work
 * directory). The download gets the CA bundle, the size cap and the deadline of the model fetch, and the
 * model store's token only when the dataset is on the model's origin.
 */
async function materializeDataset(
  uri: string,
  modelUri: string,
  opts: {
    tokenFile?: string | undefined;
    caFile?: string | undefined;
    allowInsecureHttp?: boolean | undefined;
    timeoutMs: number;
    limits: FetchLimits;
    workDir: string;
  },
): Promise<string> {
  if (/^https?:\/\//i.test(uri)) {
    const sameOrigin = /^https?:\/\//i.test(modelUri) && new URL(modelUri).origin === new URL(uri).origin;
    const path = join(opts.workDir, 'dataset.conll');
    await mkdir(opts.workDir, { recursive: true });
    try {
      await downloadFile(uri, path, {
        caFile: opts.caFile,
        allowInsecureHttp: opts.allowInsecureHttp,
        ...(sameOrigin ? { tokenFile: opts.tokenFile } : {}),
        timeoutMs: opts.timeoutMs,
        ...opts.limits,
      });
    } catch (err) {
      throw new ValidationFailure('Failed', ValidationReason.DatasetUnavailable, `dataset: ${(err as Error).message}`);
    }
    return path;
  }
  const path = /^file:\/\//i.test(uri) ? fileURLToPath(uri) : uri;
  try {
    await stat(path);
  } catch (err) {
    throw new ValidationFailure(
      'Failed',
      ValidationReason.DatasetUnavailable,
      `dataset ${path} does not exist or is unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return path;
}

/** A dataset error (ConllError) as the Failed result it is; anything else is rethrown. */
function datasetFailure(err: unknown): never {
  if ((err as Error).name === 'ConllError')
    throw new ValidationFailure(
      'Failed',
      ValidationReason.DatasetUnavailable,
      `dataset is not valid CoNLL: ${(err as Error).message.slice(0, 300)}`,
    );
  throw err;
}

/**
 * Metrics (and, when the bundle has none, a drift baseline) on a CoNLL dataset, read as a stream twice:
 * memory depends on the evaluation chunk, not on the dataset (docs/operations.md, "Validation Job memory").
 */
async function evaluateDataset(
  engine: NerEngine,
  path: string,
  manifest: VerifiedBundle['manifest'],
  needProfile: boolean,
): Promise<{ metrics: ValidationMetrics; profile?: BaselineProfile }> {
  const { streamConll } = await import('../../engine/corpus/conll-stream.js');
  const { documentContext, evaluateEngine, EVALUATION_CHUNK_TOKENS } = await import('../../trainer/evaluate.js');
  let report: EvaluationReport;
  try {
    report = await evaluateEngine(engine, streamConll(path), { context: documentContext(manifest) });
  } catch (err) {
    datasetFailure(err);
  }
  const metrics = compactMetrics(report, 'evaluation', engine.info.entityTypes);
  if (!needProfile) return { metrics };
  // No baseline shipped with the bundle: measure one on the evaluation data (held out by contract).
  const { detokenize } = await import('../../trainer/detokenize.js');
  const { ProfileAccumulator } = await import('../../engine/bundle/profile.js');
  const acc = new ProfileAccumulator();
  let texts: string[] = [];
  let tokens = 0;
  try {
    for await (const s of streamConll(path)) {
      texts.push(detokenize(s.tokens));
      tokens += s.tokens.length;
      if (tokens >= EVALUATION_CHUNK_TOKENS) {
        acc.add(await engine.extractBatch(texts));
        texts = [];
        tokens = 0;
      }
    }
  } catch (err) {
    datasetFailure(err);
  }
  if (texts.length > 0) acc.add(await engine.extractBatch(texts));
  return { metrics, profile: acc.profile() };
}

async function bundleSize(dir: string, files: Map<string, Buffer>): Promise<number> {
  let size = (await stat(join(dir, MANIFEST_FILE))).size;
  for (const data of files.values()) size += data.length;
  return size;
}

async function validateBundle(
  uri: string,
  digest: string,
  opts: {
    dataset?: string | undefined;
    minF1?: number | undefined;
    tokenFile?: string | undefined;
    caFile?: string | undefined;
    allowInsecureHttp?: boolean | undefined;
    timeoutMs: number;
    limits: FetchLimits;
    workDir: string;
  },
): Promise<ValidationResult> {
  let dir: string;
  try {
    dir = (
      await materializeBundle(uri, {
        digest,
        tokenFile: opts.tokenFile,
        caFile: opts.caFile,
        allowInsecureHttp: opts.allowInsecureHttp,
        timeoutMs: opts.timeoutMs,
        ...opts.limits,
        workDir: join(opts.workDir, 'model'),
      })
    ).dir;
  } catch (err) {
    if (err instanceof ModelSourceError) throw classifySourceError(err);
    throw err;
  }
  const { verifyBundle } = await import('../../engine/bundle/bundle.js');
  let verified;
  try {
    verified = await verifyBundle(dir, digest, opts.limits);
  } catch (err) {
    const msg = (err as Error).message;
    throw new ValidationFailure(
      'Rejected',
      /digest mismatch/.test(msg) ? ValidationReason.DigestMismatch : ValidationReason.InvalidBundle,
      msg,
    );
  }
  const sizeBytes = await bundleSize(dir, verified.files);
  const { loadEngine } = await import('../../engine/bundle/load.js');
  let engine: NerEngine;
  try {
    engine = await loadEngine(dir, { expectedDigest: digest });
  } catch (err) {
    throw new ValidationFailure(
      'Rejected',
      ValidationReason.CorruptModel,
      `the bundle verified but does not load in ONNX Runtime: ${(err as Error).message.slice(0, 300)}`,
    );
  }
  try {
    const t0 = performance.now();
    try {
      const smoke = await engine.extract(SMOKE_TEXT);
      for (const e of smoke.entities) {
        if (SMOKE_TEXT.slice(e.start, e.end) !== e.text || !(e.score >= 0 && e.score <= 1))
          throw new Error(`inconsistent entity span ${e.start}-${e.end}`);
      }
    } catch (err) {
      throw new ValidationFailure(
        'Rejected',
        ValidationReason.SmokeTestFailed,
        `smoke inference failed: ${(err as Error).message.slice(0, 300)}`,
      );
    }
    const smokeLatencyMs = Math.round((performance.now() - t0) * 10) / 10;

    let metrics: ValidationMetrics | undefined;
    let profile = engine.profile;
    if (opts.dataset) {
      const path = await materializeDataset(opts.dataset, uri, { ...opts, workDir: join(opts.workDir, 'dataset') });
      const evaluated = await evaluateDataset(engine, path, verified.manifest, !profile);
      metrics = evaluated.metrics;
      profile ??= evaluated.profile;
    } else {
      const bundled = verified.files.get('metrics.json');
      if (bundled) {
        try {
          const report = JSON.parse(bundled.toString('utf8')) as EvaluationReport;
          metrics = compactMetrics(report, 'bundle', engine.info.entityTypes);
        } catch {
          metrics = undefined; // metrics.json is informative only; a malformed one does not reject the model
        }
      }
    }
    const base: ValidationResult = {
      resultVersion: 1,
      outcome: 'Ready',
      reason: ValidationReason.Validated,
      message: `bundle ${engine.info.name} ${engine.info.version} verified, loaded and smoke-tested${metrics ? `; micro F1 ${metrics.micro.f1} (${metrics.source})` : ''}`,
      digest: verified.digest,
      sizeBytes,
      name: engine.info.name,
      version: engine.info.version,
      format: engine.info.format,
      entityTypes: engine.info.entityTypes,
      ...(metrics ? { metrics } : {}),
      ...(profile ? { profile: compactProfile(profile) } : {}),
      smokeLatencyMs,
    };
    if (opts.minF1 !== undefined && metrics && metrics.micro.f1 < opts.minF1) {
      return {
        ...base,
        outcome: 'Rejected',
        reason: ValidationReason.BelowMinimumMetrics,
        message: `micro F1 ${metrics.micro.f1} on the dataset is below the minimum ${opts.minF1}`,
      };
    }
    return base;
  } finally {
    await engine.close();
  }
}

const validate: Command = async (argv) => {
  const { values: v, positionals } = parseCommandArgs(VALIDATE_COMMAND, argv, options, true);
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const uri = positionals[0];
  if (!uri || positionals.length > 1) throw new CliError('validate: expected exactly one URI (see --help)');
  const digest = (v[F.digest] ?? '').replace(/^sha256:/, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(digest))
    throw new CliError('validate: --digest must be a sha256 hex digest (64 hex characters)');
  const timeoutMs = v['timeout-ms'] === undefined ? 60_000 : Number(v['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new CliError('validate: --timeout-ms must be a positive integer');
  const limits = fetchLimits('validate', v);
  let minF1: number | undefined;
  if (v['min-f1'] !== undefined) {
    minF1 = Number(v['min-f1']);
    if (!Number.isFinite(minF1) || minF1 < 0 || minF1 > 1)
      throw new CliError('validate: --min-f1 must be a number in [0, 1]');
  }
  if (minF1 !== undefined && !v[F.dataset]) throw new CliError('validate: --min-f1 needs --dataset');
  const terminationLog =
    v['termination-log'] ?? process.env[ProcessNodeEnv.terminationLog] ?? DEFAULT_TERMINATION_MESSAGE_PATH;
  const workDir = join(
    process.env[ProcessNodeEnv.scratch] ?? tmpdir(),
    `nerops-validate-${randomBytes(6).toString('hex')}`,
  );

  let result: ValidationResult;
  try {
    result = await validateBundle(uri, digest, {
      dataset: v[F.dataset],
      minF1,
      tokenFile: v[F.tokenFile],
      caFile: v[F.caFile],
      allowInsecureHttp: v[F.allowInsecureHttp] === true,
      timeoutMs,
      limits,
      workDir,
    });
  } catch (err) {
    if (err instanceof ValidationFailure) {
      result = { resultVersion: 1, outcome: err.outcome, reason: err.reason, message: err.message };
    } else {
      result = {
        resultVersion: 1,
        outcome: 'Failed',
        reason: ValidationReason.InternalError,
        message: `unexpected error: ${(err as Error).message.slice(0, 300)}`,
      };
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  const encoded = encodeValidationResult(result);
  try {
    await writeFile(terminationLog, encoded);
  } catch (err) {
    console.error(
      `ner-ops validate: cannot write the termination message to ${terminationLog}: ${(err as Error).message}`,
    );
  }
  console.log(encoded);
  if (result.outcome !== 'Ready')
    console.error(`ner-ops validate: ${result.outcome}: ${result.reason}: ${sanitizeMessage(result.message)}`);
  return result.outcome === 'Ready'
    ? VALIDATE_EXIT.ok
    : result.outcome === 'Rejected'
      ? VALIDATE_EXIT.rejected
      : VALIDATE_EXIT.failed;
};

export default validate;
