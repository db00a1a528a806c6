/**
 * The chart's `helm test` hook (templates/tests/chart-test.yaml, files/chart-test.mjs) against the real API
 * server. The hook's ServiceAccount, Roles, RoleBindings and script ConfigMap are rendered by helm and
 * applied for real, and its Pod is accepted by a server-side dry-run. The script then runs here with node,
 * exactly as the Pod would run it, but with a token of that ServiceAccount (TokenRequest API) and the
 * cluster's CA passed in: a process node gives pods no ServiceAccount token mount. So every check runs
 * under the hook's own least-privilege RBAC:
 *   Given no operator Deployment          Then the test fails, naming the Deployment
 *   Given the Deployment ready, a pod of it holding the Lease, the operator reconciling and a sample bundle
 *   Then  the CRDs, the Deployment, the Lease and a validated smoke NerModel pass, and the model is deleted.
 * The "operator Deployment" here runs an idle node process (the operator itself runs in-process, see
 * testing/operator-fixture.ts), and the Lease is written the way the operator's elector writes it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { AppsV1Api, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinaries } from '../../../local-cluster/binaries.js';
import { repoRoot } from '../../../local-cluster/paths.js';
import { createTestNamespace, eventually, processNodePlacement, useCluster } from '../../../local-cluster/testing.js';
import { renderKubeVersion } from '../../../scripts/gen-install.js';
import { isNotFound } from '../../../operator/runtime/kube.js';
import { microTime } from '../../../operator/runtime/client.js';
import {
  Api,
  installCrds,
  nerModels,
  startOperator,
  trainBundle,
  type TestOperator,
} from '../../../testing/operator-fixture.js';

const { info, kc, core } = useCluster();
const bins = findBinaries();
const helm = bins.helm as string;
const kubectl = bins.kubectl as string;
const RELEASE = 'ct';
const FULLNAME = 'ct-nerops';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input = '', env?: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(input);
  });
}

async function ok(r: Promise<Run>): Promise<string> {
  const x = await r;
  if (x.code !== 0) throw new Error(`exit ${x.code}: ${x.stderr}${x.stdout}`);
  return x.stdout;
}

const k = (args: string[], input = '') => run(kubectl, ['--kubeconfig', info.kubeconfigPath, ...args], input);

let ns: string;
let dir: string;
let api: Api;
let op: TestOperator | undefined;
let bundle: Awaited<ReturnType<typeof trainBundle>>;
let objs: Array<KubernetesObject & Record<string, unknown>>;
/** The environment the hook's Pod gives the script, plus where to reach the API server from here. */
let scriptEnv: Record<string, string>;
let script: string;

beforeAll(async () => {
  [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  ns = await createTestNamespace(core, 'chart-test');
  dir = await mkdtemp(join(tmpdir(), 'nerops-chart-test-'));
  api = new Api(kc);
  const text = await ok(
    run(helm, [
      'template',
      RELEASE,
      join(repoRoot, 'charts', 'nerops'),
      '--namespace',
      ns,
      '--kube-version',
      renderKubeVersion(),
      '--show-only',
      'templates/tests/chart-test.yaml',
      '--set',
      `tests.sampleBundle.uri=${bundle.uri}`,
      '--set',
      `tests.sampleBundle.digest=${bundle.digest}`,
      '--set',
      'tests.sampleBundle.entityTypes={DISEASE,TREATMENT}',
      '--set',
      'tests.timeoutSeconds=120',
    ]),
  );
  objs = yaml
    .loadAll(text)
    .filter((d): d is KubernetesObject & Record<string, unknown> => !!d && typeof d === 'object');
  const rest = objs.filter((o) => o.kind !== 'Pod');
  await ok(
    k(['apply', '--server-side', '--field-manager=chart-test', '-f', '-'], rest.map((o) => yaml.dump(o)).join('---\n')),
  );

  const pod = objs.find((o) => o.kind === 'Pod') as unknown as V1Pod;
  const container = pod.spec?.containers[0];
  const cm = objs.find((o) => o.kind === 'ConfigMap') as { data: Record<string, string> };
  script = join(dir, 'chart-test.mjs');
  await writeFile(script, cm.data['chart-test.mjs'] ?? '');
  const token = (await ok(k(['create', 'token', `${FULLNAME}-test`, '-n', ns, '--duration=1h']))).trim();
  await writeFile(join(dir, 'token'), token);
  const cluster = kc.getCurrentCluster();
  // The cluster's CA, inline in the kubeconfig or in a file it names.
  await writeFile(
    join(dir, 'ca.crt'),
    cluster?.caData ? Buffer.from(cluster.caData, 'base64') : await readFile(cluster?.caFile ?? ''),
  );
  scriptEnv = {
    ...Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? ''])),
    NEROPS_TEST_API_URL: cluster?.server ?? '',
    NEROPS_TEST_TOKEN_FILE: join(dir, 'token'),
    NEROPS_TEST_CA_FILE: join(dir, 'ca.crt'),
  };
}, 180_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
  await bundle?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
  if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

