/**
 * An approval gate end to end against the real local cluster (kube-apiserver 1.34: ValidatingAdmissionPolicy
 * is GA and on by default). The chart's approval policy is applied (`helm template` of
 * charts/nerops/templates/approval-policy.yaml, namespaced: bound to this test's namespace only), two users get the rules
 * the nerops-approver role needs, and a NerDeployment rolls out a candidate through a step that needs
 * approval:
 *
 * - Given the rollout waits with AwaitingApproval, When bob writes an approval in alice's name, Then the API
 *   server refuses it with the policy's message;
 * - When alice approves with `kubectl ner approve`, Then the operator records her (status history, an
 *   `Approved` Event) and promotes the candidate; `kubectl ner status --timeout` is the wait;
 * - `kubectl ner` errors name the missing permission (403) and the missing object (404).
 *
 * Canary analysis is not what this test is about: the operator gets a stand-in Prometheus that reports a
 * healthy candidate (100 requests, no errors, p95 10 ms), so the step is otherwise done at once.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
import { repoRoot } from '../../../local-cluster/paths.js';
import { findBinaries } from '../../../local-cluster/binaries.js';
import { renderKubeVersion } from '../../../scripts/gen-install.js';
import type { MetricsQuerier } from '../../../operator/prometheus/client.js';
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
import { ApiError, NerClient } from '../../../cli/kubectl/client.js';
import { NER_DEPLOYMENT } from '../../../contracts/api-group.js';
import { APPROVE_ANNOTATION, APPROVED_BY_ANNOTATION, rolloutApprovalTarget } from '../../../contracts/user-actions.js';

const run = promisify(execFile);
const { info, kc, core } = useCluster();
const CLI = join(repoRoot, 'dist/cli/kubectl-ner.js');
let ns: string;
let api: Api;
let op: TestOperator;
let policyName: string;
let digest: string;

/** A candidate that passes every analysis. */
const healthyCanary: MetricsQuerier = {
  query: async (q: string) => {
    const value = q.includes('code=~"5..') ? 0 : q.startsWith('histogram_quantile') ? 0.01 : 100;
    return { value, samples: [] };
  },
};

/** `kubectl ner ...` as a user would run it (the built plugin, the cluster's kubeconfig). */
async function kubectlNer(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [CLI, ...args, '-n', ns, '--kubeconfig', info.kubeconfigPath], { timeout: 300_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/**
 * The chart's policy and binding as `helm template` renders them for a namespaced install watching
 * `namespace` (the binding then matches that namespace only, so no other test is affected).
 */
async function approvalPolicy(fullname: string, namespace: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await run(findBinaries().helm as string, [
    'template',
    'nerops',
    join(repoRoot, 'charts/nerops'),
    '--show-only',
    'templates/approval-policy.yaml',
    '--kube-version',
    renderKubeVersion(),
    '--set',
    `fullnameOverride=${fullname}`,
    '--set',
    'scope.mode=namespaced',
    '--set',
    `scope.watchNamespace=${namespace}`,
  ]);
  const objs = (yaml.loadAll(stdout) as Record<string, unknown>[]).filter(Boolean);
  expect(objs.map((o) => o.kind)).toEqual(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
  return objs;
}

const ADMISSION = '/apis/admissionregistration.k8s.io/v1';

beforeAll(async () => {
  const [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  digest = bundle.digest;
  ns = await createTestNamespace(core, 'approval');
  api = new Api(kc);
  policyName = `nerops-${ns}-approvals`;
  const [policy, binding] = await approvalPolicy(`nerops-${ns}`, ns);
  await api.kube.request({ method: 'POST', path: `${ADMISSION}/validatingadmissionpolicies`, body: policy });
  await api.kube.request({ method: 'POST', path: `${ADMISSION}/validatingadmissionpolicybindings`, body: binding });
  // What the nerops-approver role grants (docs/operator.md, "Approvals"), for alice and bob in this namespace.
  await api.kube.request({
    method: 'POST',
    path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'approver' },
      rules: [
        {
          apiGroups: ['nerops.io'],
          resources: ['nerdeployments', 'driftpolicies'],
          verbs: ['get', 'list', 'watch', 'patch'],
        },
        { apiGroups: ['nerops.io'], resources: ['nermodels'], verbs: ['get', 'list', 'watch'] },
      ],
    },
  });
  await api.kube.request({
    method: 'POST',
    path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'approvers' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'approver' },
      subjects: ['alice', 'bob'].map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })),
    },
  });
  op = await startOperator(kc, ns, { prometheus: healthyCanary });
  for (const name of ['clinical-v1', 'clinical-v2'])
    await api.create(nerModels, ns, nerModel(name, bundle.uri, digest));
  await eventually(
    async () => {
      for (const name of ['clinical-v1', 'clinical-v2'])
        expect((await api.get<NerModel>(nerModels, ns, name)).status?.phase).toBe('Ready');
    },
    120_000,
    500,
  );
}, 240_000);

