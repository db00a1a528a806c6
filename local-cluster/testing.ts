/**
 * Helpers for test files that run against the global cluster (vitest project `cluster`).
 *
 *   const { info, kc, core } = useCluster();
 *   const ns = await createTestNamespace(core, 'my-test');
 *   await eventually(async () => expect(...).toBe(...));
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import type { ClusterInfo } from './cluster.js';
import { processNodePodDir } from './process-node.js';

export { processNodePlacement, PROCESS_NODE_TAINT, NODE_KIND_LABEL } from './process-node.js';

/** The global cluster's facts and an admin client for it. */
export function useCluster(): { info: ClusterInfo; kc: KubeConfig; core: CoreV1Api } {
  const info = inject('cluster');
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfigPath);
  return { info, kc, core: kc.makeApiClient(CoreV1Api) };
}

/** Retries `fn` until it stops throwing (assertions included) or `timeoutMs` passes, then rethrows the last error. */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/**
 * Creates a uniquely named namespace and waits for its `default` ServiceAccount (pods are rejected
 * by ServiceAccount admission until the controller-manager has created it).
 */
export async function createTestNamespace(core: CoreV1Api, prefix: string): Promise<string> {
  const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  await eventually(() => core.readNamespacedServiceAccount({ name: 'default', namespace: name }), 30_000, 100);
  return name;
}

/**
 * The logs of every container of the pods matching `labelSelector` on the process node, read from the
 * harness's state directory (the full profile's kubelet log endpoint is not reachable from the apiserver).
 */
export async function processNodePodLogs(
  info: ClusterInfo,
  core: CoreV1Api,
  namespace: string,
  labelSelector: string,
): Promise<string[]> {
  const logs: string[] = [];
  for (const pod of (await core.listNamespacedPod({ namespace, labelSelector })).items) {
    const dir = processNodePodDir(info.stateDir, pod);
    for (const c of pod.spec?.containers ?? []) logs.push(await readFile(join(dir, c.name, 'log'), 'utf8'));
  }
  return logs;
}
