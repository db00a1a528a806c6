/**
 * Given helpers for the real profile's scenarios: the operator installed by the Helm chart under its
 * own ServiceAccount (never as admin), model bundles and datasets on a claim of the default
 * StorageClass (as a user's would be), and load sent from a pod through the Service's DNS name.
 * Free of vitest: `npm run demo` (scripts/demo/stage.ts) installs and loads with the same helpers.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { findBinaries } from '../../local-cluster/binaries.js';
import type { ClusterInfo } from '../../local-cluster/cluster.js';
import { repoRoot } from '../../local-cluster/paths.js';
import { waitFor } from '../../local-cluster/wait.js';

const execFileAsync = promisify(execFile);

export interface InstallOptions {
  release: string;
  namespace: string;
  scope: 'cluster' | 'namespaced';
  /** Namespaced mode: the namespace the operator watches (default: the release namespace). */
  watchNamespace?: string;
  replicas?: number;
  /** More values, merged over the local image's and the cluster's. */
  values?: Record<string, unknown>;
}

/**
 * The chart's values for the local image: `npm run image:build` tags `nerops:dev`, and the node has it
 * preloaded (no registry), so the pull policy is Never. The same values are in docs/operations.md.
 */
export const LOCAL_IMAGE_VALUES = {
  image: { registry: '', repository: 'nerops', tag: 'dev', pullPolicy: 'Never' },
} as const;

export async function helm(info: ClusterInfo, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(findBinaries().helm!, ['--kubeconfig', info.kubeconfigPath, ...args], {
    timeout: 600_000,
  });
  return stdout;
}

export async function kubectl(info: ClusterInfo, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(findBinaries().kubectl!, ['--kubeconfig', info.kubeconfigPath, ...args], {
    timeout: 120_000,
  });
  return stdout;
}

/** `helm install` of charts/nerops with a values file, waiting for the operator's pods to be ready. */
export async function installOperator(info: ClusterInfo, o: InstallOptions): Promise<void> {
  const values = {
    ...LOCAL_IMAGE_VALUES,
    replicaCount: o.replicas ?? 1,
    scope: { mode: o.scope, ...(o.watchNamespace ? { watchNamespace: o.watchNamespace } : {}) },
    prometheus: { url: info.prometheusUrl ?? '' },
    ...o.values,
  };
  const file = join(info.stateDir, `values-${o.release}-${o.namespace}.yaml`);
  await writeFile(file, yaml.dump(values));
  await helm(
    info,
    'install',
    o.release,
    join(repoRoot, 'charts', 'nerops'),
    '--namespace',
    o.namespace,
    '--create-namespace',
    '--wait',
    '--timeout',
    '5m',
    '--values',
    file,
  );
}

/**
 * A scenario's teardown: its workload namespaces first (while the operator still runs, so nothing is
 * left waiting on it), then `helm uninstall`, then the release's namespace. Names not yet set (a
 * failed setup) are skipped; errors are ignored, since the cluster is thrown away after the run.
 */
export async function uninstallOperator(
  info: ClusterInfo,
  core: CoreV1Api,
  release: string,
  namespace: string | undefined,
  workloads: Array<string | undefined> = [],
): Promise<void> {
  for (const n of workloads) if (n) await core.deleteNamespace({ name: n }).catch(() => undefined);
  if (!namespace) return;
  await helm(info, 'uninstall', release, '--namespace', namespace, '--wait', '--timeout', '2m').catch(() => undefined);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
}

/**
 * A bound claim of the default StorageClass, and a pod that mounts it at /data, so a test puts files
 * there the way a user does: `kubectl cp` into the pod ({@link putOnClaim}). Works on any cluster.
 */
export async function claimWithLoader(
  info: ClusterInfo,
  core: CoreV1Api,
  namespace: string,
  name: string,
  size = '1Gi',
): Promise<string> {
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: { metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } } },
  });
  const pod = `${name}-loader`;
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: pod },
      spec: {
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          fsGroup: 65532,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: 'loader',
            image: 'nerops:dev',
            imagePullPolicy: 'Never',
            // Idles until deleted; `kubectl cp` needs tar in the container, which the image has.
            command: ['sleep', 'infinity'],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: name } }],
        terminationGracePeriodSeconds: 0,
      },
    },
  });
  await waitFor(
    `pod ${pod} Running`,
    async () => (await core.readNamespacedPod({ name: pod, namespace })).status?.phase === 'Running',
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  return pod;
}

/** Copies the local directory or file `from` into the loader pod's claim at `/data/<to>`. */
export async function putOnClaim(
  info: ClusterInfo,
  namespace: string,
  loader: string,
  from: string,
  to: string,
): Promise<void> {
  const parent = to.split('/').slice(0, -1).join('/');
  if (parent) await kubectl(info, '-n', namespace, 'exec', loader, '--', 'mkdir', '-p', `/data/${parent}`);
  await kubectl(info, '-n', namespace, 'cp', from, `${loader}:/data/${to}`);
}

export interface TrafficSummary {
  sent: number;
  ok: number;
  codes: Record<string, number>;
}

/**
 * `ner-ops traffic` in a pod of `namespace` against `url` (a Service's DNS name): the requests go
 * through cluster DNS and kube-proxy, as a client's would. Returns the Job's name; read its summary
 * with {@link trafficSummary} once it completed.
 */
export function trafficJob(name: string, url: string, rate: number, durationSeconds: number): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'traffic',
              image: 'nerops:dev',
              imagePullPolicy: 'Never',
              args: ['traffic', '--url', url, '--rate', String(rate), '--duration', String(durationSeconds), '--json'],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

/** The JSON summary `ner-ops traffic --json` printed last in the Job's log. */
export async function trafficSummary(info: ClusterInfo, namespace: string, job: string): Promise<TrafficSummary> {
  const log = await kubectl(info, '-n', namespace, 'logs', `job/${job}`);
  const last = log.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as TrafficSummary;
}
