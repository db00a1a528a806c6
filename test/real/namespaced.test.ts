/**
 * The chart's namespaced scope on the real node, and the API server's RBAC in front of the CRDs.
 *
 * Given the operator installed with scope.mode=namespaced watching one namespace,
 *   When a NerModel is created there, Then it is validated to Ready;
 *   When one is created in another namespace, Then the operator leaves it alone (no status, no Job).
 * Given a user without rights in a namespace, and the operator's own ServiceAccount (namespaced mode:
 * a Role in the watched namespace only), When either creates a NerModel where it may not, Then the API
 * server refuses it and says why (forbidden … cannot create resource "nermodels").
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Deployment, V1Job } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../operator/runtime/resource.js';
import { trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import { Api, nerModel, nerModels, type NerModel } from '../../testing/operator-fixture.js';
import { installOperator, kubectl, uninstallOperator } from '../../local-cluster/chart-install.js';
import { claimWithLoader, putOnClaim } from '../../local-cluster/workloads.js';

const { info, kc, core } = useCluster();
const release = 'nerops-namespaced';
let operatorNs: string;
let watched: string;
let other: string;
let api: Api;
let bundle: TrainedBundle;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `kubectl create -f` of `obj` with extra flags (e.g. `--as`); resolves with the error text, or '' if it was created. */
async function kubectlCreate(namespace: string, obj: unknown, ...flags: string[]): Promise<string> {
  const file = join(info.stateDir, `namespaced-${namespace}-${Date.now()}.yaml`);
  await writeFile(file, yaml.dump(obj));
  return kubectl(info, '-n', namespace, 'create', '-f', file, ...flags).then(
    () => '',
    (err: Error & { stderr?: string }) => err.stderr ?? err.message,
  );
}

beforeAll(async () => {
  operatorNs = await createTestNamespace(core, 'nerops-ns');
  watched = await createTestNamespace(core, 'watched');
  other = await createTestNamespace(core, 'unwatched');
  api = new Api(kc);
  const [loaderWatched, loaderOther, b] = await Promise.all([
    claimWithLoader(info, core, watched, 'models'),
    claimWithLoader(info, core, other, 'models'),
    trainSmallBundle({ seed: 7, count: 200, epochs: 3, name: 'clinical', version: '1.0.0' }),
    installOperator(info, {
      release,
      namespace: operatorNs,
      scope: 'namespaced',
      watchNamespace: watched,
      replicas: 1,
    }),
  ]);
  bundle = b;
  await putOnClaim(info, watched, loaderWatched, bundle.dir, 'clinical/1.0.0');
  await putOnClaim(info, other, loaderOther, bundle.dir, 'clinical/1.0.0');
}, 600_000);

afterAll(async () => {
  await uninstallOperator(info, core, release, operatorNs, [watched, other]);
  api?.close();
});

describe('the namespaced scope', () => {
  it('validates a NerModel in the watched namespace to Ready and leaves one in another namespace alone', async () => {
    await api.create(nerModels, other, nerModel('clinical-v1', 'pvc://models/clinical/1.0.0', bundle.digest));
    await api.create(nerModels, watched, nerModel('clinical-v1', 'pvc://models/clinical/1.0.0', bundle.digest));
    await eventually(
      async () => expect((await api.get<NerModel>(nerModels, watched, 'clinical-v1')).status?.phase).toBe('Ready'),
      240_000,
      1000,
    );
    // Give the operator time it would need to touch the other one too, then look.
    await sleep(15_000);
    const untouched = await api.get<NerModel>(nerModels, other, 'clinical-v1');
    expect(untouched.status).toBeUndefined();
    expect(untouched.metadata?.finalizers ?? []).toEqual([]);
    expect(await api.list<V1Job>(builtin.jobs, other)).toEqual([]);
  });

  it('refuses a NerModel from a user without rights, and from the operator outside its namespace, naming the reason', async () => {
    const model = nerModel('not-allowed', 'pvc://models/clinical/1.0.0', bundle.digest);
    const user = await kubectlCreate(watched, model, '--as=someone');
    expect(user).toMatch(/forbidden/i);
    expect(user).toContain('User "someone" cannot create resource "nermodels" in API group "nerops.io"');
    expect(user).toContain(`in the namespace "${watched}"`);

    const [operator] = await api.list<V1Deployment>(
      builtin.deployments,
      operatorNs,
      `app.kubernetes.io/instance=${release},app.kubernetes.io/component=operator`,
    );
    const sa = operator?.spec?.template.spec?.serviceAccountName;
    expect(sa).toBeDefined();
    const byOperator = await kubectlCreate(other, model, `--as=system:serviceaccount:${operatorNs}:${sa}`);
    expect(byOperator).toMatch(/forbidden/i);
    expect(byOperator).toContain(
      `cannot create resource "nermodels" in API group "nerops.io" in the namespace "${other}"`,
    );
    // Neither request left anything behind.
    await expect(api.get(nerModels, watched, 'not-allowed')).rejects.toThrow();
    await expect(api.get(nerModels, other, 'not-allowed')).rejects.toThrow();
  });
});
