/**
 * Request-rate autoscaling end to end: real server pods on the process node, real Prometheus scraping
 * them, the operator querying PromQL through a TCP proxy the test can cut (Prometheus "stopped" for the
 * operator without disturbing the shared cluster), and autocannon as a bounded load generator.
 *
 * Given a NerDeployment at 1 replica with a target of 10 req/s per replica,
 * When traffic steps from 5 to 25 req/s, Then replicas rise (reaction time printed, asserted < 30 s);
 * When traffic stops and Prometheus becomes unreachable, Then replicas are held with MetricsAvailable=False;
 * When Prometheus is back, Then replicas fall to min only after the stabilization window.
 */
import autocannon from 'autocannon';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../operator/runtime/resource.js';
import { PrometheusClient } from '../../operator/prometheus/client.js';
import { TcpProxy } from '../../local-cluster/tcp-proxy.js';
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
  type NerDeployment,
  type NerModel,
  type TestOperator,
} from '../../testing/operator-fixture.js';

const { info, kc, core } = useCluster();
const WINDOW_S = 20;
let ns: string;
let api: Api;
let op: TestOperator;
let proxy: TcpProxy;

function load(url: string, rate: number, seconds: number) {
  return autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'History of asthma, started on lisinopril for hypertension.' }),
    connections: 2,
    overallRate: rate,
    duration: seconds,
  });
}

const replicas = async () => (await api.get<V1Deployment>(builtin.deployments, ns, 'scaled-stable')).spec?.replicas;
const status = async () => (await api.get<NerDeployment>(nerDeployments, ns, 'scaled')).status;

beforeAll(async () => {
  const [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  ns = await createTestNamespace(core, 'autoscale');
  api = new Api(kc);
  proxy = new TcpProxy(new URL(info.prometheusUrl ?? 'http://127.0.0.1:9'));
  await proxy.start();
  op = await startOperator(kc, ns, {
    prometheus: new PrometheusClient({ url: `http://127.0.0.1:${proxy.port}`, timeoutMs: 2000 }),
    metricsIntervalMs: 2000,
  });
  await api.create(nerModels, ns, nerModel('clinical-v1', bundle.uri, bundle.digest));
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).status?.phase).toBe('Ready'),
    90_000,
    500,
  );
  await api.create(
    nerDeployments,
    ns,
    nerDeployment('scaled', 'clinical-v1', {
      replicas: { min: 1, max: 4 },
      autoscaling: {
        targetRequestsPerSecond: 10,
        rateWindowSeconds: WINDOW_S,
        scaleDownStabilizationSeconds: WINDOW_S,
        scaleUpMaxStep: 4,
      },
    }),
  );
  await eventually(async () => expect((await status())?.replicas?.ready).toBe(1), 120_000, 500);
}, 240_000);

afterAll(async () => {
  await proxy?.cut();
  await op?.stop();
  api?.close();
});

describe('autoscaling on request rate', () => {
  it('scales up when traffic steps ×5, holds when Prometheus is unreachable, scales down only after the window', async () => {
    const pod = (await api.list<V1Pod>(builtin.pods, ns, 'nerops.io/deployment=scaled')).find((p) => p.status?.podIP);
    const url = `http://${pod?.status?.podIP}:8080/v1/extract`;

    // Given a steady 5 req/s: one replica is enough (0.5 of the target).
    const base = load(url, 5, 20);
    await eventually(
      async () => expect((await status())?.conditions?.find((c) => c.type === 'MetricsAvailable')?.status).toBe('True'),
      30_000,
      500,
    );
    await base;
    expect(await replicas()).toBe(1);

    // When traffic steps up ×5 (25 req/s ≈ 2.5 × the target)
    const t0 = Date.now();
    const high = load(url, 25, 60);
    await eventually(async () => expect(await replicas()).toBeGreaterThan(1), 45_000, 250);
    const reactionMs = Date.now() - t0;
    await eventually(async () => expect(await replicas()).toBe(3), 45_000, 250);
    const s = await status();
    expect(s?.observedRequestRate).toBeGreaterThan(15);
    expect(s?.lastScaleTime).toBeDefined();
    console.log(
      `autoscaling: 5 → 25 req/s; first scale-up after ${reactionMs} ms, 3 replicas after ${Date.now() - t0} ms (rate window ${WINDOW_S}s, 1 s scrape, 2 s poll)`,
    );
    expect(reactionMs).toBeLessThan(30_000);
    (high as unknown as { stop(): void }).stop();
    await high;

    // When traffic stops and Prometheus becomes unreachable: hold 3 replicas, say why.
    await proxy.cut();
    await eventually(
      async () =>
        expect((await status())?.conditions?.find((c) => c.type === 'MetricsAvailable')).toMatchObject({
          status: 'False',
          reason: 'PrometheusUnreachable',
        }),
      15_000,
      250,
    );
    const heldSince = Date.now();
    while (Date.now() - heldSince < (WINDOW_S + 5) * 1000) {
      expect(await replicas()).toBe(3);
      await new Promise((r) => setTimeout(r, 1000));
    }

    // When Prometheus is back (rate now ~0): replicas fall to min, but only after a full window of data.
    await proxy.start();
    const back = Date.now();
    await eventually(
      async () => expect((await status())?.conditions?.find((c) => c.type === 'MetricsAvailable')?.status).toBe('True'),
      15_000,
      250,
    );
    await eventually(async () => expect(await replicas()).toBe(1), 90_000, 500);
    const downMs = Date.now() - back;
    console.log(`autoscaling: scaled down to 1 replica ${downMs} ms after Prometheus returned (window ${WINDOW_S}s)`);
    expect(downMs).toBeGreaterThanOrEqual(WINDOW_S * 1000 - 2000);
  }, 300_000);
});
