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
 *  5. a DriftPolicy watches the traffic and a validation team's corrections (`POST /v1/feedback`, gold
 *     entities from the generator, kept in a feedback store on a claim of its own): Healthy on
 *     in-distribution notes; the notes then shift to a new vocabulary → the live F1 of the corrections falls,
 *     drift → a retraining Job (writing to the retraining claim) → a new NerModel → validated, canaried,
 *     promoted → Healthy again against the new model's baseline, live F1 back up;
 *  6. a summary (models, F1, rollouts, drift values, live F1 by version, assertions counted against what the
 *     notes say, timings), then everything is stopped.
 *
 * The notes carry findings that are negated, a relative's, uncertain or historical (the generator's
 * `assertions` option), and the models are served with the English assertion rules: the demo knows what each
 * note says about each finding and counts what the answers report (and what Prometheus counted).
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
import { ServerMetric } from '../contracts/metrics.js';
import type { Assertion } from '../engine/assertions/types.js';
import { TrafficGenerator, cycle } from '../loadgen/traffic.js';
import { ServiceEndpoints } from '../local-cluster/service-endpoints.js';
import { PrometheusClient } from '../operator/prometheus/client.js';
import {
  generateNotes,
  writeConll,
  type GoldEntity,
  type SyntheticNote,
  type Vocabulary,
} from '../trainer/synthetic.js';
import { trainBundle } from '../trainer/train.js';
import { AssertionTally, type ServedEntity } from './demo/assertion-tally.js';
import {
  DEMO_DRIFT,
  DEMO_FEEDBACK,
  DEMO_ROLLOUT,
  DEPLOYMENT,
  driftPolicy,
  nerDeployment,
  nerModel,
} from './demo/objects.js';
import { driftLine, follow, trafficLine, waitModelReady, waitServing } from './demo/progress.js';
import { LocalStage, repoRoot as root } from './demo/stage.js';
import { f1Of, liveF1, liveF1Line, ValidationTeam, type LiveF1 } from './demo/validation.js';

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
const running: { traffic?: TrafficGenerator; endpoints?: ServiceEndpoints; team?: ValidationTeam } = {};
const timings: Array<[string, number]> = [];
/** The traffic's gold findings against what the answers reported. */
const tally = new AssertionTally();
/** Live F1 by version (PromQL) at the moments the summary shows. */
const live: { base?: Record<string, LiveF1>; shifted?: Record<string, LiveF1> } = {};
/** When the traffic and the validation team started, and when the notes shifted (ms). */
const at: { traffic?: number; team?: number; onset?: number } = {};

async function cleanup(): Promise<void> {
  running.endpoints?.stop();
  await running.team?.stop();
  await running.traffic?.stop();
  await stage.stop();
}

/** The demo's synthetic notes: with the assertion templates and every note's gold entities. */
const notesOf = (count: number, seed: number, vocabulary: Vocabulary = 'base') =>
  generateNotes({ count, seed, vocabulary, assertions: true });

/** The notes one after the other, round and round. */
function inTurn<T>(items: readonly T[]): () => T {
  let i = 0;
  return () => items[i++ % items.length] as T;
}

/** `negated`, `a relative's`, … : the assertion's attributes that are not the default, for a progress line. */
function assertionWords(a: Assertion | undefined): string {
  if (!a) return '';
  const words = [
    a.negated ? 'negated' : '',
    a.certainty !== 'certain' ? a.certainty : '',
    a.temporality !== 'current' ? a.temporality : '',
    a.experiencer !== 'patient' ? "a relative's" : '',
  ].filter(Boolean);
  return words.length ? words.join(', ') : 'affirmed, current, the patient';
}

const get = <T>(rt: Parameters<LocalStage['get']>[0], name: string) => stage.get<T>(rt, name);
const waitModel = (name: string) => waitModelReady(stage, name, say);
const waitOn = (model: string) => waitServing(stage, DEPLOYMENT, model, say);

