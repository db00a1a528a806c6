/**
 * Canary rollouts on the real node when the machinery around them fails, with the chart-installed
 * operator in its container (the process-node versions, with finer timing checks, are in
 * test/e2e/canary-resilience.test.ts).
 *
 * Given a NerDeployment rolling out a candidate under load through its Service's DNS name,
 *   When the operator's pod is deleted at step 2/2 (`kubectl delete pod`, the chart's Deployment starts
 *   another), Then the new pod resumes the rollout at the same step (status.currentStepIndex never goes
 *   back, the pause is not restarted) and promotes the candidate.
 *   When Prometheus becomes unreachable from the pods (local-cluster/prometheus-outage.ts: an iptables
 *   rule on the local node, Prometheus scaled to zero on kind), Then the analysis is Inconclusive naming Prometheus, the rollout
 *   is Paused and holds its step well past the step's pause (no promotion, no rollback, no failed
 *   analysis); When Prometheus is back, Then it resumes and promotes.
 */
import { BatchV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NerDeploymentStatus } from '../../operator/api/nerdeployment.js';
import { builtin } from '../../operator/runtime/resource.js';
import { trainSmallBundle } from '../../testing/fixtures.js';
import { PrometheusOutage } from '../../local-cluster/prometheus-outage.js';
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
import { installOperator, kubectl, uninstallOperator } from '../../local-cluster/chart-install.js';
import { claimWithLoader, putOnClaim, trafficJob } from '../../local-cluster/workloads.js';

const { info, kc, core } = useCluster();
const batch = kc.makeApiClient(BatchV1Api);
const release = 'nerops-resilience';
const INTERVAL_S = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const epoch = (t: string | undefined) => (t ? Date.parse(t) : NaN);
let operatorNs: string;
let ns: string;
let api: Api;

const status = async (name: string): Promise<NerDeploymentStatus> =>
  (await api.get<NerDeployment>(nerDeployments, ns, name)).status ?? {};
const operatorPods = async () =>
  (
    await api.list<V1Pod>(
      builtin.pods,
      operatorNs,
      `app.kubernetes.io/instance=${release},app.kubernetes.io/component=operator`,
    )
  ).filter((p) => !p.metadata?.deletionTimestamp);
const notes = async (name: string, reason: string) =>
  (await api.events(ns, name)).filter((e) => e.reason === reason).map((e) => e.note ?? '');

const prometheusOutage = new PrometheusOutage(info);

/** Load on the NerDeployment's Service for the whole rollout, from a pod, through cluster DNS. */
async function load(job: string, service: string): Promise<void> {
  await batch.createNamespacedJob({ namespace: ns, body: trafficJob(job, `http://${service}:8080`, 10, 280) as never });
}

beforeAll(async () => {
  if (!info.prometheusUrl) throw new Error('the cluster runs no Prometheus');
  operatorNs = await createTestNamespace(core, 'nerops-res');
  ns = await createTestNamespace(core, 'resilience');
  api = new Api(kc);
  const [loader, bundle] = await Promise.all([
    claimWithLoader(info, core, ns, 'models'),
    trainSmallBundle({ seed: 7, count: 200, epochs: 3, name: 'clinical', version: '1.0.0' }),
    installOperator(info, { release, namespace: operatorNs, scope: 'cluster', replicas: 1 }),
  ]);
  await putOnClaim(info, ns, loader, bundle.dir, 'clinical/1.0.0');
  // One bundle, three versions of the model: the stable one and a candidate per scenario.
  for (const [name, version] of [
    ['clinical-v1', '1.0.0'],
    ['clinical-v2', '1.1.0'],
    ['clinical-v3', '1.2.0'],
  ] as const) {
    await api.create(
      nerModels,
      ns,
      nerModel(name, 'pvc://models/clinical/1.0.0', bundle.digest, (m) => (m.spec.version = version)),
    );
  }
  await eventually(
    async () => {
      for (const name of ['clinical-v1', 'clinical-v2', 'clinical-v3'])
        expect((await api.get<NerModel>(nerModels, ns, name)).status?.phase).toBe('Ready');
    },
    240_000,
    1000,
  );
  const rollout = (pause2: number) => ({
    steps: [
      { weight: 25, pauseSeconds: 10 },
      { weight: 50, pauseSeconds: pause2 },
    ],
    analysisIntervalSeconds: INTERVAL_S,
    minSampleCount: 5,
  });
  await api.create(
    nerDeployments,
    ns,
    nerDeployment('resume', 'clinical-v1', { replicas: { min: 1, max: 1 }, rollout: rollout(45) }),
  );
  await api.create(
    nerDeployments,
    ns,
    nerDeployment('held', 'clinical-v1', { replicas: { min: 1, max: 1 }, rollout: rollout(15) }),
  );
  await eventually(
    async () => {
      for (const name of ['resume', 'held'])
        expect(await status(name)).toMatchObject({
          phase: 'Healthy',
          stableModel: 'clinical-v1',
          replicas: { ready: 1 },
        });
    },
    240_000,
    1000,
  );
}, 600_000);