const runScript = (env: Record<string, string> = {}) => run(process.execPath, [script], '', { ...scriptEnv, ...env });

describe('helm test hook', () => {
  it('renders a restricted pod in the operator image running the script with node, accepted by the API server', async () => {
    const pod = objs.find((o) => o.kind === 'Pod') as unknown as V1Pod;
    expect(pod.metadata?.annotations?.['helm.sh/hook']).toBe('test');
    const c = pod.spec?.containers[0];
    expect(c?.command).toEqual(['node', '/chart-test/chart-test.mjs']);
    expect(c?.securityContext).toMatchObject({ allowPrivilegeEscalation: false, runAsNonRoot: true });
    expect(pod.spec?.serviceAccountName).toBe(`${FULLNAME}-test`);
    await ok(
      k(['apply', '--server-side', '--dry-run=server', '--field-manager=chart-test', '-f', '-'], yaml.dump(pod)),
    );
  });

  it("grants the hook's ServiceAccount only what the checks read, by name", async () => {
    const as = `--as=system:serviceaccount:${ns}:${FULLNAME}-test`;
    const can = async (...args: string[]) => (await k(['auth', 'can-i', ...args, '-n', ns, as])).stdout.trim();
    expect(await can('get', `deployments.apps/${FULLNAME}`)).toBe('yes');
    expect(await can('get', 'leases.coordination.k8s.io/nerops-operator')).toBe('yes');
    expect(await can('create', 'nermodels.nerops.io')).toBe('yes');
    expect(await can('delete', `nermodels.nerops.io/${FULLNAME}-smoke-test`)).toBe('yes');
    for (const q of [
      ['list', 'deployments.apps'],
      ['get', 'deployments.apps/someone-else'],
      ['delete', 'nermodels.nerops.io/someone-elses-model'],
      ['list', 'nermodels.nerops.io'],
      ['update', `leases.coordination.k8s.io/nerops-operator`],
      ['get', 'secrets/any'],
    ])
      expect(`${q.join(' ')}: ${await can(...(q as [string, string]))}`).toBe(`${q.join(' ')}: no`);
  });

  it('Given no operator Deployment, Then it fails naming it (the CRDs pass)', async () => {
    const r = await runScript({ NEROPS_TEST_TIMEOUT_SECONDS: '3' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ok: the CRDs are installed and served');
    expect(r.stderr).toContain(`FAIL: Deployment ${FULLNAME} is ready: Deployment ${ns}/${FULLNAME}: HTTP 404`);
  });

  it('Given the operator ready and leading and a sample bundle, Then every check passes and the smoke model is gone', async () => {
    const labels = { app: 'chart-test-operator' };
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: FULLNAME },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              ...processNodePlacement(),
              containers: [
                { name: 'operator', image: 'nerops:dev', command: ['node', '-e', 'setInterval(() => {}, 1000)'] },
              ],
            },
          },
        },
      },
    });
    // The Lease as the operator's elector writes it: identity = pod name + suffix.
    await ok(
      k(
        ['apply', '--server-side', '--field-manager=chart-test', '-n', ns, '-f', '-'],
        JSON.stringify({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: 'nerops-operator' },
          spec: {
            holderIdentity: `${FULLNAME}-5d8f7c9b4-x2x7q_1a2b3c`,
            leaseDurationSeconds: 15,
            acquireTime: microTime(new Date()),
            renewTime: microTime(new Date()),
          },
        }),
      ),
    );
    op = await startOperator(kc, ns);
    const r = await runScript();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'ok: the CRDs are installed and served',
      `ok: Deployment ${FULLNAME} is ready`,
      'ok: a replica holds Lease nerops-operator',
      `ok: no earlier smoke NerModel ${FULLNAME}-smoke-test`,
      `ok: smoke NerModel ${FULLNAME}-smoke-test validated (Ready)`,
      'chart test passed',
    ]);
    await eventually(async () => {
      const err = await api.get(nerModels, ns, `${FULLNAME}-smoke-test`).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isNotFound(err)).toBe(true);
    });
  }, 240_000);

  it('Given a Lease nobody renews, Then it fails saying so', async () => {
    await ok(
      k([
        'patch',
        'lease',
        'nerops-operator',
        '-n',
        ns,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { renewTime: microTime(new Date(Date.now() - 120_000)) } }),
      ]),
    );
    const r = await runScript({ NEROPS_TEST_TIMEOUT_SECONDS: '3', NEROPS_TEST_BUNDLE_URI: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FAIL: a replica holds Lease nerops-operator: Lease nerops-operator: not renewed for \d+ s/,
    );
  });
});
