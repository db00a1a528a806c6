/**
 * Engine benchmark: quality against the reference CRF, training time, and in-process tagging speed.
 *
 *   npm run bench:engine            (needs ../shared/data; set NEROPS_DATA to point elsewhere)
 *
 * Per corpus it trains three things on the same split and prints dev F1 and training CPU seconds:
 * - the default `ner-ops train --train --dev` (setup chosen on folds of train, `--select auto`), seeds
 *   BENCH_SELECT_SEEDS (default 1,2,3), with the selection's fold estimate beside its dev F1;
 * - the best known setup (SETUP below), seeds BENCH_SEEDS (default per corpus; BENCH_BEST=off skips it);
 * - the reference CRF (python-crfsuite, standard features, c1=c2=0.1, 100 iterations; bench/reference-crf.ts).
 *   Recorded earlier: 0.527 on behealthy/dev.conll and 0.790 on ncbi-disease/dev.conll.
 *
 * Unlabeled text for the embeddings: the other corpora's sentences it is allowed to see, never the dev
 * set being evaluated (SETUP below). Training seconds are wall clock and CPU (user) seconds: on a
 * machine shared with other work the CPU seconds are the one-core cost.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readConll } from '../engine/corpus/conll.js';
import { loadEngine } from '../engine/bundle/load.js';
import { evaluateEngine } from '../trainer/evaluate.js';
import { candidateLabel } from '../trainer/selection/grid.js';
import { trainSelected } from '../trainer/selection/select.js';
import { trainBundle, type TrainOptions } from '../trainer/train.js';
import { notesOfTokens } from './engine-notes.js';
import { medicalLexiconFile } from './lexicons.js';
import { gloveVectorsFile } from './pretrained-vectors.js';
import { referenceCrf } from './reference-crf.js';

/** The reference's recorded dev F1, used only when it cannot be trained in this run (no python3/pip). */
const RECORDED_REFERENCE: Record<string, number> = { behealthy: 0.527, 'ncbi-disease': 0.79 };
/** Goals over the reference: the best known setup's, and the default `ner-ops train`'s (issue 26: +0.05 on both). */
const GOAL_DELTA: Record<string, number> = { behealthy: 0.1, 'ncbi-disease': 0.05 };
const DEFAULT_GOAL_DELTA = 0.05;
/** Training budgets (CPU seconds on one core): the best known setup's, and the whole default `ner-ops train`'s. */
const BUDGET: Record<string, number> = { behealthy: 60, 'ncbi-disease': 300 };
const DEFAULT_BUDGET: Record<string, number> = { behealthy: 180, 'ncbi-disease': 480 };
/**
 * The model each corpus is benchmarked with, the best measured on it (docs/engine.md, "Recommended setup per corpus"), and the seeds
 * it is trained with. BeHealthy: wide & deep plus a linear member, with embeddings learned from unlabeled
 * text (the other corpora's training sentences and bc5cdr, never the evaluated dev set) with pretrained GloVe
 * vectors appended (bench/pretrained-vectors.ts), and the softmax-margin recall cost; five seeds, because
 * on its 327 dev entities one run moves by ±0.015 with the seed.
 * NCBI-disease: the linear CRF trained to convergence (160 epochs) with subword and abbreviation features,
 * which beat wide & deep there (0.838 against 0.823). Its abbreviation features include short-form reuse,
 * which reads the dev file as documents in order (as the training file is read); the F1 with every sentence
 * tagged alone is printed beside it. Converged without reuse its seeds agreed within 0.001; with reuse they
 * spread by 0.004 (likely because the first pass decides what a reuse means, and one definition read the
 * other way moves every reuse with it), so three.
 * Both train with the drug and disease lexicon of bench/lexicons.ts (PyPI), as a hospital would with its
 * formulary and problem list; BENCH_LEXICON=off prints the numbers without it.
 * The recall cost, the linear member, the GloVe vectors, short-form reuse and the lexicon were chosen on a
 * held-out fifth of each training set, never on dev.
 */
/** Feature and member options of a setup (the corpus and the bundle are the bench's). */
type SetupOptions = Pick<TrainOptions, 'features' | 'members'>;
interface Setup {
  unlabeled: string[];
  pretrainedVectors?: true;
  /** Train with the lexicon, with these options on top of `options` (chosen with the lexicon in place). */
  lexicon?: { options: SetupOptions; model: string };
  options: SetupOptions;
  model: string;
  seeds: number[];
}
const SETUP: Record<string, Setup> = {
  behealthy: {
    unlabeled: ['ncbi-disease/train.conll', 'bc5cdr/train.conll', 'bc5cdr/dev.conll'],
    pretrainedVectors: true,
    // The lexicon finds entities the recall cost was pushing for: with it, cost 0.5 beat 1 on two held-out fifths.
    lexicon: {
      options: { members: { missedEntityCost: 0.5 } },
      model: 'wide & deep + linear, recall cost 0.5, GloVe, drug + disease lexicon',
    },
    options: { members: { missedEntityCost: 1 } },
    model: 'wide & deep + linear, recall cost 1, GloVe',
    seeds: [1, 2, 3, 4, 5],
  },
  'ncbi-disease': {
    unlabeled: [],
    lexicon: {
      options: {},
      model: 'linear, 160 epochs, subwords, abbreviations + short-form reuse, drug + disease lexicon',
    },
    options: { members: { epochs: 160 }, features: { subwords: true, abbreviations: true } },
    model: 'linear, 160 epochs, subwords, abbreviations + short-form reuse',
    seeds: [1, 2, 3],
  },
};
/** BENCH_LEXICON=off measures the same setups without the external lexicon. */
const useLexicon = process.env.BENCH_LEXICON !== 'off';

