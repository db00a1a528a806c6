/**
 * The operator's RBAC as the API server decides it. For the chart rendered by helm in both scope modes, and
 * for manifests/nerops.yaml, the ServiceAccount and RBAC objects are applied for real; then
 * `kubectl auth can-i <verb> <resource>.<group> [--subresource] -n <ns> --as=system:serviceaccount:<ns>:<sa>`
 * is asked for every row of the permission table (operator/permissions.ts, the one list of what the
 * operator's code sends) and must answer yes, where the operator works; and for what must stay out of
 * reach (Secrets, pod writes, deletes of what the operator never deletes, RBAC, other Lease names, other
 * namespaces in namespaced mode) and must answer no. The can-i calls of one install run in parallel.
 *
 * Only the ServiceAccount, Roles and bindings are applied: the operator Deployment is not started here
 * (test/integration/k8s/install.test.ts runs the operator under such a ServiceAccount's token).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinaries } from '../../local-cluster/binaries.js';
import { repoRoot } from '../../local-cluster/paths.js';
import { createTestNamespace, useCluster } from '../../local-cluster/testing.js';
import { OPERATOR_PERMISSIONS } from '../../operator/permissions.js';
import { renderKubeVersion } from '../../scripts/gen-install.js';
import type { ApiVerb, Permission } from '../../operator/runtime/permissions.js';

const { info, core } = useCluster();
const bins = findBinaries();
const helm = bins.helm as string;
const kubectl = bins.kubectl as string;
const chart = join(repoRoot, 'charts', 'nerops');
const RBAC_KINDS = ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}

async function ok(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout.slice(0, 2000)}`);
  return r.stdout;
}

const kubectlArgs = (...args: string[]) => ['--kubeconfig', info.kubeconfigPath, ...args];

/** One `kubectl auth can-i` question. */
interface Question {
  verb: ApiVerb;
  group: string;
  resource: string;
  subresource?: string;
  /** A namespace, or 'all' for `--all-namespaces`. */
  namespace: string;
  name?: string;
  /** Why the answer must be what it must be (for failure messages). */
  why: string;
}

/** `kubectl auth can-i` arguments for a question, as the ServiceAccount `ns:sa`. */
function canIArgs(q: Question, sa: { namespace: string; name: string }): string[] {
  const type = `${q.resource}${q.group ? `.${q.group}` : ''}${q.name ? `/${q.name}` : ''}`;
  return kubectlArgs(
    'auth',
    'can-i',
    q.verb,
    type,
    ...(q.subresource ? [`--subresource=${q.subresource}`] : []),
    ...(q.namespace === 'all' ? ['--all-namespaces'] : ['-n', q.namespace]),
    `--as=system:serviceaccount:${sa.namespace}:${sa.name}`,
  );
}

const describeQ = (q: Question) =>
  `can-i ${q.verb} ${q.resource}${q.subresource ? `/${q.subresource}` : ''}${q.group ? `.${q.group}` : ''}${q.name ? ` ${q.name}` : ''} in ${q.namespace === 'all' ? 'all namespaces' : q.namespace} (${q.why})`;

