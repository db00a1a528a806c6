/**
 * Canary rollouts end to end: real server pods on the process node, real Prometheus scraping them every
 * second, the operator querying PromQL, and a bounded load generator that spreads requests over the ready
 * pods the client Service selects (what kube-proxy does in a real cluster; the process node has none).
 *
 * 1. Given a stable model and the default steps, When a new NerModel becomes Ready, Then the candidate
 *    walks through every step ("Step i/n completed") and is promoted; the time to 100 % is printed.
 * 2. Given a threshold the candidate cannot meet (p95 ≤ 0.05 ms), Then it is rolled back after
 *    failureLimit + 1 failed analyses: all traffic on stable, candidate at zero, phase RolledBack.
 * 5. Given gates.minF1 above the candidate's F1, Then it is rejected and never receives a request.
 */
import { pathToFileURL } from 'node:url';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../operator/runtime/resource.js';
import { PrometheusClient } from '../../operator/prometheus/client.js';
import { DEFAULT_ROLLOUT_STEPS } from '../../operator/api/nerdeployment.js';
import { trainSmallBundle } from '../../testing/fixtures.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import {
  Api,
  installCrds,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  startOperator,
  trainBundle,
  untilPromoted,
  type NerDeployment,
  type NerModel,
  type TestOperator,
} from '../../testing/operator-fixture.js';
import { Load } from './load.js';
import { argoHealth } from '../../testing/argocd-health.js';
import {
  configureNotifications,
  startNotificationReceiver,
  type NotificationReceiver,
} from '../../testing/notification-receiver.js';

const { info, kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator;
let bundle: Awaited<ReturnType<typeof trainBundle>>;
let receiver: NotificationReceiver;

const status = async (name: string) => (await api.get<NerDeployment>(nerDeployments, ns, name)).status ?? {};
const canaryReplicas = async (name: string) =>
  (await api.get<V1Deployment>(builtin.deployments, ns, `${name}-canary`).catch(() => undefined))?.spec?.replicas;
const eventNotes = (name: string) => api.eventNotes(ns, name);
/** What Argo CD's health check (charts/nerops/argocd) makes of the NerDeployment as the operator left it. */
const argoStatus = async (name: string) =>
  (await argoHealth('NerDeployment', await api.get<NerDeployment>(nerDeployments, ns, name))).status;

/** Given a NerDeployment serving clinical-v1 on one replica. */
async function givenStable(name: string, spec: Record<string, unknown>): Promise<void> {
  await api.create(nerDeployments, ns, nerDeployment(name, 'clinical-v1', { replicas: { min: 1, max: 1 }, ...spec }));
  await eventually(
    async () =>
      expect(await status(name)).toMatchObject({
        phase: 'Healthy',
        stableModel: 'clinical-v1',
        replicas: { ready: 1 },
      }),
    120_000,
    500,
  );
}

/** When a new model becomes Ready (returns the time it did). */
async function whenModelReady(
  model: string,
  version: string,
  b: { uri: string; digest: string } = bundle,
): Promise<number> {
  await api.create(
    nerModels,
    ns,
    nerModel(model, b.uri, b.digest, (m) => (m.spec.version = version)),
  );
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, model)).status?.phase).toBe('Ready'),
    120_000,
    250,
  );
  return Date.now();
}

beforeAll(async () => {
  [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  ns = await createTestNamespace(core, 'canary');
  api = new Api(kc);
  receiver = await startNotificationReceiver();
  await configureNotifications(api, ns, receiver.url);
  op = await startOperator(kc, ns, {
    prometheus: new PrometheusClient({ url: info.prometheusUrl ?? 'http://127.0.0.1:9', timeoutMs: 2000 }),
  });
  await api.create(nerModels, ns, nerModel('clinical-v1', bundle.uri, bundle.digest));
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).status?.phase).toBe('Ready'),
    120_000,
    500,
  );
}, 300_000);

afterAll(async () => {
  await op?.stop();
  await receiver?.close();
  api?.close();
});

