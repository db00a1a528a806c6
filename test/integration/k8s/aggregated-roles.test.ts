/**
 * The chart's user roles, as the API server decides them. The chart's aggregated ClusterRoles are
 * rendered by helm and applied; kube-controller-manager's clusterrole-aggregation controller copies their
 * rules into the built-in view / edit / admin roles. Then, impersonating users bound only to those built-in
 * roles in one namespace:
 *   Given alice holds `edit` and bob holds `view` in the namespace
 *   When  alice creates a NerModel          Then it is created
 *   When  bob creates one                   Then the API server refuses, saying which verb on which resource
 *   And   bob can read NerModels, alice cannot write their status (the operator's).
 * No operator runs here: this is RBAC only.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinaries } from '../../../local-cluster/binaries.js';
import { applyCrds } from '../../../local-cluster/crds.js';
import { repoRoot } from '../../../local-cluster/paths.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
import { nerModel } from '../../../testing/operator-fixture.js';
import { renderKubeVersion } from '../../../scripts/gen-install.js';

const { info, kc, core } = useCluster();
const bins = findBinaries();
const helm = bins.helm as string;
const kubectl = bins.kubectl as string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(input);
  });
}

const k = (...args: string[]) => run(kubectl, ['--kubeconfig', info.kubeconfigPath, ...args]);
async function ok(r: Promise<Run>): Promise<string> {
  const x = await r;
  if (x.code !== 0) throw new Error(`exit ${x.code}: ${x.stderr}${x.stdout}`);
  return x.stdout;
}

let ns: string;
// A release name of this file: the ClusterRoles are cluster-wide, other files render the chart too.
const release = `agg-${Math.random().toString(36).slice(2, 7)}`;
let roles: KubernetesObject[] = [];

beforeAll(async () => {
  await applyCrds(kc);
  ns = await createTestNamespace(core, 'agg-roles');
  const text = await ok(
    run(helm, [
      'template',
      release,
      join(repoRoot, 'charts', 'nerops'),
      '--kube-version',
      renderKubeVersion(),
      '--show-only',
      'templates/aggregated-roles.yaml',
    ]),
  );
  roles = yaml.loadAll(text).filter((d): d is KubernetesObject => !!d && typeof d === 'object');
  await ok(
    run(
      kubectl,
      ['--kubeconfig', info.kubeconfigPath, 'apply', '--server-side', '--field-manager=agg-test', '-f', '-'],
      roles.map((o) => yaml.dump(o)).join('---\n'),
    ),
  );
  const bind = (user: string, role: string) =>
    ok(k('create', 'rolebinding', `${user}-${role}`, `--clusterrole=${role}`, `--user=${user}`, '-n', ns));
  await bind('alice', 'edit');
  await bind('bob', 'view');
  await bind('carol', `${release}-nerops-approver`);
}, 120_000);

afterAll(async () => {
  for (const r of roles) await k('delete', 'clusterrole', r.metadata?.name as string, '--ignore-not-found');
  if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

const canI = async (user: string, verb: string, resource: string, ...extra: string[]) =>
  (await k('auth', 'can-i', verb, resource, '-n', ns, `--as=${user}`, ...extra)).stdout.trim();

const model = (name: string) =>
  JSON.stringify(nerModel(name, 'https://models.example.org/clinical.tar', 'a'.repeat(64)));

describe('aggregated roles', () => {
  it('renders view, edit and approver with the aggregation labels', () => {
    const labels = (suffix: string) =>
      Object.keys(roles.find((r) => r.metadata?.name === `${release}-nerops-${suffix}`)?.metadata?.labels ?? {})
        .filter((l) => l.startsWith('rbac.authorization.k8s.io/aggregate-to-'))
        .sort();
    expect(labels('view')).toEqual([
      'rbac.authorization.k8s.io/aggregate-to-admin',
      'rbac.authorization.k8s.io/aggregate-to-edit',
      'rbac.authorization.k8s.io/aggregate-to-view',
    ]);
    expect(labels('edit')).toEqual([
      'rbac.authorization.k8s.io/aggregate-to-admin',
      'rbac.authorization.k8s.io/aggregate-to-edit',
    ]);
    expect(labels('approver')).toEqual(['rbac.authorization.k8s.io/aggregate-to-admin']);
  });

  it('a user bound to the namespace edit role creates a NerModel', async () => {
    // The aggregation controller copies the rules into `edit` shortly after the ClusterRoles appear.
    await eventually(async () => expect(await canI('alice', 'create', 'nermodels.nerops.io')).toBe('yes'), 60_000, 500);
    const r = await run(
      kubectl,
      ['--kubeconfig', info.kubeconfigPath, 'create', '-n', ns, '--as=alice', '-f', '-'],
      model('by-alice'),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await ok(k('get', 'nermodel', 'by-alice', '-n', ns, '--as=alice', '-o', 'name'))).toContain('by-alice');
    // Status is the operator's: edit does not grant it.
    expect(await canI('alice', 'patch', 'nermodels.nerops.io', '--subresource=status')).toBe('no');
    for (const kind of ['nerdeployments.nerops.io', 'driftpolicies.nerops.io'])
      for (const verb of ['create', 'update', 'patch', 'delete'])
        expect(`${verb} ${kind}: ${await canI('alice', verb, kind)}`).toBe(`${verb} ${kind}: yes`);
  });

  it('a user bound to view is refused with the API server reason, and can read', async () => {
    await eventually(async () => expect(await canI('bob', 'list', 'nermodels.nerops.io')).toBe('yes'), 60_000, 500);
    const r = await run(
      kubectl,
      ['--kubeconfig', info.kubeconfigPath, 'create', '-n', ns, '--as=bob', '-f', '-'],
      model('by-bob'),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Forbidden');
    expect(r.stderr).toContain(
      `User "bob" cannot create resource "nermodels" in API group "nerops.io" in the namespace "${ns}"`,
    );
    expect(await ok(k('get', 'nermodels', '-n', ns, '--as=bob', '-o', 'name'))).toContain('by-alice');
    expect(await canI('bob', 'delete', 'nerdeployments.nerops.io')).toBe('no');
  });

  it('the approver role reads, patches (approves) and nothing more', async () => {
    await eventually(
      async () => expect(await canI('carol', 'get', 'driftpolicies.nerops.io')).toBe('yes'),
      60_000,
      500,
    );
    expect(await canI('carol', 'patch', 'nerdeployments.nerops.io')).toBe('yes');
    expect(await canI('carol', 'patch', 'driftpolicies.nerops.io')).toBe('yes');
    for (const verb of ['create', 'delete'])
      expect(`${verb}: ${await canI('carol', verb, 'driftpolicies.nerops.io')}`).toBe(`${verb}: no`);
    expect(await canI('carol', 'patch', 'nermodels.nerops.io')).toBe('no');
  });
});
