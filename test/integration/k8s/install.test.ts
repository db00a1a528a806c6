/**
 * The install path, verified against the real local API server:
 *
 * - `helm lint`; `manifests/` is what `npm run gen:install` renders from the chart (and the CRD copies);
 * - `helm template` with default and non-default values, every rendered object (CRDs included) accepted
 *   by a server-side dry-run, with the nerops CRDs installed for real first (and stand-ins for the
 *   Prometheus Operator kinds, which this cluster does not have);
 * - the kustomize install (`kubectl apply -k manifests/`) likewise;
 * - values.schema.json and the templates refuse bad values at install time;
 * - the RBAC is sufficient: the operator runs with a token of the rendered ServiceAccount (RBAC created
 *   for real, token from the TokenRequest API) and reconciles a NerModel and a NerDeployment, creating
 *   Jobs, Deployments, Services, PDBs, Events and its Lease, without a single 403.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import yaml from 'js-yaml';
import { KubeConfig, type KubernetesObject, type V1Deployment, type V1NetworkPolicy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinaries } from '../../../local-cluster/binaries.js';
import { nerOpsCli, repoRoot } from '../../../local-cluster/paths.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
import { checkInstall, renderKubeVersion } from '../../../scripts/gen-install.js';
import { KubeClient } from '../../../operator/runtime/kube.js';
import { builtin, resourcePath } from '../../../operator/runtime/resource.js';
import { nerDeployments, nerModels } from '../../../operator/api/resources.js';
import type { NerModel } from '../../../operator/api/nermodel.js';
import type { NerDeployment } from '../../../operator/api/nerdeployment.js';
import { trainSmallBundle, type TrainedBundle } from '../../../testing/fixtures.js';

const { info, kc, core } = useCluster();
const bins = findBinaries();
const helm = bins.helm as string;
const kubectl = bins.kubectl as string;
const chart = join(repoRoot, 'charts', 'nerops');
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

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

function template(release: string, namespace: string, sets: string[], ...extra: string[]): Promise<string> {
  return ok(helm, [
    'template',
    release,
    chart,
    '--namespace',
    namespace,
    '--kube-version',
    renderKubeVersion(),
    // The helm test hooks (a pod whose ServiceAccount a dry-run cannot see) are checked in chart-test.test.ts.
    '--skip-tests',
    ...sets.flatMap((s) => ['--set', s]),
    ...extra,
  ]);
}

function objects(text: string): KubernetesObject[] {
  return yaml.loadAll(text).filter((d): d is KubernetesObject => !!d && typeof d === 'object');
}

/** Server-side dry-run of every object in `text`: the API server validates, defaults and admits, stores nothing. */
function dryRun(text: string): Promise<string> {
  return ok(
    kubectl,
    kubectlArgs('apply', '--server-side', '--dry-run=server', '--field-manager=nerops-install-test', '-f', '-'),
    text,
  );
}

/** Minimal stand-ins for the Prometheus Operator CRDs, so their objects can be dry-run here. */
function monitoringCrd(kind: string, plural: string): object {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, plural, listKind: `${kind}List`, singular: kind.toLowerCase() },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

let relNs: string;
let watchNs: string;

beforeAll(async () => {
  await ok(
    kubectl,
    kubectlArgs(
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=nerops-install-test',
      '-f',
      join(repoRoot, 'crds'),
    ),
  );
  const stand = ['ServiceMonitor:servicemonitors', 'PodMonitor:podmonitors', 'PrometheusRule:prometheusrules'].map(
    (s) => monitoringCrd(...(s.split(':') as [string, string])),
  );
  const existing = await run(kubectl, kubectlArgs('get', 'crd', 'servicemonitors.monitoring.coreos.com'));
  if (existing.code !== 0)
    await ok(kubectl, kubectlArgs('create', '-f', '-'), stand.map((c) => yaml.dump(c)).join('---\n'));
  await ok(
    kubectl,
    kubectlArgs(
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/nermodels.nerops.io',
      'crd/nerdeployments.nerops.io',
      'crd/driftpolicies.nerops.io',
      'crd/servicemonitors.monitoring.coreos.com',
      'crd/podmonitors.monitoring.coreos.com',
      'crd/prometheusrules.monitoring.coreos.com',
    ),
  );
  relNs = await createTestNamespace(core, 'install');
  watchNs = await createTestNamespace(core, 'install-watch');
});

