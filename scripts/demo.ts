/**
 * The main job, `npm run demo`: generate synthetic clinical notes, train a model bundle on them, verify
 * and load it through ONNX Runtime, and extract entities from example notes — the path every later
 * stage (server, operator, retraining Job) runs on. Needs nothing outside the repository.
 *
 * Later stages grow this into the full local-cluster story (operator, canary, drift → retraining).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadEngine } from '../engine/load.js';
import { generateNotes, writeConll } from '../trainer/synthetic.js';
import { trainBundle } from '../trainer/train.js';

const EXAMPLES = [
  'Admitted with community-acquired pneumonia, treated with ceftriaxone and discharged on day 4.',
  'Hx of atrial fibrillation on apixaban; BP 132/84. Started lisinopril 10 mg for hypertension.',
  'Pt seen via telehealth re: long COVID, started on nirmatrelvir x5 days.',
];

function step(n: number, text: string): void {
  console.log(`\n[${n}/4] ${text}`);
}

async function main(): Promise<void> {
  const work = resolve(process.env.NEROPS_DEMO_DIR ?? '.demo');
  const started = performance.now();
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });

  step(1, 'generating synthetic clinical notes (no patient data)');
  const train = generateNotes({ count: 1500, seed: 1 });
  const dev = generateNotes({ count: 300, seed: 2 });
  await writeConll(join(work, 'train.conll'), train);
  await writeConll(join(work, 'dev.conll'), dev);
  console.log(`      ${train.length} training and ${dev.length} held-out notes → ${work}/{train,dev}.conll`);

  step(2, 'training a CRF bundle (hashed features, averaged SGD, ONNX emission model)');
  const bundle = join(work, 'model');
  const result = await trainBundle({
    trainFile: join(work, 'train.conll'),
    devFile: join(work, 'dev.conll'),
    outDir: bundle,
    name: 'clinical-ner',
    version: '1.0.0',
    log: (line) => console.log(`      ${line}`),
  });

  step(3, 'verifying every file of the bundle and loading it in ONNX Runtime');
  const engine = await loadEngine(bundle, { expectedDigest: result.digest });
  console.log(`      ${engine.info.name} ${engine.info.version}  sha256:${engine.info.digest}`);

  step(4, 'extracting entities from example notes');
  const extracted = await engine.extractBatch(EXAMPLES);
  EXAMPLES.forEach((text, i) => {
    console.log(`\n      "${text}"`);
    const r = extracted[i];
    for (const e of r?.entities ?? []) console.log(`        ${e.label.padEnd(10)} ${JSON.stringify(e.text).padEnd(32)} [${e.start}, ${e.end})  p=${e.score.toFixed(3)}`);
    console.log(`        (${r?.stats.tokens} tokens, ${r?.stats.unknownTokens} outside the training vocabulary)`);
  });
  await engine.close();

  const m = result.metrics.micro;
  console.log(`\nsummary`);
  console.log(`  bundle      ${bundle}`);
  console.log(`  digest      ${result.digest}`);
  console.log(`  held-out    P ${m.precision.toFixed(3)}  R ${m.recall.toFixed(3)}  F1 ${m.f1.toFixed(3)} (${m.support} entities)`);
  console.log(`  time        train ${result.trainSeconds.toFixed(1)} s, demo ${((performance.now() - started) / 1000).toFixed(1)} s`);
  console.log(`  try         npx ner-ops predict --model ${bundle} "Started metformin for type 2 diabetes mellitus."`);
  console.log(`              npx ner-ops serve --model ${bundle} --port 8080 --host 127.0.0.1`);
}

await main();