/** Dev F1 with every sentence tagged on its own, for a model whose features can look across sentences. */
async function sentencesAloneF1(bundle: string, devFile: string): Promise<number> {
  const dev = await readConll(devFile);
  const engine = await loadEngine(bundle);
  try {
    return (await evaluateEngine(engine, dev, { independentSentences: true })).micro.f1;
  } finally {
    await engine.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function main(): Promise<void> {
  const data = resolve(process.env.NEROPS_DATA ?? join(import.meta.dirname, '../../../shared/data'));
  if (!existsSync(join(data, 'behealthy/train.conll'))) {
    console.error(`bench: corpora not found under ${data} (set NEROPS_DATA)`);
    process.exitCode = 2;
    return;
  }
  const out = await mkdtemp(join(tmpdir(), 'nerops-bench-'));
  const corpora = (process.env.BENCH_CORPORA ?? 'behealthy,ncbi-disease').split(',');
  const selectSeeds = (process.env.BENCH_SELECT_SEEDS ?? '1,2,3').split(',').map(Number);
  const header =
    'corpus         model        seed  dev F1   fold est.  reference  delta   goal    train cpu s  wall s  budget';
  console.log(header);
  let behealthyBundle: string | undefined;
  for (const corpus of corpora) {
    const trainFile = join(data, corpus, 'train.conll');
    const devFile = join(data, corpus, 'dev.conll');
    // The reference CRF first: the other rows are compared with the number this run measured.
    let ref = RECORDED_REFERENCE[corpus] ?? NaN;
    let refNote = '';
    try {
      const r = await referenceCrf(trainFile, devFile, out);
      ref = r.f1;
      console.log(
        `${corpus.padEnd(14)} ${'reference'.padEnd(12)} ${''.padStart(4)}  ${r.f1.toFixed(4)}   ${'-'.padStart(8)}   ${'-'.padStart(9)}  ${'-'.padStart(6)}  ${'-'.padStart(5)}  ${r.trainCpuSeconds.toFixed(1).padStart(11)}  ${'-'.padStart(6)}  ${'-'.padStart(6)}  (python-crfsuite, standard features, c1=c2=0.1, 100 iterations)`,
      );
    } catch (err) {
      refNote = ' (recorded reference)';
      console.log(`${corpus.padEnd(14)} reference not trained in this run: ${(err as Error).message}`);
    }
    const row = (
      model: string,
      seed: string,
      f1: number,
      fold: number | undefined,
      goal: number,
      cpu: string,
      wall: string,
      budget: string,
      note: string,
    ) => {
      const delta = f1 - ref;
      return `${corpus.padEnd(14)} ${model.padEnd(12)} ${seed.padStart(4)}  ${f1.toFixed(4)}   ${(fold === undefined ? '-' : fold.toFixed(4)).padStart(8)}   ${ref.toFixed(4).padStart(9)}  ${delta >= 0 ? '+' : ''}${delta.toFixed(3)}  +${goal.toFixed(2)}  ${cpu.padStart(11)}  ${wall.padStart(6)}  ${budget.padStart(6)}  ${note}${refNote}`;
    };
    const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

    // The default `ner-ops train --train --dev`: the setup chosen on folds of train.
    const defaults: { f1: number; fold: number }[] = [];
    for (const seed of selectSeeds) {
      const bundle = join(out, `${corpus}-default-${seed}`);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await trainSelected(
        { corpus: { trainFile, devFile }, members: { seed }, export: { outDir: bundle, name: corpus } },
        { mode: 'auto' },
      );
      const used = process.cpuUsage(c0);
      // The whole command's CPU (selection, final training, export): user + system, one core.
      const cpu = (used.user + used.system) / 1e6;
      const fold = r.selection?.foldF1 ?? NaN;
      defaults.push({ f1: r.metrics.micro.f1, fold });
      console.log(
        row(
          'default',
          String(seed),
          r.metrics.micro.f1,
          fold,
          DEFAULT_GOAL_DELTA,
          cpu.toFixed(1),
          ((performance.now() - t0) / 1000).toFixed(1),
          String(DEFAULT_BUDGET[corpus] ?? ''),
          `(chose ${r.selection ? candidateLabel(r.selection.winner) : 'the flags as given'})`,
        ),
      );
      if (r.selection) {
        // What the budget bought: how many fold runs, short and full, and why the search stopped there.
        const runs = r.selection.result.records.flatMap((c) => c.runs);
        const short = runs.filter((x) => x.epochScale < 1).length;
        console.log(
          `${''.padEnd(14)} ${''.padEnd(12)} ${''.padStart(4)}  selection: ${short} short and ${runs.length - short} full fold runs, seeds ${r.selection.result.seeds.join(', ')}, stopped: ${r.selection.result.stopped}, ${r.selection.cpuSeconds.toFixed(1)} CPU s (estimated ${r.selection.result.estimatedSeconds.toFixed(0)})`,
        );
      }
    }
    if (defaults.length > 1)
      console.log(
        row(
          'default',
          'mean',
          meanOf(defaults.map((d) => d.f1)),
          meanOf(defaults.map((d) => d.fold)),
          DEFAULT_GOAL_DELTA,
          '',
          '',
          '',
          `(seeds ${selectSeeds.join(', ')}; fold estimate − dev F1 ${(meanOf(defaults.map((d) => d.fold)) - meanOf(defaults.map((d) => d.f1))).toFixed(3)})`,
        ),
      );

    if (process.env.BENCH_BEST === 'off') continue;
    const setup = SETUP[corpus] ?? { unlabeled: [], options: {}, model: 'linear', seeds: [1] };
    const seeds = process.env.BENCH_SEEDS ? process.env.BENCH_SEEDS.split(',').map(Number) : setup.seeds;
    const unlabeledFiles = setup.unlabeled.map((f) => join(data, f)).filter((f) => existsSync(f));
    const pretrainedVectorsFile = setup.pretrainedVectors ? await gloveVectorsFile() : undefined;
    const lexicon = useLexicon ? setup.lexicon : undefined;
    const lexiconFiles = lexicon ? [await medicalLexiconFile()] : undefined;
    const options = {
      features: { ...setup.options.features, ...lexicon?.options.features },
      members: { ...setup.options.members, ...lexicon?.options.members },
    };
    const model = lexicon?.model ?? setup.model;
    const f1s: number[] = [];
    for (const seed of seeds) {
      const bundle = join(out, `${corpus}-${seed}`);
      const r = await trainBundle({
        corpus: { trainFile, devFile, unlabeledFiles },
        features: { dense: { pretrainedVectorsFile }, lexiconFiles, ...options.features },
        members: { seed, ...options.members },
        export: { outDir: bundle, name: corpus },
      });
      if (corpus === 'behealthy' && behealthyBundle === undefined) behealthyBundle = bundle;
      f1s.push(r.metrics.micro.f1);
      console.log(
        row(
          'best known',
          String(seed),
          r.metrics.micro.f1,
          undefined,
          GOAL_DELTA[corpus] ?? 0,
          r.trainCpuSeconds.toFixed(1),
          r.trainSeconds.toFixed(1),
          String(BUDGET[corpus] ?? ''),
          `(${model}; total ${r.totalSeconds.toFixed(1)} s wall)`,
        ),
      );
      if (options.features.abbreviations)
        console.log(
          row(
            'best known',
            '',
            await sentencesAloneF1(bundle, devFile),
            undefined,
            GOAL_DELTA[corpus] ?? 0,
            '',
            '',
            '',
            '(the same model, every dev sentence tagged alone: no document context)',
          ),
        );
    }
    if (f1s.length > 1)
      console.log(
        row(
          'best known',
          'mean',
          meanOf(f1s),
          undefined,
          GOAL_DELTA[corpus] ?? 0,
          '',
          '',
          '',
          `(seeds ${seeds.join(', ')})`,
        ),
      );
  }

  if (behealthyBundle && process.env.BENCH_TAGGING !== 'off') {
    // 40-token notes built from dev sentences (raw text, through the tokenizer like the server).
    const notes = notesOfTokens(await readConll(join(data, 'behealthy/dev.conll')), 40);
    const engine = await loadEngine(behealthyBundle, { threads: 1 });
    const tokensPerNote = (await engine.extractBatch(notes)).reduce((n, r) => n + r.stats.tokens, 0) / notes.length;
    console.log(
      `\nin-process tagging, one thread, ${notes.length} notes of ~${tokensPerNote.toFixed(1)} tokens (BeHealthy model)`,
    );
    console.log('batch  notes/s   tokens/s');
    for (const batch of [1, 8, 32, 128]) {
      for (let w = 0; w < 3; w++) await engine.extractBatch(notes.slice(0, batch)); // warm-up
      let done = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 2000) {
        for (let i = 0; i + batch <= notes.length; i += batch) {
          await engine.extractBatch(notes.slice(i, i + batch));
          done += batch;
        }
      }
      const s = (performance.now() - t0) / 1000;
      console.log(
        `${String(batch).padStart(5)}  ${(done / s).toFixed(0).padStart(7)}  ${((done * tokensPerNote) / s).toFixed(0).padStart(9)}`,
      );
    }
    const lat: number[] = [];
    for (let k = 0; k < 2000; k++) {
      const t0 = performance.now();
      await engine.extract(notes[k % notes.length] as string);
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    console.log(
      `single-note latency: p50 ${percentile(lat, 50).toFixed(3)} ms, p99 ${percentile(lat, 99).toFixed(3)} ms`,
    );
    await engine.close();
  }
  await rm(out, { recursive: true, force: true });
}

await main();
