/**
 * The canary shadow phase on the real node: the chart-installed operator runs the candidate behind
 * `<name>-canary`, the stable pods mirror every request to it through cluster DNS, Prometheus scrapes both
 * tracks, and the operator gates user traffic on the measured entity agreement (the process-node
 * version, with the rollback of a disagreeing candidate as well, is test/e2e/canary-shadow.test.ts).
 *
 * Given `shadow: {percent: 100}` and `minShadowAgreement: 0.8`, load from a pod through the Service's DNS
 * name, and the rollout held with the `pause` action, When a new model is set, Then the client Service
 * selects the stable pods only, the stable pods report mirrored requests that the candidate served, and the
 * shadow-phase analysis passes on agreement (stepIndex -1); When resumed, Then the step runs and the
 * candidate is promoted.
 */
import { BatchV1Api, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelMatchers, PrometheusClient } from '../../operator/prometheus/client.js';
import { builtin } from '../../operator/runtime/resource.js';
import { trainSmallBundle } from '../../testing/fixtures.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import {
  Api,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  untilPromoted,
  type NerDeployment,
  type NerModel,
} from '../../testing/operator-fixture.js';
import { installOperator, uninstallOperator } from '../../local-cluster/chart-install.js';
import { claimWithLoader, putOnClaim, trafficJob } from '../../local-cluster/workloads.js';

const { info, kc, core } = useCluster();
const batch = kc.makeApiClient(BatchV1Api);
const release = 'nerops-shadow';
const ACTION = 'nerops.io/rollout-action';
let operatorNs: string;
let ns: string;
let api: Api;
let prom: PrometheusClient;

const status = async (name: string) => (await api.get<NerDeployment>(nerDeployments, ns, name)).status ?? {};
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

beforeAll(async () => {
  if (!info.prometheusUrl) throw new Error('the cluster runs no Prometheus');
  prom = new PrometheusClient({ url: info.prometheusUrl, timeoutMs: 5000 });
  operatorNs = await createTestNamespace(core, 'nerops-sh');
  ns = await createTestNamespace(core, 'shadow');
  api = new Api(kc);
  const [loader, bundle] = await Promise.all([
    claimWithLoader(info, core, ns, 'models'),
    trainSmallBundle({ seed: 7, count: 200, epochs: 3, name: 'clinical', version: '1.0.0' }),
    installOperator(info, { release, namespace: operatorNs, scope: 'cluster', replicas: 1 }),
  ]);
  await putOnClaim(info, ns, loader, bundle.dir, 'clinical/1.0.0');
  for (const [name, version] of [
    ['clinical-v1', '1.0.0'],
    ['clinical-v2', '1.1.0'],
  ] as const) {
    await api.create(
      nerModels,
      ns,
      nerModel(name, 'pvc://models/clinical/1.0.0', bundle.digest, (m) => (m.spec.version = version)),
    );
  }
  await eventually(
    async () => {
      for (const name of ['clinical-v1', 'clinical-v2'])
        expect((await api.get<NerModel>(nerModels, ns, name)).status?.phase).toBe('Ready');
    },
    240_000,
    1000,
  );
  await api.create(
    nerDeployments,
    ns,
    nerDeployment('mirror', 'clinical-v1', {
      replicas: { min: 1, max: 1 },
      shadow: { percent: 100, durationSeconds: 10 },
      rollout: {
        steps: [{ weight: 50, pauseSeconds: 5 }],
        analysisIntervalSeconds: 5,
        minSampleCount: 10,
        failureLimit: 1,
        thresholds: { minShadowAgreement: 0.8 },
      },
    }),
  );
  await eventually(
    async () =>
      expect(await status('mirror')).toMatchObject({
        phase: 'Healthy',
        stableModel: 'clinical-v1',
        replicas: { ready: 1 },
      }),
    240_000,
    1000,
  );
}, 600_000);

afterAll(async () => {
  await uninstallOperator(info, core, release, operatorNs, [ns]);
  api?.close();
});

describe('the canary shadow phase on the real node', () => {
  it('mirrors requests to the candidate, passes on agreement, then runs the step and promotes', async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: trafficJob('load', 'http://mirror:8080', 10, 240) as never,
    });
    // Held at the shadow phase (analyses still run) until its facts are checked.
    await api.patch(nerDeployments, ns, 'mirror', { metadata: { annotations: { [ACTION]: 'pause' } } });
    await api.patch(nerDeployments, ns, 'mirror', { spec: { model: 'clinical-v2' } });
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
      1000,
    );
    expect(firstPass.shadowAgreement).toBeGreaterThanOrEqual(0.8);
    expect(firstPass.message).toMatch(/shadow agreement [\d.]+ >= 0.8/);
    // The client Service selects the stable pods only; the candidate is behind <name>-canary.
    expect((await api.get<V1Service>(builtin.services, ns, 'mirror')).spec?.selector).toEqual({
      'nerops.io/deployment': 'mirror',
      'nerops.io/track': 'stable',
    });
    expect((await api.get<V1Service>(builtin.services, ns, 'mirror-canary')).spec?.selector).toMatchObject({
      'nerops.io/track': 'canary',
    });
    const stablePods = await api.list<V1Pod>(builtin.pods, ns, 'nerops.io/deployment=mirror,nerops.io/track=stable');
    expect(
      stablePods.some((p) =>
        p.spec?.containers[0]?.args?.join(' ').includes(`--shadow-url http://mirror-canary.${ns}.svc:8080`),
      ),
    ).toBe(true);
    // Mirrored requests reached the candidate through cluster DNS.
    const shadowOk = await counter('nerops_shadow_requests_total', 'mirror', 'stable', { outcome: 'ok' });
    const canaryServed = await counter('nerops_requests_total', 'mirror', 'canary');
    expect(shadowOk).toBeGreaterThan(0);
    expect(canaryServed).toBeGreaterThan(0);
    expect((await status('mirror')).phase).toBe('Paused');

    // Resumed: the shadow phase completes, the step runs and the candidate is promoted.
    const t1 = Date.now();
    await api.patch(nerDeployments, ns, 'mirror', { metadata: { annotations: { [ACTION]: 'resume' } } });
    const seen = await untilPromoted(api, ns, 'mirror', 'clinical-v2', 180_000, 500);
    expect(seen.has(50)).toBe(true);
    const notes = await eventually(
      async () => {
        const notes = await api.eventNotes(ns, 'mirror');
        expect(notes).toContain('StepCompleted: Step 1/1 completed (50%)');
        return notes;
      },
      30_000,
      1000,
    );
    expect(notes.some((n) => /^StepCompleted: shadow phase completed: .*shadow agreement [\d.]+ >= 0.8/.test(n))).toBe(
      true,
    );
    expect((await status('mirror')).history?.at(-1)).toMatchObject({
      model: 'clinical-v2',
      previousModel: 'clinical-v1',
      outcome: 'Promoted',
      stepsCompleted: 1,
    });
    console.log(
      `real shadow: agreement ${firstPass.shadowAgreement} (min 0.8), shadow requests ok ${shadowOk}, candidate requests ${canaryServed}; resumed → promoted in ${((Date.now() - t1) / 1000).toFixed(1)} s`,
    );
  });
});
