/**
 * The canary shadow phase end to end: the stable servers (`ner-ops serve --shadow-url
 * http://<name>-canary.<ns>.svc:8080`) mirror every request to the candidate through the process node's
 * Service routing (local-cluster/service-proxy.ts: cluster DNS + a loopback proxy per Service), Prometheus
 * scrapes both tracks, and the operator gates user traffic on the measured entity agreement.
 *
 * 1. Given `shadow: {percent: 100}` and `minShadowAgreement: 0.8`, When a new NerModel becomes Ready, Then
 *    the candidate runs behind `<name>-canary` and receives mirrored requests only (the load generator,
 *    which follows the client Service, sends it none), the stable pods report shadow requests, the
 *    shadow-phase analysis passes with the measured agreement (stepIndex -1), and once the phase may
 *    complete the step runs and the candidate is promoted. The rollout is held at the shadow phase with the
 *    `pause` action while the "no user traffic" facts are asserted, so the phase cannot end in between.
 * 2. Given `minShadowAgreement: 0.99` and a candidate trained on six notes for one epoch, Then the shadow
 *    analyses fail on agreement and after failureLimit + 1 of them the rollout is aborted (RolledBack): the
 *    candidate never receives a user request.
 */
import { pathToFileURL } from 'node:url';
import type { V1Deployment, V1Pod, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../operator/runtime/resource.js';
import { labelMatchers, PrometheusClient } from '../../operator/prometheus/client.js';
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

const { info, kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator;
let prom: PrometheusClient;
let bundle: Awaited<ReturnType<typeof trainBundle>>;

const ACTION = 'nerops.io/rollout-action';
const status = async (name: string) => (await api.get<NerDeployment>(nerDeployments, ns, name)).status ?? {};
const canaryReplicas = async (name: string) =>
  (await api.get<V1Deployment>(builtin.deployments, ns, `${name}-canary`).catch(() => undefined))?.spec?.replicas;
const eventNotes = (name: string) => api.eventNotes(ns, name);
/** A summed counter of one track's pods, from Prometheus (0 when there is no series yet). */
async function counter(
  metric: string,
  name: string,
  track: string,
  extra: Record<string, string> = {},
): Promise<number> {
  return (
    (await prom.query(`sum(${metric}${labelMatchers({ namespace: ns, deployment: name, track, ...extra })})`)).value ??
    0
  );
}

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

async function whenModelReady(model: string, version: string, b: { uri: string; digest: string }): Promise<number> {
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
  ns = await createTestNamespace(core, 'shadow');
  api = new Api(kc);
  prom = new PrometheusClient({ url: info.prometheusUrl ?? 'http://127.0.0.1:9', timeoutMs: 2000 });
  op = await startOperator(kc, ns, { prometheus: prom });
  await api.create(nerModels, ns, nerModel('clinical-v1', bundle.uri, bundle.digest));
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).status?.phase).toBe('Ready'),
    120_000,
    500,
  );
}, 300_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
});

const rollout = (minShadowAgreement: number) => ({
  steps: [{ weight: 50, pauseSeconds: 5 }],
  analysisIntervalSeconds: 5,
  minSampleCount: 10,
  failureLimit: 1,
  thresholds: { minShadowAgreement },
});

