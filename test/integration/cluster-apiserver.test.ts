/**
 * The `apiserver` profile on its own, and the kubeconfig contract: kubectl and
 * @kubernetes/client-node both accept it, and /version reports the pinned Kubernetes version.
 */
import { CoreV1Api, VersionApi } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedVersions } from '../../local-cluster/binaries.js';
import { startCluster, type Cluster } from '../../local-cluster/cluster.js';

const run = promisify(execFile);
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({ profile: 'apiserver' });
});
afterAll(async () => {
  await cluster?.stop();
});

describe('apiserver profile', () => {
  it('reports the pinned version through client-node', async () => {
    const version = await cluster.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(pinnedVersions().KUBERNETES_VERSION);
  });

  it('accepts the kubeconfig in kubectl', async () => {
    const { stdout } = await run(cluster.binaries.kubectl, [
      '--kubeconfig',
      cluster.kubeconfigPath,
      'version',
      '-o',
      'json',
    ]);
    const out = JSON.parse(stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    expect(out.serverVersion.gitVersion).toBe(pinnedVersions().KUBERNETES_VERSION);
    expect(out.clientVersion.gitVersion).toBe(pinnedVersions().KUBERNETES_VERSION);
  });

  it('accepts pods without controllers (ServiceAccount admission off) and leaves them Pending', async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const pod = await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'lonely' }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    });
    expect(pod.spec?.nodeName).toBeUndefined();
    expect(pod.status?.phase).toBe('Pending');
  });
});
