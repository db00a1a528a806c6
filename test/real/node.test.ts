/**
 * The real profile's node does what a user's node does: the project's image runs in a container as
 * its non-root user under a memory limit, Service names resolve through cluster DNS and route through
 * kube-proxy, a claim of the default StorageClass binds and keeps what a pod wrote, and `kubectl logs`
 * and `kubectl exec` reach the kubelet.
 */
import { BatchV1Api, type V1Job } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_IMAGE } from '../../local-cluster/node-images.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import { pinnedVersions } from '../../local-cluster/binaries.js';

const execFileAsync = promisify(execFile);
const { info, kc, core } = useCluster();
const batch = kc.makeApiClient(BatchV1Api);
let ns: string;

const kubectl = async (...args: string[]): Promise<string> =>
  (await execFileAsync(info.tools.kubectl, ['--kubeconfig', info.kubeconfigPath, '-n', ns, ...args])).stdout;

/**
 * A one-container Job of the project's image running `node -e <script>` (with `pod` merged into its pod
 * spec and `container` into its container); resolves with the pod's log once it succeeded.
 */
async function runNode(
  name: string,
  script: string,
  container: Record<string, unknown> = {},
  pod: Record<string, unknown> = {},
): Promise<string> {
  const job: V1Job = {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: PROJECT_IMAGE,
              imagePullPolicy: 'Never',
              command: ['node', '-e', script],
              ...container,
            },
          ],
          ...pod,
        },
      },
    },
  };
  await batch.createNamespacedJob({ namespace: ns, body: job });
  const outcome = await eventually(
    async () => {
      const s = (await batch.readNamespacedJob({ name, namespace: ns })).status;
      if (s?.failed) return 'failed';
      if (s?.succeeded) return 'succeeded';
      throw new Error(`job ${name} still running`);
    },
    120_000,
    500,
  );
  const log = await kubectl('logs', `job/${name}`);
  expect(outcome, `job ${name}: ${log}`).toBe('succeeded');
  return log;
}

beforeAll(async () => {
  ns = await createTestNamespace(core, 'real-node');
});

afterAll(async () => {
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('the real node', () => {
  it('is a Ready node running containerd and, on the local node, the kubelet of the pinned version', async () => {
    const node = await core.readNode({ name: info.realNodeName! });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    if (info.provider === 'local') {
      expect(node.status?.nodeInfo?.kubeletVersion).toBe(pinnedVersions().KUBERNETES_VERSION);
      expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/1\.6\./);
    }
  });

  it('runs the project image as uid 65532, with onnxruntime loading and the memory limit applied', async () => {
    const out = await runNode(
      'whoami',
      `import('onnxruntime-node').then(() => {
        const fs = require('fs');
        const limitFile = ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory.max'].find((f) => fs.existsSync(f));
        console.log(JSON.stringify({ uid: process.getuid(), limit: fs.readFileSync(limitFile, 'utf8').trim() }));
      })`,
      { resources: { limits: { memory: '256Mi' } } },
    );
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ uid: 65532, limit: String(256 * 1024 * 1024) });
  });

  it('resolves a Service by name through cluster DNS and reaches its pod through kube-proxy', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'echo', labels: { app: 'echo' } },
        spec: {
          containers: [
            {
              name: 'echo',
              image: PROJECT_IMAGE,
              imagePullPolicy: 'Never',
              command: [
                'node',
                '-e',
                "require('http').createServer((q, r) => r.end('hello from ' + require('os').hostname())).listen(8080)",
              ],
              ports: [{ containerPort: 8080 }],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'echo' },
        spec: { selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    await eventually(
      async () =>
        expect(
          (await core.readNamespacedPod({ name: 'echo', namespace: ns })).status?.conditions?.find(
            (c) => c.type === 'Ready',
          )?.status,
        ).toBe('True'),
      120_000,
      500,
    );
    // A new Service's endpoints reach kube-proxy's rules a moment after the pod is Ready: retry briefly.
    const out = await runNode(
      'dns',
      `(async () => { for (let i = 0; ; i++) { try { console.log(await (await fetch('http://echo/')).text()); return; } catch (e) { if (i >= 30) { console.error(e); process.exit(1); } await new Promise(r => setTimeout(r, 500)); } } })()`,
    );
    expect(out).toContain('hello from echo');
    // kubectl exec goes apiserver → kubelet (its serving certificate, our CA) → containerd.
    expect(await kubectl('exec', 'echo', '--', 'node', '-p', 'process.getuid()')).toBe('65532\n');
  });

  it('binds a claim of the default StorageClass and keeps what one pod wrote for the next', async () => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '100Mi' } } },
      },
    });
    const withClaim = (name: string, script: string): Promise<string> =>
      runNode(
        name,
        script,
        { volumeMounts: [{ name: 'data', mountPath: '/data' }] },
        { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] },
      );
    await withClaim('write', "require('fs').writeFileSync('/data/marker', 'kept')");
    expect(await withClaim('read', "console.log(require('fs').readFileSync('/data/marker', 'utf8'))")).toBe('kept\n');
    const claim = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns });
    expect(claim.status?.phase).toBe('Bound');
    expect(claim.spec?.storageClassName).toBe('standard');
  });
});