afterAll(async () => {
  await prometheusOutage.end();
  await uninstallOperator(info, core, release, operatorNs, [ns]);
  api?.close();
});

describe('canary rollouts on the real node under failure', () => {
  it('the operator pod deleted mid-rollout: the new pod resumes at the same step and promotes', async () => {
    await load('load-resume', 'resume');
    await api.patch(nerDeployments, ns, 'resume', { spec: { model: 'clinical-v2' } });
    // Given the rollout at step 2/2, its pause running.
    const before = await eventually(
      async () => {
        const s = await status('resume');
        expect(s).toMatchObject({
          canaryModel: 'clinical-v2',
          currentStepIndex: 1,
          weights: { stable: 50, canary: 50 },
        });
        expect(s.pauseStartTime).toBeDefined();
        return s;
      },
      180_000,
      500,
    );
    const [old] = await operatorPods();
    expect(old?.metadata?.name).toBeDefined();

    // When the operator's pod is deleted.
    const deletedAt = Date.now();
    await kubectl(info, '-n', operatorNs, 'delete', 'pod', old!.metadata!.name!, '--wait=false');

    // Then, until the candidate is promoted, the step never goes back and the pause is not restarted.
    const seen: NerDeploymentStatus[] = [];
    let newPod: string | undefined;
    await eventually(
      async () => {
        const s = await status('resume');
        seen.push(s);
        if (!newPod)
          newPod = (await operatorPods()).find(
            (p) =>
              p.metadata?.name !== old!.metadata!.name &&
              p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          )?.metadata?.name;
        if (s.stableModel !== 'clinical-v2') throw new Error(`stable is ${s.stableModel}, step ${s.currentStepIndex}`);
      },
      180_000,
      500,
    );
    const promotedAt = Date.now();
    for (const s of seen.filter((x) => x.canaryModel === 'clinical-v2')) {
      expect(s.currentStepIndex).toBe(1);
      expect(s.pauseStartTime).toBe(before.pauseStartTime);
    }
    expect(seen.every((s) => s.rejectedModel === undefined)).toBe(true);
    expect(newPod, 'a new operator pod became Ready').toBeDefined();

    const s = await status('resume');
    expect(s.history?.at(-1)).toMatchObject({
      model: 'clinical-v2',
      previousModel: 'clinical-v1',
      outcome: 'Promoted',
    });
    // The pause of step 2/2 was not restarted by the new pod: promoted within one pause (+ analysis slack) of its start.
    expect(epoch(s.history?.at(-1)?.endTime) - epoch(before.pauseStartTime)).toBeLessThan((45 + 4 * INTERVAL_S) * 1000);
    await eventually(async () => expect(await notes('resume', 'RolloutPromoted')).toHaveLength(1), 30_000, 1000);
    expect(await notes('resume', 'StepCompleted')).toEqual(['Step 1/2 completed (25%)', 'Step 2/2 completed (50%)']);
    expect(await notes('resume', 'RolloutStarted')).toHaveLength(1);
    expect(await notes('resume', 'RolloutAborted')).toEqual([]);
    console.log(
      `real resilience: operator pod deleted ${((deletedAt - epoch(before.pauseStartTime)) / 1000).toFixed(1)} s into step 2/2; new pod ${newPod}; promoted ${((promotedAt - deletedAt) / 1000).toFixed(1)} s after the delete`,
    );
  });

  it('Prometheus unreachable mid-rollout: the rollout holds at its step, then promotes once Prometheus is back', async () => {
    await load('load-held', 'held');
    await api.patch(nerDeployments, ns, 'held', { spec: { model: 'clinical-v3' } });
    // Given the rollout at step 2/2, its pause running.
    const at = await eventually(
      async () => {
        const s = await status('held');
        expect(s).toMatchObject({
          canaryModel: 'clinical-v3',
          currentStepIndex: 1,
          weights: { stable: 50, canary: 50 },
        });
        expect(s.pauseStartTime).toBeDefined();
        return s;
      },
      180_000,
      500,
    );
    const pauseEnd = epoch(at.pauseStartTime) + 15_000;
    try {
      // When the pods can no longer reach Prometheus.
      await prometheusOutage.begin();

      // Then the analysis is Inconclusive, naming Prometheus, and the rollout is Paused saying why.
      await eventually(
        async () => {
          const s = await status('held');
          expect(s.lastAnalysis).toMatchObject({ stepIndex: 1, outcome: 'Inconclusive' });
          expect(s.lastAnalysis?.message).toMatch(/PrometheusUnreachable: Prometheus at .* is unreachable/);
          expect(s.phase).toBe('Paused');
          expect(s.conditions?.find((c) => c.type === 'Paused')).toMatchObject({
            status: 'True',
            reason: 'AnalysisInconclusive',
            message: expect.stringMatching(/^holding at step 2\/2: PrometheusUnreachable/),
          });
        },
        60_000,
        500,
      );

      // And it holds well past the step's pause: same step and weights, no promotion, no rollback.
      const holdUntil = Math.max(pauseEnd, Date.now()) + 3 * INTERVAL_S * 1000;
      while (Date.now() < holdUntil) {
        const s = await status('held');
        expect(s).toMatchObject({
          phase: 'Paused',
          stableModel: 'clinical-v1',
          canaryModel: 'clinical-v3',
          currentStepIndex: 1,
          weights: { stable: 50, canary: 50 },
          pauseStartTime: at.pauseStartTime,
        });
        expect(s.failedAnalyses ?? 0).toBe(0);
        expect(s.rejectedModel).toBeUndefined();
        await sleep(1000);
      }
      expect(await notes('held', 'StepCompleted')).toEqual(['Step 1/2 completed (25%)']);
      expect(await notes('held', 'RolloutPromoted')).toEqual([]);
      expect(await notes('held', 'RolloutAborted')).toEqual([]);
      expect(await notes('held', 'AnalysisFailed')).toEqual([]);
    } finally {
      // When Prometheus is reachable again.
      await prometheusOutage.end();
    }
    const backAt = Date.now();

    // Then the next analysis passes and the candidate is promoted (the step's pause is long over).
    await eventually(async () => expect((await status('held')).stableModel).toBe('clinical-v3'), 90_000, 500);
    const resumeMs = Date.now() - backAt;
    const s = await status('held');
    expect(s.history?.at(-1)).toMatchObject({
      model: 'clinical-v3',
      previousModel: 'clinical-v1',
      outcome: 'Promoted',
    });
    expect(s.rejectedModel).toBeUndefined();
    await eventually(async () => expect(await notes('held', 'RolloutPromoted')).toHaveLength(1), 30_000, 1000);
    expect(await notes('held', 'StepCompleted')).toEqual(['Step 1/2 completed (25%)', 'Step 2/2 completed (50%)']);
    console.log(`real resilience: Prometheus back → promoted in ${(resumeMs / 1000).toFixed(1)} s`);
  });
});
