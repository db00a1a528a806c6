/**
 * The main job, `npm run demo` (scripts/demo.sh): the whole nerops story on a local cluster whose pods
 * run in containers, installed the way users install it, start to finish.
 *
 *  1. two models are trained on synthetic notes (no patient data): v1 and a better v2;
 *  2. the `real` profile of local-cluster comes up (control plane, one node with containerd, kubelet and
 *     kube-proxy, CoreDNS, the StorageClass `standard`, Prometheus); the operator is installed by
 *     `helm install` of charts/nerops (image nerops:dev, its own ServiceAccount and RBAC); the bundles
 *     and the retraining dataset are copied onto claims (`kubectl cp` through a loader pod) and named
 *     by `pvc://` URIs;
 *  3. NerModel v1 is validated by a Job and a NerDeployment serves it; paced traffic from the host
 *     flows to the Service's ready pods (their IPs on the node's bridge);
 *  4. NerModel v2 appears: it is gated, canaried step by step with analysis from Prometheus, promoted;
 *  5. a DriftPolicy watches the traffic: Healthy on in-distribution notes; the notes then shift to a new
 *     vocabulary → Warning → a retraining Job (writing to the retraining claim) → a new NerModel →
 *     validated, canaried, promoted → Healthy again against the new model's baseline;
 *  6. a summary (models, F1, rollouts, drift values, timings), then everything is stopped.
 *
 * Work files (models, manifests, the operator's and pods' logs) stay in `.demo/` (NEROPS_DEMO_DIR).
 * The stage (cluster, Helm install, claims) is scripts/demo/stage.ts, shared with `npm run bench:drift`.
 * scripts/demo.sh installs the system packages, starts Docker and builds the image `nerops:dev` when
 * missing; the first run also builds the Kubernetes binaries with Go (≈ 15 min, cached in ~/.cache/nerops).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { V1Job } from '@kubernetes/client-node';
import type { DriftPolicy } from '../operator/api/driftpolicy.js';
import type { NerDeployment } from '../operator/api/nerdeployment.js';
import type { NerModel } from '../operator/api/nermodel.js';
import { nerDeployments, nerModels } from '../operator/api/resources.js';
import { driftPolicies } from '../operator/api/resources.js';
import { builtin } from '../operator/runtime/resource.js';
import { TrafficGenerator, cycle } from '../loadgen/traffic.js';
import { ServiceEndpoints } from '../local-cluster/service-endpoints.js';
import { generateNotes, writeConll, type Vocabulary } from '../trainer/synthetic.js';
import { trainBundle } from '../trainer/train.js';
import { DEMO_DRIFT, DEMO_ROLLOUT, DEPLOYMENT, driftPolicy, nerDeployment, nerModel } from './demo/objects.js';
import { driftLine, follow, trafficLine, waitModelReady, waitServing } from './demo/progress.js';
import { LocalStage, repoRoot as root } from './demo/stage.js';

const work = resolve(process.env.NEROPS_DEMO_DIR ?? join(root, '.demo'));
const NS = 'nerops-demo';
const RATE = 20;
const MIN = 60_000;
const started = Date.now();
const clock = () => `${String(Math.floor((Date.now() - started) / 1000)).padStart(4)}s`;
const say = (line: string) => console.log(`${clock()}  ${line}`);
const detail = (line: string) => console.log(`${' '.repeat(8)}${line}`);
let phaseNo = 0;
const phase = (title: string) => console.log(`\n[${++phaseNo}/6] ${title}`);

const stage = new LocalStage({ work, namespace: NS, log: say });
/** What runs besides the stage, so any exit stops it. */
const running: { traffic?: TrafficGenerator; endpoints?: ServiceEndpoints } = {};
const timings: Array<[string, number]> = [];

async function cleanup(): Promise<void> {
  running.endpoints?.stop();
  await running.traffic?.stop();
  await stage.stop();
}

const get = <T>(rt: Parameters<LocalStage['get']>[0], name: string) => stage.get<T>(rt, name);
const waitModel = (name: string) => waitModelReady(stage, name, say);
const waitOn = (model: string) => waitServing(stage, DEPLOYMENT, model, say);

async function trainModel(label: string, train: { count: number; seed: number }, epochs: number) {
  const dir = join(work, 'models', label);
  await mkdir(dir, { recursive: true });
  await writeConll(join(dir, 'train.conll'), generateNotes(train));
  await writeConll(join(dir, 'dev.conll'), generateNotes({ count: 400, seed: 1000 + train.seed }));
  const r = await trainBundle({
    corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
    members: { seed: train.seed, epochs },
    export: { outDir: join(dir, 'bundle'), name: 'clinical-ner', version: label },
  });
  say(
    `${label}: ${train.count} notes, ${epochs} epochs → held-out F1 ${r.metrics.micro.f1.toFixed(3)}, ${r.trainSeconds.toFixed(1)} s, sha256:${r.digest.slice(0, 12)}…`,
  );
  return { label, dir: r.outDir, digest: r.digest, f1: r.metrics.micro.f1 };
}

