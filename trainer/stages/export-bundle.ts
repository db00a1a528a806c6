/**
 * Stage 4 of training, the exported bundle: the merged model as an ONNX graph with the files its runtime
 * needs, written, then loaded back through the real runtime so that the held-out metrics and the drift
 * profile come from exactly the code path that will serve it, and written again with those pinned too.
 */
import { mkdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { assertionBundleParts } from '../../engine/assertions/bundle.js';
import type { AssertionRules } from '../../engine/assertions/types.js';
import { canonicalJson, sha256, writeBundle } from '../../engine/bundle/bundle.js';
import { loadEngine } from '../../engine/bundle/load.js';
import { computeProfile } from '../../engine/bundle/profile.js';
import { EMBEDDING_VOCAB_FILE, EmbeddingVocabulary } from '../../engine/features/embedding-vocabulary.js';
import { GAZETTEER_FILE } from '../../engine/features/gazetteer.js';
import { LEXICON_FILE, formatLexicon } from '../../engine/features/lexicon.js';
import { normalizeToken } from '../../engine/features/normalize.js';
import { crfEmissionModel } from '../../engine/runtimes/onnx-model.js';
import type { EvaluationReport } from '../../engine/types.js';
import { detokenize } from '../detokenize.js';
import { evaluateEngine } from '../evaluate.js';
import { crfBundleManifest, type TrainedModel } from './manifest.js';

export interface ExportOptions {
  outDir: string;
  /** Model name (default: the output directory's name). */
  name?: string;
  /** Model version (default 0.1.0). */
  version?: string;
  /** Added to the O label's emissions when decoding (default 0). */
  outsideBias?: number;
  /** Assertion rules to pin in the bundle (manifest format version 2); absent: none, as before. */
  assertionRules?: AssertionRules | undefined;
  /** How `--select auto` chose the setup (trainer/selection), recorded as `training.selection`; absent: nothing. */
  selection?: Record<string, unknown> | undefined;
}

/** A written, verified bundle. */
export interface ExportedBundle {
  outDir: string;
  digest: string;
  /** Held-out metrics, through the runtime (the dev set, or the training set when there is none). */
  metrics: EvaluationReport;
}

export async function exportBundle(model: TrainedModel, options: ExportOptions): Promise<ExportedBundle> {
  const { corpus } = model;
  const vocabulary = [...new Set(corpus.train.flatMap((s) => s.tokens.map(normalizeToken)))].sort();
  const vocabText = vocabulary.join('\n') + '\n';
  let manifest = crfBundleManifest(model, {
    name: options.name ?? basename(options.outDir),
    version: options.version ?? '0.1.0',
    outsideBias: options.outsideBias ?? 0,
    vocabularyFingerprint: sha256(vocabText),
    ...(options.selection ? { selection: options.selection } : {}),
  });
  const files = modelFiles(model, vocabText);
  if (options.assertionRules) {
    const parts = assertionBundleParts(options.assertionRules);
    manifest = { ...manifest, formatVersion: parts.formatVersion, assertions: parts.assertions };
    Object.assign(files, parts.files);
  }

  // Phase 1: write the model so the real runtime can load it.
  await mkdir(options.outDir, { recursive: true });
  await writeBundle(options.outDir, manifest, files);
  const engine = await loadEngine(options.outDir);
  const held = corpus.dev ?? corpus.trainBio;
  let metrics: EvaluationReport;
  let profileResults;
  try {
    metrics = await evaluateEngine(engine, held);
    profileResults = await engine.extractBatch(held.map((s) => detokenize(s.tokens)));
  } finally {
    await engine.close();
  }
  const metricsFile = {
    heldOut: corpus.devFile
      ? { file: basename(corpus.devFile), split: 'dev' }
      : { file: basename(corpus.trainFile), split: 'train (no dev file given: optimistic)' },
    ...metrics,
  };
  files['profile.json'] = canonicalJson(computeProfile(profileResults));
  files['metrics.json'] = canonicalJson(metricsFile);
  // Phase 2: the final manifest pins the profile and metrics too.
  const digest = await writeBundle(options.outDir, manifest, files);
  return { outDir: options.outDir, digest, metrics };
}

/** The model's files: the ONNX graph, the vocabulary, and the lookups its features need. */
function modelFiles({ corpus, space, weights }: TrainedModel, vocabText: string): Record<string, string | Uint8Array> {
  const { config, dense, lookups } = space;
  const files: Record<string, string | Uint8Array> = {
    'model.onnx': crfEmissionModel(
      weights.emission,
      (1 << config.bucketBits) + 1,
      corpus.labels.length,
      space.slots,
      weights.dense && dense
        ? {
            table: dense.table,
            tableRows: dense.vocabulary.rows,
            tableCols: dense.cols,
            window: dense.window,
            hidden: weights.dense.shape.hidden,
            w1: weights.dense.w1ForExport(),
            b1: Float32Array.from(weights.dense.b1),
            w2: Float32Array.from(weights.dense.w2),
            b2: Float32Array.from(weights.dense.b2),
          }
        : undefined,
    ),
    'vocab.txt': vocabText,
  };
  if (dense) files[EMBEDDING_VOCAB_FILE] = EmbeddingVocabulary.format(dense.embeddings.words);
  if (lookups.clusters) files['clusters.tsv'] = lookups.clusters.format();
  if (lookups.gazetteer) files[GAZETTEER_FILE] = lookups.gazetteer.format();
  if (space.lexicon) files[LEXICON_FILE] = formatLexicon(space.lexicon.entries);
  return files;
}
