/**
 * The default retraining Job (`ner-ops retrain`), honouring the DriftPolicy's retraining Job contract
 * (contracts/retraining-job.ts): read the contract env (base model URI + digest, dataset URI, output URI, run id), validate
 * the dataset (CoNLL with file:line errors; entity types consistent with the base model), train a new
 * bundle, evaluate the new AND the base model on the same held-out sentences, write the bundle to the output
 * location and return the compact result the Job writes to its termination message.
 *
 * Locations: `file://…` and plain paths are used as they are; `pvc://claim/path` maps to
 * `$NEROPS_PVC_ROOT/claim/path` (the default Job mounts each claim there); the base model may also be
 * `http(s)://` (fetched and verified like `fetch-model` does). The new model is trained from the dataset
 * (the CRF trainer has no warm start); the base model fixes the label set and is the comparison baseline.
 *
 * Held-out data: a dataset directory with `train.conll` and `dev.conll` uses them as they are; a single
 * file is split deterministically (every 5th sentence held out), so a rerun of a run id gives the same split.
 * With `NEROPS_FEEDBACK_STORE_URI`, the feedback store's export (split by content hash, trainer/feedback-dataset.ts)
 * is appended to both sides, and the result records its digest and document counts beside the dataset's digest.
 */
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConllError, formatConll, readConll, type LabeledSentence } from '../engine/corpus/conll.js';
import { sha256, verifyBundle, type VerifiedBundle } from '../engine/bundle/bundle.js';
import { MANIFEST_FILE, type Manifest } from '../contracts/bundle-manifest.js';
import { LEXICON_FILE, Lexicon } from '../engine/features/lexicon.js';
import { engineFor } from '../engine/bundle/load.js';
import type { EvaluationReport, NerEngine } from '../engine/types.js';
import {
  downloadFile,
  materializeBundle,
  publishBundle as publishRemoteBundle,
} from '../engine/bundle/model-source.js';
import { RetrainingEnv, type RetrainResult } from '../contracts/retraining-job.js';
import { localPath, pvcRootFromEnv } from '../engine/locations.js';
import { documentContext, evaluateEngine } from './evaluate.js';
import type { CorpusOptions } from './stages/corpus.js';
import type { FeatureSpaceOptions } from './stages/feature-space.js';
import type { MemberOptions } from './stages/members.js';
import { appendDocuments, exportFeedback, FeedbackDatasetError, type FeedbackDataset } from './feedback-dataset.js';
import { trainSelected, type SelectMode } from './selection/select.js';
import type { TrainOptions } from './train.js';

/** The stages' options a retrained model takes from its base bundle. */
export interface InheritedTrainOptions {
  corpus?: Pick<CorpusOptions, 'tagScheme'>;
  features?: FeatureSpaceOptions;
  members?: MemberOptions;
}

/**
 * The training choices a retrained model inherits from its base bundle, so a drift-triggered retrain
 * builds the same kind of model (its optional feature groups, hash size, tag scheme, L2 and recall cost)
 * rather than the trainer's defaults. Not inherited: the dense branch (the Job has no unlabeled text or pretrained vectors),
 * the epochs and the gazetteer (the linear CRF's own defaults apply: a wide & deep base without a
 * gazetteer must not turn it off for the linear model that replaces it). A token-classification base
 * inherits nothing.
 */
export function inheritedTrainOptions(manifest: Pick<Manifest, 'crf' | 'training'>): InheritedTrainOptions {
  const features = manifest.crf?.features;
  if (!features) return {};
  const training = manifest.training ?? {};
  const out: Required<Pick<InheritedTrainOptions, 'features'>> & InheritedTrainOptions = {
    features: { bucketBits: features.bucketBits },
  };
  if (features.subwords) out.features.subwords = true;
  if (features.abbreviations) {
    out.features.abbreviations = true;
    // A base without short-form reuse (feature version 3) is replaced by one without it.
    out.features.shortFormContext = features.shortFormContext ?? false;
  }
  if (training['tagScheme'] === 'bio' || training['tagScheme'] === 'bioes')
    out.corpus = { tagScheme: training['tagScheme'] };
  const members: MemberOptions = {};
  if (typeof training['c2'] === 'number' && training['c2'] >= 0) members.c2 = training['c2'];
  if (typeof training['missedEntityCost'] === 'number' && training['missedEntityCost'] >= 0)
    members.missedEntityCost = training['missedEntityCost'];
  if (Object.keys(members).length > 0) out.members = members;
  return out;
}

