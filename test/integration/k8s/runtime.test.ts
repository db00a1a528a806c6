/**
 * The controller runtime against the real API server: a test controller whose primary is a labelled
 * ConfigMap and whose children are a ConfigMap and a Secret it owns; a test CRD for the /status path;
 * informers behind a TCP proxy that the test cuts (relist after an error) or freezes (watchdog).
 */
import net from 'node:net';
import { KubeConfig, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ControllerManager,
  Informer,
  KubeClient,
  builtin,
  keyOf,
  ownerReference,
  setCondition,
  type Condition,
  type ControllerSpec,
  type InformerEvent,
  type ResourceType,
} from '../../../operator/runtime/index.js';
import { applyCrds } from '../../../local-cluster/crds.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';

const { kc, core } = useCluster();
const log = pino({ level: process.env.NEROPS_TEST_LOG ?? 'silent' });
const PRIMARY = 'runtime-test/primary';

let ns: string;
beforeAll(async () => {
  ns = await createTestNamespace(core, 'runtime');
});

/** The test controller: for each primary ConfigMap, a child ConfigMap and a Secret with its data. */
function childController(calls: Map<string, number>): ControllerSpec<V1ConfigMap> {
  return {
    name: 'cm-children',
    resource: builtin.configMaps,
    labelSelector: `${PRIMARY}=true`,
    owns: [
      { resource: builtin.configMaps, labelSelector: 'runtime-test/child=true' },
      { resource: builtin.secrets, labelSelector: 'runtime-test/child=true' },
    ],
    async reconcile(key, ctx) {
      calls.set(key, (calls.get(key) ?? 0) + 1);
      const owner = ctx.object;
      const meta = {
        namespace: ctx.namespace,
        labels: { 'runtime-test/child': 'true' },
        ownerReferences: [ownerReference(owner)],
      };
      const cm = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { ...meta, name: `${ctx.name}-child` },
        data: { ...owner.data },
      };
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { ...meta, name: `${ctx.name}-secret` },
        type: 'Opaque',
        data: { copy: Buffer.from(owner.data?.value ?? '').toString('base64') },
      };
      const children = ctx.cache<V1ConfigMap>(builtin.configMaps);
      const a = await ctx.client.apply(builtin.configMaps, cm, {
        current: children.get(ctx.namespace, cm.metadata.name) ?? null,
      });
      const b = await ctx.client.apply(builtin.secrets, secret, {
        current: ctx.cache(builtin.secrets).get(ctx.namespace, secret.metadata.name) ?? null,
      });
      if (a.changed || b.changed)
        await ctx.client.event(owner, {
          type: 'Normal',
          reason: 'ChildrenApplied',
          note: `children at ${owner.data?.value ?? ''}`,
        });
      return owner.data?.requeue ? { requeueAfterMs: Number(owner.data.requeue) } : {};
    },
  };
}

async function createPrimary(name: string, data: Record<string, string>): Promise<V1ConfigMap> {
  return core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name, labels: { [PRIMARY]: 'true' } }, data },
  });
}

