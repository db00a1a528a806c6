/**
 * The main job, `npm run demo`: the whole nerops story on a local cluster, start to finish.
 *
 *  1. a local Kubernetes control plane with a process node and Prometheus comes up (test/cluster);
 *  2. two models are trained on synthetic notes (no patient data): v1 and a better v2;
 *  3. the CRDs are installed and the operator starts (`ner-ops operator`, as in a real cluster);
 *  4. NerModel v1 is validated and a NerDeployment serves it; paced traffic flows through its Service;
 *  5. NerModel v2 appears: it is gated, canaried step by step with analysis from Prometheus, promoted;
 *  6. a DriftPolicy watches the traffic: Healthy on in-distribution notes; the notes then shift to a new
 *     vocabulary → Warning → a retraining Job → a new NerModel → validated, canaried, promoted → Healthy
 *     again against the new model's baseline;
 *  7. a summary (models, F1, rollouts, drift values, timings), then everything is stopped.
 *
 * Work files (models, manifests, operator and pod logs) stay in `.demo/` (NEROPS_DEMO_DIR) for reading.
 * The first run builds the Kubernetes binaries with Go (≈ 20 min, cached in ~/.cache/nerops).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import yaml from 'js-yaml';
import type { V1Job } from '@kubernetes/client-node';
import type { DriftPolicy } from '../operator/src/api/driftpolicy.js';
import type { NerDeployment } from '../operator/src/api/nerdeployment.js';
import type { NerModel } from '../operator/src/api/nermodel.js';
import { nerDeployments, nerModels } from '../operator/src/controllers/common.js';
import { driftPolicies } from '../operator/src/controllers/driftpolicy/reconcile.js';
import { KubeClient } from '../operator/src/runtime/kube.js';
import { builtin, resourcePath, type ResourceType } from '../operator/src/runtime/resource.js';
import { TrafficGenerator, cycle } from '../server/traffic.js';
import { ensureBinaries } from '../test/cluster/binaries.js';
import { startCluster, type Cluster } from '../test/cluster/cluster.js';
import { prometheusBinary } from '../test/cluster/prometheus.js';
import { ServiceEndpoints } from '../test/cluster/service-endpoints.js';
import { generateNotes, writeConll, type Vocabulary } from '../trainer/synthetic.js';
import { trainBundle } from '../trainer/train.js';
import { DEMO_DRIFT, DEMO_ROLLOUT, DEPLOYMENT, driftPolicy, nerDeployment, nerModel, type Manifest } from './demo/objects.js';
import { driftLine, follow, rolloutLine, trafficLine } from './demo/progress.js';

const root = resolve(import.meta.dirname, '..', '..');
const work = resolve(process.env.NEROPS_DEMO_DIR ?? join(root, '.demo'));
const NS = 'nerops-demo';
const RATE = 20;
const MIN = 60_000;
const started = Date.now();
const clock = () => `${String(Math.floor((Date.now() - started) / 1000)).padStart(4)}s`;
const say = (line: string) => console.log(`${clock()}  ${line}`);
const detail = (line: string) => console.log(`${' '.repeat(8)}${line}`);
let phaseNo = 0;
const phase = (title: string) => console.log(`\n[${++phaseNo}/7] ${title}`);

/** What is running, so any exit stops it. */
const running: { cluster?: Cluster; operator?: ChildProcess; traffic?: TrafficGenerator; endpoints?: ServiceEndpoints; kube?: KubeClient } = {};
const timings: Array<[string, number]> = [];

async function cleanup(): Promise<void> {
  running.endpoints?.stop();
  await running.traffic?.stop();
  const op = running.operator;
  if (op && op.exitCode === null) {
    op.kill('SIGTERM');
    await Promise.race([new Promise((r) => op.once('exit', r)), new Promise((r) => setTimeout(r, 5000).unref())]);
  }
  running.kube?.close();
  await running.cluster?.stop();
}

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(running.cluster?.binaries.kubectl ?? 'kubectl', ['--kubeconfig', running.cluster?.kubeconfigPath ?? '', ...args]);
  return stdout.trim();
}

/** Write the manifest to .demo/manifests and `kubectl apply` it, as a user would. */
async function apply(m: Manifest): Promise<void> {
  const file = join(work, 'manifests', `${m.kind?.toLowerCase()}-${m.metadata.name}.yaml`);
  await writeFile(file, yaml.dump(m, { lineWidth: 120 }));
  say(`kubectl apply -f ${file.replace(`${root}/`, '')}`);
  detail(await kubectl('apply', '-n', NS, '-f', file));
}