describe('canary shadow phase', () => {
  it('(1) the candidate gets mirrored requests only, passes on agreement, then runs the steps and is promoted', async () => {
    await givenStable('mirror', { shadow: { percent: 100, durationSeconds: 10 }, rollout: rollout(0.8) });
    const load = await new Load(api.kube, ns, 'mirror', 10).start();
    try {
      // Held at the shadow phase (analyses still run) until the no-user-traffic facts are checked.
      await api.patch(nerDeployments, ns, 'mirror', { metadata: { annotations: { [ACTION]: 'pause' } } });
      const t0 = await whenModelReady('clinical-v2', '1.1.0', bundle);
      await api.patch(nerDeployments, ns, 'mirror', { spec: { model: 'clinical-v2' } });
      // The shadow phase: the candidate behind <name>-canary, the client Service on stable only.
      const firstPass = await eventually(
        async () => {
          const s = await status('mirror');
          expect(s).toMatchObject({
            canaryModel: 'clinical-v2',
            weights: { stable: 100, canary: 0 },
            lastAnalysis: { outcome: 'Pass', stepIndex: -1 },
          });
          return s.lastAnalysis!;
        },
        180_000,
        250,
      );
      const passMs = Date.now() - t0;
      expect(firstPass.shadowAgreement).toBeGreaterThanOrEqual(0.8);
      expect(firstPass.message).toMatch(/shadow agreement [\d.]+ >= 0.8/);
      const svc = await api.get<V1Service>(builtin.services, ns, 'mirror');
      expect(svc.spec?.selector).toEqual({ 'nerops.io/deployment': 'mirror', 'nerops.io/track': 'stable' });
      expect((await api.get<V1Service>(builtin.services, ns, 'mirror-canary')).spec?.selector).toMatchObject({
        'nerops.io/track': 'canary',
      });
      const stablePods = await api.list<V1Pod>(builtin.pods, ns, 'nerops.io/deployment=mirror,nerops.io/track=stable');
      expect(
        stablePods.some((p) =>
          p.spec?.containers[0]?.args?.join(' ').includes(`--shadow-url http://mirror-canary.${ns}.svc:8080`),
        ),
      ).toBe(true);
      const shadowOk = await counter('nerops_shadow_requests_total', 'mirror', 'stable', { outcome: 'ok' });
      const shadowFailed = await counter('nerops_shadow_requests_total', 'mirror', 'stable', { outcome: 'error' });
      const canaryServed = await counter('nerops_requests_total', 'mirror', 'canary');
      expect(shadowOk).toBeGreaterThan(0);
      expect(canaryServed).toBeGreaterThan(0);
      // Every request the candidate served was a mirrored one: the load generator sent it none.
      expect(load.served.canary ?? 0).toBe(0);
      expect((await status('mirror')).phase).toBe('Paused');
      console.log(
        `canary-shadow: NerModel Ready → first passing shadow analysis in ${(passMs / 1000).toFixed(1)} s, agreement ${firstPass.shadowAgreement} (min 0.8); stable pods' shadow requests ok/error ${shadowOk}/${shadowFailed}, candidate requests ${canaryServed}, load requests stable/canary ${load.served.stable ?? 0}/${load.served.canary ?? 0}`,
      );

      // Resumed: the shadow phase completes, the step runs and the candidate is promoted.
      const t1 = Date.now();
      await api.patch(nerDeployments, ns, 'mirror', { metadata: { annotations: { [ACTION]: 'resume' } } });
      const seen = await untilPromoted(api, ns, 'mirror', 'clinical-v2', 180_000, 250);
      const promotedMs = Date.now() - t1;
      expect(seen.has(50)).toBe(true);
      // Events are recorded right after the status write they describe: wait for the last step's.
      const notes = await eventually(
        async () => {
          const notes = await eventNotes('mirror');
          expect(notes).toContain('StepCompleted: Step 1/1 completed (50%)');
          return notes;
        },
        10_000,
        250,
      );
      expect(
        notes.some((n) => /^StepCompleted: shadow phase completed: .*shadow agreement [\d.]+ >= 0.8/.test(n)),
      ).toBe(true);
      expect((await status('mirror')).history?.at(-1)).toMatchObject({
        model: 'clinical-v2',
        previousModel: 'clinical-v1',
        outcome: 'Promoted',
        stepsCompleted: 1,
      });
      await eventually(async () => expect(await canaryReplicas('mirror')).toBeUndefined(), 60_000, 500);
      expect(load.served.canary).toBeGreaterThan(0);
      console.log(
        `canary-shadow: resumed → promoted in ${(promotedMs / 1000).toFixed(1)} s (shadow 10 s, one 50 % step of 5 s, analysis every 5 s); load requests stable/canary ${load.served.stable}/${load.served.canary}, codes ${JSON.stringify(load.codes)}`,
      );
    } finally {
      load.stop();
    }
  }, 400_000);

  it('(2) a candidate that disagrees with stable never gets user traffic and is rolled back', async () => {
    await givenStable('disagree', { shadow: { percent: 100, durationSeconds: 10 }, rollout: rollout(0.99) });
    const weak = await trainSmallBundle({ seed: 11, count: 6, epochs: 1, name: 'clinical', version: '1.3.0' });
    const load = await new Load(api.kube, ns, 'disagree', 10).start();
    try {
      const t0 = await whenModelReady('clinical-v3', '1.3.0', {
        uri: pathToFileURL(weak.dir).href,
        digest: weak.digest,
      });
      await api.patch(nerDeployments, ns, 'disagree', { spec: { model: 'clinical-v3' } });
      const firstFail = await eventually(
        async () => {
          const s = await status('disagree');
          expect(s.failedAnalyses ?? (s.rejectedModel ? 2 : 0)).toBeGreaterThanOrEqual(1);
          return s;
        },
        180_000,
        250,
      );
      const failMs = Date.now() - t0;
      await eventually(
        async () => {
          const s = await status('disagree');
          expect(s).toMatchObject({
            phase: 'RolledBack',
            stableModel: 'clinical-v1',
            rejectedModel: 'clinical-v3',
            weights: { stable: 100, canary: 0 },
          });
          expect(await canaryReplicas('disagree')).toBe(0);
        },
        60_000,
        250,
      );
      const s = await status('disagree');
      expect(firstFail.lastAnalysis).toMatchObject({ outcome: 'Fail', stepIndex: -1 });
      expect(firstFail.lastAnalysis?.shadowAgreement).toBeLessThan(0.99);
      expect(s.abortReason).toMatch(
        /2 failed analyses > failureLimit 1; last: shadow agreement [\d.]+ < minShadowAgreement 0.99/,
      );
      expect(s.history?.at(-1)).toMatchObject({ model: 'clinical-v3', outcome: 'RolledBack', stepsCompleted: 0 });
      await eventually(
        async () =>
          expect(
            (await eventNotes('disagree')).filter((n) => /^AnalysisFailed: shadow phase: analysis failed/.test(n)),
          ).toHaveLength(2),
        10_000,
        250,
      );
      // Mirrored requests reached it (that is how the agreement was measured); user requests never did.
      expect(await counter('nerops_shadow_requests_total', 'disagree', 'stable', { outcome: 'ok' })).toBeGreaterThan(0);
      expect(load.served.canary ?? 0).toBe(0);
      console.log(
        `canary-shadow: disagreeing candidate: first failed shadow analysis ${(failMs / 1000).toFixed(1)} s after NerModel Ready (agreement ${firstFail.lastAnalysis?.shadowAgreement}), rolled back: ${s.abortReason}; load requests stable/canary ${load.served.stable}/${load.served.canary ?? 0}`,
      );
    } finally {
      load.stop();
      await weak.remove();
    }
  }, 300_000);
});