/** Asks every question (at most 16 kubectl processes at a time); returns those answered otherwise than `expected`. */
async function wrongAnswers(
  questions: Question[],
  sa: { namespace: string; name: string },
  expected: 'yes' | 'no',
): Promise<string[]> {
  const wrong: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < questions.length; i = next++) {
      const q = questions[i]!;
      const r = await run(kubectl, canIArgs(q, sa));
      const answer = r.stdout.trim().split('\n').at(-1);
      // can-i exits 0 with "yes" and 1 with "no"; anything else is a failed question, not an answer.
      if (!((r.code === 0 && answer === 'yes') || (r.code === 1 && answer === 'no')))
        throw new Error(`${describeQ(q)}: exit ${r.code}: ${r.stderr}${r.stdout}`);
      if (answer !== expected) wrong.push(`${describeQ(q)}: ${answer}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return wrong;
}

/** Where one install bound its permissions. */
interface Install {
  sa: { namespace: string; name: string };
  /** Namespaces the operator reconciles; 'all' in cluster mode. */
  watched: string[] | 'all';
  /** A namespace it must not touch in namespaced mode; one more watched namespace in cluster mode. */
  other: string;
  leaseNamespace: string;
  leaseName: string;
}

/** The questions each row of the table asks: yes where the operator works. */
function rowQuestions(install: Install, p: Permission): Question[] {
  const base = {
    verb: p.verb,
    group: p.group,
    resource: p.resource,
    ...(p.subresource ? { subresource: p.subresource } : {}),
    why: `${p.why}; ${p.code}`,
  };
  if (p.scope === 'leaderElection')
    return [{ ...base, namespace: install.leaseNamespace, ...(p.byName ? { name: install.leaseName } : {}) }];
  const namespaces = install.watched === 'all' ? [install.sa.namespace, install.other] : install.watched;
  const out: Question[] = namespaces.map((namespace) => ({ ...base, namespace }));
  // Informers without --namespace list and watch across all namespaces.
  if (install.watched === 'all' && (p.verb === 'list' || p.verb === 'watch')) out.push({ ...base, namespace: 'all' });
  return out;
}

/** What must be refused, whatever the mode. */
function refusedQuestions(install: Install): Question[] {
  const ns = install.watched === 'all' ? install.other : (install.watched[0] as string);
  const q = (verb: ApiVerb, group: string, resource: string, why: string, extra: Partial<Question> = {}): Question => ({
    verb,
    group,
    resource,
    namespace: ns,
    why,
    ...extra,
  });
  const out: Question[] = [
    q('list', '', 'secrets', 'Secrets are read one by one, by name, for their metadata only'),
    q('watch', '', 'secrets', 'Secrets are never cached'),
    q('delete', '', 'secrets', 'the operator never writes Secrets'),
    q('create', '', 'pods', 'Deployments and Jobs create pods, not the operator'),
    q('delete', '', 'pods', 'the operator never deletes pods'),
    q('get', '', 'pods', 'pods are only listed by job-name'),
    q('create', '', 'configmaps', 'ConfigMaps are only read'),
    q('list', '', 'configmaps', 'ConfigMaps are only read by name'),
    q('deletecollection', 'apps', 'deployments', 'only the canary Deployment is deleted, by name'),
    q('update', 'apps', 'deployments', 'Deployments are written by server-side apply (patch)'),
    q('delete', 'batch', 'jobs', 'finished Jobs expire by their TTL'),
    q('delete', 'policy', 'poddisruptionbudgets', 'the PodDisruptionBudget lives as long as its NerDeployment'),
    q('deletecollection', 'nerops.io', 'nermodels', 'retention deletes models one by one, by name'),
    q('delete', 'nerops.io', 'nerdeployments', 'users delete NerDeployments'),
    q('patch', 'nerops.io', 'driftpolicies', 'the DriftPolicy controller writes only its status'),
    q('update', 'nerops.io', 'nermodels', 'server-side apply, no update'),
    q('delete', 'gateway.networking.k8s.io', 'httproutes', "the HTTPRoute is the user's"),
    q('create', '', 'events', 'Events go through events.k8s.io/v1'),
    q('delete', 'events.k8s.io', 'events', 'Events are only created'),
    q('create', 'rbac.authorization.k8s.io', 'roles', 'no RBAC'),
    q('create', 'rbac.authorization.k8s.io', 'rolebindings', 'no RBAC'),
    q('list', '', 'nodes', 'no cluster-scoped kind', { namespace: 'all' }),
    q('create', 'rbac.authorization.k8s.io', 'clusterrolebindings', 'no cluster-scoped kind', { namespace: 'all' }),
    q('update', 'coordination.k8s.io', 'leases', "only the operator's own Lease", {
      namespace: install.leaseNamespace,
      name: 'someone-elses-lease',
    }),
    q('delete', 'coordination.k8s.io', 'leases', 'the Lease is released, never deleted', {
      namespace: install.leaseNamespace,
      name: install.leaseName,
    }),
  ];
  if (install.watched !== 'all') {
    // Namespaced mode: nothing outside the watch namespace (and its Lease there).
    out.push(
      q('list', 'nerops.io', 'nermodels', 'namespaced mode has no cluster-wide access', { namespace: 'all' }),
      q('watch', 'apps', 'deployments', 'namespaced mode has no cluster-wide access', { namespace: 'all' }),
      q('create', 'apps', 'deployments', 'namespaced mode: only the watch namespace', { namespace: install.other }),
      q('patch', 'nerops.io', 'nerdeployments', 'namespaced mode: only the watch namespace', {
        namespace: install.other,
        subresource: 'status',
      }),
      q('create', 'events.k8s.io', 'events', 'namespaced mode: only the watch namespace', { namespace: install.other }),
      q('create', 'coordination.k8s.io', 'leases', 'the Lease lives in the watch namespace', {
        namespace: install.other,
      }),
    );
  } else {
    out.push(
      q('create', 'coordination.k8s.io', 'leases', 'the Lease lives in the release namespace only', {
        namespace: install.other,
      }),
    );
  }
  return out;
}

function objects(text: string): KubernetesObject[] {
  return yaml.loadAll(text).filter((d): d is KubernetesObject => !!d && typeof d === 'object');
}

const cleanup: Array<() => Promise<unknown>> = [];

/** Applies the ServiceAccount and RBAC objects of rendered manifests; cluster-scoped ones are deleted after the file. */
async function applyRbac(text: string): Promise<KubernetesObject[]> {
  const rbac = objects(text).filter((o) => RBAC_KINDS.includes(o.kind ?? ''));
  await ok(
    kubectl,
    kubectlArgs('apply', '--server-side', '--force-conflicts', '--field-manager=nerops-rbac-test', '-f', '-'),
    rbac.map((o) => yaml.dump(o)).join('---\n'),
  );
  for (const o of rbac.filter((o) => o.kind?.startsWith('Cluster')))
    cleanup.push(() =>
      run(kubectl, kubectlArgs('delete', o.kind as string, o.metadata?.name as string, '--ignore-not-found')),
    );
  return rbac;
}

function saOf(rbac: KubernetesObject[]): { namespace: string; name: string } {
  const sa = rbac.find((o) => o.kind === 'ServiceAccount');
  return { namespace: sa?.metadata?.namespace as string, name: sa?.metadata?.name as string };
}

const installs: Array<{ name: string; setup: () => Promise<Install> }> = [
  {
    name: 'chart, scope.mode=cluster',
    setup: async () => {
      const ns = await createTestNamespace(core, 'rbac-cl');
      const other = await createTestNamespace(core, 'rbac-cl-other');
      cleanup.push(
        () => core.deleteNamespace({ name: ns }),
        () => core.deleteNamespace({ name: other }),
      );
      const release = `rbac-${Math.random().toString(36).slice(2, 7)}`;
      const rbac = await applyRbac(
        await ok(helm, [
          'template',
          release,
          chart,
          '--namespace',
          ns,
          '--kube-version',
          renderKubeVersion(),
          '--skip-tests',
          '--set',
          'scope.mode=cluster',
        ]),
      );
      // The operator's ClusterRole and binding, and the three user roles (aggregated-roles.yaml).
      expect(rbac.map((o) => o.kind).sort()).toEqual([
        ...Array(4).fill('ClusterRole'),
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
        'ServiceAccount',
      ]);
      return { sa: saOf(rbac), watched: 'all', other, leaseNamespace: ns, leaseName: 'nerops-operator' };
    },
  },
  {
    name: 'chart, scope.mode=namespaced',
    setup: async () => {
      const ns = await createTestNamespace(core, 'rbac-ns');
      const watch = await createTestNamespace(core, 'rbac-ns-watch');
      cleanup.push(
        () => core.deleteNamespace({ name: ns }),
        () => core.deleteNamespace({ name: watch }),
      );
      const release = `rbac-${Math.random().toString(36).slice(2, 7)}`;
      const rbac = await applyRbac(
        await ok(helm, [
          'template',
          release,
          chart,
          '--namespace',
          ns,
          '--kube-version',
          renderKubeVersion(),
          '--skip-tests',
          '--set',
          'scope.mode=namespaced',
          '--set',
          `scope.watchNamespace=${watch}`,
          '--set',
          'leaderElection.leaseName=ns-lease',
        ]),
      );
      // No ClusterRoleBinding: nothing cluster-wide for the operator. The ClusterRoles are the three user
      // roles (aggregated-roles.yaml), bound to no one by the chart.
      expect(rbac.map((o) => o.kind).sort()).toEqual([
        ...Array(3).fill('ClusterRole'),
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'ServiceAccount',
      ]);
      // The release namespace is not watched: it is the "other" namespace that must stay out of reach.
      return { sa: saOf(rbac), watched: [watch], other: ns, leaseNamespace: watch, leaseName: 'ns-lease' };
    },
  },
  {
    name: 'manifests/nerops.yaml (kubectl apply -k manifests/)',
    setup: async () => {
      const text = await ok(kubectl, ['kustomize', join(repoRoot, 'manifests')]);
      const installNs = objects(text).find((o) => o.kind === 'Namespace')?.metadata?.name as string;
      // Other test files use nerops-system and the cluster-wide name `nerops` (and may delete the
      // namespace): the committed objects go into a namespace of this test, under suffixed cluster-wide
      // names. Rules, bindings and subjects are otherwise exactly the file's.
      const ns = await createTestNamespace(core, 'rbac-kz');
      const other = await createTestNamespace(core, 'rbac-kz-other');
      cleanup.push(
        () => core.deleteNamespace({ name: ns }),
        () => core.deleteNamespace({ name: other }),
      );
      const suffix = `-${ns}`;
      const moved = objects(text)
        .filter((o) => RBAC_KINDS.includes(o.kind ?? ''))
        .map((o) => {
          const m = structuredClone(o) as KubernetesObject & {
            roleRef?: { kind: string; name: string };
            subjects?: Array<{ namespace?: string }>;
          };
          if (m.metadata?.namespace === installNs) m.metadata.namespace = ns;
          if (m.kind?.startsWith('Cluster') && m.metadata) m.metadata.name += suffix;
          if (m.roleRef?.kind === 'ClusterRole') m.roleRef.name += suffix;
          for (const sub of m.subjects ?? []) if (sub.namespace === installNs) sub.namespace = ns;
          return m;
        });
      expect(moved.map((o) => o.kind).sort()).toEqual([
        ...Array(4).fill('ClusterRole'),
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
        'ServiceAccount',
      ]);
      const rbac = await applyRbac(moved.map((o) => yaml.dump(o)).join('---\n'));
      const deployment = objects(text).find((o) => o.kind === 'Deployment') as KubernetesObject & {
        spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
      };
      const leaseName = deployment.spec.template.spec.containers[0]?.args
        .find((a) => a.startsWith('--lease-name='))
        ?.split('=')[1] as string;
      expect(leaseName).toBeTruthy();
      return { sa: saOf(rbac), watched: 'all', other, leaseNamespace: ns, leaseName };
    },
  },
];

/**
 * A minimal HTTPRoute CRD (the Gateway API's cannot be fetched here; test/e2e/canary-gateway.test.ts uses
 * the same stand-in). kubectl auth can-i resolves a resource name through discovery and, for a type the
 * server does not have, asks about a resource literally named `httproutes.gateway.networking.k8s.io` in
 * the core group, which no rule matches.
 */
const HTTPROUTE_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name: 'httproutes.gateway.networking.k8s.io',
    annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/gateway-api/pull/2466' },
  },
  spec: {
    group: 'gateway.networking.k8s.io',
    names: { kind: 'HTTPRoute', listKind: 'HTTPRouteList', plural: 'httproutes', singular: 'httproute' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

beforeAll(async () => {
  // The nerops CRDs and an HTTPRoute CRD, so kubectl resolves every resource name of the table as it would
  // in a user's cluster. The HTTPRoute CRD is created only when absent and left in place (other tests use it).
  await ok(
    kubectl,
    kubectlArgs(
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=nerops-rbac-test',
      '-f',
      join(repoRoot, 'crds'),
    ),
  );
  if ((await run(kubectl, kubectlArgs('get', 'crd', HTTPROUTE_CRD.metadata.name))).code !== 0) {
    const r = await run(kubectl, kubectlArgs('create', '-f', '-'), JSON.stringify(HTTPROUTE_CRD));
    if (r.code !== 0 && !/AlreadyExists/.test(r.stderr)) throw new Error(`creating the HTTPRoute CRD: ${r.stderr}`);
  }
  await ok(
    kubectl,
    kubectlArgs(
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/nermodels.nerops.io',
      'crd/nerdeployments.nerops.io',
      'crd/driftpolicies.nerops.io',
      `crd/${HTTPROUTE_CRD.metadata.name}`,
    ),
  );
});

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe.each(installs)('$name', ({ setup }) => {
  let install: Install;
  beforeAll(async () => {
    install = await setup();
  }, 60_000);

  it('allows every row of the permission table where the operator works', async () => {
    const questions = OPERATOR_PERMISSIONS.flatMap((p) => rowQuestions(install, p));
    expect(questions.length).toBeGreaterThanOrEqual(OPERATOR_PERMISSIONS.length);
    expect(await wrongAnswers(questions, install.sa, 'yes')).toEqual([]);
  });

  it('refuses Secrets, pod writes, deletes the operator never sends, RBAC, other Leases and (namespaced) other namespaces', async () => {
    expect(await wrongAnswers(refusedQuestions(install), install.sa, 'no')).toEqual([]);
  });
});
