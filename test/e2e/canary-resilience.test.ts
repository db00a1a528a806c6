/**
 * Canary rollouts when the machinery around them fails: the operator runs as a real `ner-ops operator`
 * child process (dist/, so `npm run build` first) against the local control plane, real server pods on the
 * process node and the cluster's real Prometheus, which the operator reaches through a TcpProxy the test
 * can cut ("Prometheus is down" for the operator only, without disturbing the shared cluster).
 *
 * Leader election is off (`--leader-elect false`): one operator runs at a time, and the restarted process
 * must not wait out the lease its SIGKILLed predecessor still holds (15 s by default; the lease handover
 * itself is covered by test/integration/k8s/runtime-leader.test.ts). What is tested here is that the
 * rollout state in status is enough to resume.
 *
 * 3. Given a rollout at step 2/2 with one failed analysis counted, When the operator is SIGKILLed and a new
 *    process starts, Then status is unchanged after the restart (step, weights, pause start, failed
 *    analyses, last analysis), the next analysis comes one interval after the last one (neither repeated
 *    at startup nor skipped), every step completes exactly once and in order, and the candidate is
 *    promoted by the new process; kill → ready → first analysis times are printed.
 * 4. Given a rollout at step 2/2, When Prometheus becomes unreachable, Then the analysis is Inconclusive
 *    (naming Prometheus), the rollout is Paused and holds its step and weights well past the step's pause
 *    (no promotion, no rollback, no failed analysis); When Prometheus is back, Then it resumes and is
 *    promoted; hold and resume times are printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisResult, NerDeploymentStatus } from '../../operator/api/nerdeployment.js';
import type { KubeClient } from '../../operator/runtime/kube.js';
import { builtin, resourcePath } from '../../operator/runtime/resource.js';
import { nerOpsCli } from '../../local-cluster/paths.js';
import { TcpProxy } from '../../local-cluster/tcp-proxy.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import { Load } from './load.js';
import {
  Api,
  installCrds,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  TEST_IMAGE,
  trainBundle,
  type NerDeployment,
  type NerModel,
  type TestEvent,
} from '../../testing/operator-fixture.js';

const { info, kc, core } = useCluster();
const INTERVAL_S = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => (ms / 1000).toFixed(1);
const epoch = (t: string | undefined) => (t ? Date.parse(t) : NaN);

let ns: string;
let api: Api;
let proxy: TcpProxy;
let op: OperatorProcess | undefined;
let started = 0;
/** False while the test has cut the operator's way to Prometheus. */
let prometheusUp = true;