/** The inherited feature options without the ones the selection grid chooses. */
function withoutGridChoices(features: FeatureSpaceOptions): FeatureSpaceOptions {
  const { subwords: _s, abbreviations: _a, shortFormContext: _c, ...rest } = features;
  return rest;
}

function withoutCost(members: MemberOptions): MemberOptions {
  const { missedEntityCost: _m, ...rest } = members;
  return rest;
}

/**
 * The base bundle's lexicon, which a retrained model keeps: the Job has no lexicon files of its own, and
 * a model retrained without the lexicon its base leaned on would lose what it knew about unseen names.
 * (It stays tokenised as the base model tokenised; a retraining set reads hyphens the same way.)
 */
export function inheritedLexicon(
  bundle: Pick<VerifiedBundle, 'manifest' | 'files'>,
): { text: string; phrases: number } | undefined {
  if (!bundle.manifest.crf?.features.lexicon) return undefined;
  const file = bundle.files.get(LEXICON_FILE);
  if (!file) throw new Error(`the base model's features use a lexicon but ${LEXICON_FILE} is not in the bundle`);
  const text = file.toString('utf8');
  return { text, phrases: Lexicon.parse(text).size };
}

/** A classified failure of the run; `reason` goes into the result. */
export class RetrainError extends Error {
  constructor(
    readonly reason:
      | 'InvalidContract'
      | 'InvalidDataset'
      | 'LabelSetMismatch'
      | 'BaseModelUnavailable'
      | 'OutputUnavailable'
      | 'TrainingFailed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RetrainError';
  }
}

/** The contract env, read and checked. */
export interface RetrainContract {
  baseModelUri: string;
  baseModelDigest: string | undefined;
  datasetUri: string;
  outputUri: string;
  runId: string;
  /** The feedback store whose export is merged into the dataset (optional contract env). */
  feedbackStoreUri?: string | undefined;
}

/** Read the contract env vars (names in operator/api/driftpolicy-constants.ts). */
export function readContract(env: NodeJS.ProcessEnv): RetrainContract {
  const get = (name: string) => env[name]?.trim() || undefined;
  const missing = [
    RetrainingEnv.BaseModelUri,
    RetrainingEnv.DatasetUri,
    RetrainingEnv.OutputUri,
    RetrainingEnv.RunId,
  ].filter((n) => !get(n));
  if (missing.length) throw new RetrainError('InvalidContract', `missing contract env ${missing.join(', ')}`);
  const digest = get(RetrainingEnv.BaseModelDigest)
    ?.replace(/^sha256:/, '')
    .toLowerCase();
  if (digest !== undefined && !/^[0-9a-f]{64}$/.test(digest))
    throw new RetrainError('InvalidContract', `${RetrainingEnv.BaseModelDigest} is not a sha256 hex digest`);
  const runId = get(RetrainingEnv.RunId) as string;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(runId))
    throw new RetrainError('InvalidContract', `${RetrainingEnv.RunId} '${runId.slice(0, 64)}' is not a safe name`);
  return {
    baseModelUri: get(RetrainingEnv.BaseModelUri) as string,
    baseModelDigest: digest,
    datasetUri: get(RetrainingEnv.DatasetUri) as string,
    outputUri: get(RetrainingEnv.OutputUri) as string,
    runId,
    feedbackStoreUri: get(RetrainingEnv.FeedbackStoreUri),
  };
}

