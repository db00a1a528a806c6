/**
 * The operator installed by the Helm chart under its own ServiceAccount (never as admin), on any
 * cluster a provider started (cluster.ts for the local real node, kind.ts for kind), with the cluster's
 * own kubectl and helm. Free of vitest: `npm run demo` (scripts/demo/stage.ts) and the benches install
 * with the same code as the scenarios in test/real/.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import type { ClusterInfo } from './cluster.js';
import { repoRoot } from './paths.js';

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
  const { stdout } = await execFileAsync(info.tools.helm, ['--kubeconfig', info.kubeconfigPath, ...args], {
    timeout: 600_000,
  });
  return stdout;
}

export async function kubectl(info: ClusterInfo, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(info.tools.kubectl, ['--kubeconfig', info.kubeconfigPath, ...args], {
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
