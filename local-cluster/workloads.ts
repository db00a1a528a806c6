/**
 * The workloads a scenario puts beside the chart-installed operator, on any cluster: a claim with a
 * loader pod to copy bundles and datasets onto (as a user would, with `kubectl cp`), and `ner-ops
 * traffic` Jobs that send load through a Service's DNS name.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { kubectl } from './chart-install.js';
import type { ClusterInfo } from './cluster.js';
import { PROJECT_IMAGE } from './node-images.js';
import { waitFor } from './wait.js';

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
            image: PROJECT_IMAGE,
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
              image: PROJECT_IMAGE,
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
