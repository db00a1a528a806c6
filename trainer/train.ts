/**
 * `trainBundle`: CoNLL files in, a verified `crf` bundle out (model.onnx, ner-model.json, profile.json,
 * metrics.json, vocab.txt, clusters.tsv when clusters are used). Deterministic: the same data, options
 * and seed give the same bundle digest, so nothing time-dependent goes into any bundle file.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { labelSetOf, readConll, type LabeledSentence } from '../engine/conll.js';
import { WordClusters } from '../engine/clusters.js';
import { DEFAULT_FEATURE_CONFIG, FEATURE_VERSION, featurizeSentence, normalizeToken, slotsPerToken, type FeatureConfig } from '../engine/features.js';
import { MANIFEST_FORMAT_VERSION, canonicalJson, sha256, writeBundle, type Manifest } from '../engine/bundle.js';
import { crfEmissionModel } from '../engine/onnx-model.js';
import { loadEngine } from '../engine/load.js';
import { computeProfile } from '../engine/profile.js';
import { corpusKeepsHyphens } from '../engine/tokenize.js';
import type { EvaluationReport } from '../engine/types.js';
import { decodeWithWeights, trainCrfSgd, type CrfWeights, type EncodedSentence } from './crf-sgd.js';
import { evaluateSequences } from './evaluate.js';
import { learnClusters } from './clusters.js';
import { detokenize } from './detokenize.js';

export interface TrainOptions {
  trainFile: string;
  devFile?: string;
  outDir: string;
  seed?: number;
  epochs?: number;
  /** L2 strength on the whole-corpus objective (crfsuite's c2). */
  c2?: number;
  name?: string;
  version?: string;
  bucketBits?: number;
  /** Precomputed clusters (clusters.tsv from `ner-ops clusters`). */
  clustersFile?: string;
  /** Unlabeled CoNLL or one-sentence-per-line text files to learn clusters from (with the training text). */
  unlabeledFiles?: string[];
  repairBio?: boolean;
  outsideBias?: number;
  /** Progress lines (epochs, dev F1). Defaults to silence. */
  log?: (line: string) => void;
}

export interface TrainResult {
  outDir: string;
  digest: string;
  metrics: EvaluationReport;
  /** Wall-clock seconds of the SGD epochs (featurisation and export excluded). */
  trainSeconds: number;
  /** Wall-clock seconds of everything. */
  totalSeconds: number;
}

export const DEFAULT_EPOCHS = 12;
export const DEFAULT_C2 = 0.5;

/** Read unlabeled sentences: CoNLL (first column) when lines contain tabs, else one sentence per line. */
export async function readUnlabeled(file: string): Promise<string[][]> {
  const text = await readFile(file, 'utf8');
  if (text.includes('\t')) {
    const out: string[][] = [];
    let cur: string[] = [];
    for (const line of text.split(/\r?\n/)) {
      if (line.trim() === '') {
        if (cur.length) out.push(cur);
        cur = [];
      } else cur.push(line.split('\t')[0] as string);
    }
    if (cur.length) out.push(cur);
    return out;
  }
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s+/));
}

function encode(sentences: readonly LabeledSentence[], labels: readonly string[], config: FeatureConfig, clusters: WordClusters | undefined): EncodedSentence[] {
  const slots = slotsPerToken(config);
  const index = new Map(labels.map((l, i) => [l, i]));
  return sentences.map((s) => {
    const features = new Int32Array(s.tokens.length * slots);
    featurizeSentence(s.tokens, config, clusters, features);
    return { features, gold: Int32Array.from(s.labels, (l) => index.get(l) ?? 0) };
  });
}