describe('canary rollouts', () => {
  it('(1) a good candidate walks through every default step and is promoted', async () => {
    await givenStable('good', {});
    const load = await new Load(api.kube, ns, 'good', 10).start();
    try {
      const t0 = await whenModelReady('clinical-v2', '1.1.0');
      await api.patch(nerDeployments, ns, 'good', { spec: { model: 'clinical-v2' } });
      const seen = await untilPromoted(api, ns, 'good', 'clinical-v2', 420_000);
      const promotedMs = Date.now() - t0;
      // 100 % on the new model: the stable track runs it and the candidate's pods are gone.
      await eventually(
        async () => {
          const s = await status('good');
          expect(s).toMatchObject({ phase: 'Healthy', weights: { stable: 100, canary: 0 } });
          expect(await canaryReplicas('good')).toBeUndefined();
          const pods = await api.list<V1Pod>(builtin.pods, ns, 'nerops.io/deployment=good');
          expect(pods.every((p) => p.metadata?.labels?.['nerops.io/model'] === 'clinical-v2')).toBe(true);
        },
        120_000,
        500,
      );
      const fullMs = Date.now() - t0;
      expect(await argoStatus('good')).toBe('Healthy');
      // The webhook receiver heard the rollout in order, each time with the state of that moment.
      const heard = () =>
        receiver.received.filter((n) => n.object.kind === 'NerDeployment' && n.object.name === 'good');
      await eventually(
        async () => expect(heard().map((n) => n.event.reason)).toContain('RolloutPromoted'),
        30_000,
        250,
      );
      const story = heard().filter((n) =>
        ['RolloutStarted', 'StepCompleted', 'RolloutPromoted'].includes(n.event.reason),
      );
      expect(story.map((n) => n.event.reason)).toEqual([
        'RolloutStarted',
        ...DEFAULT_ROLLOUT_STEPS.map(() => 'StepCompleted'),
        'RolloutPromoted',
      ]);
      // Each carries the state the transition left: after step i the next step's weights, after the last
      // the promotion.
      const steps = story.filter((n) => n.event.reason === 'StepCompleted');
      const n = DEFAULT_ROLLOUT_STEPS.length;
      expect(steps.map((x) => x.event.note)).toEqual(
        DEFAULT_ROLLOUT_STEPS.map((w, i) => `Step ${i + 1}/${n} completed (${w.weight}%)`),
      );
      for (const [i, x] of steps.slice(0, -1).entries())
        expect(x.state).toMatchObject({
          step: { index: i + 2, of: n },
          weights: { canary: DEFAULT_ROLLOUT_STEPS[i + 1]!.weight },
          stable: { name: 'clinical-v1', digest: bundle.digest },
          canary: { name: 'clinical-v2', digest: bundle.digest },
          analysis: { outcome: 'Pass' },
        });
      expect(steps.at(-1)?.state).toMatchObject({ stable: { name: 'clinical-v2', digest: bundle.digest } });
      expect(story.at(-1)?.state).toMatchObject({
        stable: { name: 'clinical-v2' },
        weights: { stable: 100, canary: 0 },
      });
      expect(story.at(-1)?.object.generation).toBeGreaterThan(0);
      for (const w of DEFAULT_ROLLOUT_STEPS) expect(seen.has(w.weight)).toBe(true);
      const notes = await eventNotes('good');
      expect(notes).toEqual(
        expect.arrayContaining([
          'StepCompleted: Step 1/3 completed (10%)',
          'StepCompleted: Step 2/3 completed (25%)',
          'StepCompleted: Step 3/3 completed (50%)',
        ]),
      );
      expect(notes.some((n) => n.startsWith('RolloutPromoted'))).toBe(true);
      const s = await status('good');
      expect(s.history?.at(-1)).toMatchObject({
        model: 'clinical-v2',
        previousModel: 'clinical-v1',
        outcome: 'Promoted',
        stepsCompleted: DEFAULT_ROLLOUT_STEPS.length,
      });
      expect(load.served.canary).toBeGreaterThan(0);
      console.log(
        `canary: default steps ${JSON.stringify(DEFAULT_ROLLOUT_STEPS)} (analysis every 30 s); NerModel Ready → promoted in ${(promotedMs / 1000).toFixed(1)} s, → 100 % on the new model (old pods gone) in ${(fullMs / 1000).toFixed(1)} s; requests stable/canary ${load.served.stable}/${load.served.canary}, codes ${JSON.stringify(load.codes)}`,
      );
    } finally {
      load.stop();
    }
  }, 600_000);

  it('(2) a candidate slower than maxP95LatencyMs is rolled back after the failure limit', async () => {
    await givenStable('slow', {
      rollout: {
        steps: [{ weight: 50, pauseSeconds: 600 }],
        analysisIntervalSeconds: 5,
        minSampleCount: 10,
        failureLimit: 1,
        thresholds: { maxP95LatencyMs: 0.05 },
      },
    });
    const load = await new Load(api.kube, ns, 'slow', 10).start();
    try {
      await whenModelReady('clinical-v3', '1.2.0');
      await api.patch(nerDeployments, ns, 'slow', { spec: { model: 'clinical-v3' } });
      const firstFail = await eventually(
        async () => {
          const s = await status('slow');
          expect(s.failedAnalyses ?? (s.rejectedModel ? 2 : 0)).toBeGreaterThanOrEqual(1);
          return Date.parse(s.lastAnalysis?.time ?? '') || Date.now();
        },
        180_000,
        250,
      );
      await eventually(
        async () => {
          const s = await status('slow');
          expect(s).toMatchObject({
            phase: 'RolledBack',
            stableModel: 'clinical-v1',
            rejectedModel: 'clinical-v3',
            weights: { stable: 100, canary: 0 },
          });
          expect(await canaryReplicas('slow')).toBe(0);
          const canaryPods = await api.list<V1Pod>(
            builtin.pods,
            ns,
            'nerops.io/deployment=slow,nerops.io/track=canary',
          );
          expect(canaryPods).toEqual([]);
        },
        60_000,
        250,
      );
      const backMs = Date.now() - firstFail;
      expect(await argoStatus('slow')).toBe('Degraded');
      await eventually(
        async () =>
          expect(
            receiver.received.filter((n) => n.object.name === 'slow' && n.event.reason === 'RolloutAborted'),
          ).toHaveLength(1),
        30_000,
        250,
      );
      const s = await status('slow');
      expect(s.abortReason).toMatch(
        /2 failed analyses > failureLimit 1; last: p95 latency [\d.]+ ms > maxP95LatencyMs 0.05/,
      );
      expect(s.history?.at(-1)).toMatchObject({ model: 'clinical-v3', outcome: 'RolledBack' });
      const notes = await eventNotes('slow');
      expect(notes.filter((n) => n.startsWith('AnalysisFailed'))).toHaveLength(2);
      expect(notes.some((n) => n.startsWith('RolloutAborted') && /p95 latency/.test(n))).toBe(true);
      console.log(
        `canary: first failing measurement → all traffic on stable and candidate at zero in ${(backMs / 1000).toFixed(1)} s (analysis interval 5 s, failureLimit 1); abort: ${s.abortReason}`,
      );
      expect(backMs).toBeLessThan(5_000 * 2 + 10_000);
    } finally {
      load.stop();
    }
  }, 400_000);

  it('(5) a candidate below the F1 gate never receives traffic', async () => {
    await givenStable('gated', { gates: { minF1: 0.999 } });
    // A deliberately weak bundle: a handful of notes, one epoch.
    const weak = await trainSmallBundle({ seed: 11, count: 6, epochs: 1, name: 'clinical', version: '1.3.0' });
    const load = await new Load(api.kube, ns, 'gated', 5).start();
    try {
      await whenModelReady('clinical-v4', '1.3.0', { uri: pathToFileURL(weak.dir).href, digest: weak.digest });
      expect((await api.get<NerModel>(nerModels, ns, 'clinical-v4')).status?.metrics?.micro.f1).toBeLessThan(0.999);
      await api.patch(nerDeployments, ns, 'gated', { spec: { model: 'clinical-v4' } });
      await eventually(
        async () =>
          expect((await status('gated')).conditions?.find((c) => c.type === 'CandidateRejected')).toMatchObject({
            status: 'True',
            reason: 'BelowMinF1',
          }),
        30_000,
        250,
      );
      const s = await status('gated');
      expect(s.conditions?.find((c) => c.type === 'CandidateRejected')?.message).toMatch(
        /candidate clinical-v4 F1 [\d.]+ is below gates.minF1 0.999/,
      );
      // And stays so: no candidate Deployment, no canary request, all weight on stable.
      await new Promise((r) => setTimeout(r, 5000));
      expect(await canaryReplicas('gated')).toBeUndefined();
      expect(load.served.canary ?? 0).toBe(0);
      expect((await status('gated')).weights).toEqual({ stable: 100, canary: 0 });
      expect((await eventNotes('gated')).some((n) => n.startsWith('CandidateRejected: candidate clinical-v4 F1'))).toBe(
        true,
      );
    } finally {
      load.stop();
      await weak.remove();
    }
  }, 300_000);
});
