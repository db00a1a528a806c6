/**
 * Assertion-stage benchmark: negation quality on the NegEx dev half beside the open tools hospitals use, the
 * tagger's speed alone, and what the stage costs the engine in tokens/s.
 *
 *   npm run bench:assertions        (needs ../shared/data/negex/dev.tsv; set NEROPS_DATA to point elsewhere)
 *
 * References (docs/assertions.md), measured on the same file with the target span set as the entity,
 * upper-casing undone and default rules: medspaCy 1.3.1 ConText and negspacy 1.0.4 `en_clinical`.
 * The engine cost uses a linear CRF trained here on BeHealthy (synthetic notes when BeHealthy is absent) and
 * the engine bench's 40-token notes, tagged in batches of 32 on one thread, with and without the stage,
 * alternating rounds so that load from other work on the machine falls on both alike.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  createAssertionTagger,
  defaultAssertionRules,
  parseNegexTsv,
  scoreNegation,
  withAssertions,
} from '../engine/assertions/index.js';
import { loadEngine } from '../engine/bundle/load.js';
import { readConll } from '../engine/corpus/conll.js';
import { generateNotes, writeConll } from '../trainer/synthetic.js';
import { trainBundle } from '../trainer/train.js';
import { notesOfTokens } from './engine-notes.js';

const REFERENCES = [
  { tool: 'medspaCy 1.3.1 ConText', precision: 0.894, recall: 0.956, f1: 0.924, accuracy: 0.967, itemsPerSecond: 440 },
  {
    tool: 'negspacy 1.0.4 en_clinical',
    precision: 0.925,
    recall: 0.948,
    f1: 0.936,
    accuracy: 0.973,
    itemsPerSecond: 12_000,
  },
];
const GOAL = { f1: 0.955, accuracy: 0.98, maxCost: 0.1 };
const BATCH = 32;

/** Rounds of `fn` for at least `ms`; returns calls per second. */
function rate(fn: () => void, ms: number): number {
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    fn();
    calls++;
  }
  return calls / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  const data = resolve(process.env.NEROPS_DATA ?? join(import.meta.dirname, '../../../shared/data'));
  const devFile = join(data, 'negex/dev.tsv');
  if (!existsSync(devFile)) {
    console.error(`bench:assertions: ${devFile} not found: the NegEx dev half is needed (set NEROPS_DATA)`);
    process.exitCode = 2;
    return;
  }
  const { items, skipped } = parseNegexTsv(await readFile(devFile, 'utf8'), devFile);
  const tagger = createAssertionTagger(defaultAssertionRules('en'));
  const s = scoreNegation(tagger, items);
  const itemsPerSecond = rate(() => items.forEach((it) => tagger.assert(it.text, [it])), 3000) * items.length;

  console.log(
    `negation on ${devFile}: n ${s.n} (lines skipped, concept not in sentence: ${skipped.join(', ') || 'none'})`,
  );
  console.log(`${'tool'.padEnd(36)} precision  recall  F1      accuracy  items/s`);
  const row = (
    tool: string,
    r: { precision: number; recall: number; f1: number; accuracy: number; itemsPerSecond: number },
  ) =>
    console.log(
      `${tool.padEnd(36)} ${r.precision.toFixed(3).padStart(9)}  ${r.recall.toFixed(3).padStart(6)}  ${r.f1.toFixed(3)}   ${r.accuracy.toFixed(3).padStart(8)}  ${Math.round(r.itemsPerSecond).toString().padStart(7)}`,
    );
  row('nerops (shipped en rules)', { ...s.negated, accuracy: s.accuracy, itemsPerSecond });
  for (const r of REFERENCES) row(`${r.tool} (ref.)`, r);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(
    `goal: negated F1 >= ${GOAL.f1} (${verdict(s.negated.f1 >= GOAL.f1)}), accuracy >= ${GOAL.accuracy} (${verdict(s.accuracy >= GOAL.accuracy)})`,
  );

  // The stage's cost on the engine.
  const work = await mkdtemp(join(tmpdir(), 'nerops-bench-assertions-'));
  try {
    const behealthy = join(data, 'behealthy');
    const real = existsSync(join(behealthy, 'train.conll')) && existsSync(join(behealthy, 'dev.conll'));
    let trainFile = join(behealthy, 'train.conll');
    let notes: string[];
    if (real) notes = notesOfTokens(await readConll(join(behealthy, 'dev.conll')), 40);
    else {
      trainFile = join(work, 'train.conll');
      await writeConll(trainFile, generateNotes({ count: 600, seed: 1 }));
      notes = generateNotes({ count: 400, seed: 2 }).map((n) => n.text);
    }
    const bundle = join(work, 'bundle');
    await trainBundle({ corpus: { trainFile }, members: { seed: 1, epochs: 8 }, export: { outDir: bundle } });
    const engine = await loadEngine(bundle, { threads: 1 });
    try {
      const batches: string[][] = [];
      for (let i = 0; i + BATCH <= notes.length; i += BATCH) batches.push(notes.slice(i, i + BATCH));
      let tokens = 0;
      let entities = 0;
      for (const b of batches)
        for (const r of await engine.extractBatch(b)) {
          tokens += r.stats.tokens;
          entities += r.entities.length;
        }
      // Time inside the stage, measured directly: on a machine shared with other work, the end-to-end
      // difference of two runs is mostly noise, while the stage's own share of a run is what it costs.
      let stageMs = 0;
      const pass = async (stage: boolean) => {
        const t0 = performance.now();
        for (const b of batches) {
          const results = await engine.extractBatch(b);
          if (!stage) continue;
          const t1 = performance.now();
          results.forEach((r, i) => withAssertions(tagger, b[i]!, r.entities));
          stageMs += performance.now() - t1;
        }
        return performance.now() - t0;
      };
      await pass(true); // warm-up of both paths
      await pass(false);
      stageMs = 0;
      const ROUNDS = 10;
      let without = 0;
      let withStage = 0;
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate the order so that neither path always runs second.
        if (round % 2 === 0) without += await pass(false);
        withStage += await pass(true);
        if (round % 2 === 1) without += await pass(false);
      }
      const tps = (ms: number) => (tokens * ROUNDS) / (ms / 1000);
      const share = stageMs / withStage;
      console.log(
        `\nengine cost (${real ? 'BeHealthy dev' : 'synthetic'} notes of ~${(tokens / (batches.length * BATCH)).toFixed(0)} tokens, ${entities} entities per pass, linear CRF, one thread, batches of ${BATCH}, ${ROUNDS} rounds)`,
      );
      console.log(
        `tokens/s without the stage ${tps(without).toFixed(0)}, with it ${tps(withStage).toFixed(0)} (end to end, ${((1 - tps(withStage) / tps(without)) * 100).toFixed(1)} % fewer: noisy on a shared machine)`,
      );
      console.log(
        `the stage's own time: ${((stageMs / ROUNDS / (batches.length * BATCH)) * 1000).toFixed(1)} µs per note, ${(share * 100).toFixed(1)} % of the time with it = ${(share * 100).toFixed(1)} % fewer tokens/s; goal < ${GOAL.maxCost * 100} % (${verdict(share < GOAL.maxCost)})`,
      );
    } finally {
      await engine.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
