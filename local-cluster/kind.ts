/**
 * The kind provider: the scenarios of test/real/ on a kind cluster, for machines whose Docker can pull
 * images (scripts/e2e-kind.sh). It gives the scenarios what the local real node gives them, so the same
 * test files run on both: the project image loaded into the node, a default StorageClass (`standard`,
 * kind's local-path provisioner), cluster DNS, and Prometheus discovering pods by the rules of
 * scrape-targets.ts, here as `kubernetes_sd_configs` relabelling inside the cluster.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import type { ClusterInfo } from './cluster.js';
import { PROJECT_IMAGE } from './node-images.js';
import { SCRAPE_INTERVAL } from './prometheus.js';

const execFileAsync = promisify(execFile);

export const KIND_PROMETHEUS_NAMESPACE = 'nerops-prometheus';
/** Overridable for mirrors: PROM_IMAGE in scripts/e2e-kind.sh. */
export const DEFAULT_PROMETHEUS_IMAGE = 'quay.io/prometheus/prometheus:v2.53.0';

export interface KindOptions {
  /** The kind cluster's name; an existing cluster of that name is reused. */
  name: string;
  /** Keep the cluster when the run ends (KEEP=1 in scripts/e2e-kind.sh). */
  keep: boolean;
  prometheusImage: string;
  log?: (line: string) => void;
}

export interface ScenarioCluster {
  info: ClusterInfo;
  stop(): Promise<void>;
}

/** Reads the kind options from the environment scripts/e2e-kind.sh sets. */
export function kindOptionsFromEnv(env: NodeJS.ProcessEnv): KindOptions {
  return {
    name: env.KIND_CLUSTER || 'nerops-e2e',
    keep: Boolean(env.KEEP),
    prometheusImage: env.PROM_IMAGE || DEFAULT_PROMETHEUS_IMAGE,
  };
}

/** Prometheus's pod discovery: the annotation and port rules of scrape-targets.ts, as relabelling. */
export function kindPrometheusConfig(): Record<string, unknown> {
  return {
    global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: SCRAPE_INTERVAL, scrape_timeout: SCRAPE_INTERVAL },
    scrape_configs: [
      {
        job_name: 'pods',
        kubernetes_sd_configs: [{ role: 'pod' }],
        relabel_configs: [
          // kind's own components run on the host network; the local real node has none of them.
          { source_labels: ['__meta_kubernetes_namespace'], regex: 'kube-system|local-path-storage', action: 'drop' },
          { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'false', action: 'drop' },
          { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Running', action: 'keep' },
          // An annotated port wins; otherwise every declared TCP port is a target.
          {
            source_labels: [
              '__meta_kubernetes_pod_annotation_prometheus_io_port',
              '__meta_kubernetes_pod_container_port_protocol',
            ],
            regex: '[0-9]+;.*|;TCP',
            action: 'keep',
          },
          {
            source_labels: ['__meta_kubernetes_pod_ip', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
            regex: '(.+);([0-9]+)',
            replacement: '$1:$2',
            target_label: '__address__',
          },
          {
            source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'],
            regex: '(.+)',
            target_label: '__metrics_path__',
          },
          { action: 'labelmap', regex: '__meta_kubernetes_pod_label_(.+)' },
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
          // A target per declared port names its container, as on the local real node.
          {
            source_labels: [
              '__meta_kubernetes_pod_annotation_prometheus_io_port',
              '__meta_kubernetes_pod_container_name',
            ],
            regex: ';(.+)',
            target_label: 'container',
          },
        ],
      },
    ],
  };
}

/** Prometheus in its own namespace, allowed to list and watch pods, and nothing else. */
export function kindPrometheusObjects(image: string): Record<string, unknown>[] {
  const ns = KIND_PROMETHEUS_NAMESPACE;
  const labels = { app: 'prometheus' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'prometheus', namespace: ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'nerops-e2e-prometheus' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'nerops-e2e-prometheus' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'nerops-e2e-prometheus' },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: ns }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'prometheus', namespace: ns },
      data: { 'prometheus.yml': yaml.dump(kindPrometheusConfig()) },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'prometheus', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'prometheus',
            containers: [
              {
                name: 'prometheus',
                image,
                args: [
                  '--config.file=/etc/prometheus/prometheus.yml',
                  '--storage.tsdb.path=/prometheus',
                  '--storage.tsdb.retention.time=2h',
                ],
                ports: [{ containerPort: 9090 }],
                readinessProbe: { httpGet: { path: '/-/ready', port: 9090 }, periodSeconds: 2 },
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/prometheus' },
                  { name: 'data', mountPath: '/prometheus' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: 'prometheus' } },
              { name: 'data', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'prometheus', namespace: ns },
      spec: { selector: labels, ports: [{ name: 'http', port: 9090, targetPort: 9090 }] },
    },
  ];
}

/** The URL pods (the operator) use to query the kind cluster's Prometheus. */
export const KIND_PROMETHEUS_URL = `http://prometheus.${KIND_PROMETHEUS_NAMESPACE}.svc:9090`;

function requireTools(): void {
  const missing = ['docker', 'kind', 'kubectl', 'helm'].filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) throw new Error(`the kind provider needs ${missing.join(', ')} on PATH`);
}

/** Creates (or reuses) the kind cluster, loads the project image, and starts Prometheus in it. */
export async function startKindCluster(o: KindOptions): Promise<ScenarioCluster> {
  const t0 = Date.now();
  const log = o.log ?? (() => undefined);
  requireTools();
  const stateDir = mkdtempSync(join(tmpdir(), 'nerops-kind-'));
  const kubeconfigPath = join(stateDir, 'kubeconfig');
  const run = async (cmd: string, ...args: string[]): Promise<string> =>
    (await execFileAsync(cmd, args, { timeout: 600_000, maxBuffer: 16 << 20 })).stdout;
  const existing = (await run('kind', 'get', 'clusters')).split('\n').includes(o.name);
  if (existing) {
    log(`kind: reusing cluster ${o.name}`);
    await run('kind', 'export', 'kubeconfig', '--name', o.name, '--kubeconfig', kubeconfigPath);
  } else {
    log(`kind: creating cluster ${o.name}`);
    await run('kind', 'create', 'cluster', '--name', o.name, '--kubeconfig', kubeconfigPath, '--wait', '180s');
  }
  log(`kind: loading ${PROJECT_IMAGE}`);
  await run('kind', 'load', 'docker-image', PROJECT_IMAGE, '--name', o.name);
  const manifest = join(stateDir, 'prometheus.yaml');
  await writeFile(
    manifest,
    kindPrometheusObjects(o.prometheusImage)
      .map((d) => yaml.dump(d))
      .join('---\n'),
  );
  const kubectl = (...args: string[]) => run('kubectl', '--kubeconfig', kubeconfigPath, ...args);
  await kubectl('apply', '-f', manifest);
  await kubectl('-n', KIND_PROMETHEUS_NAMESPACE, 'rollout', 'status', 'deployment/prometheus', '--timeout=300s');
  const info: ClusterInfo = {
    provider: 'kind',
    tools: { kubectl: 'kubectl', helm: 'helm' },
    profile: 'real',
    stateDir,
    kubeconfigPath,
    apiserverUrl: (await kubectl('config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}')).trim(),
    prometheusUrl: KIND_PROMETHEUS_URL,
    realNodeName: `${o.name}-control-plane`,
    kwokNodeNames: [],
    logDir: stateDir,
    startMs: Date.now() - t0,
  };
  return {
    info,
    stop: async () => {
      if (o.keep) return;
      await run('kind', 'delete', 'cluster', '--name', o.name);
    },
  };
}