function get<T>(rt: ResourceType, name: string): Promise<T> {
  return (running.kube as KubeClient).request<T>({ method: 'GET', path: resourcePath(rt, NS, name) });
}

async function waitModelReady(name: string): Promise<NerModel> {
  const m = await follow(
    `NerModel ${name} to be Ready`,
    () => get<NerModel>(nerModels, name),
    (m) => `NerModel ${name}: ${m.status?.phase ?? 'Pending'}${m.status?.metrics ? ` (validated: held-out F1 ${m.status.metrics.micro.f1.toFixed(3)})` : ''}`,
    (m) => m.status?.phase === 'Ready' || m.status?.phase === 'Rejected' || m.status?.phase === 'Failed',
    { timeoutMs: 3 * MIN, print: say },
  );
  if (m.status?.phase !== 'Ready') throw new Error(`NerModel ${name} is ${m.status?.phase}: ${m.status?.conditions?.map((c) => c.message).join('; ')}`);
  return m;
}

/** Follow the NerDeployment until `model` serves 100 % of traffic (or the rollout is aborted). */
async function waitServing(model: string): Promise<NerDeployment> {
  const nd = await follow(
    `${model} to serve all traffic`,
    () => get<NerDeployment>(nerDeployments, DEPLOYMENT),
    rolloutLine,
    (nd) => (nd.status?.stableModel === model && nd.status.phase === 'Healthy' && nd.status.weights?.canary === 0) || nd.status?.phase === 'RolledBack' || nd.status?.rejectedModel === model,
    { timeoutMs: 6 * MIN, print: say },
  );
  if (nd.status?.stableModel !== model) throw new Error(`${model} was not promoted: ${nd.status?.abortReason ?? nd.status?.message ?? nd.status?.phase}`);
  return nd;
}

