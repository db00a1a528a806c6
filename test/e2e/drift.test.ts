/**
 * The loop the project exists for, end to end on the local cluster: real server pods on the process node,
 * real Prometheus scraping them every second, the operator (NerModel, NerDeployment and DriftPolicy
 * controllers) querying PromQL, a real retraining Job (`ner-ops retrain`) on the process node, and paced
 * traffic through the Service's ready pods.
 *
 * Given a NerDeployment serving clinical-v1 (trained on the `base` vocabulary) and two DriftPolicies on it:
 *   `retrain` — critical thresholds out of reach, so drift can only be Warning → retraining Job;
 *   `alert`   — the default signals and thresholds, onWarning: Alert, onCritical: Alert (the default).
 * When in-distribution notes flow, Then both stay Healthy and no Job starts (false alarms counted).
 * When the notes switch to the `shifted` vocabulary, Then `retrain` goes Warning within consecutiveBreaches
 *   and starts one Job, whose model is validated, passes the gates, is canaried and promoted; the policy then
 *   evaluates against the new model's baseline and is Healthy again on the same shifted traffic. `alert` goes
 *   Critical (condition, Event) and never starts a Job.
 * When Prometheus becomes unreachable, Then both are MetricsUnavailable and no Job starts.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KubernetesObject, V1Job, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftPolicy, DriftState } from '../../operator/api/driftpolicy.js';
import { driftPolicies } from '../../operator/api/resources.js';
import { PrometheusClient } from '../../operator/prometheus/client.js';
import { builtin } from '../../operator/runtime/resource.js';
import { TrafficGenerator, cycle } from '../../loadgen/traffic.js';
import { generateNotes, writeConll, type Vocabulary } from '../../trainer/synthetic.js';
import { trainBundle } from '../../trainer/train.js';
import { ServiceEndpoints } from '../../local-cluster/service-endpoints.js';
import { TcpProxy } from '../../local-cluster/tcp-proxy.js';
import { argoHealth } from '../../testing/argocd-health.js';
import {
  configureNotifications,
  startNotificationReceiver,
  type NotificationReceiver,
} from '../../testing/notification-receiver.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import {
  Api,
  installCrds,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  startOperator,
  untilPromoted,
  type NerDeployment,
  type NerModel,
  type TestOperator,
} from '../../testing/operator-fixture.js';

const { info, kc, core } = useCluster();
const INTERVAL_S = 5;
const BREACHES = 2;
let ns: string;
let api: Api;
let op: TestOperator;
let proxy: TcpProxy;
let dir: string;
let endpoints: ServiceEndpoints;
let traffic: TrafficGenerator;
let vocabulary: Vocabulary = 'base';
let receiver: NotificationReceiver;

const NOTES: Record<Vocabulary, () => string> = {
  base: cycle(generateNotes({ count: 500, seed: 101 }).map((n) => n.text)),
  shifted: cycle(generateNotes({ count: 500, seed: 303, vocabulary: 'shifted' }).map((n) => n.text)),
};

function policy(name: string, spec: Record<string, unknown>): KubernetesObject & { spec: Record<string, unknown> } {
  return {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'DriftPolicy',
    metadata: { name },
    spec: {
      targetRef: { name: 'ner' },
      interval: `${INTERVAL_S}s`,
      window: '20s',
      minSamples: 40,
      consecutiveBreaches: BREACHES,
      retraining: {
        datasetUri: pathToFileURL(join(dir, 'dataset')).href,
        outputUri: pathToFileURL(join(dir, 'runs')).href,
      },
      ...spec,
    },
  };
}

const getPolicy = (name: string) => api.get<DriftPolicy>(driftPolicies, ns, name);
const jobsOf = (name: string) => api.list<V1Job>(builtin.jobs, ns, `nerops.io/drift-policy=${name}`);
const deploymentStatus = async () => (await api.get<NerDeployment>(nerDeployments, ns, 'ner')).status ?? {};

/** Poll both policies every second while `until` runs; returns every state seen per policy and how many evaluations ran. */
async function watchStates<T>(
  until: () => Promise<T>,
): Promise<{ result: T; states: Record<string, Set<DriftState>>; evaluations: Record<string, Set<string>> }> {
  const states: Record<string, Set<DriftState>> = { retrain: new Set(), alert: new Set() };
  const evaluations: Record<string, Set<string>> = { retrain: new Set(), alert: new Set() };
  let done = false;
  const poll = (async () => {
    while (!done) {
      for (const name of ['retrain', 'alert']) {
        const p = await getPolicy(name).catch(() => undefined);
        if (p?.status?.state) states[name]?.add(p.status.state);
        if (p?.status?.lastEvaluation?.time) evaluations[name]?.add(p.status.lastEvaluation.time);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  try {
    return { result: await until(), states, evaluations };
  } finally {
    done = true;
    await poll;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-drift-e2e-'));
  await mkdir(join(dir, 'dataset'));
  // clinical-v1: the base vocabulary, with a held-out set large enough for a stable baseline profile.
  await Promise.all([
    writeConll(join(dir, 'train.conll'), generateNotes({ count: 300, seed: 7 })),
    writeConll(join(dir, 'dev.conll'), generateNotes({ count: 400, seed: 1007 })),
    // The annotated data a retraining gets: both vocabularies to learn from, held out on the new one.
    writeConll(join(dir, 'dataset', 'train.conll'), [
      ...generateNotes({ count: 300, seed: 8 }),
      ...generateNotes({ count: 300, seed: 9, vocabulary: 'shifted' }),
    ]),
    writeConll(join(dir, 'dataset', 'dev.conll'), generateNotes({ count: 400, seed: 1009, vocabulary: 'shifted' })),
    installCrds(kc),
  ]);
  const v1 = await trainBundle({
    corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
    members: { seed: 7, epochs: 3 },
    export: { outDir: join(dir, 'v1'), name: 'clinical', version: '1.0.0' },
  });
  ns = await createTestNamespace(core, 'drift');
  api = new Api(kc);
  receiver = await startNotificationReceiver();
  await configureNotifications(api, ns, receiver.url);
  proxy = new TcpProxy(new URL(info.prometheusUrl ?? 'http://127.0.0.1:9'));
  await proxy.start();
  const prometheus = new PrometheusClient({ url: `http://127.0.0.1:${proxy.port}`, timeoutMs: 2000 });
  op = await startOperator(kc, ns, { prometheus }, { prometheus });
  await api.create(nerModels, ns, nerModel('clinical-v1', pathToFileURL(v1.outDir).href, v1.digest));
  // Follows the family: the retrained model (same family, newer) is what the canary rolls out.
  const nd = nerDeployment('ner', '', {
    modelSelector: { family: 'clinical' },
    replicas: { min: 1, max: 1 },
    rollout: { steps: [{ weight: 50, pauseSeconds: 10 }], analysisIntervalSeconds: 5, minSampleCount: 5 },
  });
  delete nd.spec.model;
  await api.create(nerDeployments, ns, nd);
  await eventually(
    async () =>
      expect(await deploymentStatus()).toMatchObject({
        phase: 'Healthy',
        stableModel: 'clinical-v1',
        replicas: { ready: 1 },
      }),
    120_000,
    500,
  );
  endpoints = await new ServiceEndpoints(api.kube, { namespace: ns, service: 'ner' }).start();
  traffic = new TrafficGenerator({ rate: 10, targets: endpoints.targets, nextText: () => NOTES[vocabulary]() }).start();
  // Critical thresholds out of reach (distances are at most 1), so this policy can only go Warning.
  await api.create(
    driftPolicies,
    ns,
    policy('retrain', {
      signals: [
        { name: 'label-distribution', type: 'labelDistribution', warning: 0.1, critical: 0.99 },
        { name: 'confidence', type: 'confidence', warning: 0.1, critical: 1000 },
        { name: 'document-length', type: 'documentLength', warning: 0.1, critical: 1000 },
        { name: 'unknown-token-rate', type: 'unknownTokenRate', warning: 0.05, critical: 0.99 },
      ],
    }),
  );
  await api.create(driftPolicies, ns, policy('alert', { onWarning: 'Alert' }));
}, 300_000);

afterAll(async () => {
  endpoints?.stop();
  await traffic?.stop();
  await proxy?.cut();
  await op?.stop();
  await receiver?.close();
  api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('drift → retrain → canary → promote', () => {
  it('stays Healthy on in-distribution traffic, retrains on shifted traffic, promotes the retrained model and is Healthy against its baseline', async () => {
    // Given in-distribution traffic: Healthy after the window fills, no Job, no false alarm.
    const calm = await watchStates(async () => {
      await eventually(async () => expect((await getPolicy('retrain')).status?.state).toBe('Healthy'), 60_000, 500);
      await eventually(async () => expect((await getPolicy('alert')).status?.state).toBe('Healthy'), 30_000, 500);
      await new Promise((r) => setTimeout(r, 30_000));
    });
    for (const name of ['retrain', 'alert']) {
      expect([...(calm.states[name] ?? [])].filter((s) => s === 'Warning' || s === 'Critical')).toEqual([]);
      expect(await jobsOf(name)).toEqual([]);
    }
    const p0 = await getPolicy('retrain');
    expect(p0.status?.lastEvaluation?.model).toBe('clinical-v1');
    expect((await argoHealth('DriftPolicy', p0)).status).toBe('Healthy');
    expect(p0.status?.lastEvaluation?.signals.every((s) => s.level === 'Ok')).toBe(true);
    console.log(
      `drift: in-distribution ${calm.evaluations.retrain?.size} + ${calm.evaluations.alert?.size} evaluations, 0 false alarms; values ${JSON.stringify(p0.status?.lastEvaluation?.signals.map((s) => [s.name, s.value]))}`,
    );

    // When the notes shift to a new vocabulary
    const shiftAt = Date.now();
    const sentAtShift = traffic.stats.sent;
    vocabulary = 'shifted';
    const shifted = await watchStates(async () => {
      const job = await eventually(
        async () => {
          const jobs = await jobsOf('retrain');
          expect(jobs).toHaveLength(1);
          return jobs[0] as V1Job;
        },
        90_000,
        250,
      );
      return { job, detectedMs: Date.now() - shiftAt, requests: traffic.stats.sent - sentAtShift };
    });
    const { job, detectedMs, requests } = shifted.result;
    // Then Warning (never Critical) on `retrain`, confirmed over consecutiveBreaches evaluations, with a Drift-triggered Job.
    const p1 = await getPolicy('retrain');
    expect(p1.status?.state).toBe('Warning');
    // Argo CD (charts/nerops/argocd): a retraining in progress, not a failure.
    expect((await argoHealth('DriftPolicy', p1)).status).toBe('Progressing');
    expect(shifted.states.retrain?.has('Critical')).toBe(false);
    expect(p1.status?.activeJob).toMatchObject({ name: job.metadata?.name, trigger: 'Drift' });
    expect(p1.status?.lastEvaluation?.signals.some((s) => s.level === 'Warning' && (s.breaches ?? 0) >= BREACHES)).toBe(
      true,
    );
    console.log(
      `drift: shifted traffic → retraining Job in ${(detectedMs / 1000).toFixed(1)} s / ${requests} requests (interval ${INTERVAL_S} s, window 20 s, ${BREACHES} breaches); values ${JSON.stringify(p1.status?.lastEvaluation?.signals.map((s) => [s.name, s.value]))}`,
    );

    // And `alert` goes Critical: condition and Event, never a Job.
    await eventually(
      async () => {
        const a = await getPolicy('alert');
        expect(a.status?.state).toBe('Critical');
        expect((await argoHealth('DriftPolicy', a)).status).toBe('Degraded');
        expect(a.status?.conditions?.find((c) => c.type === 'CriticalDrift')).toMatchObject({
          status: 'True',
          reason: 'CriticalThresholdExceeded',
        });
      },
      60_000,
      500,
    );
    // The Event follows the status write that it describes.
    await eventually(
      async () => {
        expect((await api.events(ns, 'alert')).some((e) => e.type === 'Warning' && e.reason === 'DriftCritical')).toBe(
          true,
        );
      },
      10_000,
      250,
    );

    // Then the retrained model is created with lineage, validated, canaried and promoted.
    const record = await eventually(
      async () => {
        const r = (await getPolicy('retrain')).status?.history?.at(-1);
        expect(r?.outcome, r?.message).toBe('Succeeded');
        return r;
      },
      240_000,
      500,
    );
    const retrained = record?.model as string;
    const m = await eventually(
      async () => {
        const m = await api.get<NerModel>(nerModels, ns, retrained);
        expect(m.status?.phase).toBe('Ready');
        return m;
      },
      120_000,
      500,
    );
    expect(m.spec.lineage).toMatchObject({
      parentModel: 'clinical-v1',
      driftPolicy: 'retrain',
      trainingJob: job.metadata?.name,
    });
    const seenWeights = await untilPromoted(api, ns, 'ner', retrained, 300_000);
    const promotedMs = Date.now() - shiftAt;
    await eventually(
      async () => {
        expect(await deploymentStatus()).toMatchObject({ phase: 'Healthy', weights: { stable: 100, canary: 0 } });
        const pods = await api.list<V1Pod>(builtin.pods, ns, 'nerops.io/deployment=ner');
        expect(pods.length).toBeGreaterThan(0);
        expect(pods.every((p) => p.metadata?.labels?.['nerops.io/model'] === retrained)).toBe(true);
      },
      120_000,
      500,
    );
    const fullMs = Date.now() - shiftAt;
    expect(seenWeights.has(50)).toBe(true);
    // The webhook receiver heard the drift story of `retrain` in order (one run; the warning may repeat
    // after the promotion), each notification with the state of its moment.
    const heard = receiver.received.filter((n) => n.object.name === 'retrain');
    const first = (reason: string) => heard.findIndex((n) => n.event.reason === reason);
    expect(heard.filter((n) => n.event.reason === 'RetrainingStarted')).toHaveLength(1);
    expect(first('DriftWarning')).toBeGreaterThanOrEqual(0);
    expect(first('DriftWarning')).toBeLessThan(first('RetrainingStarted'));
    expect(first('RetrainingStarted')).toBeLessThan(first('RetrainingSucceeded'));
    const story = ['DriftWarning', 'RetrainingStarted', 'RetrainingSucceeded'].map((r) => heard[first(r)]);
    expect(story[0]?.state).toMatchObject({ state: 'Warning', target: 'ner' });
    expect((story[0]?.state.evaluation as { signals: unknown[] }).signals.length).toBeGreaterThan(0);
    expect(story[1]?.state).toMatchObject({ activeJob: { name: job.metadata?.name, trigger: 'Drift' } });
    expect(story[2]?.state).toMatchObject({ lastRetraining: { outcome: 'Succeeded', model: retrained } });
    expect(receiver.received.some((n) => n.object.name === 'alert' && n.event.reason === 'DriftCritical')).toBe(true);
    expect(traffic.stats.byTrack.canary).toBeGreaterThan(0);
    expect((await deploymentStatus()).history?.at(-1)).toMatchObject({
      model: retrained,
      previousModel: 'clinical-v1',
      outcome: 'Promoted',
    });

    // And the policy now compares the same shifted traffic with the new model's baseline: Healthy.
    await eventually(
      async () => {
        const p = await getPolicy('retrain');
        expect(p.status?.lastEvaluation?.model).toBe(retrained);
        expect(p.status?.state).toBe('Healthy');
      },
      90_000,
      500,
    );
    expect(await jobsOf('retrain')).toHaveLength(1);
    expect(await jobsOf('alert')).toEqual([]);
    console.log(
      `drift: onset → retrained ${retrained} promoted in ${(promotedMs / 1000).toFixed(1)} s, → 100 % of traffic on it (old pods gone) in ${(fullMs / 1000).toFixed(1)} s; held-out F1 new ${record?.f1} vs base ${record?.baseF1}; codes ${JSON.stringify(traffic.stats.codes)}`,
    );
  }, 900_000);

  it('Prometheus unreachable → MetricsUnavailable and no Job', async () => {
    const before = (await jobsOf('retrain')).length + (await jobsOf('alert')).length;
    await proxy.cut();
    try {
      for (const name of ['retrain', 'alert']) {
        await eventually(
          async () => expect((await getPolicy(name)).status).toMatchObject({ state: 'MetricsUnavailable' }),
          30_000,
          500,
        );
      }
      await new Promise((r) => setTimeout(r, 3 * INTERVAL_S * 1000));
      for (const name of ['retrain', 'alert']) expect((await getPolicy(name)).status?.state).toBe('MetricsUnavailable');
      expect((await jobsOf('retrain')).length + (await jobsOf('alert')).length).toBe(before);
    } finally {
      await proxy.start();
    }
  }, 120_000);
});