export async function trainBundle(options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const seed = options.seed ?? 1;
  const epochs = options.epochs ?? DEFAULT_EPOCHS;
  const c2 = options.c2 ?? DEFAULT_C2;
  const train = await readConll(options.trainFile, { repairBio: options.repairBio ?? false });
  const dev = options.devFile ? await readConll(options.devFile, { repairBio: options.repairBio ?? false }) : undefined;
  const labels = labelSetOf(train);
  if (labels.length < 3) throw new Error(`${options.trainFile}: no entities found (only O labels); nothing to learn`);
  if (dev) {
    const unknown = labelSetOf(dev).filter((l) => !labels.includes(l));
    if (unknown.length > 0) throw new Error(`${options.devFile}: labels ${unknown.join(', ')} do not occur in the training file ${options.trainFile}`);
  }

  let clusters: WordClusters | undefined;
  if (options.clustersFile) {
    clusters = WordClusters.parse(await readFile(options.clustersFile, 'utf8'), options.clustersFile);
  } else if (options.unlabeledFiles && options.unlabeledFiles.length > 0) {
    const sentences: string[][] = train.map((s) => s.tokens);
    for (const f of options.unlabeledFiles) sentences.push(...(await readUnlabeled(f)));
    const t0 = performance.now();
    clusters = learnClusters(sentences);
    log(`learned ${clusters.size} word clusters from ${sentences.length} sentences in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  const config: FeatureConfig = { ...DEFAULT_FEATURE_CONFIG, bucketBits: options.bucketBits ?? DEFAULT_FEATURE_CONFIG.bucketBits, clusters: clusters !== undefined };
  const slots = slotsPerToken(config);
  const encodedTrain = encode(train, labels, config, clusters);
  const encodedDev = dev ? encode(dev, labels, config, clusters) : undefined;
  const tokens = train.reduce((n, s) => n + s.tokens.length, 0);
  log(`training on ${train.length} sentences (${tokens} tokens), labels ${labels.join(' ')}, ${epochs} epochs`);

  const t0 = performance.now();
  const weights: CrfWeights = trainCrfSgd(encodedTrain, {
    labels,
    buckets: 1 << config.bucketBits,
    slots,
    epochs,
    averageFrom: Math.floor(epochs / 3),
    c2,
    eta0: 0.1,
    seed,
    onEpoch: (epoch, model, stats) => {
      let line = `epoch ${String(epoch + 1).padStart(2)}/${epochs}  loss ${stats.loss.toFixed(1).padStart(9)}  ${stats.seconds.toFixed(2)} s`;
      if (dev && encodedDev) {
        const f1 = evaluateSequences(
          dev.map((s) => s.labels),
          decodeWithWeights(encodedDev, model, labels, slots),
        ).micro.f1;
        line += `  dev F1 ${f1.toFixed(4)}`;
      }
      log(line);
    },
  });
  const trainSeconds = (performance.now() - t0) / 1000;

  const L = labels.length;
  const vocabulary = [...new Set(train.flatMap((s) => s.tokens.map(normalizeToken)))].sort();
  const vocabText = vocabulary.join('\n') + '\n';
  const trainSha = sha256(await readFile(options.trainFile));
  const manifest: Omit<Manifest, 'files'> = {
    formatVersion: MANIFEST_FORMAT_VERSION,
    format: 'crf',
    name: options.name ?? basename(options.outDir),
    version: options.version ?? '0.1.0',
    entityTypes: labels.filter((l) => l.startsWith('B-')).map((l) => l.slice(2)),
    vocabularyFingerprint: sha256(vocabText),
    training: {
      algorithm: 'crf-sgd-averaged',
      seed,
      epochs,
      c2,
      trainFile: basename(options.trainFile),
      trainSha256: trainSha,
      ...(options.devFile ? { devFile: basename(options.devFile), devSha256: sha256(await readFile(options.devFile)) } : {}),
      sentences: train.length,
      tokens,
    },
    crf: {
      labels,
      features: { featureVersion: FEATURE_VERSION, bucketBits: config.bucketBits, clusters: config.clusters, slots },
      tokenizer: { splitHyphens: !corpusKeepsHyphens(train) },
      transitions: {
        trans: Array.from({ length: L }, (_, i) => Array.from(weights.transitions.trans.subarray(i * L, i * L + L), round6)),
        start: Array.from(weights.transitions.start, round6),
        end: Array.from(weights.transitions.end, round6),
      },
      decoding: { outsideBias: options.outsideBias ?? 0 },
    },
  };
  const files: Record<string, string | Uint8Array> = {
    'model.onnx': crfEmissionModel(weights.emission, (1 << config.bucketBits) + 1, L, slots),
    'vocab.txt': vocabText,
  };
  if (clusters) files['clusters.tsv'] = clusters.format();

  // Phase 1: write the model so the real runtime can load it; evaluation and the drift profile then
  // come from exactly the code path that will serve it.
  await mkdir(options.outDir, { recursive: true });
  await writeBundle(options.outDir, manifest, files);
  const engine = await loadEngine(options.outDir);
  const held = dev ?? train;
  let metrics: EvaluationReport;
  let profileResults;
  try {
    const predicted = await engine.tagTokens(held.map((s) => s.tokens));
    metrics = evaluateSequences(
      held.map((s) => s.labels),
      predicted,
    );
    profileResults = await engine.extractBatch(held.map((s) => detokenize(s.tokens)));
  } finally {
    await engine.close();
  }
  const profile = computeProfile(profileResults);
  const metricsFile = {
    heldOut: dev ? { file: basename(options.devFile as string), split: 'dev' } : { file: basename(options.trainFile), split: 'train (no dev file given: optimistic)' },
    ...metrics,
  };
  files['profile.json'] = canonicalJson(profile);
  files['metrics.json'] = canonicalJson(metricsFile);
  // Phase 2: the final manifest pins the profile and metrics too.
  const digest = await writeBundle(options.outDir, manifest, files);
  return { outDir: options.outDir, digest, metrics, trainSeconds, totalSeconds: (performance.now() - started) / 1000 };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
