/**
 * KWOK: fake nodes for generic pods. kwok marks the nodes Ready, and moves their pods through
 * Running (and deletion) with its default stages, so Deployments and ReplicaSets behave as on real nodes.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { ManagedProcess, Supervisor } from './supervisor.js';
import { removeNotReadyTaint } from './node-taints.js';
import { NODE_KIND_LABEL } from './process-node.js';
import { waitFor } from './wait.js';

/** The annotation kwok's `--manage-nodes-with-annotation-selector` looks for. */
const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export async function startKwok(opts: {
  sup: Supervisor;
  bin: string;
  kubeconfig: string;
  serverPort: number;
}): Promise<ManagedProcess> {
  return opts.sup.start('kwok', opts.bin, [
    `--kubeconfig=${opts.kubeconfig}`,
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
    // Pod IPs of fake pods: a range that cannot be mistaken for a process-node (loopback) pod.
    '--cidr=10.244.0.0/16',
    '--node-ip=127.0.0.1',
    // kwok's default server address is 0.0.0.0:10247, which two clusters on one machine would share.
    `--server-address=127.0.0.1:${opts.serverPort}`,
    '--v=WARN',
  ]);
}

/** Creates `names` as kwok-managed nodes, waits until kwok reports them Ready, and makes them schedulable. */
export async function createKwokNodes(kc: KubeConfig, names: string[], proc: ManagedProcess): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await Promise.all(
    names.map((name) =>
      core.createNode({
        body: {
          metadata: {
            name,
            annotations: { [KWOK_NODE_ANNOTATION]: 'fake' },
            labels: {
              type: 'kwok',
              'kubernetes.io/hostname': name,
              'kubernetes.io/os': 'linux',
              'kubernetes.io/arch': 'amd64',
              [NODE_KIND_LABEL]: 'kwok',
            },
          },
          status: {
            capacity: { cpu: '32', memory: '256Gi', pods: '110' },
            allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
          },
        },
      }),
    ),
  );
  await waitFor(
    'kwok nodes Ready',
    async () => {
      const nodes = await core.listNode({ labelSelector: `${NODE_KIND_LABEL}=kwok` });
      const ready = nodes.items.filter((n) =>
        n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return names.every((name) => ready.some((n) => n.metadata?.name === name));
    },
    { timeoutMs: 30_000, intervalMs: 200, proc },
  );
  await Promise.all(names.map((name) => removeNotReadyTaint(core, name)));
}