async function main(): Promise<void> {
  await rm(work, { recursive: true, force: true });
  await Promise.all(
    ['manifests', 'models', 'retraining/dataset'].map((d) => mkdir(join(work, d), { recursive: true })),
  );

  phase('training two models on synthetic clinical notes (no patient data)');
  const v1 = await trainModel('1.0.0', { count: 60, seed: 1 }, 1);
  const v2 = await trainModel('1.1.0', { count: 600, seed: 2 }, 4);
  // The annotated data a retraining will get: both vocabularies to learn from, held out on the new one.
  await writeConll(join(work, 'retraining/dataset/train.conll'), [
    ...generateNotes({ count: 300, seed: 3 }),
    ...generateNotes({ count: 300, seed: 4, vocabulary: 'shifted' }),
  ]);
  await writeConll(
    join(work, 'retraining/dataset/dev.conll'),
    generateNotes({ count: 400, seed: 5, vocabulary: 'shifted' }),
  );

  phase(
    'a local cluster (control plane; a node with containerd, kubelet, kube-proxy; CoreDNS; Prometheus), `helm install` of the operator, the models and the dataset on claims',
  );
  const up = Date.now();
  await stage.start(['models', 'retraining']);
  const [v1Uri, v2Uri, datasetUri, outputUri] = await Promise.all([
    stage.put('models', v1.dir, `clinical-ner/${v1.label}`),
    stage.put('models', v2.dir, `clinical-ner/${v2.label}`),
    stage.put('retraining', join(work, 'retraining/dataset'), 'dataset'),
    stage.mkdir('retraining', 'runs'),
  ]);
  timings.push(['cluster up, operator installed, claims bound and loaded', Date.now() - up]);

  phase('serving v1: NerModel (validated by a Job) and NerDeployment; traffic through its Service');
  const t = Date.now();
  await stage.apply(nerModel('clinical-ner-v1', '1.0.0', v1Uri, v1.digest));
  await waitModel('clinical-ner-v1');
  await stage.apply(nerDeployment());
  await waitOn('clinical-ner-v1');
  timings.push(['NerModel applied → serving (validation Job, 2 pods ready)', Date.now() - t]);
  running.endpoints = await new ServiceEndpoints(stage.kube, { namespace: NS, service: DEPLOYMENT }).start();
  const example = 'Hx of atrial fibrillation on apixaban; started lisinopril 10 mg for hypertension.';
  const target = running.endpoints.targets()[0];
  if (target) {
    const r = (await (
      await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: example }),
      })
    ).json()) as { entities: Array<{ label: string; text: string; score: number }> };
    say(`POST /v1/extract "${example}"`);
    for (const e of r.entities)
      detail(`${e.label.padEnd(10)} ${JSON.stringify(e.text).padEnd(24)} p=${e.score.toFixed(3)}`);
  }
  let vocabulary: Vocabulary = 'base';
  const notes: Record<Vocabulary, () => string> = {
    base: cycle(generateNotes({ count: 1000, seed: 101 }).map((n) => n.text)),
    shifted: cycle(generateNotes({ count: 1000, seed: 303, vocabulary: 'shifted' }).map((n) => n.text)),
  };
  running.traffic = new TrafficGenerator({
    rate: RATE,
    targets: running.endpoints.targets,
    nextText: () => notes[vocabulary](),
  }).start();
  const trafficTicker = setInterval(
    () => running.traffic && say(`traffic: ${trafficLine(running.traffic.stats, RATE)} (${vocabulary} notes)`),
    15_000,
  );
  say(
    `traffic: ${RATE} req/s of synthetic notes from this host, spread over the Service's ready pods (pod IPs on the node's bridge)`,
  );

  try {
    phase(
      `canary: v2 appears in the family → gates → steps ${DEMO_ROLLOUT.steps.map((s) => `${s.weight}%/${s.pauseSeconds}s`).join(', ')} → promote`,
    );
    await new Promise((r) => setTimeout(r, 10_000)); // some stable traffic first
    await stage.apply(nerModel('clinical-ner-v2', '1.1.0', v2Uri, v2.digest));
    await waitModel('clinical-ner-v2');
    const readyAt = Date.now();
    await waitOn('clinical-ner-v2');
    timings.push(['v2: NerModel Ready → 100 % of traffic', Date.now() - readyAt]);

    phase(
      `drift: a DriftPolicy (every ${DEMO_DRIFT.interval} over ${DEMO_DRIFT.window}, ${DEMO_DRIFT.consecutiveBreaches} breaches) → retraining → canary → promote`,
    );
    await stage.apply(driftPolicy(datasetUri, outputUri));
    const healthy = await follow(
      'in-distribution evaluations',
      () => get<DriftPolicy>(driftPolicies, DEPLOYMENT),
      driftLine,
      (p) => p.status?.state === 'Healthy',
      { timeoutMs: 2 * MIN, print: say },
    );
    await new Promise((r) => setTimeout(r, 15_000));
    say(`the notes now shift to a new vocabulary (other diseases, drugs and phrasing)`);
    vocabulary = 'shifted';
    const onset = Date.now();
    const sentAtOnset = running.traffic.stats.sent;
    const warned = await follow(
      'a retraining Job',
      () => get<DriftPolicy>(driftPolicies, DEPLOYMENT),
      driftLine,
      (p) => p.status?.activeJob !== undefined,
      { timeoutMs: 3 * MIN, print: say },
    );
    const job = warned.status?.activeJob?.name ?? '';
    timings.push([
      `drift onset → retraining Job (${running.traffic.stats.sent - sentAtOnset} requests)`,
      Date.now() - onset,
    ]);
    await follow(
      `Job ${job}`,
      () => get<V1Job>(builtin.jobs, job),
      (j) =>
        `Job ${job}: ${j.status?.succeeded ? 'Succeeded' : j.status?.failed ? 'Failed' : 'Running'} (ner-ops retrain: validate dataset, train, evaluate new vs base)`,
      (j) => !!(j.status?.succeeded || j.status?.failed),
      { timeoutMs: 5 * MIN, print: say },
    );
    const run = await follow(
      'the retraining result',
      () => get<DriftPolicy>(driftPolicies, DEPLOYMENT),
      (p) =>
        `retraining: ${p.status?.history?.at(-1)?.outcome ?? 'pending'} ${p.status?.history?.at(-1)?.message ?? ''}`,
      (p) => p.status?.history?.at(-1)?.runId === warned.status?.activeJob?.runId,
      { timeoutMs: MIN, print: say },
    );
    const record = run.status?.history?.at(-1);
    if (record?.outcome !== 'Succeeded' || !record.model)
      throw new Error(`retraining ${record?.outcome}: ${record?.message}`);
    await waitModel(record.model);
    await waitOn(record.model);
    timings.push(['drift onset → retrained model at 100 % of traffic', Date.now() - onset]);
    const after = await follow(
      `the policy against ${record.model}'s baseline`,
      () => get<DriftPolicy>(driftPolicies, DEPLOYMENT),
      driftLine,
      (p) => p.status?.lastEvaluation?.model === record.model && p.status?.state === 'Healthy',
      { timeoutMs: 2 * MIN, print: say },
    );

    phase('summary');
    clearInterval(trafficTicker);
    await summary(healthy, warned, after);
  } finally {
    clearInterval(trafficTicker);
  }
}

