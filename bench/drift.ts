/**
 * Drift detection benchmark (issue 7, "Numbers"), on the demo's stage (scripts/demo/stage.ts: the real
 * profile of local-cluster, Prometheus, the operator installed by Helm, the model on a claim) with server
 * pods in containers (one real cluster per machine: run it under `flock /tmp/nerops-real.lock`):
 *
 *   npm run bench:drift -- [--minutes 10] [--rate 20]
 *
 * 1. False alarms: a DriftPolicy with the **default** signals, thresholds, minSamples (200) and
 *    consecutiveBreaches (3), evaluated every 5 s over a 1 m window, watches `--minutes` of
 *    in-distribution traffic (synthetic notes of the training vocabulary, other seeds than the model's).
 *    Every evaluation is counted: confirmed alarms (state Warning or Critical) and unconfirmed single
 *    breaches (a signal at or above warning), with the largest value each signal reached.
 * 2. Detection delay: the notes switch to the shifted vocabulary; seconds and requests until the state
 *    leaves Healthy. The policy is `suspend`ed, so nothing retrains (the retraining path has its own
 *    numbers: test/e2e/drift.test.ts and the demo).
 *
 * Exits non-zero only on errors; a false alarm is reported, not fatal.
 */
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DriftPolicy } from '../operator/api/driftpolicy.js';
import { driftPolicies } from '../operator/api/resources.js';
import { TrafficGenerator, cycle } from '../loadgen/traffic.js';
import { ServiceEndpoints } from '../local-cluster/service-endpoints.js';
import { generateNotes, writeConll, type Vocabulary } from '../trainer/synthetic.js';
import { trainBundle } from '../trainer/train.js';
import { DEPLOYMENT, nerDeployment, nerModel, type Manifest } from '../scripts/demo/objects.js';
import { waitModelReady, waitServing } from '../scripts/demo/progress.js';
import { LocalStage } from '../scripts/demo/stage.js';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '10' }, rate: { type: 'string', default: '20' } },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
if (!(minutes > 0) || !(rate > 0)) throw new Error('--minutes and --rate must be positive numbers');

const work = join(tmpdir(), `nerops-bench-drift-${process.pid}`);
const quiet = () => undefined;
const stage = new LocalStage({ work, namespace: 'bench-drift', log: quiet });

/** The defaults of the API, except how often and over what window (minutes, not hours, for a bench). */
function defaultPolicy(claim: string): Manifest {
  return {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'DriftPolicy',
    metadata: { name: 'defaults' },
    spec: {
      targetRef: { name: DEPLOYMENT },
      interval: '5s',
      window: '1m',
      suspend: true,
      retraining: { datasetUri: `pvc://${claim}/unused`, outputUri: `pvc://${claim}/runs` },
    },
  };
}