/** A local path for a location URI (engine/locations.ts); re-exported for the Job's callers and tests. */
export { localPath };

export interface RetrainOptions {
  /** Root under which `pvc://claim/...` is mounted (default $NEROPS_PVC_ROOT or /mnt/nerops/pvc/claims). */
  pvcRoot?: string;
  /** Scratch directory (created and removed). */
  workDir: string;
  seed?: number;
  /** Fixes the epochs (in selection too); default: the trainer's, or the selection's choice. */
  epochs?: number;
  /**
   * 'auto' (default): the setup is chosen on folds of the new training data, as `ner-ops train` does, so a
   * drift-triggered model is chosen for the data it will see; the base's tag scheme, hash size, L2 and
   * lexicon stay. 'off': the base bundle's setup as inherited.
   */
  select?: SelectMode;
  log?: (line: string) => void;
  /**
   * Bearer token file and CA bundle of the model store (the Job's mounted Secret/ConfigMap) for an
   * http(s) base model. The token also goes to an http(s) dataset on the same origin, never elsewhere.
   */
  modelTokenFile?: string | undefined;
  modelCaFile?: string | undefined;
  /** The token may go over plain http:// (the NerModel's `allowInsecureHttp`; refused otherwise). */
  modelAllowInsecureHttp?: boolean | undefined;
  /** Size cap and overall deadline of the base model and dataset downloads (default MODEL_FETCH_DEFAULTS). */
  fetchLimits?: { maxBytes?: number | undefined; deadlineMs?: number | undefined } | undefined;
  /**
   * Settings for an `s3://` or `oci://` output (endpoint, registry auth file, plain http, consent); unset
   * fields come from the Job's NEROPS_MODEL_S3_* / NEROPS_MODEL_REGISTRY_AUTH_FILE environment.
   */
  outputStorage?: Parameters<typeof publishRemoteBundle>[2] | undefined;
}

/** `oci://registry/repo` without a tag gets the run id as its tag (sanitized to the OCI tag grammar). */
export function remoteOutputUri(outputUri: string, runId: string): string {
  if (!/^oci:\/\//i.test(outputUri)) return outputUri;
  const rest = outputUri.slice('oci://'.length).replace(/@sha256:[a-f0-9]{64}$/, '');
  const lastSegment =
    rest
      .slice(rest.indexOf('/') + 1)
      .split('/')
      .pop() ?? '';
  if (lastSegment.includes(':')) return `oci://${rest}`;
  const tag =
    runId
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .replace(/^[.-]+/, '')
      .slice(0, 128) || 'latest';
  return `oci://${rest}:${tag}`;
}

/** Every 5th sentence is held out (deterministic, spread over the file). */
export function splitHeldOut<T>(sentences: readonly T[]): { train: T[]; dev: T[] } {
  const train: T[] = [];
  const dev: T[] = [];
  sentences.forEach((s, i) => (i % 5 === 4 ? dev : train).push(s));
  return { train, dev };
}

async function readDataset(path: string): Promise<LabeledSentence[]> {
  try {
    return await readConll(path);
  } catch (err) {
    if (err instanceof ConllError) throw new RetrainError('InvalidDataset', err.message, { cause: err });
    throw err;
  }
}

/**
 * Entity types of the dataset must be exactly the base model's; the first foreign label is named by file, line
 * and column, not by its type: a label column can hold text. The base model's types are the model's own.
 */
export function checkLabelSet(
  file: string,
  sentences: readonly LabeledSentence[],
  baseTypes: readonly string[],
  { requireEvery = true }: { requireEvery?: boolean } = {},
): void {
  const allowed = new Set(baseTypes);
  const seen = new Set<string>();
  for (const s of sentences) {
    for (let i = 0; i < s.labels.length; i++) {
      const l = s.labels[i] as string;
      if (l === 'O') continue;
      const type = l.slice(2);
      seen.add(type);
      if (!allowed.has(type))
        throw new RetrainError(
          'LabelSetMismatch',
          `${file}:${s.line + i}, column 2 (label): the entity type is not one of the base model's types [${[...allowed].sort().join(', ')}]`,
        );
    }
  }
  const missing = [...allowed].filter((t) => !seen.has(t)).sort();
  // Feedback may lack a type (a week of corrections need not name every one); the dataset may not.
  if (missing.length && requireEvery)
    throw new RetrainError(
      'LabelSetMismatch',
      `${file}: the base model's entity type(s) ${missing.join(', ')} do not occur in the dataset`,
    );
}

function micro(r: EvaluationReport) {
  const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
  return { precision: r4(r.micro.precision), recall: r4(r.micro.recall), f1: r4(r.micro.f1), support: r.micro.support };
}

async function isNonEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length > 0;
  } catch {
    return false;
  }
}