async function summary(healthy: DriftPolicy, warned: DriftPolicy, after: DriftPolicy): Promise<void> {
  const models = await stage.list<NerModel>(nerModels);
  console.log('  models');
  for (const m of models) {
    const parent = m.spec.lineage?.parentModel
      ? `retrained from ${m.spec.lineage.parentModel} by Job ${m.spec.lineage.trainingJob}`
      : 'applied by hand';
    console.log(
      `    ${m.metadata.name?.padEnd(34)} ${m.status?.phase?.padEnd(6)} F1 ${m.status?.metrics?.micro.f1.toFixed(3) ?? '–'}  ${parent}`,
    );
  }
  const nd = await get<NerDeployment>(nerDeployments, DEPLOYMENT);
  console.log('  rollouts');
  for (const h of nd.status?.history ?? []) {
    const secs = h.startTime ? ` in ${((Date.parse(h.endTime) - Date.parse(h.startTime)) / 1000).toFixed(0)} s` : '';
    console.log(
      `    ${h.previousModel ?? '–'} → ${h.model}: ${h.outcome}${secs} (${h.stepsCompleted ?? 0}/${nd.spec.rollout.steps.length} steps)`,
    );
  }
  const values = (p: DriftPolicy) =>
    p.status?.lastEvaluation?.signals.map((s) => `${s.name} ${s.value?.toFixed(3) ?? '–'}`).join(', ');
  console.log('  drift signals (warning thresholds: 0.1 distance/PSI, 0.05 unknown-token rate)');
  console.log(`    in-distribution vs v2:         ${values(healthy)}`);
  console.log(`    shifted vs v2 (Warning):       ${values(warned)}`);
  console.log(`    shifted vs retrained model:    ${values(after)}`);
  console.log('  timings');
  for (const [what, ms] of timings) console.log(`    ${what.padEnd(58)} ${(ms / 1000).toFixed(1)} s`);
  const s = running.traffic?.stats;
  if (s) console.log(`  traffic   ${s.sent} requests, ${s.ok} ok, codes ${JSON.stringify(s.codes)}`);
  console.log(`  files     ${work.replace(`${root}/`, '')}/ (manifests, models, operator.log, pods/, cluster/logs)`);
  console.log(`  total     ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping the demo cluster…`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (err) {
  const causes: string[] = [];
  for (let e = (err as Error).cause; e instanceof Error && causes.length < 5; e = e.cause)
    causes.push(`  cause: ${e.message}`);
  console.error(
    `\ndemo failed: ${(err as Error).message}${causes.map((c) => `\n${c}`).join('')}\n  logs (saved while stopping): ${stage.operatorLog}, ${join(work, 'pods')}, ${join(work, 'cluster', 'logs')}`,
  );
  process.exitCode = 1;
} finally {
  console.log(`\nstopping the cluster and the operator…`);
  await cleanup();
}
