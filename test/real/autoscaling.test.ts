/**
 * Request-rate autoscaling on the real node: the chart-installed operator reads the request rate the
 * node's Prometheus scraped from the serving pods, and load comes from a pod through the Service's DNS
 * name (the process-node version, with Prometheus cut as well, is test/e2e/autoscaling.test.ts).
 *
 * Given a NerDeployment at 1 replica with a target of 10 req/s per replica and light load (5 req/s),
 *   Then it stays at 1 replica with MetricsAvailable=True;
 * When the load steps up to 25 req/s, Then replicas rise to 3 and status reports the observed rate;
 * When the load stops, Then replicas fall back to 1, only after the stabilization window.
 */
import { BatchV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../operator/runtime/resource.js';
import { trainSmallBundle } from '../../testing/fixtures.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import {
  Api,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  type NerDeployment,
  type NerModel,
} from '../../testing/operator-fixture.js';
import { installOperator, uninstallOperator } from '../../local-cluster/chart-install.js';
import { claimWithLoader, putOnClaim, trafficJob } from '../../local-cluster/workloads.js';

const { info, kc, core } = useCluster();
const batch = kc.makeApiClient(BatchV1Api);
const release = 'nerops-autoscaling';
const WINDOW_S = 20;
let operatorNs: string;
let ns: string;
let api: Api;

const replicas = async () => (await api.get<V1Deployment>(builtin.deployments, ns, 'scaled-stable')).spec?.replicas;
const status = async () => (await api.get<NerDeployment>(nerDeployments, ns, 'scaled')).status ?? {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = (job: string, rate: number, seconds: number) =>
  batch.createNamespacedJob({ namespace: ns, body: trafficJob(job, 'http://scaled:8080', rate, seconds) as never });
const stopLoad = (job: string) =>
  batch.deleteNamespacedJob({ name: job, namespace: ns, propagationPolicy: 'Background' });

beforeAll(async () => {
  if (!info.prometheusUrl) throw new Error('the cluster runs no Prometheus');
  operatorNs = await createTestNamespace(core, 'nerops-as');
  ns = await createTestNamespace(core, 'autoscale');
  api = new Api(kc);
  const [loader, bundle] = await Promise.all([
    claimWithLoader(info, core, ns, 'models'),
    trainSmallBundle({ seed: 7, count: 200, epochs: 3, name: 'clinical', version: '1.0.0' }),
    // The operator reads the rate every 2 s (10 s by default) so the test need not wait long.
    installOperator(info, {
      release,
      namespace: operatorNs,
      scope: 'cluster',
      replicas: 1,
      values: { operator: { extraEnv: [{ name: 'NEROPS_METRICS_INTERVAL_MS', value: '2000' }] } },
    }),
  ]);
  await putOnClaim(info, ns, loader, bundle.dir, 'clinical/1.0.0');
  await api.create(nerModels, ns, nerModel('clinical-v1', 'pvc://models/clinical/1.0.0', bundle.digest));
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).status?.phase).toBe('Ready'),
    240_000,
    1000,
  );
  await api.create(
    nerDeployments,
    ns,
    nerDeployment('scaled', 'clinical-v1', {
      replicas: { min: 1, max: 3 },
      autoscaling: {
        targetRequestsPerSecond: 10,
        rateWindowSeconds: WINDOW_S,
        scaleDownStabilizationSeconds: WINDOW_S,
        scaleUpMaxStep: 4,
      },
    }),
  );
  await eventually(async () => expect((await status()).replicas?.ready).toBe(1), 240_000, 1000);
}, 600_000);

afterAll(async () => {
  await uninstallOperator(info, core, release, operatorNs, [ns]);
  api?.close();
});

describe('autoscaling on request rate, on the real node', () => {
  it('stays at 1 replica under light load, scales up when the load steps ×5, back down after the window', async () => {
    // Given a steady 5 req/s: one replica is enough (half the target).
    await load('light', 5, 40);
    await eventually(
      async () => expect((await status()).conditions?.find((c) => c.type === 'MetricsAvailable')?.status).toBe('True'),
      60_000,
      500,
    );
    await eventually(async () => expect((await status()).observedRequestRate).toBeGreaterThan(2), 60_000, 500);
    expect(await replicas()).toBe(1);
    await stopLoad('light');

    // When the load steps up to 25 req/s (2.5 × the target).
    const t0 = Date.now();
    await load('heavy', 25, 150);
    await eventually(async () => expect(await replicas()).toBeGreaterThan(1), 90_000, 500);
    const reactionMs = Date.now() - t0;
    await eventually(async () => expect(await replicas()).toBe(3), 90_000, 500);
    const s = await status();
    expect(s.observedRequestRate).toBeGreaterThan(15);
    expect(s.lastScaleTime).toBeDefined();
    await eventually(async () => expect((await status()).replicas?.ready).toBe(3), 120_000, 1000);
    console.log(
      `real autoscaling: 5 → 25 req/s; first scale-up ${(reactionMs / 1000).toFixed(1)} s after the step, 3 replicas ready ${((Date.now() - t0) / 1000).toFixed(1)} s after it`,
    );

    // When the load stops: still 3 replicas for a while, 1 only after the stabilization window.
    await stopLoad('heavy');
    const stopped = Date.now();
    await sleep((WINDOW_S / 2) * 1000);
    expect(await replicas()).toBe(3);
    await eventually(async () => expect(await replicas()).toBe(1), 150_000, 1000);
    const downMs = Date.now() - stopped;
    console.log(`real autoscaling: load stopped → 1 replica in ${(downMs / 1000).toFixed(1)} s (window ${WINDOW_S} s)`);
    expect(downMs).toBeGreaterThanOrEqual(WINDOW_S * 1000 - 2000);
  });
});