async function trainModel(label: string, train: { count: number; seed: number }, epochs: number) {
  const dir = join(work, 'models', label);
  await mkdir(dir, { recursive: true });
  await writeConll(join(dir, 'train.conll'), notesOf(train.count, train.seed));
  await writeConll(join(dir, 'dev.conll'), notesOf(400, 1000 + train.seed));
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
  await writeConll(join(work, 'retraining/dataset/train.conll'), [...notesOf(300, 3), ...notesOf(300, 4, 'shifted')]);
  await writeConll(join(work, 'retraining/dataset/dev.conll'), notesOf(400, 5, 'shifted'));

  phase(
    'a local cluster (control plane; a node with containerd, kubelet, kube-proxy; CoreDNS; Prometheus), `helm install` of the operator, the models and the dataset on claims',
  );
  const up = Date.now();
  await stage.start(['models', 'retraining', 'feedback']);
  const [v1Uri, v2Uri, datasetUri, outputUri, feedbackUri] = await Promise.all([
    stage.put('models', v1.dir, `clinical-ner/${v1.label}`),
    stage.put('models', v2.dir, `clinical-ner/${v2.label}`),
    stage.put('retraining', join(work, 'retraining/dataset'), 'dataset'),
    stage.mkdir('retraining', 'runs'),
    // A claim of its own: a pod serving a retrained model (from the retraining claim) must not mount one claim
    // twice, as the model's and the store's volume, which the kubelet never finishes setting up.
    stage.mkdir('feedback', 'clinical-ner'),
  ]);
  const prom = new PrometheusClient({ url: stage.cluster.prometheusUrl ?? '' });
  timings.push(['cluster up, operator installed, claims bound and loaded', Date.now() - up]);

  phase('serving v1: NerModel (validated by a Job) and NerDeployment; traffic through its Service');
  const t = Date.now();
  await stage.apply(nerModel('clinical-ner-v1', '1.0.0', v1Uri, v1.digest, { assertionLanguage: 'en' }));
  await waitModel('clinical-ner-v1');
  await stage.apply(nerDeployment({ feedbackStoreUri: feedbackUri }));
  await waitOn('clinical-ner-v1');
  timings.push(['NerModel applied → serving (validation Job, 2 pods ready)', Date.now() - t]);
  running.endpoints = await new ServiceEndpoints(stage.kube, { namespace: NS, service: DEPLOYMENT }).start();
  const example =
    'Hx of atrial fibrillation. Started lisinopril for hypertension. Denies asthma. Mother had breast cancer.';
  const target = running.endpoints.targets()[0];
  if (target) {
    const r = (await (
      await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: example }),
      })
    ).json()) as { entities: Array<{ label: string; text: string; score: number; assertion?: Assertion }> };
    say(`POST /v1/extract "${example}"`);
    for (const e of r.entities)
      detail(
        `${e.label.padEnd(10)} ${JSON.stringify(e.text).padEnd(24)} p=${e.score.toFixed(3)}  ${assertionWords(e.assertion)}`,
      );
  }
  let vocabulary: Vocabulary = 'base';
  const corpus: Record<Vocabulary, SyntheticNote[]> = {
    base: notesOf(1000, 101),
    shifted: notesOf(1000, 303, 'shifted'),
  };
  const notes: Record<Vocabulary, () => string> = {
    base: cycle(corpus.base.map((n) => n.text)),
    shifted: cycle(corpus.shifted.map((n) => n.text)),
  };
  const gold = new Map<string, GoldEntity[]>(
    [...corpus.base, ...corpus.shifted].map((n) => [n.text, n.entities ?? []]),
  );
  running.traffic = new TrafficGenerator({
    rate: RATE,
    targets: running.endpoints.targets,
    nextText: () => notes[vocabulary](),
    onAnswer: ({ text, status, body }) => {
      const sent = gold.get(text);
      if (status === 200 && sent) tally.record(sent, (JSON.parse(body) as { entities: ServedEntity[] }).entities);
    },
  }).start();
  at.traffic = Date.now();
  const trafficTicker = setInterval(
    () => running.traffic && say(`traffic: ${trafficLine(running.traffic.stats, RATE)} (${vocabulary} notes)`),
    15_000,
  );
  say(
    `traffic: ${RATE} req/s of synthetic notes from this host, spread over the Service's ready pods (pod IPs on the node's bridge)`,
  );

  let f1Ticker: NodeJS.Timeout | undefined;
  try {
    phase(
      `canary: v2 appears in the family → gates → steps ${DEMO_ROLLOUT.steps.map((s) => `${s.weight}%/${s.pauseSeconds}s`).join(', ')} → promote`,
    );
    await new Promise((r) => setTimeout(r, 10_000)); // some stable traffic first
    await stage.apply(nerModel('clinical-ner-v2', '1.1.0', v2Uri, v2.digest, { assertionLanguage: 'en' }));
    await waitModel('clinical-ner-v2');
    const readyAt = Date.now();
    await waitOn('clinical-ner-v2');
    timings.push(['v2: NerModel Ready → 100 % of traffic', Date.now() - readyAt]);

    phase(
      `drift and corrections: a DriftPolicy (every ${DEMO_DRIFT.interval} over ${DEMO_DRIFT.window}, ${DEMO_DRIFT.consecutiveBreaches} breaches; live F1 of the corrections over ${DEMO_FEEDBACK.window}) → retraining → canary → promote`,
    );
    const validation: Record<Vocabulary, () => SyntheticNote> = {
      base: inTurn(notesOf(1000, 505)),
      shifted: inTurn(notesOf(1000, 606, 'shifted')),
    };
    const team = new ValidationTeam({
      rate: DEMO_FEEDBACK.rate,
      targets: running.endpoints.targets,
      nextNote: () => validation[vocabulary](),
    });
    team.phase = 'base';
    running.team = team.start();
    at.team = Date.now();
    say(
      `a validation team checks ${DEMO_FEEDBACK.rate} notes/s and posts the entities it verified, with their assertions, to POST /v1/feedback (stored in ${feedbackUri})`,
    );
    f1Ticker = setInterval(() => {
      void liveF1(prom, NS, Number.parseInt(DEMO_FEEDBACK.window, 10))
        .then((v) => say(`live F1 of the corrections (PromQL, last ${DEMO_FEEDBACK.window}): ${liveF1Line(v)}`))
        .catch(() => undefined);
    }, 10_000);
    await stage.apply(driftPolicy(datasetUri, outputUri));
    const healthy = await follow(
      'in-distribution evaluations',
      () => get<DriftPolicy>(driftPolicies, DEPLOYMENT),
      driftLine,
      // Healthy with no breach pending: the first evaluation's few documents can sit past a threshold once.
      (p) => p.status?.state === 'Healthy' && (p.status.lastEvaluation?.signals ?? []).every((x) => !x.breaches),
      { timeoutMs: 2 * MIN, print: say },
    );
    await new Promise((r) => setTimeout(r, 15_000));
    live.base = await liveF1(prom, NS, (Date.now() - at.team) / 1000);
    say(`the notes now shift to a new vocabulary (other diseases, drugs and phrasing)`);
    vocabulary = 'shifted';
    team.phase = 'shifted';
    const onset = Date.now();
    at.onset = onset;
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

    clearInterval(f1Ticker);
    await running.team.stop();
    await running.traffic.stop();
    await new Promise((r) => setTimeout(r, 2_000)); // the last scrape
    live.shifted = await liveF1(prom, NS, (Date.now() - onset) / 1000);

    phase('summary');
    clearInterval(trafficTicker);
    await summary(healthy, warned, after, prom);
  } finally {
    clearInterval(trafficTicker);
    clearInterval(f1Ticker);
  }
}

