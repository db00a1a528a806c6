/**
 * Acceptance tests of the local cluster (issue 4) against the global full-profile cluster:
 * KWOK nodes run Deployments, process nodes run real processes for Jobs, the garbage collector
 * deletes children, and Prometheus scrapes process-node pods with their labels.
 */
import { AppsV1Api, BatchV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, eventually, processNodePlacement, useCluster } from '../../local-cluster/testing.js';

const { info, kc, core } = useCluster();
const apps = kc.makeApiClient(AppsV1Api);
const batch = kc.makeApiClient(BatchV1Api);
/** The project's image: process nodes run only this one. */
const IMAGE = 'nerops:dev';

let ns: string;
beforeAll(async () => {
  ns = await createTestNamespace(core, 'cluster-acceptance');
});

async function podsWithLabel(selector: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function jobSpec(name: string, script: string): Parameters<BatchV1Api['createNamespacedJob']>[0]['body'] {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { job: name } },
        // No node selector: the placement policy sends the project's image to the process node.
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: IMAGE, command: ['node', '-e', script] }],
        },
      },
    },
  };
}

describe('KWOK nodes', () => {
  it('runs a 3-replica Deployment within 20 s and deletes 2 pods when scaled to 1', async () => {
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] } },
        },
      },
    });
    const running = await eventually(async () => {
      const pods = await podsWithLabel('app=web');
      expect(pods.filter((p) => p.status?.phase === 'Running')).toHaveLength(3);
      return pods;
    }, 20_000);
    for (const p of running) expect(info.kwokNodeNames).toContain(p.spec?.nodeName);

    await apps.patchNamespacedDeploymentScale(
      { name: 'web', namespace: ns, body: { spec: { replicas: 1 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(async () => {
      const pods = await podsWithLabel('app=web');
      expect(pods).toHaveLength(1);
      expect(running.map((p) => p.metadata?.uid)).toContain(pods[0]?.metadata?.uid);
    });
  });
});

describe('process nodes', () => {
  it('completes a Job whose pod runs a real process, with its termination message in the pod status', async () => {
    const script =
      "require('fs').writeFileSync(process.env.NEROPS_TERMINATION_LOG, 'trained on ' + process.env.POD_IP); console.log('done')";
    await batch.createNamespacedJob({ namespace: ns, body: jobSpec('train-ok', script) });
    await eventually(async () => {
      const job = await batch.readNamespacedJob({ name: 'train-ok', namespace: ns });
      expect(job.status?.conditions?.find((c) => c.type === 'Complete')?.status).toBe('True');
    });
    const [pod] = await podsWithLabel('job=train-ok');
    expect(pod?.spec?.nodeName).toBe(info.processNodeName);
    expect(pod?.status?.phase).toBe('Succeeded');
    expect(pod?.status?.podIP).toMatch(/^127\./);
    const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated?.exitCode).toBe(0);
    expect(terminated?.message).toBe(`trained on ${pod?.status?.podIP}`);
  });

  it('marks a Job Failed when its process exits non-zero', async () => {
    const script = "require('fs').writeFileSync(process.env.NEROPS_TERMINATION_LOG, 'bad input'); process.exit(3)";
    await batch.createNamespacedJob({ namespace: ns, body: jobSpec('train-bad', script) });
    await eventually(async () => {
      const job = await batch.readNamespacedJob({ name: 'train-bad', namespace: ns });
      expect(job.status?.conditions?.find((c) => c.type === 'Failed')?.status).toBe('True');
    });
    const [pod] = await podsWithLabel('job=train-bad');
    expect(pod?.status?.phase).toBe('Failed');
    const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated?.exitCode).toBe(3);
    expect(terminated?.message).toBe('bad input');
  });

  it('runs init containers first and shares emptyDir and secret volumes through their mount paths', async () => {
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'token' }, stringData: { token: 's3cret' } },
    });
    const write = "require('fs').writeFileSync(process.argv[1], 'fetched by init')";
    const read =
      "const fs=require('fs'); fs.writeFileSync('/dev/termination-log', fs.readFileSync(process.argv[1], 'utf8') + ' + ' + fs.readFileSync(process.argv[2], 'utf8'))";
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'init-volumes' },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: { job: 'init-volumes' } },
            spec: {
              restartPolicy: 'Never',
              volumes: [
                { name: 'models', emptyDir: {} },
                { name: 'auth', secret: { secretName: 'token' } },
              ],
              initContainers: [
                {
                  name: 'fetch',
                  image: IMAGE,
                  command: ['node', '-e', write, '/models/bundle.txt'],
                  volumeMounts: [{ name: 'models', mountPath: '/models' }],
                },
              ],
              containers: [
                {
                  name: 'main',
                  image: IMAGE,
                  // The termination message path is the container's /dev/termination-log, rewritten like any mount.
                  command: [
                    'node',
                    '-e',
                    read.replace("'/dev/termination-log'", 'process.argv[3]'),
                    '/models/bundle.txt',
                    '/var/run/auth/token',
                    '/dev/termination-log',
                  ],
                  volumeMounts: [
                    { name: 'models', mountPath: '/models', readOnly: true },
                    { name: 'auth', mountPath: '/var/run/auth', readOnly: true },
                  ],
                },
              ],
            },
          },
        },
      },
    });
    await eventually(async () => {
      const job = await batch.readNamespacedJob({ name: 'init-volumes', namespace: ns });
      expect(job.status?.conditions?.find((c) => c.type === 'Complete')?.status).toBe('True');
    });
    const [pod] = await podsWithLabel('job=init-volumes');
    expect(pod?.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    expect(pod?.status?.containerStatuses?.[0]?.state?.terminated?.message).toBe('fetched by init + s3cret');
  });

  it('fails a never-restarting pod whose init container fails, without starting its containers', async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'init-fails' },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: { job: 'init-fails' } },
            spec: {
              restartPolicy: 'Never',
              initContainers: [{ name: 'fetch', image: IMAGE, command: ['node', '-e', 'process.exit(4)'] }],
              containers: [{ name: 'main', image: IMAGE, command: ['node', '-e', 'process.exit(0)'] }],
            },
          },
        },
      },
    });
    await eventually(async () => {
      const job = await batch.readNamespacedJob({ name: 'init-fails', namespace: ns });
      expect(job.status?.conditions?.find((c) => c.type === 'Failed')?.status).toBe('True');
    });
    const [pod] = await podsWithLabel('job=init-fails');
    expect(pod?.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode).toBe(4);
    expect(pod?.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
  });

  it("maps the image's ner-ops entrypoint to the built CLI", async () => {
    // No command: the image's entrypoint, ner-ops, with the container's args.
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'cli-help' },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: { job: 'cli-help' } },
            spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: IMAGE, args: ['--help'] }] },
          },
        },
      },
    });
    await eventually(async () => {
      const job = await batch.readNamespacedJob({ name: 'cli-help', namespace: ns });
      expect(job.status?.conditions?.find((c) => c.type === 'Complete')?.status).toBe('True');
    });
  });
});

