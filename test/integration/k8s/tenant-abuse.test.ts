/**
 * Tenant boundary against the real local cluster: a tenant who may create DriftPolicies and NerDeployments
 * must not get the operator to run a pod the tenant could not create. What the CRD's CEL rules can refuse
 * statically (privileged, hostPath, host namespaces) the API server refuses with a message naming the
 * field; the rest (a foreign ServiceAccount, an image from a registry not allowed, other Pod Security
 * "restricted" fields) the operator refuses: a condition with a specific reason, a Warning Event, and no
 * Job, Deployment or pod. A control policy with an allowed template proves the refusals are what stops
 * them: its Job is created, with the restricted defaults, and its pod is admitted by the API server's
 * Pod Security admission in a namespace that enforces "restricted".
 */
import type { KubernetesObject, V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftPolicy } from '../../../operator/api/driftpolicy.js';
import { driftPolicies } from '../../../operator/api/resources.js';
import { KubeApiError } from '../../../operator/runtime/kube.js';
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
  TEST_IMAGE,
  type NerDeployment,
  type TestOperator,
} from '../../../testing/operator-fixture.js';

const { kc, core } = useCluster();
const POD = 'spec.retraining.template.spec.template.spec';
const tenant = { allowedServiceAccounts: ['trainer'], allowedImageRegistries: [] };
let ns: string;
let api: Api;
let operator: TestOperator;

/** A DriftPolicy asking for a run now (manual trigger) with a template around `pod`. */
function policy(name: string, pod: Record<string, unknown>): KubernetesObject & { spec: Record<string, unknown> } {
  return {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'DriftPolicy',
    metadata: { name, annotations: { 'nerops.io/retrain': 'now' } },
    spec: {
      targetRef: { name: 'ner' },
      interval: '5s',
      retraining: {
        datasetUri: 'file:///nonexistent/train.conll',
        outputUri: 'file:///nonexistent/runs',
        template: { spec: { template: { spec: pod } } },
      },
    },
  };
}

const trainer = (extra: Record<string, unknown> = {}) => ({
  name: 'train',
  image: TEST_IMAGE,
  command: ['ner-ops', '--help'],
  ...extra,
});

/** The API server's refusal of a create, or undefined when it accepted the object. */
async function refusal(obj: KubernetesObject): Promise<KubeApiError | undefined> {
  return api.create(driftPolicies, ns, obj).then(
    () => undefined,
    (e: unknown) => e as KubeApiError,
  );
}

/** Nothing runs for `selector`: no Job and no pod. */
async function expectNothingCreated(kind: 'Job' | 'Deployment', selector: string): Promise<void> {
  if (kind === 'Job') expect(await api.list<V1Job>(builtin.jobs, ns, selector)).toEqual([]);
  else expect(await api.list<V1Deployment>(builtin.deployments, ns, selector)).toEqual([]);
  expect(await api.list<V1Pod>(builtin.pods, ns, selector)).toEqual([]);
}

beforeAll(async () => {
  await installCrds(kc);
  ns = await createTestNamespace(core, 'tenant');
  api = new Api(kc);
  // The API server's own Pod Security admission judges every pod created here.
  await api.kube.request({
    method: 'PATCH',
    path: `/api/v1/namespaces/${ns}`,
    body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    contentType: 'application/merge-patch+json',
  });
  operator = await startOperator(kc, ns, { tenant }, { tenant });
  // The run's base model only has to exist for a run to be wanted (its validation may fail).
  await api.create(nerModels, ns, nerModel('base', 'file:///nonexistent/bundle', 'a'.repeat(64)));
  await api.create(nerDeployments, ns, nerDeployment('ner', 'base'));
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  api?.close();
});

describe('tenant-abuse specs the CRD refuses (CEL, API server)', () => {
  it.each([
    [
      'a privileged template',
      { containers: [trainer({ securityContext: { privileged: true } })] },
      `${POD}.containers[0].securityContext.privileged`,
      'privileged containers are not allowed (Pod Security restricted)',
    ],
    [
      "a hostPath '/' volume",
      { containers: [trainer()], volumes: [{ name: 'root', hostPath: { path: '/' } }] },
      `${POD}.volumes[0].hostPath`,
      'hostPath volumes are not allowed (Pod Security restricted)',
    ],
    [
      'hostNetwork',
      { hostNetwork: true, containers: [trainer()] },
      `${POD}.hostNetwork`,
      'hostNetwork must not be true (Pod Security restricted)',
    ],
    [
      'privilege escalation in an init container',
      { containers: [trainer()], initContainers: [trainer({ securityContext: { allowPrivilegeEscalation: true } })] },
      `${POD}.initContainers[0].securityContext.allowPrivilegeEscalation`,
      'allowPrivilegeEscalation must not be true (Pod Security restricted)',
    ],
  ])('refuses %s: 422 naming the field and the rule, nothing stored', async (_name, pod, path, message) => {
    const name = `cel-${Math.random().toString(36).slice(2, 8)}`;
    const err = await refusal(policy(name, pod));
    expect(err, 'the API server accepted the object').toBeInstanceOf(KubeApiError);
    expect(err?.statusCode).toBe(422);
    expect(err?.message).toContain(path);
    expect(err?.message).toContain(message);
    expect((await api.list<DriftPolicy>(driftPolicies, ns)).map((p) => p.metadata.name)).not.toContain(name);
  });
});