/**
 * The dataset at a local path, validated (format, label set) and split: a directory with `train.conll`
 * and `dev.conll`, or one file of which every 5th sentence is held out. The digest covers the bytes read.
 */
async function readLabeledDataset(
  datasetPath: string,
  entityTypes: readonly string[],
): Promise<{ train: LabeledSentence[]; dev: LabeledSentence[]; digest: string }> {
  let info;
  try {
    info = await stat(datasetPath);
  } catch (err) {
    throw new RetrainError(
      'InvalidDataset',
      `${datasetPath}: cannot read the dataset (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let out: { train: LabeledSentence[]; dev: LabeledSentence[]; digest: string };
  if (info.isDirectory()) {
    const trainFile = join(datasetPath, 'train.conll');
    const devFile = join(datasetPath, 'dev.conll');
    const train = await readDataset(trainFile);
    const dev = await readDataset(devFile);
    checkLabelSet(trainFile, train, entityTypes);
    out = { train, dev, digest: sha256(Buffer.concat([await readFile(trainFile), await readFile(devFile)])) };
  } else {
    const all = await readDataset(datasetPath);
    checkLabelSet(datasetPath, all, entityTypes);
    out = { ...splitHeldOut(all), digest: sha256(await readFile(datasetPath)) };
  }
  if (out.dev.length === 0 || out.train.length === 0)
    throw new RetrainError(
      'InvalidDataset',
      `${datasetPath}: too few sentences to hold some out (${out.train.length + out.dev.length})`,
    );
  return out;
}

/**
 * An HTTP(S) dataset, downloaded to `dest`: a URL ending in `/` is a directory holding `train.conll` and
 * `dev.conll`; anything else is one CoNLL file. Returns the local path the rest of the job reads, and the
 * local → remote prefix pair so that error messages name the URL a user knows (with the line number).
 */
async function downloadDataset(
  uri: string,
  dest: string,
  access: {
    tokenFile?: string | undefined;
    caFile?: string | undefined;
    allowInsecureHttp?: boolean | undefined;
    maxBytes?: number | undefined;
    deadlineMs?: number | undefined;
  },
): Promise<{ path: string; local: string; remote: string }> {
  await mkdir(dest, { recursive: true });
  const isDirectory = new URL(uri).pathname.endsWith('/');
  try {
    for (const name of isDirectory ? ['train.conll', 'dev.conll'] : ['dataset.conll'])
      await downloadFile(isDirectory ? new URL(name, uri).href : uri, join(dest, name), {
        ...access,
        timeoutMs: 60_000,
      });
  } catch (err) {
    throw new RetrainError('InvalidDataset', `dataset ${(err as Error).message}`.slice(0, 500), { cause: err });
  }
  return isDirectory
    ? { path: dest, local: `${dest}/`, remote: uri }
    : { path: join(dest, 'dataset.conll'), local: join(dest, 'dataset.conll'), remote: uri };
}

/** The base model's runtime, and what a retrained model inherits from it. */
interface BaseModel {
  engine: NerEngine;
  inherited: InheritedTrainOptions;
  lexicon: { text: string; phrases: number } | undefined;
  /** How far back in a document its tags look (evaluation context, trainer/evaluate.ts). */
  context: number;
}

/** Step 1: the base model, fetched and verified before anything else (its label set validates the dataset). */
async function loadBaseModel(contract: RetrainContract, options: RetrainOptions, pvcRoot: string): Promise<BaseModel> {
  const baseSource = /^https?:\/\//i.test(contract.baseModelUri)
    ? contract.baseModelUri
    : localPath(contract.baseModelUri, pvcRoot);
  if (!baseSource)
    throw new RetrainError(
      'BaseModelUnavailable',
      `unsupported base model URI scheme: ${contract.baseModelUri.split(':')[0]}`,
    );
  try {
    const { dir } = await materializeBundle(baseSource, {
      digest: contract.baseModelDigest,
      workDir: join(options.workDir, 'base'),
      tokenFile: options.modelTokenFile,
      caFile: options.modelCaFile,
      allowInsecureHttp: options.modelAllowInsecureHttp,
      ...options.fetchLimits,
    });
    // Verified once: the engine and the inherited training choices come from the same bytes.
    const verified = await verifyBundle(dir, contract.baseModelDigest, { maxBytes: options.fetchLimits?.maxBytes });
    const inherited = inheritedTrainOptions(verified.manifest);
    const lexicon = inheritedLexicon(verified);
    return { engine: await engineFor(verified), inherited, lexicon, context: documentContext(verified.manifest) };
  } catch (err) {
    throw new RetrainError(
      'BaseModelUnavailable',
      `base model ${contract.baseModelUri}: ${(err as Error).message.slice(0, 300)}`,
      { cause: err },
    );
  }
}

/** The dataset, split and written where the trainer reads it. */
interface PreparedDataset {
  trainFile: string;
  devFile: string;
  train: LabeledSentence[];
  dev: LabeledSentence[];
  /** sha256 of the dataset at the dataset URI (without feedback). */
  digest: string;
  /** The feedback export merged in, when the contract names a store holding documents. */
  feedback?: NonNullable<RetrainResult['feedback']>;
}

/** The feedback store's export (trainer/feedback-dataset.ts), its labels checked against the base model's. */
async function preparedFeedback(
  contract: RetrainContract,
  options: RetrainOptions,
  pvcRoot: string,
  entityTypes: readonly string[],
): Promise<FeedbackDataset | undefined> {
  if (!contract.feedbackStoreUri) return undefined;
  let feedback: FeedbackDataset | undefined;
  try {
    feedback = await exportFeedback(contract.feedbackStoreUri, pvcRoot, join(options.workDir, 'feedback'));
  } catch (err) {
    if (err instanceof FeedbackDatasetError) throw new RetrainError(err.reason, err.message, { cause: err });
    throw err;
  }
  if (feedback) {
    checkLabelSet(feedback.trainFile, feedback.train, entityTypes, { requireEvery: false });
    checkLabelSet(feedback.devFile, feedback.dev, entityTypes, { requireEvery: false });
  }
  return feedback;
}

/** Step 2: the dataset, its format and label set checked before any training. */
async function prepareDataset(
  contract: RetrainContract,
  options: RetrainOptions,
  pvcRoot: string,
  entityTypes: readonly string[],
): Promise<PreparedDataset> {
  const sameOrigin =
    /^https?:\/\//i.test(contract.baseModelUri) &&
    /^https?:\/\//i.test(contract.datasetUri) &&
    new URL(contract.baseModelUri).origin === new URL(contract.datasetUri).origin;
  const datasetAccess = {
    caFile: options.modelCaFile,
    allowInsecureHttp: options.modelAllowInsecureHttp,
    ...options.fetchLimits,
    ...(sameOrigin ? { tokenFile: options.modelTokenFile } : {}),
  };
  const remote = /^https?:\/\//i.test(contract.datasetUri)
    ? await downloadDataset(contract.datasetUri, join(options.workDir, 'dataset'), datasetAccess)
    : undefined;
  const datasetPath = remote ? remote.path : localPath(contract.datasetUri, pvcRoot);
  if (!datasetPath)
    throw new RetrainError('InvalidDataset', `unsupported dataset URI scheme: ${contract.datasetUri.split(':')[0]}`);
  let dataset: { train: LabeledSentence[]; dev: LabeledSentence[]; digest: string };
  try {
    dataset = await readLabeledDataset(datasetPath, entityTypes);
  } catch (err) {
    if (remote && err instanceof RetrainError) err.message = err.message.split(remote.local).join(remote.remote);
    throw err;
  }
  const feedback = await preparedFeedback(contract, options, pvcRoot, entityTypes);
  const train = feedback ? appendDocuments(dataset.train, feedback.train) : dataset.train;
  const dev = feedback ? appendDocuments(dataset.dev, feedback.dev) : dataset.dev;
  const trainFile = join(options.workDir, 'train.conll');
  const devFile = join(options.workDir, 'dev.conll');
  await writeFile(trainFile, formatConll(train));
  await writeFile(devFile, formatConll(dev));
  return {
    trainFile,
    devFile,
    train,
    dev,
    digest: dataset.digest,
    ...(feedback ? { feedback: feedback.summary } : {}),
  };
}

/** Step 5: the bundle copied to the output location, unless it already holds this very bundle (a retried pod). */
async function publishBundle(bundleDir: string, outputPath: string, digest: string, outputUri: string): Promise<void> {
  if (await isNonEmptyDir(outputPath)) {
    const existing = await readFile(join(outputPath, MANIFEST_FILE)).catch(() => undefined);
    if (!existing || sha256(existing) !== digest)
      throw new RetrainError('OutputUnavailable', `${outputUri} already holds other files; refusing to overwrite`);
    return;
  }
  try {
    await mkdir(outputPath, { recursive: true });
    await cp(bundleDir, outputPath, { recursive: true });
  } catch (err) {
    throw new RetrainError(
      'OutputUnavailable',
      `cannot write the bundle to ${outputUri}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { cause: err },
    );
  }
}

