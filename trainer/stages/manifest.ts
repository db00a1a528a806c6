/**
 * The manifest of a trained `crf` bundle: what the runtime needs to compute the same features and decode
 * the same way (the `crf` section), and a record of how the model was trained (the `training` section).
 * Nothing time-dependent goes in, so the same data, options and seed give the same digest.
 */
import { basename } from 'node:path';
import { MANIFEST_FORMAT_VERSION, type Manifest } from '../../contracts/bundle-manifest.js';
import { EMBEDDING_VOCAB_FILE } from '../../engine/features/embedding-vocabulary.js';
import type { CrfWeights } from '../crf-sgd.js';
import type { Corpus } from './corpus.js';
import type { FeatureSpace } from './feature-space.js';
import type { MemberPlan } from './members.js';

/** What the manifest describes: every stage's artefact. */
export interface TrainedModel {
  corpus: Corpus;
  space: FeatureSpace;
  plan: MemberPlan;
  weights: CrfWeights;
}

export interface ManifestOptions {
  name: string;
  version: string;
  outsideBias: number;
  /** sha256 of the bundle's vocab.txt. */
  vocabularyFingerprint: string;
  /** The selection's record (trainer/selection), when the setup was chosen on folds of train. */
  selection?: Record<string, unknown>;
}

export function crfBundleManifest(model: TrainedModel, options: ManifestOptions): Omit<Manifest, 'files'> {
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    format: 'crf',
    name: options.name,
    version: options.version,
    entityTypes: model.corpus.labels.filter((l) => l.startsWith('B-')).map((l) => l.slice(2)),
    vocabularyFingerprint: options.vocabularyFingerprint,
    training: { ...trainingRecord(model), ...(options.selection ? { selection: options.selection } : {}) },
    crf: crfSection(model, options.outsideBias),
  };
}

function trainingRecord({ corpus, space, plan }: TrainedModel): Record<string, unknown> {
  const { gazetteer, lexicon } = space.lookups;
  const dense = space.dense;
  const pretrained = dense?.pretrained;
  return {
    algorithm: dense ? 'crf-sgd-averaged+mlp' : 'crf-sgd-averaged',
    seed: plan.seed,
    epochs: plan.epochs,
    tagScheme: corpus.tagScheme,
    c2: plan.c2,
    missedEntityCost: plan.missedEntityCost,
    ...(gazetteer ? { gazetteer: { phrases: gazetteer.size, folds: space.gazetteerFolds } } : {}),
    ...(lexicon
      ? {
          lexicon: {
            ...(space.lexicon?.files ? { files: space.lexicon.files } : { inherited: true }),
            phrases: lexicon.size,
            types: [...lexicon.types],
          },
        }
      : {}),
    ...(dense && plan.mlp
      ? {
          dense: {
            hidden: plan.mlp.hidden,
            window: dense.window,
            lr: plan.mlp.lr,
            lrDecay: plan.mlp.lrDecay,
            dropout: plan.mlp.dropout,
            ensemble: plan.ensemble,
          },
          ...(plan.linearMembers > 0
            ? { linearMembers: { count: plan.linearMembers, epochs: plan.linearEpochs } }
            : {}),
          unlabeled: corpus.unlabeledFiles.map((f) => basename(f)),
          ...(pretrained
            ? {
                pretrainedVectors: {
                  file: basename(pretrained.file),
                  sha256: pretrained.vectors.sha256,
                  dim: pretrained.vectors.dim,
                  words: pretrained.vectors.words.length,
                },
              }
            : {}),
        }
      : {}),
    trainFile: basename(corpus.trainFile),
    trainSha256: corpus.trainSha256,
    ...(corpus.devFile ? { devFile: basename(corpus.devFile), devSha256: corpus.devSha256 } : {}),
    sentences: corpus.train.length,
    tokens: corpus.tokens,
  };
}

function crfSection({ corpus, space, plan, weights }: TrainedModel, outsideBias: number): Manifest['crf'] {
  const { config, dense } = space;
  const L = corpus.labels.length;
  return {
    labels: corpus.labels,
    features: {
      featureVersion: config.featureVersion,
      bucketBits: config.bucketBits,
      clusters: config.clusters,
      ...(config.gazetteer ? { gazetteer: true } : {}),
      ...(config.subwords ? { subwords: true } : {}),
      ...(config.abbreviations ? { abbreviations: true } : {}),
      ...(config.shortFormContext !== undefined ? { shortFormContext: config.shortFormContext } : {}),
      ...(config.lexicon ? { lexicon: true } : {}),
      slots: space.slots,
    },
    tokenizer: { splitHyphens: space.splitHyphens },
    transitions: {
      trans: Array.from({ length: L }, (_, i) =>
        Array.from(weights.transitions.trans.subarray(i * L, i * L + L), round6),
      ),
      start: Array.from(weights.transitions.start, round6),
      end: Array.from(weights.transitions.end, round6),
    },
    decoding: { outsideBias },
    ...(dense && plan.mlp
      ? {
          dense: {
            window: dense.window,
            embeddingDim: dense.embeddings.dim,
            hidden: weights.dense?.shape.hidden ?? plan.mlp.hidden * plan.ensemble,
            ensemble: plan.ensemble,
            vocabulary: { file: EMBEDDING_VOCAB_FILE, words: dense.embeddings.words.length },
          },
        }
      : {}),
  };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