async function summary(
  healthy: DriftPolicy,
  warned: DriftPolicy,
  after: DriftPolicy,
  prom: PrometheusClient,
): Promise<void> {
  const models = await stage.list<NerModel>(nerModels);
  console.log('  models');
  for (const m of models) {
    const feedback = m.spec.lineage?.feedback;
    const parent = m.spec.lineage?.parentModel
      ? `retrained from ${m.spec.lineage.parentModel} by Job ${m.spec.lineage.trainingJob}` +
        (feedback ? ` on the dataset + ${feedback.documents} corrected notes` : '')
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
  await feedbackSummary(prom);
  await assertionSummary(prom);
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

/** Live F1 by version before and after the shift, from PromQL and from the team's own answers. */
async function feedbackSummary(prom: PrometheusClient): Promise<void> {
  const team = running.team;
  if (!team) return;
  console.log(
    `  live F1 of the validation team's corrections (${team.posted} posted, codes ${JSON.stringify(team.codes)}; PromQL over ${ServerMetric.feedbackEntities} by version, beside the team's tally of the answers)`,
  );
  const row = (what: string, v: LiveF1 | undefined, own: ReturnType<typeof f1Of>) =>
    console.log(
      `    ${what.padEnd(40)} ${v?.f1?.toFixed(3) ?? '–'} (${Math.round(v?.gold ?? 0)} gold entities; answers ${own?.toFixed(3) ?? '–'})`,
    );
  for (const [version, v] of Object.entries(live.base ?? {}))
    if (v.gold >= 1)
      row(`${version} on in-distribution notes`, v, f1Of(team.tallies.base?.[version] ?? { tp: 0, fp: 0, fn: 0 }));
  for (const [version, v] of Object.entries(live.shifted ?? {}))
    if (v.gold >= 1)
      row(`${version} on shifted notes`, v, f1Of(team.tallies.shifted?.[version] ?? { tp: 0, fp: 0, fn: 0 }));
  const since = Math.round((Date.now() - (at.team ?? Date.now())) / 1000);
  const agreement = await prom
    .query(`sum by (attribute, outcome) (increase(${ServerMetric.feedbackAssertions}{namespace="${NS}"}[${since}s]))`)
    .catch(() => ({ samples: [] }));
  const parts = ['negated', 'certainty', 'temporality', 'experiencer'].map((attr) => {
    const n = (outcome: string) =>
      agreement.samples.find((s) => s.labels.attribute === attr && s.labels.outcome === outcome)?.value ?? 0;
    const total = n('agree') + n('disagree');
    return `${attr} ${total ? ((100 * n('agree')) / total).toFixed(1) : '–'} %`;
  });
  console.log(
    `    assertion agreement on the entities found (${ServerMetric.feedbackAssertions}): ${parts.join(', ')}`,
  );
}

/** The findings the traffic sent as negated, a relative's, … against what the answers and the metrics say. */
async function assertionSummary(prom: PrometheusClient): Promise<void> {
  console.log(
    `  assertions in the answers (${tally.notes} notes answered, ${tally.gold} findings in them, ${tally.found} found at their exact span; English rules)`,
  );
  for (const line of tally.lines()) console.log(`    ${line}`);
  const since = Math.round((Date.now() - (at.traffic ?? Date.now())) / 1000);
  const counted = await prom
    .query(
      `sum by (attribute, value) (increase(${ServerMetric.entityAssertions}{namespace="${NS}",attribute=~"negated|experiencer"}[${since}s]))`,
    )
    .catch(() => ({ samples: [] }));
  const of = (attribute: string, value: string) =>
    Math.round(counted.samples.find((s) => s.labels.attribute === attribute && s.labels.value === value)?.value ?? 0);
  const entities = of('negated', 'true') + of('negated', 'false');
  const pct = (n: number, of: number) => `${of ? ((100 * n) / of).toFixed(1) : '–'} %`;
  // increase() starts at each pod's first scrape, so the few requests a new pod answers before it are not in it.
  console.log(
    `    ${ServerMetric.entityAssertions} (Prometheus, increase over the run): negated ${pct(of('negated', 'true'), entities)}, a relative's ${pct(of('experiencer', 'other'), entities)} of ${entities} entities; in the answers ${pct(tally.served.negated, tally.served.entities)} and ${pct(tally.served["a relative's"], tally.served.entities)} of ${tally.served.entities}`,
  );
}