afterAll(async () => {
  for (const ns of [relNs, watchNs]) if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('chart', () => {
  it('passes helm lint --strict with default and non-default values', async () => {
    await ok(helm, ['lint', '--strict', chart]);
    await ok(helm, [
      'lint',
      '--strict',
      chart,
      '--set',
      'scope.mode=namespaced',
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'prometheusRule.enabled=true',
      '--set',
      'grafana.dashboard.enabled=true',
      '--set',
      'security.allowedImageRegistries={ghcr.io/acme,registry.local:5000}',
      '--set',
      'security.allowedServiceAccounts={trainer}',
    ]);
  });

  it('manifests/ is exactly what npm run gen:install renders from the chart (helm template, default values)', () => {
    expect(checkInstall(repoRoot, helm)).toEqual([]);
  });

  const variants: Array<{
    name: string;
    sets: (w: string) => string[];
    check: (objs: KubernetesObject[], text: string, w: string) => void;
  }> = [
    {
      name: 'default values',
      sets: () => [],
      check: (objs) => {
        const kinds = objs.map((o) => o.kind);
        expect(kinds).toEqual(
          expect.arrayContaining([
            'CustomResourceDefinition',
            'ServiceAccount',
            'ClusterRole',
            'ClusterRoleBinding',
            'Role',
            'RoleBinding',
            'Service',
            'Deployment',
            'PodDisruptionBudget',
            'NetworkPolicy',
            'ValidatingAdmissionPolicy',
            'ValidatingAdmissionPolicyBinding',
          ]),
        );
        expect(kinds).not.toContain('ServiceMonitor');
        const d = objs.find((o) => o.kind === 'Deployment') as V1Deployment;
        expect(d.spec?.replicas).toBe(2);
        expect(d.spec?.template.spec?.containers[0]?.args).toEqual(
          expect.arrayContaining(['operator', '--leader-elect=true']),
        );
        // No image is published: the default is the local image the image build tags, no registry.
        const { appVersion } = yaml.load(readFileSync(join(chart, 'Chart.yaml'), 'utf8')) as { appVersion: string };
        expect(d.spec?.template.spec?.containers[0]?.image).toBe(`nerops:${appVersion}`);
      },
    },
    {
      name: 'namespaced mode',
      sets: (w) => ['scope.mode=namespaced', `scope.watchNamespace=${w}`],
      check: (objs, _t, w) => {
        // Nothing cluster-wide for the operator; the only ClusterRoles are the user roles aggregated into
        // view/edit/admin (aggregated-roles.yaml), which the chart binds to no one.
        for (const r of objs.filter((o) => o.kind === 'ClusterRole'))
          expect(
            Object.keys(r.metadata?.labels ?? {}).some((l) => l.includes('/aggregate-to-')),
            r.metadata?.name,
          ).toBe(true);
        expect(objs.map((o) => o.kind)).not.toContain('ClusterRoleBinding');
        const roles = objs.filter((o) => o.kind === 'Role');
        expect(roles.map((r) => r.metadata?.namespace)).toEqual([w, w]);
        const d = objs.find((o) => o.kind === 'Deployment') as V1Deployment;
        expect(d.spec?.template.spec?.containers[0]?.args).toEqual(
          expect.arrayContaining([`--namespace=${w}`, `--lease-namespace=${w}`]),
        );
      },
    },
    {
      name: 'air-gapped registry and digest',
      sets: () => [
        'image.registry=registry.hospital.local:5000/mirror',
        `image.digest=${DIGEST}`,
        'image.tag=1.2.3',
        'imagePullSecrets[0].name=mirror-pull',
      ],
      check: (objs, text) => {
        const images = [...text.matchAll(/image: "?([^"\s]+)"?/g)].map((m) => m[1]);
        expect(images.length).toBeGreaterThan(0);
        for (const i of images) expect(i).toBe(`registry.hospital.local:5000/mirror/nerops:1.2.3@${DIGEST}`);
        const env =
          (objs.find((o) => o.kind === 'Deployment') as V1Deployment).spec?.template.spec?.containers[0]?.env ?? [];
        expect(env.find((e) => e.name === 'NEROPS_IMAGE')?.value).toBe(
          `registry.hospital.local:5000/mirror/nerops:1.2.3@${DIGEST}`,
        );
      },
    },
    {
      name: 'monitoring, Prometheus with CA, model storage, server NetworkPolicy',
      sets: (w) => [
        'metrics.serviceMonitor.enabled=true',
        'metrics.podMonitor.enabled=true',
        'prometheusRule.enabled=true',
        'grafana.dashboard.enabled=true',
        'prometheus.url=https://prometheus.monitoring.svc:9090',
        'prometheus.caBundle.configMapName=prometheus-ca',
        'modelStorage.defaultUri=pvc://models/nerops',
        'modelStorage.credentialsSecretName=store-token',
        'modelStorage.credentialsOrigins[0]=https://models.example.org',
        'modelStorage.credentialsOrigins[1]=https://s3.internal:9000',
        'networkPolicy.servers.enabled=true',
        `networkPolicy.servers.namespaces[0]=${w}`,
        'replicaCount=3',
        'leaderElection.leaseName=my-lease',
      ],
      check: (objs, _t, w) => {
        const kinds = objs.map((o) => o.kind);
        expect(kinds).toEqual(expect.arrayContaining(['ServiceMonitor', 'PodMonitor', 'PrometheusRule', 'ConfigMap']));
        // Every alert links to its own section of docs/runbook.md.
        const rule = objs.find((o) => o.kind === 'PrometheusRule') as KubernetesObject & {
          spec: { groups: Array<{ rules: Array<{ alert: string; annotations: Record<string, string> }> }> };
        };
        const runbook = readFileSync(join(repoRoot, 'docs', 'runbook.md'), 'utf8');
        const alerts = rule.spec.groups.flatMap((g) => g.rules);
        expect(alerts.length).toBeGreaterThan(0);
        for (const a of alerts) {
          expect(a.annotations.runbook_url).toBe(`https://nerops.io/docs/runbook#${a.alert.toLowerCase()}`);
          expect(runbook).toContain(`\n## ${a.alert}\n`);
        }
        expect(kinds.filter((k) => k === 'NetworkPolicy')).toHaveLength(2);
        // Servers: the API only from clientsFrom (default: pods of the namespace), the scrape port only from
        // metricsFrom (default: any namespace); no rule opens the API to metricsFrom.
        const serverPolicy = objs.find(
          (o) => o.kind === 'NetworkPolicy' && o.metadata?.name?.endsWith('-servers'),
        ) as V1NetworkPolicy;
        expect(serverPolicy.metadata?.namespace).toBe(w);
        expect(serverPolicy.spec?.policyTypes).toEqual(['Ingress']);
        expect(serverPolicy.spec?.ingress).toEqual([
          { ports: [{ port: 'http', protocol: 'TCP' }], from: [{ podSelector: {} }] },
          { ports: [{ port: 'metrics', protocol: 'TCP' }], from: [{ namespaceSelector: {} }] },
        ]);
        const podMonitor = objs.find((o) => o.kind === 'PodMonitor') as KubernetesObject & {
          spec: { podMetricsEndpoints: Array<{ port: string; path: string }> };
        };
        expect(podMonitor.spec.podMetricsEndpoints.map((e) => [e.port, e.path])).toEqual([['metrics', '/metrics']]);
        const dash = objs.find((o) => o.kind === 'ConfigMap') as KubernetesObject & { data: Record<string, string> };
        const json = JSON.parse(dash.data['nerops.json'] ?? '') as { panels: Array<{ title: string }> };
        expect(json.panels.map((p) => p.title)).toEqual(
          expect.arrayContaining(['Request rate', 'Canary weight', 'Unknown-token rate', 'Retrainings']),
        );
        const d = objs.find((o) => o.kind === 'Deployment') as V1Deployment;
        const c = d.spec?.template.spec?.containers[0];
        expect(c?.args).toEqual(
          expect.arrayContaining(['--prometheus-url=https://prometheus.monitoring.svc:9090', '--lease-name=my-lease']),
        );
        expect(c?.env?.find((e) => e.name === 'NODE_EXTRA_CA_CERTS')?.value).toBe('/etc/nerops/prometheus-ca/ca.crt');
        expect(c?.env?.find((e) => e.name === 'NEROPS_DEFAULT_MODEL_URI')?.value).toBe('pvc://models/nerops');
        expect(c?.env?.find((e) => e.name === 'NEROPS_DEFAULT_MODEL_CREDENTIALS_ORIGINS')?.value).toBe(
          'https://models.example.org,https://s3.internal:9000',
        );
        const leaseRole = objs.find(
          (o) => o.kind === 'Role' && o.metadata?.name?.endsWith('-leader-election'),
        ) as KubernetesObject & { rules: Array<{ resourceNames?: string[] }> };
        expect(leaseRole.rules.some((r) => r.resourceNames?.includes('my-lease'))).toBe(true);
      },
    },
  ];

  it.each(variants)('$name: renders, and the API server accepts every object (server-side dry-run)', async (v) => {
    const text = await template('nerops', relNs, v.sets(watchNs), '--include-crds');
    const objs = objects(text);
    v.check(objs, text, watchNs);
    for (const o of objs) {
      if (
        o.kind === 'CustomResourceDefinition' ||
        o.kind?.startsWith('Cluster') ||
        o.kind?.startsWith('ValidatingAdmissionPolicy')
      )
        continue;
      expect(o.metadata?.namespace, `${o.kind}/${o.metadata?.name}`).toBeTruthy();
    }
    const out = await dryRun(text);
    expect(out.trim().split('\n')).toHaveLength(objs.length);
    expect(out).toMatch(/serverside-applied \(server dry run\)/);
  });

  it('kubectl apply -k manifests/ is accepted (server-side dry-run)', async () => {
    const built = await ok(kubectl, ['kustomize', join(repoRoot, 'manifests')]);
    const objs = objects(built);
    expect(objs[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'nerops-system' } });
    // The namespace must exist for a dry-run of the objects in it; create it only when absent.
    const had = (await run(kubectl, kubectlArgs('get', 'namespace', 'nerops-system'))).code === 0;
    if (!had) await ok(kubectl, kubectlArgs('create', 'namespace', 'nerops-system'));
    try {
      const out = await ok(
        kubectl,
        kubectlArgs(
          'apply',
          '--server-side',
          '--dry-run=server',
          '--field-manager=nerops-install-test',
          '-k',
          join(repoRoot, 'manifests'),
        ),
      );
      expect(out.trim().split('\n')).toHaveLength(objs.length);
    } finally {
      if (!had) await run(kubectl, kubectlArgs('delete', 'namespace', 'nerops-system', '--wait=false'));
    }
  });

  it.each([
    ['image.digest=sha256:abc', '/image/digest'],
    ['image.registry=https://registry.example', '/image/registry'],
    ['replicaCount=0', '/replicaCount'],
    ['scope.mode=everywhere', '/scope/mode'],
    ['prometheus.url=prometheus:9090', '/prometheus/url'],
    ['securityContext.runAsNonRoot=false', '/securityContext/runAsNonRoot'],
    ['podSecurityContext.runAsUser=0', '/podSecurityContext/runAsUser'],
    ['operator.logLevel=verbose', '/operator/logLevel'],
    ['operator.metricsPort=80', '/operator/metricsPort'],
    ['networkPolicy.apiServer.cidrs[0]=kubernetes', '/networkPolicy/apiServer/cidrs/0'],
    ['metrics.serviceMonitor.interval=often', '/metrics/serviceMonitor/interval'],
    ['imagePullSecrets[0].name=Bad_Name', '/imagePullSecrets/0/name'],
    ['replicaCuont=2', "additional properties 'replicaCuont' not allowed"],
    ['leaderElection.enabled=false', 'replicaCount > 1 needs leaderElection.enabled=true'],
    ['networkPolicy.servers.enabled=true', 'networkPolicy.servers.namespaces is required in cluster mode'],
    [
      'networkPolicy.servers.enabled=true,networkPolicy.servers.namespaces[0]=w,networkPolicy.servers.clientsFrom=null',
      'networkPolicy.servers.clientsFrom must name at least one peer',
    ],
  ])('refuses %s', async (set, message) => {
    const r = await run(helm, [
      'template',
      'nerops',
      chart,
      '--namespace',
      'nerops-system',
      '--kube-version',
      renderKubeVersion(),
      '--set',
      set,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  });
});

describe('RBAC is sufficient: the operator runs with the chart ServiceAccount token', () => {
  let bundle: TrainedBundle;
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    bundle = await trainSmallBundle({ seed: 11, count: 200, epochs: 3, name: 'clinical', version: '1.0.0' });
  }, 120_000);

  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await bundle?.remove();
  });

  /** A kubeconfig for the cluster that authenticates with `token` only. */
  function tokenKubeconfig(token: string): string {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('no cluster in the admin kubeconfig');
    const sa = new KubeConfig();
    sa.loadFromOptions({
      clusters: [
        { name: 'local', server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false },
      ],
      users: [{ name: 'operator', token }],
      contexts: [{ name: 'operator', cluster: 'local', user: 'operator' }],
      currentContext: 'operator',
    });
    const dir = mkdtempSync(join(tmpdir(), 'nerops-install-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, sa.exportConfig(), { mode: 0o600 });
    return path;
  }

  it.each(['namespaced', 'cluster'] as const)(
    '%s mode: reconciles a NerModel and a NerDeployment without a 403',
    async (mode) => {
      const ns = await createTestNamespace(core, `rbac-${mode.slice(0, 2)}`);
      cleanup.push(() => core.deleteNamespace({ name: ns }));
      const release = `rbac-${Math.random().toString(36).slice(2, 7)}`;
      const text = await template(release, ns, [
        `scope.mode=${mode}`,
        `scope.watchNamespace=${ns}`,
        'image.registry=',
        'image.repository=nerops',
        'image.tag=dev',
      ]);
      const objs = objects(text);
      // ServiceAccount and RBAC for real; the operator itself runs here as a process with that identity.
      const rbac = objs.filter((o) =>
        ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind ?? ''),
      );
      await ok(
        kubectl,
        kubectlArgs('apply', '--server-side', '--field-manager=nerops-install-test', '-f', '-'),
        rbac.map((o) => yaml.dump(o)).join('---\n'),
      );
      for (const o of rbac.filter((o) => o.kind?.startsWith('Cluster')))
        cleanup.push(() =>
          run(kubectl, kubectlArgs('delete', o.kind as string, o.metadata?.name as string, '--ignore-not-found')),
        );

      const sa = objs.find((o) => o.kind === 'ServiceAccount')?.metadata?.name as string;
      const tr = await core.createNamespacedServiceAccountToken({
        name: sa,
        namespace: ns,
        body: { spec: { audiences: [], expirationSeconds: 3600 } },
      });
      const token = tr.status?.token as string;
      expect(token).toBeTruthy();
      const kubeconfig = tokenKubeconfig(token);

      const saKc = new KubeConfig();
      saKc.loadFromFile(kubeconfig);
      const saKube = new KubeClient(saKc);
      cleanup.push(async () => saKube.close());
      if (mode === 'cluster') {
        // The operator below watches one namespace (other tests own the rest of this cluster); the ClusterRole
        // must also allow what it does without --namespace: list and watch across all namespaces.
        for (const [group, resource] of [
          ['nerops.io', 'nermodels'],
          ['nerops.io', 'nerdeployments'],
          ['nerops.io', 'driftpolicies'],
          ['apps', 'deployments'],
          ['', 'services'],
          ['policy', 'poddisruptionbudgets'],
          ['batch', 'jobs'],
        ] as const) {
          for (const verb of ['list', 'watch']) {
            const review = await saKube.request<{ status: { allowed: boolean } }>({
              method: 'POST',
              path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
              body: {
                apiVersion: 'authorization.k8s.io/v1',
                kind: 'SelfSubjectAccessReview',
                spec: { resourceAttributes: { group, resource, verb } },
              },
            });
            expect(review.status.allowed, `${verb} ${resource}.${group} in all namespaces`).toBe(true);
          }
        }
        // ...and nothing beyond what it needs: no Secret lists (only a get by name, for metadata), no pod or
        // Job deletes, no RBAC (test/integration/cluster-rbac.test.ts checks every row of the permission table).
        for (const [group, resource, verb] of [
          ['', 'secrets', 'list'],
          ['batch', 'jobs', 'delete'],
          ['rbac.authorization.k8s.io', 'roles', 'create'],
          ['', 'pods', 'create'],
        ] as const) {
          const review = await saKube.request<{ status: { allowed: boolean } }>({
            method: 'POST',
            path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: { resourceAttributes: { group, resource, verb, namespace: ns } },
            },
          });
          expect(review.status.allowed, `${verb} ${resource}.${group}`).toBe(false);
        }
      }

      // The rendered Deployment's args, as the pod would run them; metrics on a free port.
      const deployment = objs.find((o) => o.kind === 'Deployment') as V1Deployment;
      const container = deployment.spec?.template.spec?.containers[0];
      const args = (container?.args ?? []).map((a) => (a.startsWith('--metrics-port=') ? '--metrics-port=0' : a));
      if (mode === 'cluster') args.push(`--namespace=${ns}`, `--lease-namespace=${ns}`);
      const image = container?.env?.find((e) => e.name === 'NEROPS_IMAGE')?.value as string;
      expect(image).toBe('nerops:dev');
      const { KUBECONFIG: _drop, ...env } = process.env;
      const proc: ChildProcess = spawn(
        process.execPath,
        [nerOpsCli, ...args, '--kubeconfig', kubeconfig, '--identity', `${release}-0`],
        {
          env: { ...env, NEROPS_IMAGE: image, POD_NAMESPACE: ns, POD_NAME: `${release}-0` },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let log = '';
      proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
      proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
      cleanup.push(async () => {
        if (proc.exitCode === null) proc.kill('SIGKILL');
      });

      const admin = new KubeClient(kc, { userAgent: 'nerops-install-test' });
      cleanup.push(async () => admin.close());
      try {
        const uri = pathToFileURL(bundle.dir).href;
        await admin.request({
          method: 'POST',
          path: resourcePath(nerModels, ns),
          body: {
            apiVersion: 'nerops.io/v1alpha1',
            kind: 'NerModel',
            metadata: { name: 'clinical-1' },
            spec: {
              family: 'clinical',
              version: '1.0.0',
              format: 'crf',
              source: { uri, digest: bundle.digest },
              entityTypes: ['DISEASE', 'TREATMENT'],
            },
          },
        });
        await admin.request({
          method: 'POST',
          path: resourcePath(nerDeployments, ns),
          body: {
            apiVersion: 'nerops.io/v1alpha1',
            kind: 'NerDeployment',
            metadata: { name: 'clinical' },
            spec: { model: 'clinical-1', replicas: { min: 1, max: 2 } },
          },
        });

        // NerModel: validation Job created, its pod read, status written, Events recorded.
        await eventually(
          async () => {
            const m = await admin.request<NerModel>({ method: 'GET', path: resourcePath(nerModels, ns, 'clinical-1') });
            expect(m.status?.phase, JSON.stringify(m.status?.conditions)).toBe('Ready');
          },
          120_000,
          500,
        );
        // NerDeployment: Deployment, Service and PodDisruptionBudget applied, status written.
        await eventually(
          async () => {
            const nd = await admin.request<NerDeployment>({
              method: 'GET',
              path: resourcePath(nerDeployments, ns, 'clinical'),
            });
            expect(nd.status?.conditions?.length, log.slice(-2000)).toBeGreaterThan(0);
            for (const rt of [builtin.deployments, builtin.services, builtin.podDisruptionBudgets]) {
              const list = await admin.request<{ items: KubernetesObject[] }>({
                method: 'GET',
                path: resourcePath(rt, ns),
                query: { labelSelector: 'app.kubernetes.io/managed-by=nerops' },
              });
              expect(list.items.length, rt.kind).toBeGreaterThan(0);
            }
          },
          60_000,
          500,
        );
        const events = await admin.request<{ items: Array<{ reportingController?: string }> }>({
          method: 'GET',
          path: resourcePath(builtin.events, ns),
        });
        expect(events.items.some((e) => e.reportingController?.includes('nerops'))).toBe(true);
        // Leader election: the Lease of the chart's name, held by this operator.
        const leaseName = (args.find((a) => a.startsWith('--lease-name=')) ?? '').split('=')[1] as string;
        const lease = await admin.request<{ spec?: { holderIdentity?: string } }>({
          method: 'GET',
          path: resourcePath(builtin.leases, ns, leaseName),
        });
        expect(lease.spec?.holderIdentity).toMatch(new RegExp(`^${release}-0`));
      } finally {
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      }
      expect(log).not.toMatch(/\b403\b|forbidden/i);
      expect(log).toMatch(/caches synced/);
    },
    240_000,
  );
});