async function trainModel(label: string, train: { count: number; seed: number }, epochs: number) {
  const dir = join(work, 'models', label);
  await mkdir(dir, { recursive: true });
  await writeConll(join(dir, 'train.conll'), generateNotes(train));
  await writeConll(join(dir, 'dev.conll'), generateNotes({ count: 400, seed: 1000 + train.seed }));
  const r = await trainBundle({ trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll'), outDir: join(dir, 'bundle'), seed: train.seed, epochs, name: 'clinical-ner', version: label });
  say(`${label}: ${train.count} notes, ${epochs} epochs → held-out F1 ${r.metrics.micro.f1.toFixed(3)}, ${r.trainSeconds.toFixed(1)} s, sha256:${r.digest.slice(0, 12)}…`);
  return { uri: pathToFileURL(r.outDir).href, digest: r.digest, f1: r.metrics.micro.f1 };
}

async function main(): Promise<void> {
  await rm(work, { recursive: true, force: true });
  await Promise.all(['manifests', 'models', 'retraining/dataset', 'retraining/runs'].map((d) => mkdir(join(work, d), { recursive: true })));

  phase('a local cluster: kube-apiserver, etcd, controller-manager, scheduler, a process node, Prometheus');
  prometheusBinary(); // fail now, with the install command, rather than after the build
  await ensureBinaries((l) => process.stdout.write(`        ${l}`));
  running.cluster = await startCluster({ profile: 'full', stateDir: join(work, 'cluster') });
  running.kube = new KubeClient(running.cluster.kubeConfig, { userAgent: 'nerops-demo' });
  say(`cluster up in ${(running.cluster.startMs / 1000).toFixed(1)} s; export KUBECONFIG=${running.cluster.kubeconfigPath}`);
  say(`Prometheus ${running.cluster.prometheusUrl} (scrapes every pod every second)`);

  phase('training two models on synthetic clinical notes (no patient data)');
  const v1 = await trainModel('1.0.0', { count: 60, seed: 1 }, 1);
  const v2 = await trainModel('1.1.0', { count: 600, seed: 2 }, 4);
  // The annotated data a retraining will get: both vocabularies to learn from, held out on the new one.
  await writeConll(join(work, 'retraining/dataset/train.conll'), [...generateNotes({ count: 300, seed: 3 }), ...generateNotes({ count: 300, seed: 4, vocabulary: 'shifted' })]);
  await writeConll(join(work, 'retraining/dataset/dev.conll'), generateNotes({ count: 400, seed: 5, vocabulary: 'shifted' }));

  phase('installing the CRDs and starting the operator (ner-ops operator)');
  detail(await kubectl('apply', '--server-side', '-f', join(root, 'crds')));
  await kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd/nermodels.nerops.io', 'crd/nerdeployments.nerops.io', 'crd/driftpolicies.nerops.io');
  detail(await kubectl('create', 'namespace', NS));
  const log = createWriteStream(join(work, 'operator.log'));
  const cli = join(root, 'dist', 'cli', 'ner-ops.js');
  const operatorArgs = ['operator', '--kubeconfig', running.cluster.kubeconfigPath, '--prometheus-url', running.cluster.prometheusUrl ?? '', '--namespace', NS, '--leader-elect', 'false', '--metrics-host', '127.0.0.1', '--metrics-port', '0'];
  running.operator = spawn(process.execPath, [cli, ...operatorArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.operator.stdout?.pipe(log);
  running.operator.stderr?.pipe(log);
  running.operator.once('exit', (code) => code !== null && code !== 0 && console.error(`operator exited with ${code}; see ${join(work, 'operator.log')}`));
  say(`ner-ops operator --namespace ${NS} --prometheus-url … (logs: ${join(work, 'operator.log').replace(`${root}/`, '')})`);

  phase('serving v1: NerModel (validated by a Job) and NerDeployment; traffic through its Service');
  let t = Date.now();
  await apply(nerModel('clinical-ner-v1', '1.0.0', v1.uri, v1.digest));
  await waitModelReady('clinical-ner-v1');
  await apply(nerDeployment());
  await waitServing('clinical-ner-v1');
  timings.push(['NerModel applied → serving (validation Job, 2 pods ready)', Date.now() - t]);
  running.endpoints = await new ServiceEndpoints(running.kube, { namespace: NS, service: DEPLOYMENT }).start();
  const example = 'Hx of atrial fibrillation on apixaban; started lisinopril 10 mg for hypertension.';
  const target = running.endpoints.targets()[0];
  if (target) {
    const r = (await (await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: example }) })).json()) as { entities: Array<{ label: string; text: string; score: number }> };
    say(`POST /v1/extract "${example}"`);
    for (const e of r.entities) detail(`${e.label.padEnd(10)} ${JSON.stringify(e.text).padEnd(24)} p=${e.score.toFixed(3)}`);
  }
  let vocabulary: Vocabulary = 'base';
  const notes: Record<Vocabulary, () => string> = {
    base: cycle(generateNotes({ count: 1000, seed: 101 }).map((n) => n.text)),
    shifted: cycle(generateNotes({ count: 1000, seed: 303, vocabulary: 'shifted' }).map((n) => n.text)),
  };
  running.traffic = new TrafficGenerator({ rate: RATE, targets: running.endpoints.targets, nextText: () => notes[vocabulary]() }).start();
  const trafficTicker = setInterval(() => running.traffic && say(`traffic: ${trafficLine(running.traffic.stats, RATE)} (${vocabulary} notes)`), 15_000);
  say(`traffic: ${RATE} req/s of synthetic notes, spread over the Service's ready pods`);

  try {
    phase(`canary: v2 appears in the family → gates → steps ${DEMO_ROLLOUT.steps.map((s) => `${s.weight}%/${s.pauseSeconds}s`).join(', ')} → promote`);
    await new Promise((r) => setTimeout(r, 10_000)); // some stable traffic first
    t = Date.now();
    await apply(nerModel('clinical-ner-v2', '1.1.0', v2.uri, v2.digest));
    await waitModelReady('clinical-ner-v2');
    const readyAt = Date.now();
    await waitServing('clinical-ner-v2');
    timings.push(['v2: NerModel Ready → 100 % of traffic', Date.now() - readyAt]);

    phase(`drift: a DriftPolicy (every ${DEMO_DRIFT.interval} over ${DEMO_DRIFT.window}, ${DEMO_DRIFT.consecutiveBreaches} breaches) → retraining → canary → promote`);
    await apply(driftPolicy(pathToFileURL(join(work, 'retraining/dataset')).href, pathToFileURL(join(work, 'retraining/runs')).href));
    const healthy = await follow('in-distribution evaluations', () => get<DriftPolicy>(driftPolicies, DEPLOYMENT), driftLine, (p) => p.status?.state === 'Healthy', { timeoutMs: 2 * MIN, print: say });
    await new Promise((r) => setTimeout(r, 15_000));
    say(`the notes now shift to a new vocabulary (other diseases, drugs and phrasing)`);
    vocabulary = 'shifted';
    const onset = Date.now();
    const sentAtOnset = running.traffic.stats.sent;
    const warned = await follow('a retraining Job', () => get<DriftPolicy>(driftPolicies, DEPLOYMENT), driftLine, (p) => p.status?.activeJob !== undefined, { timeoutMs: 3 * MIN, print: say });
    const job = warned.status?.activeJob?.name ?? '';
    timings.push([`drift onset → retraining Job (${running.traffic.stats.sent - sentAtOnset} requests)`, Date.now() - onset]);
    await follow(`Job ${job}`, () => get<V1Job>(builtin.jobs, job), (j) => `Job ${job}: ${j.status?.succeeded ? 'Succeeded' : j.status?.failed ? 'Failed' : 'Running'} (ner-ops retrain: validate dataset, train, evaluate new vs base)`, (j) => !!(j.status?.succeeded || j.status?.failed), { timeoutMs: 5 * MIN, print: say });
    const run = await follow('the retraining result', () => get<DriftPolicy>(driftPolicies, DEPLOYMENT), (p) => `retraining: ${p.status?.history?.at(-1)?.outcome ?? 'pending'} ${p.status?.history?.at(-1)?.message ?? ''}`, (p) => p.status?.history?.at(-1)?.runId === warned.status?.activeJob?.runId, { timeoutMs: MIN, print: say });
    const record = run.status?.history?.at(-1);
    if (record?.outcome !== 'Succeeded' || !record.model) throw new Error(`retraining ${record?.outcome}: ${record?.message}`);
    await waitModelReady(record.model);
    await waitServing(record.model);
    timings.push(['drift onset → retrained model at 100 % of traffic', Date.now() - onset]);
    const after = await follow(`the policy against ${record.model}'s baseline`, () => get<DriftPolicy>(driftPolicies, DEPLOYMENT), driftLine, (p) => p.status?.lastEvaluation?.model === record.model && p.status?.state === 'Healthy', { timeoutMs: 2 * MIN, print: say });

    phase('summary');
    clearInterval(trafficTicker);
    await summary(healthy, warned, after);
  } finally {
    clearInterval(trafficTicker);
  }
}