/** One `ner-ops operator` process (its own process group, so a SIGKILL takes everything it started). */
class OperatorProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly url: Promise<string>;
  readonly logFile: string;

  constructor(prometheusUrl: string) {
    const dir = join(info.logDir, 'e2e');
    mkdirSync(dir, { recursive: true });
    this.logFile = join(dir, `operator-${ns}-${++started}.log`);
    const log = createWriteStream(this.logFile);
    this.child = spawn(
      process.execPath,
      [
        nerOpsCli,
        'operator',
        '--kubeconfig',
        info.kubeconfigPath,
        '--namespace',
        ns,
        '--prometheus-url',
        prometheusUrl,
        '--image',
        TEST_IMAGE,
        '--leader-elect',
        'false',
        '--metrics-host',
        '127.0.0.1',
        '--metrics-port',
        '0',
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
    let resolveUrl!: (u: string) => void;
    let rejectUrl!: (e: Error) => void;
    this.url = new Promise<string>((res, rej) => ((resolveUrl = res), (rejectUrl = rej)));
    void this.exited.then(() => rejectUrl(new Error(`operator exited before listening (log: ${this.logFile})`)));
    let buf = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      log.write(chunk);
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line) as { msg?: string; url?: string };
          if (rec.msg === 'metrics and health server listening' && rec.url) resolveUrl(rec.url);
        } catch {
          // not a log record
        }
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => log.write(chunk));
    void this.exited.then(() => log.end());
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves when /readyz answers 200 (caches synced, reconciling), with the time it did. */
  async ready(timeoutMs = 60_000): Promise<number> {
    const url = await this.url;
    return eventually(
      async () => {
        const res = await fetch(`${url}/readyz`);
        if (res.status !== 200) throw new Error(`/readyz ${res.status}: ${await res.text()}`);
        return Date.now();
      },
      timeoutMs,
      100,
    );
  }

  /** Reconciles of one controller this process has finished (its /metrics). */
  async reconciles(controller: string): Promise<number> {
    const body = await (await fetch(`${await this.url}/metrics`)).text();
    let n = 0;
    for (const m of body.matchAll(/^nerops_operator_reconcile_total\{([^}]*)\} (\d+)/gm))
      if (m[1]?.includes(`controller="${controller}"`)) n += Number(m[2]);
    return n;
  }

  /** SIGKILL to the whole process group: no drain, no goodbye. */
  async kill(): Promise<void> {
    if (this.alive && this.child.pid) process.kill(-this.child.pid, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM (graceful), SIGKILL after 20 s. */
  async stop(): Promise<void> {
    if (!this.alive || !this.child.pid) return;
    process.kill(-this.child.pid, 'SIGTERM');
    const t = setTimeout(() => void this.kill(), 20_000);
    await this.exited;
    clearTimeout(t);
  }
}

interface Seen {
  /** Wall-clock time the test saw this version. */
  at: number;
  status: NerDeploymentStatus;
}

/**
 * Every status version of one NerDeployment, from a watch (polling could miss a version that lived for
 * less than its period; a watch sees each write). Re-watches from the last resourceVersion on a close.
 */
class StatusRecorder {
  readonly seen: Seen[] = [];
  readonly #abort = new AbortController();
  readonly #done: Promise<void>;

  constructor(kube: KubeClient, namespace: string, name: string) {
    this.#done = (async () => {
      let rv: string | undefined;
      while (!this.#abort.signal.aborted) {
        try {
          await kube.watch<NerDeployment>(
            resourcePath(nerDeployments, namespace),
            { fieldSelector: `metadata.name=${name}`, ...(rv ? { resourceVersion: rv } : {}) },
            (e) => {
              if (e.type === 'ERROR') rv = undefined;
              else if (e.type !== 'BOOKMARK' && e.type !== 'DELETED') {
                rv = e.object.metadata.resourceVersion;
                this.seen.push({ at: Date.now(), status: structuredClone(e.object.status ?? {}) });
              }
            },
            { signal: this.#abort.signal },
          );
        } catch {
          await sleep(200);
        }
      }
    })();
  }

  /** Distinct analyses recorded in status.lastAnalysis, oldest first, with when the test first saw each. */
  analyses(): Array<AnalysisResult & { seenAt: number }> {
    const out: Array<AnalysisResult & { seenAt: number }> = [];
    const keys = new Set<string>();
    for (const { at, status } of this.seen) {
      const a = status.lastAnalysis;
      if (!a) continue;
      const key = `${a.time}|${a.stepIndex}|${a.outcome}`;
      if (keys.has(key)) continue;
      keys.add(key);
      out.push({ ...a, seenAt: at });
    }
    return out;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}

type Event = TestEvent;

const status = async (name: string) => (await api.get<NerDeployment>(nerDeployments, ns, name)).status ?? {};
const canaryDeployment = (name: string) =>
  api.get<V1Deployment>(builtin.deployments, ns, `${name}-canary`).catch(() => undefined);
const canaryPodUids = async (name: string) =>
  (await api.list<V1Pod>(builtin.pods, ns, `nerops.io/deployment=${name},nerops.io/track=canary`))
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => p.metadata?.uid)
    .sort();
const events = (name: string) => api.events(ns, name);
const notes = (es: Event[], reason: string) => es.filter((e) => e.reason === reason).map((e) => e.note ?? '');

