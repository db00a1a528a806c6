/**
 * Operator benchmarks (issue 5, "Benchmarks"), against the local cluster harness (local-cluster):
 *
 *   npm run bench:operator            (= npm run build && node dist/bench/operator.js)
 *
 * 1. `apiserver` profile: time from a NerDeployment's create call returning to its Deployment existing
 *    (seen on a watch), p50/p95 over 30 NerDeployments created one after another. The pinned NerModel is
 *    made Ready by writing its status through /status (nothing validates models on this profile, so the
 *    operator runs only the nerdeployment controller and cannot overwrite that status).
 * 2. `apiserver` profile, 500 NerDeployments: operator RSS after convergence, writes while nothing changes
 *    (the operator's own request counter, and the resourceVersions of every watched object, over 60 s), time
 *    to converge after a restart with nothing changed, and after a restart during which every
 *    NerDeployment's spec changed (every status.observedGeneration stale).
 * 3. `full` profile: one NerDeployment to Ready with real pods on the process node, the NerModel validated
 *    for real (a small bundle trained now on synthetic notes, served through a file:// URI).
 *
 * The operator always runs as a child process (`node dist/cli/ner-ops.js operator`), so its RSS is its own;
 * leader election is off (its Lease renewals would be writes that are not reconciles). Exits non-zero only
 * on errors; a missed goal is reported, not fatal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { startCluster, type Cluster } from '../local-cluster/cluster.js';
import { applyCrds, projectCrds } from '../local-cluster/crds.js';
import { freePorts } from '../local-cluster/ports.js';
import { KubeClient, isAlreadyExists, type WatchEvent } from '../operator/runtime/kube.js';
import { builtin, resourcePath, type ResourceType } from '../operator/runtime/resource.js';
import { nerDeployments, nerModels } from '../operator/api/resources.js';
import type { NerDeployment } from '../operator/api/nerdeployment.js';
import type { NerModel } from '../operator/api/nermodel.js';
import { metricValue } from '../testing/fixtures.js';
import { generateNotes, writeConll } from '../trainer/synthetic.js';
import { trainBundle } from '../trainer/train.js';

const root = join(import.meta.dirname, '..', '..');
const CLI = join(root, 'dist', 'cli', 'ner-ops.js');
const IMAGE = 'nerops:dev';
const LATENCY_COUNT = Number(process.env.BENCH_LATENCY_COUNT ?? 30);
const SCALE_COUNT = Number(process.env.BENCH_SCALE_COUNT ?? 500);
const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 60_000);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (line: string) => console.error(`[bench +${((performance.now() - T0) / 1000).toFixed(1)}s] ${line}`);
const T0 = performance.now();

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await sleep(intervalMs);
  }
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

// ---------------------------------------------------------------------------------------------- API

/** The bench's own client (user agent nerops-bench: never counted as the operator's). */
class Api {
  readonly kube: KubeClient;
  constructor(cluster: Cluster) {
    this.kube = new KubeClient(cluster.kubeConfig, { userAgent: 'nerops-bench' });
  }
  create<T extends KubernetesObject>(rt: ResourceType, ns: string, obj: T): Promise<T> {
    return this.kube.request<T>({ method: 'POST', path: resourcePath(rt, ns), body: obj });
  }
  get<T extends KubernetesObject>(rt: ResourceType, ns: string, name: string): Promise<T> {
    return this.kube.request<T>({ method: 'GET', path: resourcePath(rt, ns, name) });
  }
  async list<T extends KubernetesObject>(rt: ResourceType, ns: string): Promise<T[]> {
    return (await this.kube.request<{ items: T[] }>({ method: 'GET', path: resourcePath(rt, ns) })).items;
  }
  mergePatch(rt: ResourceType, ns: string, name: string, body: unknown, subresource?: string): Promise<unknown> {
    return this.kube.request({
      method: 'PATCH',
      path: resourcePath(rt, ns, name, subresource),
      body,
      contentType: 'application/merge-patch+json',
    });
  }
  async namespace(name: string): Promise<void> {
    try {
      await this.kube.request({
        method: 'POST',
        path: '/api/v1/namespaces',
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
      });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
  /** Watches `rt` in `ns` until the returned function is called; `onEvent` sees every event. */
  watch<T extends KubernetesObject>(rt: ResourceType, ns: string, onEvent: (e: WatchEvent<T>) => void): () => void {
    const ac = new AbortController();
    const loop = async () => {
      let resourceVersion = (
        await this.kube.request<{ metadata: { resourceVersion: string } }>({
          method: 'GET',
          path: resourcePath(rt, ns),
          query: { limit: 1 },
        })
      ).metadata.resourceVersion;
      while (!ac.signal.aborted) {
        try {
          await this.kube.watch<T>(
            resourcePath(rt, ns),
            { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 600 },
            (e) => {
              const rv = e.object?.metadata?.resourceVersion;
              if (rv) resourceVersion = rv;
              if (e.type !== 'BOOKMARK' && e.type !== 'ERROR') onEvent(e);
            },
            { signal: ac.signal },
          );
        } catch (err) {
          if (!ac.signal.aborted) log(`watch ${rt.plural} restarted: ${(err as Error).message}`);
        }
      }
    };
    void loop();
    return () => ac.abort();
  }
  close(): void {
    this.kube.close();
  }
}

function nerModelManifest(name: string, uri: string, digest: string): NerModel {
  return {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerModel',
    metadata: { name },
    spec: {
      family: 'clinical',
      version: '1.0.0',
      format: 'crf',
      source: { uri, digest },
      entityTypes: ['DISEASE', 'TREATMENT'],
    },
  } as NerModel;
}

function nerDeploymentManifest(
  name: string,
  model: string,
  min = 1,
): KubernetesObject & { spec: Record<string, unknown> } {
  return {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerDeployment',
    metadata: { name },
    spec: { model, replicas: { min, max: 3 } },
  };
}

// ---------------------------------------------------------------------------------------- operator

/** `ner-ops operator` as a child process, with its /metrics on a port of its own. */
class OperatorProcess {
  readonly startedAt = performance.now();
  readonly exited: Promise<number | null>;
  private stderrTail = '';
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderrTail = (this.stderrTail + d).slice(-4000)));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      // Warnings and errors only (--log-level warn): show them, they matter for the numbers.
      for (const line of d.split('\n')) if (line.trim()) log(`operator: ${line.slice(0, 400)}`);
    });
  }

  static async start(cluster: Cluster, args: string[]): Promise<OperatorProcess> {
    const [port] = await freePorts(1);
    const child = spawn(
      process.execPath,
      [
        CLI,
        'operator',
        '--kubeconfig',
        cluster.kubeconfigPath,
        '--leader-elect',
        'false',
        '--metrics-host',
        '127.0.0.1',
        '--metrics-port',
        String(port),
        '--image',
        IMAGE,
        '--log-level',
        'warn',
        ...args,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NEROPS_LOG_LEVEL: 'warn' } },
    );
    const op = new OperatorProcess(child, `http://127.0.0.1:${port}`);
    const exitedEarly = op.exited.then((code) => {
      throw new Error(`operator exited with ${code} during start: ${op.stderrTail}`);
    });
    await Promise.race([
      until('operator /readyz', async () => (await fetch(`${op.url}/readyz`)).ok, 60_000, 50),
      exitedEarly,
    ]);
    exitedEarly.catch(() => undefined);
    return op;
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`)).text();
  }

  /** Mutating API requests the operator sent (POST/PUT/PATCH/DELETE, any status). */
  async writes(): Promise<number> {
    const text = await this.metrics();
    return ['POST', 'PUT', 'PATCH', 'DELETE'].reduce(
      (n, verb) => n + (metricValue(text, 'nerops_operator_api_requests_total', { verb }) ?? 0),
      0,
    );
  }

  /** The operator's write counters (by kind/op) and its non-GET requests (by verb/code), for the log. */
  async writeBreakdown(): Promise<string> {
    const text = await this.metrics();
    return text
      .split('\n')
      .filter(
        (l) =>
          (l.startsWith('nerops_operator_writes_total{') ||
            (l.startsWith('nerops_operator_api_requests_total{') && !/verb="(GET|WATCH)"/.test(l))) &&
          !l.endsWith(' 0'),
      )
      .join('; ');
  }

  async reconciles(controller = 'nerdeployment'): Promise<{ done: number; queue: number; errors: number }> {
    const text = await this.metrics();
    return {
      done: metricValue(text, 'nerops_operator_reconcile_total', { controller }) ?? 0,
      queue: metricValue(text, 'nerops_operator_queue_depth', { controller }) ?? 0,
      errors: metricValue(text, 'nerops_operator_reconcile_errors_total', { controller }) ?? 0,
    };
  }

  /** V8 heap in use (bytes), from the operator's default process metrics. */
  async heapUsed(): Promise<number> {
    return metricValue(await this.metrics(), 'nerops_operator_nodejs_heap_size_used_bytes') ?? NaN;
  }

  /** Resident set size in bytes, from /proc (the child's own). */
  rss(): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  }

  /** SIGTERM (graceful: drain, stop watches), SIGKILL after 40 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 40_000);
    await this.exited;
    clearTimeout(t);
  }
}

// ------------------------------------------------------------------------------------------ results

interface Row {
  what: string;
  value: string;
  goal: string;
  met?: boolean;
}
const rows: Row[] = [];
const ms = (v: number) => `${Math.round(v)} ms`;
const s = (v: number) => `${(v / 1000).toFixed(1)} s`;
const mb = (v: number) => `${(v / 1024 / 1024).toFixed(1)} MB`;

function printTable(): void {
  const w0 = Math.max(...rows.map((r) => r.what.length), 6);
  const w1 = Math.max(...rows.map((r) => r.value.length), 5);
  const w2 = Math.max(...rows.map((r) => r.goal.length), 4);
  const line = (a: string, b: string, c: string, d: string) =>
    `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c.padEnd(w2)}  ${d}`;
  console.log('');
  console.log(line('metric', 'value', 'goal', 'met'));
  console.log(line('-'.repeat(w0), '-'.repeat(w1), '-'.repeat(w2), '---'));
  for (const r of rows) console.log(line(r.what, r.value, r.goal, r.met === undefined ? '' : r.met ? 'yes' : 'NO'));
}

// -------------------------------------------------------------------------------- apiserver profile

async function apiserverBench(): Promise<void> {
  log('starting apiserver profile');
  const cluster = await startCluster({ profile: 'apiserver' });
  const api = new Api(cluster);
  let op: OperatorProcess | undefined;
  const stops: Array<() => void> = [];
  try {
    log(`apiserver ready in ${s(cluster.startMs)}; installing CRDs`);
    await applyCrds(cluster.kubeConfig, projectCrds(), 'nerops-bench');
    const ns = 'bench';
    await api.namespace(ns);
    // The harness's --service-cluster-ip-range (local-cluster/controlplane.ts SERVICE_CIDR) is a /24: 253
    // ClusterIPs, fewer than one Service per NerDeployment here. A second ServiceCIDR (GA since 1.33) adds
    // 4094 more without restarting the apiserver.
    try {
      await api.kube.request({
        method: 'POST',
        path: '/apis/networking.k8s.io/v1/servicecidrs',
        body: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'ServiceCIDR',
          metadata: { name: 'nerops-bench' },
          spec: { cidrs: ['10.1.0.0/20'] },
        },
      });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    // The pinned model, Ready with plausible metrics (status written through /status, as the validation would).
    await api.create(nerModels, ns, nerModelManifest('clinical-v1', 'file:///models/clinical-v1', 'a'.repeat(64)));
    await api.mergePatch(
      nerModels,
      ns,
      'clinical-v1',
      {
        status: {
          observedGeneration: 1,
          phase: 'Ready',
          verifiedDigest: 'a'.repeat(64),
          sizeBytes: 1_234_567,
          entityTypes: ['DISEASE', 'TREATMENT'],
          metrics: {
            micro: { precision: 0.91, recall: 0.88, f1: 0.895, support: 1200, predicted: 1160, correct: 1056 },
            source: 'bundle',
            sentences: 300,
          },
          validatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          message: 'validated (bench)',
        },
      },
      'status',
    );

    // Only the nerdeployment controller: the nermodel controller would validate the fake model with a Job
    // that nothing runs on this profile.
    op = await OperatorProcess.start(cluster, ['--controllers', 'nerdeployment']);
    log('operator ready');

    // --- 1. create → Deployment exists, one at a time.
    const seen = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    stops.push(
      api.watch<V1Deployment>(builtin.deployments, ns, (e) => {
        const name = e.object.metadata?.name ?? '';
        if (e.type === 'ADDED' && !seen.has(name)) {
          seen.set(name, performance.now());
          waiters.get(name)?.();
        }
      }),
    );
    await sleep(500); // the watch is open
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_COUNT; i++) {
      const name = `lat-${String(i).padStart(3, '0')}`;
      const dep = `${name}-stable`;
      const appeared = new Promise<void>((r) => waiters.set(dep, r));
      await api.create(nerDeployments, ns, nerDeploymentManifest(name, 'clinical-v1'));
      const t0 = performance.now();
      await Promise.race([
        appeared,
        sleep(30_000).then(() => {
          throw new Error(`Deployment ${dep} did not appear within 30 s`);
        }),
      ]);
      latencies.push(Math.max(0, (seen.get(dep) as number) - t0));
    }
    const p50 = percentile(latencies, 50);
    rows.push({
      what: `NerDeployment created → Deployment exists, p50 (n=${LATENCY_COUNT}, apiserver)`,
      value: ms(p50),
      goal: '< 100 ms',
      met: p50 < 100,
    });
    rows.push({
      what: `  p95 / max`,
      value: `${ms(percentile(latencies, 95))} / ${ms(Math.max(...latencies))}`,
      goal: '',
    });
    log(`latency: p50 ${ms(p50)}, p95 ${ms(percentile(latencies, 95))}`);

    // --- 2. scale to SCALE_COUNT NerDeployments.
    const names = Array.from({ length: SCALE_COUNT - LATENCY_COUNT }, (_, i) => `scale-${String(i).padStart(4, '0')}`);
    const tCreate = performance.now();
    await pool(names, 16, async (name) => {
      await api.create(nerDeployments, ns, nerDeploymentManifest(name, 'clinical-v1'));
    });
    const createdMs = performance.now() - tCreate;
    const converged = async (): Promise<boolean> => {
      const nds = await api.list<NerDeployment>(nerDeployments, ns);
      return (
        nds.length === SCALE_COUNT &&
        nds.every((nd) => nd.status?.observedGeneration === nd.metadata.generation) &&
        seen.size >= SCALE_COUNT
      );
    };
    await until(`${SCALE_COUNT} NerDeployments converged`, converged, 180_000, 250);
    const convergeMs = performance.now() - tCreate;
    const quiet = await waitQuiet(op, 3000, 60_000);
    log(
      `${SCALE_COUNT} NerDeployments: created in ${s(createdMs)}, converged ${s(convergeMs)} after the first create, writes quiet after ${s(quiet.ms)}`,
    );
    rows.push({
      what: `${SCALE_COUNT - LATENCY_COUNT} more NerDeployments (16 parallel creates) → all converged`,
      value: s(convergeMs),
      goal: '',
    });

    // --- 3. RSS after convergence.
    await sleep(2000);
    const mem = op.rss();
    rows.push({
      what: `operator RSS with ${SCALE_COUNT} NerDeployments (peak)`,
      value: `${mb(mem.rss)} (${mb(mem.peak)})`,
      goal: '< 150 MB',
      met: mem.rss < 150 * 1024 * 1024,
    });
    rows.push({ what: `  V8 heap used`, value: mb(await op.heapUsed()), goal: '' });
    log(`RSS ${mb(mem.rss)}, peak ${mb(mem.peak)}`);

    // --- 4. writes while nothing changes, two ways: the operator's counter, and the resourceVersions of
    //        every object it manages (any write to them, by anyone, shows up as a MODIFIED event).
    const modified = new Map<string, number>();
    const count = (kind: string) => (e: WatchEvent) => {
      if (e.type !== 'ADDED') modified.set(kind, (modified.get(kind) ?? 0) + 1);
    };
    const rvStops = [
      api.watch(nerDeployments, ns, count('NerDeployment')),
      api.watch(nerModels, ns, count('NerModel')),
      api.watch(builtin.deployments, ns, count('Deployment')),
      api.watch(builtin.services, ns, count('Service')),
      api.watch(builtin.podDisruptionBudgets, ns, count('PodDisruptionBudget')),
      api.watch(builtin.events, ns, count('Event')),
    ];
    await sleep(1000);
    modified.clear();
    const w0 = await op.writes();
    const r0 = await op.reconciles();
    await sleep(STEADY_MS);
    const w1 = await op.writes();
    const r1 = await op.reconciles();
    rvStops.forEach((stop) => stop());
    const perMin = ((w1 - w0) * 60_000) / STEADY_MS;
    const objChanges = [...modified.values()].reduce((a, b) => a + b, 0);
    rows.push({
      what: `operator writes/min at steady state (${SCALE_COUNT} NDs, ${s(STEADY_MS)} window)`,
      value: perMin.toFixed(1),
      goal: '0',
      met: perMin === 0,
    });
    rows.push({
      what: `  object changes seen on watches in the window`,
      value: String(objChanges),
      goal: '0',
      met: objChanges === 0,
    });
    rows.push({
      what: `  reconciles in the window (no-op reconciles are fine)`,
      value: String(r1.done - r0.done),
      goal: '',
    });
    if (objChanges) log(`changes at steady state: ${JSON.stringify(Object.fromEntries(modified))}`);

    // --- 5a. restart with nothing changed: until the new operator has reconciled every NerDeployment, its
    //         queue is empty, and no write happens.
    const before = new Map(
      (await api.list<NerDeployment>(nerDeployments, ns)).map((nd) => [nd.metadata.name, nd.status]),
    );
    await op.stop();
    op = undefined;
    op = await OperatorProcess.start(cluster, ['--controllers', 'nerdeployment']);
    const restart1 = await untilConverged(api, op, ns);
    if (restart1.writes) {
      const changed = (await api.list<NerDeployment>(nerDeployments, ns)).filter(
        (nd) => JSON.stringify(nd.status) !== JSON.stringify(before.get(nd.metadata.name)),
      );
      const first = changed[0];
      log(
        `${changed.length} statuses changed across the restart${first ? `, e.g. ${first.metadata.name}:\n  before ${JSON.stringify(before.get(first.metadata.name))}\n  after  ${JSON.stringify(first.status)}` : ''}`,
      );
    }
    rows.push({
      what: 'restart, nothing changed → converged (all reconciled, queue empty)',
      value: s(restart1.ms),
      goal: '< 30 s',
      met: restart1.ms < 30_000,
    });
    rows.push({
      what: '  writes during that convergence',
      value: String(restart1.writes),
      goal: '0',
      met: restart1.writes === 0,
    });
    if (restart1.writes) log(`writes after the restart: ${await op.writeBreakdown()}`);
    log(
      `restart (no change): converged in ${s(restart1.ms)}, ${restart1.writes} writes, ready after ${s(restart1.readyMs)}`,
    );

    // --- 5b. restart after every NerDeployment's spec changed while the operator was down (replicas.max:
    //         every status.observedGeneration becomes stale, the children do not change).
    await op.stop();
    op = undefined;
    const all = (await api.list<NerDeployment>(nerDeployments, ns)).map((nd) => nd.metadata.name as string);
    await pool(all, 16, async (name) => {
      await api.mergePatch(nerDeployments, ns, name, { spec: { replicas: { max: 4 } } });
    });
    op = await OperatorProcess.start(cluster, ['--controllers', 'nerdeployment']);
    const restart2 = await untilConverged(api, op, ns);
    rows.push({
      what: `restart after ${all.length} spec changes → every observedGeneration current, writes quiet`,
      value: s(restart2.ms),
      goal: '< 30 s',
      met: restart2.ms < 30_000,
    });
    rows.push({
      what: '  writes during that convergence (expected ~1 status write per ND)',
      value: String(restart2.writes),
      goal: '',
    });
    log(`restart (spec changed): converged in ${s(restart2.ms)}, ${restart2.writes} writes`);
    const afterMem = op.rss();
    rows.push({
      what: `operator RSS after restart + catch-up (peak)`,
      value: `${mb(afterMem.rss)} (${mb(afterMem.peak)})`,
      goal: '< 150 MB',
      met: afterMem.rss < 150 * 1024 * 1024,
    });
    const errs = await op.reconciles();
    if (errs.errors) log(`reconcile errors in the last operator: ${errs.errors}`);
  } finally {
    stops.forEach((stop) => stop());
    await op?.stop();
    api.close();
    await cluster.stop();
  }
}

/** Waits until the operator has written nothing for `quietMs`. */
async function waitQuiet(op: OperatorProcess, quietMs: number, timeoutMs: number): Promise<{ ms: number }> {
  const t0 = performance.now();
  let last = await op.writes();
  let lastChange = performance.now();
  for (;;) {
    await sleep(250);
    const w = await op.writes();
    if (w !== last) {
      last = w;
      lastChange = performance.now();
    } else if (performance.now() - lastChange >= quietMs) {
      return { ms: lastChange - t0 };
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`operator still writing after ${timeoutMs} ms`);
  }
}

/**
 * From the operator's start: until every NerDeployment has been reconciled at least once by it, its
 * queue is empty, every status.observedGeneration is current, and no write happened for 2 s. The time
 * reported is the moment all that first held (the 2 s of quiet only confirm it).
 */
async function untilConverged(
  api: Api,
  op: OperatorProcess,
  ns: string,
): Promise<{ ms: number; readyMs: number; writes: number }> {
  const readyMs = performance.now() - op.startedAt;
  let candidate: { at: number; writes: number } | undefined;
  const deadline = performance.now() + 120_000;
  for (;;) {
    const [r, w, nds] = await Promise.all([op.reconciles(), op.writes(), api.list<NerDeployment>(nerDeployments, ns)]);
    const current = nds.every((nd) => nd.status?.observedGeneration === nd.metadata.generation);
    const ok = r.done >= nds.length && r.queue === 0 && current;
    const now = performance.now();
    if (!ok || (candidate && candidate.writes !== w)) candidate = undefined;
    if (ok && !candidate) candidate = { at: now, writes: w };
    if (candidate && now - candidate.at >= 2000) return { ms: candidate.at - op.startedAt, readyMs, writes: w };
    if (now > deadline)
      throw new Error(
        `no convergence after restart in 120 s (reconciled ${r.done}, queue ${r.queue}, statuses current: ${current})`,
      );
    await sleep(100);
  }
}

// ------------------------------------------------------------------------------------- full profile

async function fullBench(): Promise<void> {
  log('starting full profile and training a small bundle');
  const work = mkdtempSync(join(tmpdir(), 'nerops-bench-operator-'));
  const train = (async () => {
    const trainFile = join(work, 'train.conll');
    const devFile = join(work, 'dev.conll');
    await writeConll(trainFile, generateNotes({ count: 200, seed: 7 }));
    await writeConll(devFile, generateNotes({ count: 60, seed: 1007 }));
    const r = await trainBundle({
      corpus: { trainFile, devFile },
      members: { seed: 7, epochs: 3 },
      export: { outDir: join(work, 'bundle'), name: 'clinical', version: '1.0.0' },
    });
    return { uri: pathToFileURL(r.outDir).href, digest: r.digest };
  })();
  const [cluster, bundle] = await Promise.all([startCluster({ profile: 'full' }), train]);
  const api = new Api(cluster);
  let op: OperatorProcess | undefined;
  try {
    log(`full cluster ready in ${s(cluster.startMs)}`);
    await applyCrds(cluster.kubeConfig, projectCrds(), 'nerops-bench');
    const ns = 'bench-full';
    await api.namespace(ns);
    await until(
      'default ServiceAccount',
      () =>
        api.kube.request({ method: 'GET', path: `/api/v1/namespaces/${ns}/serviceaccounts/default` }).then(() => true),
      30_000,
    );
    op = await OperatorProcess.start(cluster, []);
    const tModel = performance.now();
    await api.create(nerModels, ns, nerModelManifest('clinical-v1', bundle.uri, bundle.digest));
    const model = await until(
      'NerModel Ready',
      async () => {
        const m = await api.get<NerModel>(nerModels, ns, 'clinical-v1');
        if (m.status?.phase === 'Rejected' || m.status?.phase === 'Failed')
          throw new Error(`NerModel ${m.status.phase}: ${m.status.message}`);
        return m.status?.phase === 'Ready' ? m : undefined;
      },
      180_000,
      200,
    );
    const validatedMs = performance.now() - tModel;
    rows.push({
      what: 'NerModel created → Ready (validation Job on the process node)',
      value: s(validatedMs),
      goal: '(report)',
    });
    log(`NerModel Ready after ${s(validatedMs)} (F1 ${model.status?.metrics?.micro.f1})`);

    await api.create(nerDeployments, ns, nerDeploymentManifest('notes', 'clinical-v1', 1));
    const t0 = performance.now();
    await until(
      'Deployment notes-stable',
      () => api.get(builtin.deployments, ns, 'notes-stable').then(() => true),
      60_000,
      20,
    );
    const depMs = performance.now() - t0;
    await until(
      'NerDeployment Ready',
      async () => {
        const nd = await api.get<NerDeployment>(nerDeployments, ns, 'notes');
        return nd.status?.conditions?.some(
          (c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === nd.metadata.generation,
        )
          ? true
          : undefined;
      },
      180_000,
      100,
    );
    const readyMs = performance.now() - t0;
    // Prove it: the Ready pod answers /v1/extract on its pod IP.
    const pods = await api.kube.request<{ items: Array<{ status?: { podIP?: string; phase?: string } }> }>({
      method: 'GET',
      path: resourcePath(builtin.pods, ns),
      query: { labelSelector: 'nerops.io/deployment=notes' },
    });
    const podIP = pods.items.find((p) => p.status?.phase === 'Running' && p.status.podIP)?.status?.podIP;
    if (!podIP) throw new Error('NerDeployment Ready but no running pod');
    const res = await fetch(`http://${podIP}:8080/v1/extract`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Patient with type 2 diabetes was started on metformin.' }),
    });
    const body = (await res.json()) as { entities?: unknown[] };
    if (res.status !== 200) throw new Error(`pod ${podIP} answered ${res.status}`);
    log(`pod ${podIP} serves: ${body.entities?.length ?? 0} entities`);
    rows.push({
      what: 'NerDeployment created → Deployment exists (full)',
      value: ms(depMs),
      goal: '< 100 ms',
      met: depMs < 100,
    });
    rows.push({
      what: 'NerDeployment created → Ready (1 process-node pod serving)',
      value: s(readyMs),
      goal: '(report)',
    });
    log(`NerDeployment: Deployment after ${ms(depMs)}, Ready after ${s(readyMs)}`);
  } finally {
    await op?.stop();
    api.close();
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const only = process.argv[2];
  if (!only || only === 'apiserver') await apiserverBench();
  if (!only || only === 'full') await fullBench();
  printTable();
  console.log(`\n(goals from issue 5; total ${s(performance.now() - T0)}; a missed goal is reported, not an error)`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    printTable();
    console.error(err);
    process.exit(1);
  },
);