afterAll(async () => {
  await op?.stop();
  for (const kind of ['validatingadmissionpolicybindings', 'validatingadmissionpolicies'])
    await api?.kube.request({ method: 'DELETE', path: `${ADMISSION}/${kind}/${policyName}` }).catch(() => undefined);
  api?.close();
});

describe('approval gate', () => {
  it("refuses an approval in another user's name, records the approver's own, then promotes", async () => {
    // Given a stable model and a rollout whose only step needs approval.
    await api.create(
      nerDeployments,
      ns,
      nerDeployment('notes', 'clinical-v1', {
        rollout: {
          steps: [{ weight: 50, pauseSeconds: 0, approval: { required: true } }],
          analysisIntervalSeconds: 5,
          minSampleCount: 10,
        },
      }),
    );
    const first = await kubectlNer('status', 'notes', '--timeout', '3m');
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/notes: Healthy, stable clinical-v1/);

    // When the candidate is pinned, Then the step is done but for its approval.
    await api.patch(nerDeployments, ns, 'notes', { spec: { model: 'clinical-v2' } });
    const target = rolloutApprovalTarget('clinical-v2', digest, 0);
    const waiting = await eventually(
      async () => {
        const nd = await api.get<NerDeployment>(nerDeployments, ns, 'notes');
        const c = nd.status?.conditions?.find((x) => x.type === 'AwaitingApproval');
        expect(c?.status).toBe('True');
        return { nd, c };
      },
      180_000,
      500,
    );
    expect(waiting.c?.message).toContain(target);
    expect(waiting.nd.status).toMatchObject({
      phase: 'Paused',
      stableModel: 'clinical-v1',
      canaryModel: 'clinical-v2',
    });
    const gate = await kubectlNer('status', 'notes', '--timeout', '5s');
    expect(gate.code).toBe(2); // still waiting: a timeout, not a failure
    expect(gate.stdout).toContain('awaiting approval');

    // When bob writes an approval in alice's name, Then the API server refuses it (the admission policy).
    const bob = new NerClient({ kubeconfig: info.kubeconfigPath, namespace: ns, as: 'bob' });
    const refused = await bob
      .patchAnnotations(NER_DEPLOYMENT, 'notes', {
        [APPROVE_ANNOTATION]: target,
        [APPROVED_BY_ANNOTATION]: 'alice',
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).statusCode).toBe(403);
    expect((refused as ApiError).message).toContain(
      'nerops.io/approved-by must be the requesting user: bob cannot approve in the name of alice',
    );
    // An approval without any approver is refused too.
    const anonymous = await bob
      .patchAnnotations(NER_DEPLOYMENT, 'notes', {
        [APPROVE_ANNOTATION]: target,
      })
      .then(
        () => undefined,
        (e: unknown) => e as ApiError,
      );
    expect(anonymous?.message).toContain('must name its approver');
    expect((await api.get<NerDeployment>(nerDeployments, ns, 'notes')).status?.stableModel).toBe('clinical-v1');

    // When alice approves in her own name, Then it is recorded and the candidate is promoted.
    const approved = await kubectlNer('approve', 'notes', '--as', 'alice', '--comment', 'reviewed the canary');
    expect(approved, approved.stderr).toMatchObject({ code: 0 });
    expect(approved.stdout).toContain(`approved ${target} as alice`);
    const done = await kubectlNer('status', 'notes', '--timeout', '3m');
    expect(done, done.stderr).toMatchObject({ code: 0 });
    expect(done.stdout).toMatch(/notes: Healthy, stable clinical-v2/);

    const nd = await api.get<NerDeployment>(nerDeployments, ns, 'notes');
    expect(nd.status?.history?.at(-1)).toMatchObject({
      model: 'clinical-v2',
      outcome: 'Promoted',
      approvals: [{ approver: 'alice', target, stepIndex: 0, comment: 'reviewed the canary' }],
    });
    expect(nd.metadata.annotations?.[APPROVE_ANNOTATION]).toBeUndefined(); // used once, then removed
    const notes = await eventually(async () => {
      const n = await api.eventNotes(ns, 'notes');
      expect(n.some((x) => x.startsWith('Approved: '))).toBe(true);
      return n;
    });
    expect(notes).toContain('Approved: step 1/1 of clinical-v2 approved by alice: reviewed the canary');
    expect(notes.some((x) => x.startsWith('ApprovalRequired: step 1/1 of clinical-v2'))).toBe(true);

    // Errors name what is missing: a user without any role, and an object that does not exist.
    const carol = await kubectlNer('promote', 'notes', '--as', 'carol');
    expect(carol.code).toBe(3);
    expect(carol.stderr).toContain(
      `you (user carol) cannot patch nerdeployments.nerops.io in namespace ${ns}: ask for the nerops-edit role`,
    );
    const missing = await kubectlNer('status', 'nope');
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/nope not found in namespace/);

    const history = await kubectlNer('history', 'notes');
    expect(history.stdout).toMatch(/clinical-v2 +clinical-v1 +Promoted +1 +alice@step1/);
  }, 600_000);
});