describe('tenant-abuse specs the operator refuses', () => {
  it('control: an allowed template that omits the security fields runs with the restricted defaults, admitted by Pod Security', async () => {
    await api.create(driftPolicies, ns, policy('control', { containers: [trainer()] }));
    const job = await eventually(
      async () => {
        const jobs = await api.list<V1Job>(builtin.jobs, ns, 'nerops.io/drift-policy=control');
        expect(jobs).toHaveLength(1);
        return jobs[0] as V1Job;
      },
      30_000,
      300,
    );
    const pod = job.spec?.template.spec;
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod?.containers[0]?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    // The Job controller's pod passed the namespace's "restricted" admission.
    await eventually(
      async () => expect(await api.list<V1Pod>(builtin.pods, ns, 'nerops.io/drift-policy=control')).not.toEqual([]),
      60_000,
      300,
    );
  }, 120_000);

  it.each([
    [
      'foreign-sa',
      'a foreign ServiceAccount',
      { serviceAccountName: 'nerops-operator', containers: [trainer()] },
      `${POD}.serviceAccountName ServiceAccount 'nerops-operator' is not allowed (allowed: default, trainer;`,
    ],
    [
      'foreign-image',
      'an image from a registry not allowed',
      { containers: [trainer({ image: 'evil.example/miner:1' })] },
      `${POD}.containers[0].image image 'evil.example/miner:1' is not from an allowed registry`,
    ],
    [
      'look-alike-image',
      'a look-alike of the operator image (prefix, not substring)',
      { containers: [trainer({ image: 'docker.io/library/nerops-evil:dev' })] },
      `${POD}.containers[0].image image 'docker.io/library/nerops-evil:dev' is not from an allowed registry`,
    ],
    [
      'sys-admin',
      'an added capability (restricted, beyond what CEL checks)',
      { containers: [trainer({ securityContext: { capabilities: { add: ['SYS_ADMIN'] } } })] },
      `${POD}.containers[0].securityContext.capabilities.add[0] may only add NET_BIND_SERVICE`,
    ],
    [
      'root-user',
      'runAsUser 0',
      { securityContext: { runAsUser: 0 }, containers: [trainer()] },
      `${POD}.securityContext.runAsUser must not be 0`,
    ],
  ])(
    '%s — %s: Ready=False TemplateRefused, a Warning Event, no Job and no pod',
    async (name, _what, pod, fragment) => {
      await api.create(driftPolicies, ns, policy(name, pod));
      const ready = await eventually(
        async () => {
          const p = await api.get<DriftPolicy>(driftPolicies, ns, name);
          const c = p.status?.conditions?.find((x) => x.type === 'Ready');
          expect(c).toMatchObject({ status: 'False', reason: 'TemplateRefused' });
          return c;
        },
        30_000,
        300,
      );
      expect(ready?.message).toContain(fragment);
      // The Job would have been created before the status that reports this reconcile was written.
      await expectNothingCreated('Job', `nerops.io/drift-policy=${name}`);
      const warning = await eventually(
        async () => {
          const events = (await api.events(ns, name)).filter((e) => e.reason === 'TemplateRefused');
          expect(events).toHaveLength(1);
          return events[0];
        },
        15_000,
        300,
      );
      expect(warning?.type).toBe('Warning');
      expect(warning?.note).toContain(fragment);
    },
    60_000,
  );
});

describe('NerDeployment spec.image outside the allowed registries', () => {
  it.each([
    ['miner', 'evil.example/miner:1'],
    ['look-alike', 'docker.io/library/nerops-evil:dev'],
  ])(
    '%s: Ready=False ImageNotAllowed, a Warning Event, no Deployment and no pod',
    async (name, image) => {
      await api.create(nerDeployments, ns, nerDeployment(name, 'base', { image }));
      const ready = await eventually(
        async () => {
          const d = await api.get<NerDeployment>(nerDeployments, ns, name);
          const c = d.status?.conditions?.find((x) => x.type === 'Ready');
          expect(c).toMatchObject({ status: 'False', reason: 'ImageNotAllowed' });
          return c;
        },
        30_000,
        300,
      );
      expect(ready?.message).toContain(`spec.image image '${image}' is not from an allowed registry`);
      await expectNothingCreated('Deployment', `nerops.io/deployment=${name}`);
      expect(await api.list<KubernetesObject>(builtin.services, ns, `nerops.io/deployment=${name}`)).toEqual([]);
      const events = await eventually(
        async () => {
          const e = (await api.events(ns, name)).filter((x) => x.reason === 'ImageNotAllowed');
          expect(e).toHaveLength(1);
          return e;
        },
        15_000,
        300,
      );
      expect(events[0]?.type).toBe('Warning');
    },
    60_000,
  );
});
