/**
 * Tenant-abuse specs against the real API server (issue 21, "tenant boundaries"): what a tenant who may
 * create NerModels and NerDeployments in a namespace must not be able to make the operator do.
 *
 * - send a Secret's token to an origin the Secret does not allow, or over plain http without the opt-in;
 * - take over a Deployment or Service someone else made, by naming a NerDeployment after it.
 *
 * Each is refused with a condition reason and a Warning Event, creates nothing, and leaves the other
 * objects untouched (same resourceVersion). A Secret that does allow the origin still gets its Job, so the
 * refusals are about the rule, not about Secrets in general.
 */
import type { KubernetesObject, V1Deployment, V1Job, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../../operator/runtime/resource.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
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
} from '../../../testing/operator-fixture.js';

const { kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator;
let bundle: Awaited<ReturnType<typeof trainBundle>>;

/** The token value: it must appear in no status, condition or Event. */
const TOKEN = 'tenant-token-7f3c9a-do-not-leak';
const DIGEST = 'ab'.repeat(32);

function secret(name: string, allowedOrigins?: string): KubernetesObject & { stringData: Record<string, string> } {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      ...(allowedOrigins !== undefined ? { annotations: { 'nerops.io/allowed-origins': allowedOrigins } } : {}),
    },
    stringData: { token: TOKEN },
  };
}

/** The model's Ready condition once the operator has judged it (any reason but the initial one). */
async function judged(name: string): Promise<NerModel> {
  return eventually(
    async () => {
      const m = await api.get<NerModel>(nerModels, ns, name);
      expect(m.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBeDefined();
      return m;
    },
    60_000,
    250,
  );
}

beforeAll(async () => {
  [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  ns = await createTestNamespace(core, 'tenant');
  api = new Api(kc);
  op = await startOperator(kc, ns);
  await api.create(builtin.secrets, ns, secret('store', 'https://store.internal:9443, http://plain.internal'));
  await api.create(builtin.secrets, ns, secret('unannotated'));
}, 180_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
});

describe("credentials: a Secret's token goes only where the Secret allows, never in clear without the opt-in", () => {
  it.each([
    [
      'other-origin',
      'https://attacker.example/bundle/',
      'store',
      {},
      'CredentialsOriginRefused',
      /Secret store does not allow its token to be sent to https:\/\/attacker\.example: it allows only https:\/\/store\.internal:9443, http:\/\/plain\.internal/,
    ],
    [
      'other-port',
      'https://store.internal/bundle/',
      'store',
      {},
      'CredentialsOriginRefused',
      /to https:\/\/store\.internal: it allows only/,
    ],
    [
      'unannotated',
      'https://store.internal:9443/bundle/',
      'unannotated',
      {},
      'CredentialsOriginRefused',
      /Secret unannotated .* no nerops\.io\/allowed-origins annotation/,
    ],
    [
      'missing-secret',
      'https://store.internal:9443/bundle/',
      'nope',
      {},
      'CredentialsOriginRefused',
      /Secret nope does not exist/,
    ],
    [
      'clear-text',
      'http://plain.internal/bundle/',
      'store',
      {},
      'InsecureCredentials',
      /token of Secret store would be sent in clear to http:\/\/plain\.internal/,
    ],
  ])(
    'Given NerModel %s (%s with Secret %s), Then Pending with the reason, a Warning Event, no Job, no token anywhere',
    async (name, uri, secretName, extra, reason, message) => {
      await api.create(
        nerModels,
        ns,
        nerModel(name, uri, DIGEST, (m) => {
          m.spec.source.credentialsSecretRef = { name: secretName };
          Object.assign(m.spec.source, extra);
        }),
      );
      const m = await judged(name);
      expect(m.status?.phase).toBe('Pending');
      const ready = m.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason });
      expect(ready?.message).toMatch(message);
      expect(m.status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason });
      const events = await eventually(async () => {
        const e = (await api.events(ns, name)).filter((x) => x.reason === reason);
        expect(e).toHaveLength(1);
        return e;
      });
      expect(events[0]).toMatchObject({ type: 'Warning', note: ready?.message });
      // The Job would have been created before the status was written: none exists.
      expect(await api.list<V1Job>(builtin.jobs, ns, `nerops.io/validates=${name}`)).toEqual([]);
      expect(JSON.stringify(m)).not.toContain(TOKEN);
      expect(JSON.stringify(await api.events(ns, name))).not.toContain(TOKEN);
    },
    90_000,
  );

  it('Given the http origin listed on the Secret and spec.source.allowInsecureHttp, Then the Job is created and opts in', async () => {
    await api.create(
      nerModels,
      ns,
      nerModel('clear-text-opted-in', 'http://plain.internal/bundle/', DIGEST, (m) => {
        m.spec.source.credentialsSecretRef = { name: 'store' };
        m.spec.source.allowInsecureHttp = true;
      }),
    );
    const job = await eventually(
      async () => {
        const jobs = await api.list<V1Job>(builtin.jobs, ns, 'nerops.io/validates=clear-text-opted-in');
        expect(jobs).toHaveLength(1);
        return jobs[0] as V1Job;
      },
      60_000,
      250,
    );
    expect(job.spec?.template.spec?.containers[0]?.args).toEqual(
      expect.arrayContaining(['--token-file', '--allow-insecure-http']),
    );
  }, 90_000);

  it('Given a Secret that allows the origin (any spelling of it), Then the validation Job is created', async () => {
    await api.create(
      nerModels,
      ns,
      nerModel('allowed', 'https://STORE.internal:9443/bundle/', DIGEST, (m) => {
        m.spec.source.credentialsSecretRef = { name: 'store' };
      }),
    );
    await eventually(
      async () => expect(await api.list<V1Job>(builtin.jobs, ns, 'nerops.io/validates=allowed')).toHaveLength(1),
      60_000,
      250,
    );
  }, 90_000);
});

