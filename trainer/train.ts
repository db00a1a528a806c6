/**
 * `trainBundle`: CoNLL files in, a verified `crf` bundle out (model.onnx, ner-model.json, profile.json,
 * metrics.json, vocab.txt, and the lookups the features use). Training runs in four stages, each a module
 * of trainer/stages/ with a typed artefact: corpus → feature space → fitted members → exported bundle.
 * Deterministic: the same data, options and seed give the same bundle digest, so nothing time-dependent
 * goes into any bundle file.
 */
import type { EvaluationReport } from '../engine/types.js';
import { readCorpus, type CorpusOptions } from './stages/corpus.js';
import { usesDenseBranch } from './stages/dense-input.js';
import { exportBundle, type ExportOptions } from './stages/export-bundle.js';
import { buildFeatureSpace, checkFeatureOptions, type FeatureSpaceOptions } from './stages/feature-space.js';
import { fitMembers, planMembers, trainsLinearCrf, type MemberOptions } from './stages/members.js';

export interface TrainOptions {
  corpus: CorpusOptions;
  features?: FeatureSpaceOptions;
  members?: MemberOptions;
  export: ExportOptions;
  /** Progress lines (epochs, dev F1). Defaults to silence. */
  log?: (line: string) => void;
}

export interface TrainResult {
  outDir: string;
  digest: string;
  metrics: EvaluationReport;
  /** Wall-clock seconds of learning the embeddings and the SGD epochs (featurisation and export excluded). */
  trainSeconds: number;
  /** CPU seconds (user) of the same span: the honest number on a machine shared with other work. */
  trainCpuSeconds: number;
  /** Wall-clock seconds of everything. */
  totalSeconds: number;
}

export async function trainBundle(options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage().user;
  const log = options.log ?? (() => {});
  const featureOptions = options.features ?? {};
  await checkFeatureOptions(featureOptions);

  const corpus = await readCorpus(options.corpus);
  const dense = usesDenseBranch(featureOptions.dense ?? {}, corpus);
  const plan = planMembers(options.members ?? {}, dense);
  const space = await buildFeatureSpace(
    corpus,
    featureOptions,
    { dense, trainsLinearCrf: trainsLinearCrf(plan), encodeDev: options.log !== undefined },
    log,
  );
  const fitted = fitMembers(corpus, space, plan, log, options.log);
  const trainSeconds = fitted.seconds + (space.dense?.seconds ?? 0);
  const trainCpuSeconds = (process.cpuUsage().user - cpuStarted) / 1e6;

  const bundle = await exportBundle({ corpus, space, plan, weights: fitted.weights }, options.export);
  return { ...bundle, trainSeconds, trainCpuSeconds, totalSeconds: (performance.now() - started) / 1000 };
}