describe('controller manager with a ConfigMap controller', () => {
  const calls = new Map<string, number>();
  let kube: KubeClient;
  let manager: ControllerManager;

  beforeAll(async () => {
    kube = new KubeClient(kc);
    manager = new ControllerManager({
      client: kube,
      logger: log,
      namespace: ns,
      concurrency: 2,
      queue: { baseDelayMs: 100, maxDelayMs: 2000 },
    });
    manager.register(childController(calls));
    manager.start();
    await manager.waitForSync();
    manager.startProcessing();
  });
  afterAll(async () => {
    await manager?.stop(5000);
    kube?.close();
  });

  it('creates the children, then a second reconcile sends no write and changes no resourceVersion', async () => {
    await createPrimary('alpha', { value: 'one' });
    const child = await eventually(() => core.readNamespacedConfigMap({ name: 'alpha-child', namespace: ns }));
    expect(child.data).toEqual({ value: 'one' });
    expect(child.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ConfigMap', name: 'alpha', controller: true });
    expect(child.metadata?.managedFields?.some((f) => f.manager === 'nerops' && f.operation === 'Apply')).toBe(true);
    const secret = await eventually(() => core.readNamespacedSecret({ name: 'alpha-secret', namespace: ns }));
    expect(Buffer.from(secret.data?.copy ?? '', 'base64').toString()).toBe('one');

    // Let the informers catch up with our own writes (they re-enqueue the owner once).
    const key = `${ns}/alpha`;
    await eventually(async () => {
      expect(manager.queue('cm-children')?.depth).toBe(0);
      expect(manager.queue('cm-children')?.inFlight).toBe(0);
      expect(
        manager.informer(builtin.configMaps, 'runtime-test/child=true').get(ns, 'alpha-child')?.metadata
          ?.resourceVersion,
      ).toBe(child.metadata?.resourceVersion);
    });
    const writesBefore = kube.writes;
    const callsBefore = calls.get(key) ?? 0;
    const childRv = child.metadata?.resourceVersion;
    const secretRv = secret.metadata?.resourceVersion;

    manager.queue('cm-children')!.add(key);
    await eventually(async () => expect(calls.get(key)).toBe(callsBefore + 1));
    manager.queue('cm-children')!.add(key);
    await eventually(async () => expect(calls.get(key)).toBe(callsBefore + 2));
    await eventually(async () => expect(manager.queue('cm-children')?.inFlight).toBe(0));

    expect(kube.writes).toBe(writesBefore);
    expect((await core.readNamespacedConfigMap({ name: 'alpha-child', namespace: ns })).metadata?.resourceVersion).toBe(
      childRv,
    );
    expect((await core.readNamespacedSecret({ name: 'alpha-secret', namespace: ns })).metadata?.resourceVersion).toBe(
      secretRv,
    );
    const skipped = await manager.metrics.writesSkipped.get();
    expect(
      skipped.values.find((v) => v.labels.kind === 'ConfigMap' && v.labels.op === 'apply')?.value,
    ).toBeGreaterThanOrEqual(2);
  });

  it('records one Event for the transition, not one per reconcile', async () => {
    const events = await eventually(async () => {
      const list = await kube.request<{
        items: Array<{ reason: string; regarding: { name: string }; reportingController: string }>;
      }>({
        method: 'GET',
        path: `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
      });
      const mine = list.items.filter((e) => e.regarding.name === 'alpha' && e.reason === 'ChildrenApplied');
      expect(mine.length).toBeGreaterThan(0);
      return mine;
    });
    expect(events).toHaveLength(1);
    expect(events[0]?.reportingController).toBe('nerops.io/operator');
  });

  it('a hand edit of an owned child triggers the owner, which reverts it', async () => {
    const key = `${ns}/alpha`;
    const before = calls.get(key) ?? 0;
    const admin = new KubeClient(kc, { userAgent: 'kubectl-edit' });
    await admin.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}/configmaps/alpha-child`,
      body: { data: { value: 'hand-edited' } },
      contentType: 'application/merge-patch+json',
    });
    admin.close();
    await eventually(async () => {
      expect(calls.get(key)).toBeGreaterThan(before);
      const child = await core.readNamespacedConfigMap({ name: 'alpha-child', namespace: ns });
      expect(child.data?.value).toBe('one');
    });
  });

  it('a deleted child is recreated and a spec change of the primary is applied', async () => {
    await core.deleteNamespacedSecret({ name: 'alpha-secret', namespace: ns });
    await eventually(async () => {
      const s = await core.readNamespacedSecret({ name: 'alpha-secret', namespace: ns });
      expect(s.metadata?.deletionTimestamp).toBeUndefined();
    });
    await core.replaceNamespacedConfigMap({
      name: 'alpha',
      namespace: ns,
      body: { metadata: { name: 'alpha', labels: { [PRIMARY]: 'true' } }, data: { value: 'two' } },
    });
    await eventually(async () => {
      expect((await core.readNamespacedConfigMap({ name: 'alpha-child', namespace: ns })).data?.value).toBe('two');
    });
  });

  it('honours requeueAfterMs with timed reconciles', async () => {
    await createPrimary('ticker', { value: 't', requeue: '300' });
    const key = `${ns}/ticker`;
    await eventually(async () => expect(calls.get(key) ?? 0).toBeGreaterThanOrEqual(4), 10_000);
  });

  it('exports reconcile, queue and watch metrics', async () => {
    const text = await manager.metrics.registry.metrics();
    expect(text).toMatch(/nerops_operator_reconcile_total\{controller="cm-children",result="success"\} \d+/);
    expect(text).toMatch(/nerops_operator_reconcile_duration_seconds_count\{controller="cm-children"\} \d+/);
    expect(text).toContain('nerops_operator_queue_depth{controller="cm-children"}');
    expect(text).toMatch(/nerops_operator_watch_events_total\{resource="configmaps",type="added"\} \d+/);
  });
});

// A namespaced test CRD with a status subresource, for the status path.
const widgets: ResourceType = {
  group: 'rt.nerops.dev',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
};
type Widget = KubernetesObject & {
  spec?: { size?: number };
  status?: { observedGeneration?: number; size?: number; conditions?: Condition[] };
};

/** Installs a namespaced test CRD `<plural>.rt.nerops.dev` (v1, status subresource) and waits until it is served. */
async function installCrd(kind: string, plural: string): Promise<void> {
  await applyCrds(kc, [
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.rt.nerops.dev` },
      spec: {
        group: 'rt.nerops.dev',
        scope: 'Namespaced',
        names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { size: { type: 'integer' } } },
                  status: {
                    type: 'object',
                    properties: {
                      observedGeneration: { type: 'integer' },
                      size: { type: 'integer' },
                      conditions: {
                        type: 'array',
                        'x-kubernetes-list-type': 'map',
                        'x-kubernetes-list-map-keys': ['type'],
                        items: {
                          type: 'object',
                          required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
                          properties: {
                            type: { type: 'string' },
                            status: { type: 'string' },
                            reason: { type: 'string' },
                            message: { type: 'string' },
                            observedGeneration: { type: 'integer' },
                            lastTransitionTime: { type: 'string', format: 'date-time' },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        ],
      },
    },
  ]);
}

describe('status through the /status subresource', () => {
  let kube: KubeClient;
  let manager: ControllerManager;
  const statusWrites: string[] = [];

  beforeAll(async () => {
    await installCrd('Widget', 'widgets');
    kube = new KubeClient(kc);
    await eventually(() => kube.request({ method: 'GET', path: `/apis/rt.nerops.dev/v1/namespaces/${ns}/widgets` }));
    kube.onRequest((verb, path) => {
      if (verb === 'PATCH' && path.endsWith('/status')) statusWrites.push(path);
    });
    manager = new ControllerManager({ client: kube, logger: log, namespace: ns });
    manager.register<Widget>({
      name: 'widgets',
      resource: widgets,
      async reconcile(_key, ctx) {
        const w = ctx.object;
        const size = w.spec?.size ?? 0;
        // Built from scratch with "now" on purpose: the runtime must keep the old transition time.
        const conditions = setCondition(
          undefined,
          {
            type: 'Ready',
            status: size > 0 ? 'True' : 'False',
            reason: size > 0 ? 'Sized' : 'Empty',
            observedGeneration: w.metadata?.generation,
          },
          ctx.now(),
        );
        await ctx.client.applyStatus(widgets, w, { observedGeneration: w.metadata?.generation, size, conditions });
        return {};
      },
    });
    manager.start();
    await manager.waitForSync();
    manager.startProcessing();
  });
  afterAll(async () => {
    await manager?.stop(5000);
    kube?.close();
  });

  it('writes status once per change, keeps lastTransitionTime while the status does not flip', async () => {
    await kube.request({
      method: 'POST',
      path: `/apis/rt.nerops.dev/v1/namespaces/${ns}/widgets`,
      body: { apiVersion: 'rt.nerops.dev/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 1 } },
    });
    const first = await eventually(async () => {
      const w = await kube.request<Widget>({
        method: 'GET',
        path: `/apis/rt.nerops.dev/v1/namespaces/${ns}/widgets/w1`,
      });
      expect(w.status?.size).toBe(1);
      return w;
    });
    expect(first.status?.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'True',
      reason: 'Sized',
      observedGeneration: 1,
    });
    await eventually(async () => expect(manager.queue('widgets')?.inFlight).toBe(0));
    const writes = statusWrites.length;
    expect(writes).toBe(1);

    // Reconcile again after more than a second: conditions are rebuilt with a new "now", yet nothing is written.
    await new Promise((r) => setTimeout(r, 1100));
    manager.queue('widgets')!.add(`${ns}/w1`);
    await new Promise((r) => setTimeout(r, 500));
    await eventually(async () => expect(manager.queue('widgets')?.inFlight).toBe(0));
    expect(statusWrites.length).toBe(writes);

    // A spec change that keeps Ready=True: status written (size, generation), transition time kept.
    await kube.request({
      method: 'PATCH',
      path: `/apis/rt.nerops.dev/v1/namespaces/${ns}/widgets/w1`,
      body: { spec: { size: 2 } },
      contentType: 'application/merge-patch+json',
    });
    const second = await eventually(async () => {
      const w = await kube.request<Widget>({
        method: 'GET',
        path: `/apis/rt.nerops.dev/v1/namespaces/${ns}/widgets/w1`,
      });
      expect(w.status?.size).toBe(2);
      return w;
    });
    expect(second.status?.conditions?.[0]?.observedGeneration).toBe(2);
    expect(second.status?.conditions?.[0]?.lastTransitionTime).toBe(first.status?.conditions?.[0]?.lastTransitionTime);
    // Our own status write does not wake the controller again (generation policy) and no further writes happen.
    await new Promise((r) => setTimeout(r, 500));
    expect(statusWrites.length).toBe(writes + 1);
  });
});

/**
 * A TCP proxy in front of the API server: `down()` cuts every connection and refuses new ones,
 * `freeze()` stops forwarding on the connections open now (a silent watch), new ones still work.
 */
class FlakyProxy {
  #server: net.Server;
  #pairs = new Set<{ client: net.Socket; upstream: net.Socket; frozen: boolean }>();
  #down = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.#server = net.createServer((client) => {
      if (this.#down) return client.destroy();
      const upstream = net.connect(target.port, target.host);
      const pair = { client, upstream, frozen: false };
      this.#pairs.add(pair);
      client.on('data', (d) => {
        if (!pair.frozen) upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (!pair.frozen) client.write(d);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.#pairs.delete(pair);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  down(): void {
    this.#down = true;
    for (const p of this.#pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
  }

  up(): void {
    this.#down = false;
  }

  freeze(): number {
    for (const p of this.#pairs) p.frozen = true;
    return this.#pairs.size;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise((r) => this.#server.close(r));
  }
}

/** A KubeConfig identical to the cluster's but pointing at the proxy. */
function viaProxy(port: number): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromString(kc.exportConfig());
  const cluster = copy.getCurrentCluster()!;
  const url = new URL(cluster.server);
  copy.clusters = copy.clusters.map((c) =>
    c.name === cluster.name ? { ...c, server: `${url.protocol}//127.0.0.1:${port}` } : c,
  );
  return copy;
}

describe('informer recovery', () => {
  let proxy: FlakyProxy;
  beforeAll(async () => {
    const url = new URL(kc.getCurrentCluster()!.server);
    proxy = new FlakyProxy({ host: url.hostname, port: Number(url.port) });
    await proxy.listen();
  });
  afterAll(async () => {
    await proxy?.close();
  });

  function recorder(inf: Informer) {
    const events: InformerEvent<KubernetesObject>[] = [];
    inf.on((e) => events.push(e));
    return events;
  }

  it('relists after a connection error and sees what changed while it was down', async () => {
    const label = 'runtime-test/relist';
    const make = (name: string) =>
      core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name, labels: { [label]: 'x' } }, data: { v: name } },
      });
    await make('r-a');
    const kube = new KubeClient(viaProxy(proxy.port));
    const inf = new Informer(kube, builtin.configMaps, {
      namespace: ns,
      labelSelector: `${label}=x`,
      relistBackoffMs: 200,
      relistBackoffMaxMs: 1000,
      logger: log,
    });
    const events = recorder(inf);
    inf.start();
    try {
      await inf.waitForSync();
      await make('r-b');
      await eventually(async () => expect(inf.get(ns, 'r-b')).toBeDefined());

      proxy.down();
      await eventually(async () =>
        expect(events.some((e) => e.type === 'restarted' && e.reason === 'error')).toBe(true),
      );
      // Changes while the watch is down: one deletion, one creation, one update.
      await core.deleteNamespacedConfigMap({ name: 'r-a', namespace: ns });
      await make('r-c');
      await core.replaceNamespacedConfigMap({
        name: 'r-b',
        namespace: ns,
        body: { metadata: { name: 'r-b', labels: { [label]: 'x' } }, data: { v: 'changed' } },
      });
      await new Promise((r) => setTimeout(r, 700)); // at least one failed relist attempt
      const listsBefore = events.filter((e) => e.type === 'relisted').length;
      proxy.up();

      await eventually(async () => {
        expect(inf.get(ns, 'r-a')).toBeUndefined();
        expect(inf.get(ns, 'r-c')).toBeDefined();
        expect((inf.get(ns, 'r-b') as V1ConfigMap | undefined)?.data?.v).toBe('changed');
      });
      expect(events.filter((e) => e.type === 'relisted').length).toBeGreaterThan(listsBefore);
      expect(events.some((e) => e.type === 'deleted' && keyOf(e.object) === `${ns}/r-a`)).toBe(true);
      expect(events.some((e) => e.type === 'added' && keyOf(e.object) === `${ns}/r-c`)).toBe(true);
      expect(events.some((e) => e.type === 'updated' && keyOf(e.object) === `${ns}/r-b`)).toBe(true);

      // And the new watch works: a later change arrives without a relist.
      const lists = events.filter((e) => e.type === 'relisted').length;
      await make('r-d');
      await eventually(async () => expect(inf.get(ns, 'r-d')).toBeDefined());
      expect(events.filter((e) => e.type === 'relisted').length).toBe(lists);
    } finally {
      await inf.stop();
      kube.close();
    }
  });

  it('the watchdog restarts a watch that went silent', async () => {
    const label = 'runtime-test/watchdog';
    const kube = new KubeClient(viaProxy(proxy.port));
    const inf = new Informer(kube, builtin.configMaps, {
      namespace: ns,
      labelSelector: `${label}=x`,
      watchdogMs: 1500,
      logger: log,
    });
    const events = recorder(inf);
    inf.start();
    try {
      await inf.waitForSync();
      await eventually(async () => expect(kube.counts.WATCH).toBe(1));
      await new Promise((r) => setTimeout(r, 200));
      expect(proxy.freeze()).toBeGreaterThan(0);
      // An object created now never reaches the frozen watch; the restarted one must deliver it.
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'w-a', labels: { [label]: 'x' } } },
      });
      await eventually(
        async () => expect(events.some((e) => e.type === 'restarted' && e.reason === 'watchdog')).toBe(true),
        10_000,
      );
      await eventually(async () => expect(inf.get(ns, 'w-a')).toBeDefined(), 10_000);
      expect(kube.counts.WATCH).toBeGreaterThanOrEqual(2);
    } finally {
      await inf.stop();
      kube.close();
    }
  });

  it('keeps retrying on a resource type that does not exist yet and syncs once its CRD is installed', async () => {
    const kube = new KubeClient(kc);
    const gadgets: ResourceType = {
      group: 'rt.nerops.dev',
      version: 'v1',
      kind: 'Gadget',
      plural: 'gadgets',
      namespaced: true,
    };
    const inf = new Informer(kube, gadgets, {
      namespace: ns,
      relistBackoffMs: 100,
      relistBackoffMaxMs: 300,
      logger: log,
    });
    const events = recorder(inf);
    inf.start();
    try {
      await eventually(async () =>
        expect(events.filter((e) => e.type === 'restarted' && e.reason === 'error').length).toBeGreaterThanOrEqual(2),
      );
      expect(inf.hasSynced()).toBe(false);
      await installCrd('Gadget', 'gadgets');
      await eventually(async () => expect(inf.hasSynced()).toBe(true));
    } finally {
      await inf.stop();
      kube.close();
    }
  });
});