async function summary(healthy: DriftPolicy, warned: DriftPolicy, after: DriftPolicy): Promise<void> {
  const models = (await (running.kube as KubeClient).request<{ items: NerModel[] }>({ method: 'GET', path: resourcePath(nerModels, NS) })).items;
  console.log('  models');
  for (const m of models) {
    const parent = m.spec.lineage?.parentModel ? `retrained from ${m.spec.lineage.parentModel} by Job ${m.spec.lineage.trainingJob}` : 'applied by hand';
    console.log(`    ${m.metadata.name?.padEnd(34)} ${m.status?.phase?.padEnd(6)} F1 ${m.status?.metrics?.micro.f1.toFixed(3) ?? '–'}  ${parent}`);
  }
  const nd = await get<NerDeployment>(nerDeployments, DEPLOYMENT);
  console.log('  rollouts');
  for (const h of nd.status?.history ?? []) {
    const secs = h.startTime ? ` in ${((Date.parse(h.endTime) - Date.parse(h.startTime)) / 1000).toFixed(0)} s` : '';
    console.log(`    ${h.previousModel ?? '–'} → ${h.model}: ${h.outcome}${secs} (${h.stepsCompleted ?? 0}/${nd.spec.rollout.steps.length} steps)`);
  }
  const values = (p: DriftPolicy) => p.status?.lastEvaluation?.signals.map((s) => `${s.name} ${s.value?.toFixed(3) ?? '–'}`).join(', ');
  console.log('  drift signals (warning thresholds: 0.1 distance/PSI, 0.05 unknown-token rate)');
  console.log(`    in-distribution vs v2:         ${values(healthy)}`);
  console.log(`    shifted vs v2 (Warning):       ${values(warned)}`);
  console.log(`    shifted vs retrained model:    ${values(after)}`);
  console.log('  timings');
  for (const [what, ms] of timings) console.log(`    ${what.padEnd(58)} ${(ms / 1000).toFixed(1)} s`);
  const s = running.traffic?.stats;
  if (s) console.log(`  traffic   ${s.sent} requests, ${s.ok} ok, codes ${JSON.stringify(s.codes)}`);
  console.log(`  files     ${work.replace(`${root}/`, '')}/ (manifests, models, retraining runs, operator.log, cluster/pods logs)`);
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
  console.error(`\ndemo failed: ${(err as Error).message}\n  logs: ${join(work, 'operator.log')}, ${join(work, 'cluster', 'logs')}`);
  process.exitCode = 1;
} finally {
  console.log(`\nstopping the cluster and the operator…`);
  await cleanup();
}