describe('garbage collection', () => {
  it('deletes a Deployment’s ReplicaSets and pods with the Deployment', async () => {
    const labels = { app: 'gc' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'gc' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'registry.example/gc:1' }] } },
        },
      },
    });
    await eventually(async () =>
      expect((await podsWithLabel('app=gc')).filter((p) => p.status?.phase === 'Running')).toHaveLength(2),
    );
    await apps.deleteNamespacedDeployment({ name: 'gc', namespace: ns, propagationPolicy: 'Background' });
    await eventually(async () => {
      expect((await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=gc' })).items).toHaveLength(0);
      expect(await podsWithLabel('app=gc')).toHaveLength(0);
    });
  });

  it('stops the process of a process-node pod whose owner is deleted', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'owner' } } });
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: {
          name: 'child',
          labels: { app: 'child' },
          ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }],
        },
        spec: {
          ...processNodePlacement(),
          terminationGracePeriodSeconds: 5,
          containers: [{ name: 'main', image: IMAGE, command: ['node', '-e', 'setInterval(() => {}, 1000)'] }],
        },
      },
    });
    const pid = await eventually(async () => {
      const pod = await core.readNamespacedPod({ name: 'child', namespace: ns });
      expect(pod.status?.phase).toBe('Running');
      return Number(pod.status?.containerStatuses?.[0]?.containerID?.replace('process://', ''));
    });
    expect(processAlive(pid)).toBe(true);
    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: ns, propagationPolicy: 'Background' });
    await eventually(async () => expect(await podsWithLabel('app=child')).toHaveLength(0));
    expect(processAlive(pid)).toBe(false);
  });
});

describe('Prometheus', () => {
  it("scrapes a process-node pod on its pod IP and returns the pod's labels from PromQL", async () => {
    const labels = { app: 'metrics-fixture', 'nerops.dev/model': 'demo-model' };
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'metrics', labels },
        spec: {
          containers: [
            {
              name: 'server',
              image: IMAGE,
              command: ['node', 'local-cluster/fixtures/metrics-server.mjs'],
              env: [{ name: 'PORT', value: '9100' }],
              ports: [{ name: 'metrics', containerPort: 9100 }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    const podIp = await eventually(async () => {
      const pod = await core.readNamespacedPod({ name: 'metrics', namespace: ns });
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      return pod.status!.podIP!;
    });
    // The server really listens on its own loopback address.
    expect(await (await fetch(`http://${podIp}:9100/metrics`)).text()).toContain('fixture_scrapes_total');

    const query = `fixture_scrapes_total{namespace="${ns}",pod="metrics"}`;
    const result = await eventually(
      async () => {
        const res = await fetch(`${info.prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
        const body = (await res.json()) as {
          data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
        };
        expect(body.data.result).toHaveLength(1);
        return body.data.result[0]!;
      },
      30_000,
      500,
    );
    expect(result.metric).toMatchObject({
      app: 'metrics-fixture',
      nerops_dev_model: 'demo-model',
      namespace: ns,
      pod: 'metrics',
      instance: `${podIp}:9100`,
    });
    expect(Number(result.value[1])).toBeGreaterThan(0);
  });
});
