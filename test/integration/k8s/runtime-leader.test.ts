/**
 * Lease leader election against the real API server:
 * - two `ner-ops operator` processes (dist/, so `npm run build` first): one leads; SIGKILL it and the other
 *   takes the Lease over once it expires; SIGTERM a leader and it releases the Lease for an immediate handover;
 * - two in-process operators running a test controller: only the leader reconciles, and after the leader
 *   goes silent the standby reconciles what changed meanwhile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runOperator, type OperatorHandle } from '../../../operator/main.js';
import {
  KubeClient,
  builtin,
  microTime,
  ownerReference,
  type ControllerSpec,
} from '../../../operator/runtime/index.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';

const { info, kc, core } = useCluster();
const coordination = kc.makeApiClient(CoordinationV1Api);
const CLI = join(process.cwd(), 'dist', 'cli', 'ner-ops.js');
const log = pino({ level: process.env.NEROPS_TEST_LOG ?? 'silent' });
// Short timings so the test runs in seconds: lease 3 s, renew deadline 2 s, retry 0.3 s.
type Timing = { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
const TIMING: Timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };
// For the release test: a lease so long that a takeover before it could expire can only come from the release,
// however slow a loaded CI machine is.
const LONG_LEASE: Timing = { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 300 };

let ns: string;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
  ns = await createTestNamespace(core, 'runtime-le');
});

interface OperatorProcess {
  child: ChildProcess;
  identity: string;
  /** Resolves with the metrics/health URL from the process's "listening" log line. */
  url: Promise<string>;
  exited: Promise<number | null>;
  lines: string[];
}

function startOperatorProcess(identity: string, leaseName: string, timing: Timing = TIMING): OperatorProcess {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'operator',
      '--kubeconfig',
      info.kubeconfigPath,
      '--namespace',
      ns,
      '--lease-name',
      leaseName,
      '--lease-duration-ms',
      String(timing.leaseDurationMs),
      '--renew-deadline-ms',
      String(timing.renewDeadlineMs),
      '--retry-period-ms',
      String(timing.retryPeriodMs),
      '--identity',
      identity,
      '--metrics-host',
      '127.0.0.1',
      '--metrics-port',
      '0',
      // Leader election needs no controller; the controllers' CRDs are not installed here.
      '--controllers',
      '',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let resolveUrl!: (u: string) => void;
  const url = new Promise<string>((r) => (resolveUrl = r));
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
        if (rec.msg === 'metrics and health server listening' && rec.url) resolveUrl(rec.url);
      } catch {
        // not JSON
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => lines.push(`stderr: ${chunk}`));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, identity, url, exited, lines };
}

async function leaseHolder(name: string): Promise<string | undefined> {
  try {
    const lease = await coordination.readNamespacedLease({ name, namespace: ns });
    return lease.spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/** The value of the nerops_operator_leader gauge on a process's /metrics. */
async function leaderGauge(p: OperatorProcess): Promise<number> {
  const { body } = await get(`${await p.url}/metrics`);
  const m = /^nerops_operator_leader (\d+)/m.exec(body);
  return m ? Number(m[1]) : NaN;
}

describe('two ner-ops operator processes', () => {
  const procs: OperatorProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
  });

  it('one leads; when it is killed the other takes over after the lease expires', async () => {
    const a = startOperatorProcess('op-a', 'le-kill');
    procs.push(a);
    await eventually(async () => expect(await leaseHolder('le-kill')).toBe('op-a'), 20_000);
    const b = startOperatorProcess('op-b', 'le-kill');
    procs.push(b);
    // b is a ready standby: caches synced, lease observed, not leading.
    await eventually(async () => expect((await get(`${await b.url}/readyz`)).status).toBe(200), 20_000);
    expect((await get(`${await b.url}/readyz`)).body).toContain('standby');
    expect(await leaderGauge(b)).toBe(0);
    expect(await leaderGauge(a)).toBe(1);
    expect((await get(`${await a.url}/healthz`)).status).toBe(200);

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    await eventually(async () => expect(await leaseHolder('le-kill')).toBe('op-b'), 20_000, 100);
    const takeoverMs = Date.now() - killedAt;
    await eventually(async () => expect(await leaderGauge(b)).toBe(1));
    // Not before the lease could expire (the dead leader renewed up to ~retry period before the kill).
    expect(takeoverMs).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - TIMING.retryPeriodMs - 100);
    const lease = await coordination.readNamespacedLease({ name: 'le-kill', namespace: ns });
    expect(lease.spec?.leaseTransitions).toBeGreaterThanOrEqual(1);
    expect(b.lines.some((l) => l.includes('became leader'))).toBe(true);
  });

  it('SIGTERM releases the lease: the standby takes over before the lease could expire and the leader exits 0', async () => {
    const a = startOperatorProcess('op-c', 'le-term', LONG_LEASE);
    procs.push(a);
    await eventually(async () => expect(await leaseHolder('le-term')).toBe('op-c'), 20_000);
    const b = startOperatorProcess('op-d', 'le-term', LONG_LEASE);
    procs.push(b);
    await eventually(async () => expect((await get(`${await b.url}/readyz`)).status).toBe(200), 20_000);

    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    // The last renewal op-c wrote is the one SIGTERM could not undo; without a release the lease would stay op-c's
    // until a full lease duration after it.
    const lastRenewAt = Date.now();
    await eventually(async () => expect(await leaseHolder('le-term')).toBe('op-d'), 30_000, 100);
    expect(Date.now() - lastRenewAt).toBeLessThan(LONG_LEASE.leaseDurationMs);
    expect(a.lines.some((l) => l.includes('released leader lease'))).toBe(true);
    expect(b.lines.some((l) => l.includes('became leader'))).toBe(true);
  });
});