describe('ownership: a NerDeployment never takes over objects it did not create', () => {
  it('Given a foreign Deployment and Service with its children names, Then ChildConflict, a Warning Event, nothing created, both untouched', async () => {
    await api.create(nerModels, ns, nerModel('clinical-v1', bundle.uri, bundle.digest));
    await eventually(
      async () => expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).status?.phase).toBe('Ready'),
      120_000,
      500,
    );
    // Someone else's objects, named as the NerDeployment `squat` would name its stable Deployment and its Service.
    await api.create<V1Deployment>(builtin.deployments, ns, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'squat-stable', labels: { team: 'payments' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'payments' } },
        template: {
          metadata: { labels: { app: 'payments' } },
          spec: { containers: [{ name: 'app', image: 'payments:1' }] },
        },
      },
    });
    const foreignService = await api.create<V1Service>(builtin.services, ns, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'squat', labels: { team: 'payments' } },
      spec: { selector: { app: 'payments' }, ports: [{ port: 80, targetPort: 8080 }] },
    });

    // The Deployment controller writes its status once; the version to compare with is the one after that.
    const foreignDeployment = await eventually(async () => {
      const d = await api.get<V1Deployment>(builtin.deployments, ns, 'squat-stable');
      expect(d.status?.observedGeneration).toBe(d.metadata?.generation);
      return d;
    });

    await api.create(nerDeployments, ns, nerDeployment('squat', 'clinical-v1'));
    const nd = await eventually(
      async () => {
        const nd = await api.get<NerDeployment>(nerDeployments, ns, 'squat');
        expect(nd.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
          status: 'False',
          reason: 'ChildConflict',
        });
        return nd;
      },
      60_000,
      250,
    );
    const message = nd.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '';
    expect(message).toMatch(
      /^(Deployment squat-stable|Service squat) already exists in namespace .* is not owned by this object/,
    );
    const events = await eventually(async () => {
      const e = (await api.events(ns, 'squat')).filter((x) => x.reason === 'ChildConflict');
      expect(e.length).toBeGreaterThanOrEqual(1);
      return e;
    });
    expect(events[0]).toMatchObject({ type: 'Warning' });

    // Let a few retries pass: still nothing written, nothing created.
    await new Promise((r) => setTimeout(r, 3000));
    const dep = await api.get<V1Deployment>(builtin.deployments, ns, 'squat-stable');
    const svc = await api.get<V1Service>(builtin.services, ns, 'squat');
    expect(dep.metadata?.resourceVersion).toBe(foreignDeployment.metadata?.resourceVersion);
    expect(svc.metadata?.resourceVersion).toBe(foreignService.metadata?.resourceVersion);
    expect(dep.metadata?.ownerReferences ?? []).toEqual([]);
    expect(dep.metadata?.managedFields?.map((f) => f.manager)).not.toContain('nerops');
    expect(svc.metadata?.managedFields?.map((f) => f.manager)).not.toContain('nerops');
    expect(svc.metadata?.ownerReferences ?? []).toEqual([]);
    const ownedBySquat = (o: KubernetesObject) => o.metadata?.ownerReferences?.some((r) => r.uid === nd.metadata.uid);
    expect((await api.list(builtin.deployments, ns)).filter(ownedBySquat)).toEqual([]);
    expect((await api.list(builtin.services, ns)).filter(ownedBySquat)).toEqual([]);
    expect((await api.list(builtin.podDisruptionBudgets, ns)).filter(ownedBySquat)).toEqual([]);
    expect(await api.list(builtin.pods, ns, 'nerops.io/deployment=squat')).toEqual([]);
  }, 200_000);
});