async function main(): Promise<void> {
  await mkdir(join(work, 'model'), { recursive: true });
  await writeConll(join(work, 'model', 'train.conll'), generateNotes({ count: 600, seed: 2 }));
  await writeConll(join(work, 'model', 'dev.conll'), generateNotes({ count: 400, seed: 1002 }));
  const m = await trainBundle({
    corpus: { trainFile: join(work, 'model', 'train.conll'), devFile: join(work, 'model', 'dev.conll') },
    members: { seed: 2, epochs: 4 },
    export: { outDir: join(work, 'model', 'bundle'), name: 'clinical-ner', version: '1.0.0' },
  });
  await stage.start(['models']);
  await stage.apply(
    nerModel('clinical-ner-v1', '1.0.0', await stage.put('models', m.outDir, 'clinical-ner/1.0.0'), m.digest),
  );
  await waitModelReady(stage, 'clinical-ner-v1', quiet);
  await stage.apply(nerDeployment());
  await waitServing(stage, DEPLOYMENT, 'clinical-ner-v1', quiet);
  const endpoints = await new ServiceEndpoints(stage.kube, { namespace: stage.namespace, service: DEPLOYMENT }).start();
  let vocabulary: Vocabulary = 'base';
  const notes: Record<Vocabulary, () => string> = {
    base: cycle(generateNotes({ count: 5000, seed: 101 }).map((n) => n.text)),
    shifted: cycle(generateNotes({ count: 2000, seed: 303, vocabulary: 'shifted' }).map((n) => n.text)),
  };
  const traffic = new TrafficGenerator({
    rate,
    targets: endpoints.targets,
    nextText: () => notes[vocabulary](),
  }).start();
  try {
    await stage.apply(defaultPolicy('models'));
    const seen = new Map<string, DriftPolicy>();
    const poll = async () => {
      const p = await stage.get<DriftPolicy>(driftPolicies, 'defaults').catch(() => undefined);
      const t = p?.status?.lastEvaluation?.time;
      if (p && t && !seen.has(t)) seen.set(t, p);
      return p;
    };
    // Wait for the window to fill, then count every evaluation for `minutes`.
    const fillDeadline = Date.now() + 3 * 60_000;
    while ((await poll())?.status?.state !== 'Healthy') {
      if (Date.now() > fillDeadline)
        throw new Error(
          `no Healthy evaluation within 3 minutes: ${(await poll())?.status?.lastEvaluation?.message ?? 'no evaluation'}`,
        );
      await new Promise((r) => setTimeout(r, 1000));
    }
    seen.clear();
    const soakEnd = Date.now() + minutes * 60_000;
    while (Date.now() < soakEnd) {
      await poll();
      await new Promise((r) => setTimeout(r, 1000));
    }
    const evaluations = [...seen.values()];
    const alarms = evaluations.filter((p) => p.status?.state === 'Warning' || p.status?.state === 'Critical').length;
    const notHealthy = evaluations.filter((p) => p.status?.state !== 'Healthy').map((p) => p.status?.state);
    const breaches = evaluations.filter((p) =>
      p.status?.lastEvaluation?.signals.some((s) => s.level === 'Warning' || s.level === 'Critical'),
    ).length;
    const max: Record<string, number> = {};
    for (const p of evaluations)
      for (const s of p.status?.lastEvaluation?.signals ?? []) max[s.name] = Math.max(max[s.name] ?? 0, s.value ?? 0);
    const docs = evaluations.map((p) => p.status?.lastEvaluation?.samples ?? 0);
    console.log(
      `false alarms: ${minutes} min of in-distribution traffic at ${rate} req/s, ${evaluations.length} evaluations (every 5 s over 1 m, ${Math.min(...docs)}–${Math.max(...docs)} documents each)`,
    );
    console.log(
      `  confirmed alarms (Warning/Critical): ${alarms}; other non-Healthy states: ${notHealthy.filter((s) => s !== 'Warning' && s !== 'Critical').length}; evaluations with a single unconfirmed breach: ${breaches}`,
    );
    console.log(
      `  largest value per signal: ${Object.entries(max)
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join(', ')} (warning: 0.1, 0.1, 0.1, 0.05)`,
    );

    // Detection delay.
    const onset = Date.now();
    const sentAtOnset = traffic.stats.sent;
    vocabulary = 'shifted';
    let detected: DriftPolicy | undefined;
    while (Date.now() - onset < 5 * 60_000) {
      const p = await poll();
      if (p?.status?.state === 'Warning' || p?.status?.state === 'Critical') {
        detected = p;
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    if (!detected) throw new Error('shifted traffic was not detected within 5 minutes');
    console.log(
      `detection: shifted notes → ${detected.status?.state} after ${((Date.now() - onset) / 1000).toFixed(1)} s / ${traffic.stats.sent - sentAtOnset} requests (3 consecutive breaches at a 5 s interval)`,
    );
    console.log(
      `  values: ${detected.status?.lastEvaluation?.signals.map((s) => `${s.name} ${s.value?.toFixed(3)} ${s.level}`).join(', ')}`,
    );
    console.log(`traffic: ${traffic.stats.sent} requests, codes ${JSON.stringify(traffic.stats.codes)}`);
  } finally {
    endpoints.stop();
    await traffic.stop();
  }
}

try {
  await main();
} catch (err) {
  console.error(`bench:drift failed: ${(err as Error).message} (operator log: ${stage.operatorLog})`);
  process.exitCode = 1;
} finally {
  await stage.stop();
  if (process.exitCode !== 1) await rm(work, { recursive: true, force: true });
}