describe('two in-process operators with a controller', () => {
  const handles: OperatorHandle[] = [];
  afterAll(async () => {
    await Promise.all(handles.map((h) => h.stop()));
  });

  /** For each primary ConfigMap, a child ConfigMap `<name>-le` recording which instance reconciled. */
  function controller(instance: string, reconciled: string[]): ControllerSpec<V1ConfigMap> {
    return {
      name: 'le-children',
      resource: builtin.configMaps,
      labelSelector: 'runtime-le/primary=true',
      owns: [{ resource: builtin.configMaps, labelSelector: 'runtime-le/child=true' }],
      async reconcile(key, ctx) {
        reconciled.push(key);
        await ctx.client.apply(
          builtin.configMaps,
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: `${ctx.name}-le`,
              namespace: ctx.namespace,
              labels: { 'runtime-le/child': 'true' },
              ownerReferences: [ownerReference(ctx.object)],
            },
            data: { value: ctx.object.data?.value ?? '', by: instance },
          },
          { current: ctx.cache(builtin.configMaps).get(ctx.namespace, `${ctx.name}-le`) ?? null },
        );
        return {};
      },
    };
  }

  it('only the leader reconciles; after it goes silent the standby takes over and reconciles the backlog', async () => {
    const seen = { x: [] as string[], y: [] as string[] };
    const start = (id: 'x' | 'y') =>
      runOperator(
        {
          kubeConfig: kc,
          logger: log.child({ instance: id }),
          namespace: ns,
          metrics: { host: '127.0.0.1', port: 0 },
          leaderElection: { namespace: ns, name: 'le-inproc', identity: `inproc-${id}`, ...TIMING },
        },
        [controller(id, seen[id])],
      );
    const x = await start('x');
    handles.push(x);
    await eventually(async () => expect(x.elector?.isLeader()).toBe(true), 20_000);
    const y = await start('y');
    handles.push(y);
    await eventually(async () => expect(y.ready()).toBe(true), 20_000);
    expect(y.elector?.isLeader()).toBe(false);

    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'p1', labels: { 'runtime-le/primary': 'true' } }, data: { value: 'v1' } },
    });
    await eventually(async () =>
      expect((await core.readNamespacedConfigMap({ name: 'p1-le', namespace: ns })).data).toEqual({
        value: 'v1',
        by: 'x',
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.y).toEqual([]);

    // The leader goes silent as a crashed process would: no renewals, no release, no reconciles.
    x.elector!.stop();
    x.manager.pauseProcessing();
    await core.replaceNamespacedConfigMap({
      name: 'p1',
      namespace: ns,
      body: { metadata: { name: 'p1', labels: { 'runtime-le/primary': 'true' } }, data: { value: 'v2' } },
    });
    await eventually(async () => expect(y.elector?.isLeader()).toBe(true), 20_000, 100);
    await eventually(async () =>
      expect((await core.readNamespacedConfigMap({ name: 'p1-le', namespace: ns })).data).toEqual({
        value: 'v2',
        by: 'y',
      }),
    );
    expect(seen.y).toContain(`${ns}/p1`);
    const leaderMetric = await y.metrics.registry.getSingleMetricAsString('nerops_operator_leader');
    expect(leaderMetric).toMatch(/nerops_operator_leader 1/);
  });

  it('a leader that sees another holder on the lease stops reconciling at once and ends with exit code 1', async () => {
    const seen: string[] = [];
    const z = await runOperator(
      {
        kubeConfig: kc,
        logger: log.child({ instance: 'z' }),
        namespace: ns,
        metrics: false,
        leaderElection: { namespace: ns, name: 'le-steal', identity: 'inproc-z', ...TIMING },
      },
      [controller('z', seen)],
    );
    handles.push(z);
    await eventually(async () => expect(z.elector?.isLeader()).toBe(true), 20_000);
    // Someone else writes the lease (as a split-brain peer would).
    const admin = new KubeClient(kc);
    const path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/le-steal`;
    const lease = await admin.request<{ spec: Record<string, unknown> }>({ method: 'GET', path });
    await admin.request({
      method: 'PUT',
      path,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: microTime(new Date()) } },
    });
    admin.close();
    expect(await z.done).toBe(1);
    expect(z.manager.processing).toBe(false);
    expect(await leaseHolder('le-steal')).toBe('intruder');
  });
});