/** Checks every pair of consecutive analyses of one step: not repeated (≥ one interval apart), not skipped (< two). */
function expectEvenlySpaced(analyses: readonly AnalysisResult[], stepIndex: number): number[] {
  const times = analyses.filter((a) => a.stepIndex === stepIndex).map((a) => epoch(a.time));
  const gaps = times.slice(1).map((t, i) => (t - (times[i] as number)) / 1000);
  for (const g of gaps) {
    expect(g, `analysis gaps of step ${stepIndex + 1}: ${gaps.join(', ')} s`).toBeGreaterThanOrEqual(INTERVAL_S);
    expect(g, `analysis gaps of step ${stepIndex + 1}: ${gaps.join(', ')} s`).toBeLessThan(2 * INTERVAL_S);
  }
  return gaps;
}

/** Given a NerDeployment serving clinical-v1 on one replica, with the rollout spec of the scenario. */
async function givenStable(name: string, rollout: Record<string, unknown>): Promise<void> {
  await api.create(nerDeployments, ns, nerDeployment(name, 'clinical-v1', { replicas: { min: 1, max: 1 }, rollout }));
}

beforeAll(async () => {
  if (!existsSync(nerOpsCli)) throw new Error(`${nerOpsCli} is missing: run 'npm run build' first`);
  if (!info.prometheusUrl) throw new Error('the cluster runs no Prometheus (full profile expected)');
  const [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  ns = await createTestNamespace(core, 'canary-res');
  api = new Api(kc);
  proxy = new TcpProxy(new URL(info.prometheusUrl));
  await proxy.start();
  op = new OperatorProcess(`http://127.0.0.1:${proxy.port}`);
  await op.ready();
  // Three versions of the same bundle: stable, and one candidate per scenario (validated now, in parallel).
  for (const [name, version] of [
    ['clinical-v1', '1.0.0'],
    ['clinical-v2', '1.1.0'],
    ['clinical-v3', '1.2.0'],
  ] as const) {
    await api.create(
      nerModels,
      ns,
      nerModel(name, bundle.uri, bundle.digest, (m) => (m.spec.version = version)),
    );
  }
  await eventually(
    async () => {
      for (const name of ['clinical-v1', 'clinical-v2', 'clinical-v3'])
        expect((await api.get<NerModel>(nerModels, ns, name)).status?.phase).toBe('Ready');
    },
    120_000,
    500,
  );
  // A first analysis no candidate can pass (p95 ≤ 0.05 ms), so a failed analysis is counted before the kill.
  await givenStable('resume', {
    steps: [
      { weight: 25, pauseSeconds: 15 },
      { weight: 50, pauseSeconds: 20 },
    ],
    analysisIntervalSeconds: INTERVAL_S,
    minSampleCount: 10,
    failureLimit: 3,
    thresholds: { maxP95LatencyMs: 0.05 },
  });
  await givenStable('held', {
    steps: [
      { weight: 25, pauseSeconds: 10 },
      { weight: 50, pauseSeconds: 10 },
    ],
    analysisIntervalSeconds: INTERVAL_S,
    minSampleCount: 10,
  });
  await eventually(
    async () => {
      for (const name of ['resume', 'held'])
        expect(await status(name)).toMatchObject({
          phase: 'Healthy',
          stableModel: 'clinical-v1',
          replicas: { ready: 1 },
        });
    },
    120_000,
    500,
  );
}, 300_000);

afterAll(async () => {
  await op?.stop();
  await proxy?.cut();
  // Free the process node for whatever runs next (the garbage collector removes the pods).
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
  api?.close();
});

describe('canary rollouts under failure', () => {
  it('(3) the operator killed mid-rollout: the restarted one resumes at the same step, analyses neither skipped nor repeated, promoted', async () => {
    const rec = new StatusRecorder(api.kube, ns, 'resume');
    const load = await new Load(api.kube, ns, 'resume', 10).start();
    try {
      // Given a rollout of clinical-v2 with one failed analysis counted at step 1 (then a threshold it meets).
      await api.patch(nerDeployments, ns, 'resume', { spec: { model: 'clinical-v2' } });
      await eventually(
        async () => expect((await status('resume')).failedAnalyses).toBeGreaterThanOrEqual(1),
        60_000,
        250,
      );
      await api.patch(nerDeployments, ns, 'resume', { spec: { rollout: { thresholds: { maxP95LatencyMs: 5000 } } } });

      // And the rollout at step 2/2, right after its first passing analysis there.
      const before = await eventually(
        async () => {
          const s = await status('resume');
          expect(s).toMatchObject({
            canaryModel: 'clinical-v2',
            currentStepIndex: 1,
            lastAnalysis: { stepIndex: 1, outcome: 'Pass' },
          });
          return s;
        },
        90_000,
        100,
      );
      const podsBefore = await canaryPodUids('resume');
      const replicasBefore = (await canaryDeployment('resume'))?.spec?.replicas;
      expect(before.weights).toEqual({ stable: 50, canary: 50 });
      expect(before.failedAnalyses).toBeGreaterThanOrEqual(1);

      // When the operator is SIGKILLed and a new process starts.
      const killedAt = Date.now();
      await op?.kill();
      op = new OperatorProcess(`http://127.0.0.1:${proxy.port}`);
      const readyAt = await op.ready();
      // Its first reconcile of both NerDeployments (the initial list queues every key).
      await eventually(
        async () => expect(await op?.reconciles('nerdeployment')).toBeGreaterThanOrEqual(2),
        30_000,
        100,
      );

      // Then status is exactly where the killed process left it: same step, weights, pause, counters.
      const after = await status('resume');
      const kept = [
        'canaryModel',
        'currentStepIndex',
        'stepsHash',
        'weights',
        'pauseStartTime',
        'failedAnalyses',
      ] as const;
      for (const k of kept) expect(after[k], k).toEqual(before[k]);
      const dueMs = epoch(before.lastAnalysis?.time) + INTERVAL_S * 1000;
      // The last analysis is the same one unless the next was already due (then it is the next, never a repeat).
      if (after.lastAnalysis?.time !== before.lastAnalysis?.time)
        expect(epoch(after.lastAnalysis?.time)).toBeGreaterThanOrEqual(dueMs);
      expect(await canaryPodUids('resume')).toEqual(podsBefore);
      expect((await canaryDeployment('resume'))?.spec?.replicas).toBe(replicasBefore);

      // And the next analysis is the new process's, one interval after the last one: not repeated at startup, not skipped.
      const next = await eventually(
        async () => {
          const a = rec.analyses().find((x) => epoch(x.time) > epoch(before.lastAnalysis?.time));
          if (!a) throw new Error('no analysis since the restart yet');
          return a;
        },
        30_000,
        100,
      );
      expect(next.stepIndex).toBe(1);
      expect(epoch(next.time)).toBeGreaterThanOrEqual(dueMs);
      expect(epoch(next.time)).toBeLessThan(Math.max(dueMs, readyAt) + INTERVAL_S * 1000);

      // And the rollout ends Promoted, one pause after step 2/2 started (the pause was not restarted).
      await eventually(async () => expect((await status('resume')).stableModel).toBe('clinical-v2'), 60_000, 250);
      const promotedAt = Date.now();
      const s = await status('resume');
      const entry = s.history?.at(-1);
      expect(entry).toMatchObject({ model: 'clinical-v2', previousModel: 'clinical-v1', outcome: 'Promoted' });
      const step2Ms = epoch(entry?.endTime) - epoch(before.pauseStartTime);
      expect(step2Ms).toBeGreaterThanOrEqual(20_000);
      expect(step2Ms).toBeLessThan(20_000 + INTERVAL_S * 1000);

      // Every step completed exactly once, in order; one rollout; each failed analysis recorded once.
      // (Events are recorded right after the status write that they describe: wait for the promotion's.)
      const es = await eventually(
        async () => {
          const es = await events('resume');
          expect(notes(es, 'RolloutPromoted')).toHaveLength(1);
          return es;
        },
        10_000,
        250,
      );
      expect(notes(es, 'RolloutStarted')).toHaveLength(1);
      expect(notes(es, 'StepCompleted')).toEqual(['Step 1/2 completed (25%)', 'Step 2/2 completed (50%)']);
      expect(notes(es, 'RolloutPromoted')).toHaveLength(1);
      expect(notes(es, 'RolloutAborted')).toEqual([]);
      expect(notes(es, 'AnalysisFailed')).toHaveLength(before.failedAnalyses ?? 0);
      // The first step was completed by the killed process, the second and the promotion by the new one.
      const by = (reason: string, note?: string) =>
        es.find((e) => e.reason === reason && (!note || e.note?.startsWith(note)))?.reportingInstance;
      expect(by('StepCompleted', 'Step 2/2')).toBeDefined();
      expect(by('StepCompleted', 'Step 2/2')).not.toBe(by('StepCompleted', 'Step 1/2'));
      expect(by('RolloutPromoted')).toBe(by('StepCompleted', 'Step 2/2'));

      // The analyses as status recorded them: evenly spaced within each step, the restart included.
      const analyses = rec.analyses();
      const gaps0 = expectEvenlySpaced(analyses, 0);
      const gaps1 = expectEvenlySpaced(analyses, 1);
      expect(analyses.filter((a) => a.outcome === 'Fail')).toHaveLength(before.failedAnalyses ?? 0);
      expect(load.served.canary).toBeGreaterThan(0);

      console.log(
        `canary resilience: SIGKILL at step 2/2 (${secs(killedAt - epoch(before.pauseStartTime))} s into its 20 s pause, last analysis ${secs(killedAt - epoch(before.lastAnalysis?.time))} s before); ` +
          `new process ready ${secs(readyAt - killedAt)} s after the kill; first analysis after the restart ${secs(epoch(next.time) - epoch(before.lastAnalysis?.time))} s after the previous one (interval ${INTERVAL_S} s, due ${secs(dueMs - killedAt)} s after the kill, seen ${secs(next.seenAt - killedAt)} s after it); ` +
          `step 2/2 pause start → promoted ${secs(step2Ms)} s; analysis gaps step 1 [${gaps0.join(', ')}] s, step 2 [${gaps1.join(', ')}] s; failed analyses kept ${before.failedAnalyses}; promoted seen ${secs(promotedAt - killedAt)} s after the kill; ` +
          `requests stable/canary ${load.served.stable}/${load.served.canary}, codes ${JSON.stringify(load.codes)}`,
      );
    } finally {
      load.stop();
      await rec.stop();
    }
  }, 300_000);

  it('(4) Prometheus unreachable mid-rollout: analysis inconclusive, the rollout holds its step (no promotion, no rollback); back: resumes and promotes', async () => {
    if (!op?.alive) {
      op = new OperatorProcess(`http://127.0.0.1:${proxy.port}`);
      await op.ready();
    }
    const rec = new StatusRecorder(api.kube, ns, 'held');
    const load = await new Load(api.kube, ns, 'held', 10).start();
    try {
      // Given a rollout of clinical-v3 at step 2/2, its pause running.
      await api.patch(nerDeployments, ns, 'held', { spec: { model: 'clinical-v3' } });
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
        90_000,
        100,
      );
      const pauseEnd = epoch(at.pauseStartTime) + 10_000;

      // When Prometheus becomes unreachable for the operator.
      await proxy.cut();
      prometheusUp = false;
      const cutAt = Date.now();

      // Then the analysis is Inconclusive and says Prometheus is unreachable; the rollout is Paused.
      const inconclusive = await eventually(
        async () => {
          const s = await status('held');
          expect(s.lastAnalysis).toMatchObject({ stepIndex: 1, outcome: 'Inconclusive' });
          expect(s.lastAnalysis?.message).toMatch(
            /^PrometheusUnreachable: Prometheus at http:\/\/127\.0\.0\.1:\d+ is unreachable/,
          );
          expect(s.phase).toBe('Paused');
          expect(s.conditions?.find((c) => c.type === 'Paused')).toMatchObject({
            status: 'True',
            reason: 'AnalysisInconclusive',
            message: expect.stringMatching(/^holding at step 2\/2: PrometheusUnreachable/),
          });
          return s;
        },
        INTERVAL_S * 1000 + 15_000,
        250,
      );
      const inconclusiveMs = epoch(inconclusive.lastAnalysis?.time) - cutAt;

      // And it holds well past the step's pause (three more intervals): same step and weights, no rollback.
      const canaryServedAtCut = load.served.canary ?? 0;
      const holdUntil = Math.max(pauseEnd, Date.now()) + 3 * INTERVAL_S * 1000;
      let checks = 0;
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
        expect((await canaryDeployment('held'))?.spec?.replicas).toBe(1);
        checks++;
        await sleep(1000);
      }
      const heldPastPauseMs = Date.now() - pauseEnd;
      const heldAnalyses = rec.analyses().filter((a) => a.stepIndex === 1 && a.outcome === 'Inconclusive');
      // The analysis kept running (every interval), each one inconclusive.
      expect(heldAnalyses.length).toBeGreaterThanOrEqual(3);
      expectEvenlySpaced(
        rec.analyses().filter((a) => epoch(a.time) >= epoch(inconclusive.lastAnalysis?.time)),
        1,
      );
      let es = await events('held');
      expect(notes(es, 'StepCompleted')).toEqual(['Step 1/2 completed (25%)']);
      expect(notes(es, 'RolloutPromoted')).toEqual([]);
      expect(notes(es, 'RolloutAborted')).toEqual([]);
      expect(notes(es, 'AnalysisFailed')).toEqual([]);
      // One Event for the transition to inconclusive, not one per analysis. (A step's first analysis may
      // also be inconclusive on its own — too few samples yet on a loaded machine — which is its own Event.)
      const held = notes(es, 'AnalysisInconclusive').filter((n) => /PrometheusUnreachable/.test(n));
      expect(held, JSON.stringify(notes(es, 'AnalysisInconclusive'))).toHaveLength(1);
      expect(held[0]).toMatch(/^step 2\/2: analysis inconclusive, holding: PrometheusUnreachable/);
      // The candidate kept its share of the traffic meanwhile.
      expect(load.served.canary ?? 0).toBeGreaterThan(canaryServedAtCut);

      // When Prometheus is back.
      await proxy.start();
      prometheusUp = true;
      const backAt = Date.now();

      // Then the next analysis passes, the step completes at once (its pause is long over) and it is promoted.
      await eventually(async () => expect((await status('held')).stableModel).toBe('clinical-v3'), 60_000, 250);
      const resumeMs = Date.now() - backAt;
      expect(resumeMs).toBeLessThan(2 * INTERVAL_S * 1000);
      const s = await status('held');
      expect(s.history?.at(-1)).toMatchObject({
        model: 'clinical-v3',
        previousModel: 'clinical-v1',
        outcome: 'Promoted',
      });
      expect(s.rejectedModel).toBeUndefined();
      es = await eventually(
        async () => {
          const es = await events('held');
          expect(notes(es, 'RolloutPromoted')).toHaveLength(1);
          return es;
        },
        10_000,
        250,
      );
      expect(notes(es, 'StepCompleted')).toEqual(['Step 1/2 completed (25%)', 'Step 2/2 completed (50%)']);
      expect(notes(es, 'RolloutAborted')).toEqual([]);
      // 100 % on the new model: the stable track runs it and the candidate's Deployment is gone.
      await eventually(
        async () => {
          expect(await status('held')).toMatchObject({ phase: 'Healthy', weights: { stable: 100, canary: 0 } });
          expect(await canaryDeployment('held')).toBeUndefined();
        },
        90_000,
        500,
      );

      console.log(
        `canary resilience: Prometheus cut at step 2/2 (${secs(cutAt - epoch(at.pauseStartTime))} s into its 10 s pause); first inconclusive analysis ${secs(inconclusiveMs)} s after the cut; ` +
          `held Paused at 50/50 until ${secs(heldPastPauseMs)} s past the pause end (${heldAnalyses.length} inconclusive analyses, ${checks} checks, no step, no promotion, no rollback); ` +
          `Prometheus back → promoted in ${secs(resumeMs)} s; requests stable/canary ${load.served.stable}/${load.served.canary}, codes ${JSON.stringify(load.codes)}`,
      );
    } finally {
      load.stop();
      await rec.stop();
      if (!prometheusUp) await proxy.start();
    }
  }, 300_000);
});