/** Run one retraining; throws {@link RetrainError} for classified failures. */
export async function runRetrain(contract: RetrainContract, options: RetrainOptions): Promise<RetrainResult> {
  const log = options.log ?? (() => {});
  const pvcRoot = options.pvcRoot ?? pvcRootFromEnv();
  await mkdir(options.workDir, { recursive: true });
  let base: NerEngine | undefined;
  let fresh: NerEngine | undefined;
  try {
    const baseModel = await loadBaseModel(contract, options, pvcRoot);
    const { inherited, lexicon } = baseModel;
    base = baseModel.engine;
    log(
      `base model ${base.info.name} ${base.info.version} (${base.info.digest.slice(0, 12)}), entity types ${base.info.entityTypes.join(', ')}`,
    );
    log(
      `training options inherited from the base model: ${JSON.stringify({ ...inherited.features, ...inherited.corpus, ...inherited.members })}${lexicon ? `, and its lexicon of ${lexicon.phrases} phrases` : ''}`,
    );

    const dataset = await prepareDataset(contract, options, pvcRoot, base.info.entityTypes);
    const { trainFile, devFile, train: trainSentences, dev: devSentences, digest: datasetDigest } = dataset;
    log(
      `dataset ${datasetDigest.slice(0, 12)}: ${trainSentences.length} training and ${devSentences.length} held-out sentences`,
    );
    // Counts and the digest only: the documents are patient text.
    if (dataset.feedback)
      log(
        `of which feedback ${dataset.feedback.digest.slice(0, 12)}: ${dataset.feedback.documents - dataset.feedback.heldOutDocuments} training and ${dataset.feedback.heldOutDocuments} held-out documents`,
      );
    else if (contract.feedbackStoreUri) log('the feedback store holds no documents yet: the dataset alone');

    // 3. Output location must be local and new (or hold this very run's bundle: a retried pod).
    const remote = /^(s3|oci):\/\//i.test(contract.outputUri);
    const outputPath = remote ? undefined : localPath(contract.outputUri, pvcRoot);
    if (!outputPath && !remote)
      throw new RetrainError(
        'OutputUnavailable',
        `unsupported output URI scheme: ${contract.outputUri.split(':')[0]} (file://, pvc://, s3:// or oci://)`,
      );

    // 4. Train, then evaluate both models on the same held-out sentences.
    const bundleDir = join(options.workDir, 'bundle');
    let trained;
    try {
      const select = options.select ?? 'auto';
      const trainOptions: TrainOptions = {
        corpus: { ...inherited.corpus, trainFile, devFile },
        features: {
          ...(select === 'auto' ? withoutGridChoices(inherited.features ?? {}) : inherited.features),
          ...(lexicon ? { lexiconText: lexicon.text } : {}),
        },
        members: {
          ...(select === 'auto' ? withoutCost(inherited.members ?? {}) : inherited.members),
          seed: options.seed ?? 1,
          ...(options.epochs ? { epochs: options.epochs } : {}),
        },
        // The base model's assertion rules stay with the model family: a retrained model answers the same way.
        export: {
          outDir: bundleDir,
          name: base.info.name,
          version: contract.runId,
          assertionRules: base.assertionRules,
        },
        log,
      };
      trained = await trainSelected(trainOptions, {
        mode: select,
        pins: options.epochs ? { epochs: options.epochs } : {},
      });
    } catch (err) {
      throw new RetrainError('TrainingFailed', (err as Error).message.slice(0, 500), { cause: err });
    }
    const freshBundle = await verifyBundle(bundleDir, trained.digest);
    fresh = await engineFor(freshBundle);
    // In chunks, each with the context its model looks back over: the same scores as one call, in bounded memory.
    const newReport = await evaluateEngine(fresh, devSentences, { context: documentContext(freshBundle.manifest) });
    const baseReport = await evaluateEngine(base, devSentences, { context: baseModel.context });
    log(
      `held-out micro F1: new ${newReport.micro.f1.toFixed(4)}, base ${baseReport.micro.f1.toFixed(4)} (${devSentences.length} sentences)`,
    );

    let bundleUri = contract.outputUri;
    if (outputPath) await publishBundle(bundleDir, outputPath, trained.digest, contract.outputUri);
    else {
      // Object storage or a registry: pushed; for OCI the result names the digest-pinned reference.
      try {
        bundleUri = (
          await publishRemoteBundle(remoteOutputUri(contract.outputUri, contract.runId), bundleDir, {
            // The output is in the base model's store: its CA and plain-http consent, unless set explicitly.
            caFile: options.modelCaFile,
            allowInsecureHttp: options.modelAllowInsecureHttp,
            ...options.outputStorage,
          })
        ).uri;
      } catch (err) {
        throw new RetrainError('OutputUnavailable', `cannot push the bundle: ${(err as Error).message}`.slice(0, 500), {
          cause: err,
        });
      }
    }
    const evaluationId = `${contract.runId}-${sha256(await readFile(devFile)).slice(0, 12)}`;
    return {
      resultVersion: 1,
      outcome: 'Succeeded',
      reason: 'Trained',
      message: `trained ${trained.digest.slice(0, 12)} on ${trainSentences.length} sentences; held-out F1 ${micro(newReport).f1} vs base ${micro(baseReport).f1}`,
      bundleUri,
      digest: trained.digest,
      format: 'crf',
      entityTypes: fresh.info.entityTypes,
      datasetDigest,
      ...(dataset.feedback ? { feedback: dataset.feedback } : {}),
      evaluationId,
      metrics: { new: { micro: micro(newReport) }, base: { micro: micro(baseReport) }, sentences: devSentences.length },
    };
  } finally {
    await fresh?.close();
    await base?.close();
    await rm(options.workDir, { recursive: true, force: true });
  }
}
