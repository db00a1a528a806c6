/**
 * The real node beside the process node: the same steps timed on both profiles.
 *
 *   npm run build && node dist/bench/real-node.js [runs=3]
 *
 * Per profile: cluster start (cached binaries and image archives), a serving pod of the project image
 * from created to Ready (median of `runs`), and a NerModel from applied to Ready plus a NerDeployment
 * from applied to serving (ready replicas). On the real profile the operator is the chart's, installed
 * by helm, with the bundle on a PVC; on the full profile it runs in-process with a file:// bundle, as the
 * process-node tests do. Then a second model of the family is rolled out with the default canary steps
 * under 10 req/s from the host to the Service's ready pods (as the demo sends it), timed from the
 * NerDeployment's change to the promotion. The real profile needs the machine's real node to be free (one per machine).
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { pathToFileURL } from 'node:url';
import { trainSmallBundle, type TrainedBundle } from '../testing/fixtures.js';
import { startCluster, type Cluster, type ClusterProfile } from '../local-cluster/cluster.js';
import { describe as describeCluster } from '../local-cluster/cluster.js';
import { PROJECT_IMAGE } from '../local-cluster/node-images.js';
import { createTestNamespace, eventually } from '../local-cluster/testing.js';
import {
  Api,
  installCrds,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  startOperator,
  type NerDeployment,
  type NerModel,
} from '../testing/operator-fixture.js';
import { installOperator } from '../local-cluster/chart-install.js';
import { claimWithLoader, putOnClaim } from '../local-cluster/workloads.js';
import { ServiceEndpoints } from '../local-cluster/service-endpoints.js';
import { TrafficGenerator } from '../loadgen/traffic.js';
import { PrometheusClient } from '../operator/prometheus/client.js';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Created → Ready of a pod running a small HTTP server of the project image, with an HTTP readiness probe. */
async function podReadyMs(kc: KubeConfig, namespace: string, name: string): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  const t0 = Date.now();
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name },
      spec: {
        containers: [
          {
            name: 'server',
            image: PROJECT_IMAGE,
            imagePullPolicy: 'IfNotPresent',
            command: [
              'node',
              '-e',
              "require('http').createServer((q, r) => r.end('ok')).listen(8080, process.env.POD_IP)",
            ],
            env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
            ports: [{ containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
          },
        ],
      },
    },
  });
  await eventually(
    async () => {
      const pod = await core.readNamespacedPod({ name, namespace });
      if (pod.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') throw new Error('not ready');
    },
    120_000,
    100,
  );
  return Date.now() - t0;
}

/**
 * Applied → Ready of a NerModel, then applied → one ready replica of a NerDeployment serving it, then
 * the NerDeployment moved to a second model → promoted through the default canary steps under load.
 */
async function modelServingAndCanaryMs(
  cluster: Cluster,
  namespace: string,
  bundle: TrainedBundle,
  candidate: TrainedBundle,
): Promise<{ model: number; serving: number; canary: number }> {
  const api = new Api(cluster.kubeConfig);
  let uri = pathToFileURL(bundle.dir).href;
  let candidateUri = pathToFileURL(candidate.dir).href;
  let stopOperator = async (): Promise<void> => undefined;
  if (cluster.profile === 'real') {
    const info = describeCluster(cluster);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await installOperator(info, { release: 'bench', namespace: 'nerops-bench', scope: 'cluster' });
    const loader = await claimWithLoader(info, core, namespace, 'models');
    await putOnClaim(info, namespace, loader, bundle.dir, 'clinical/1.0.0');
    await putOnClaim(info, namespace, loader, candidate.dir, 'clinical/1.1.0');
    uri = 'pvc://models/clinical/1.0.0';
    candidateUri = 'pvc://models/clinical/1.1.0';
  } else {
    await installCrds(cluster.kubeConfig);
    const prometheusUrl = describeCluster(cluster).prometheusUrl;
    if (!prometheusUrl) throw new Error('the full profile started without Prometheus');
    const op = await startOperator(cluster.kubeConfig, namespace, {
      prometheus: new PrometheusClient({ url: prometheusUrl, timeoutMs: 2000 }),
    });
    stopOperator = op.stop;
  }
  try {
    let t0 = Date.now();
    await api.create(nerModels, namespace, nerModel('clinical-v1', uri, bundle.digest));
    await eventually(
      async () => {
        if ((await api.get<NerModel>(nerModels, namespace, 'clinical-v1')).status?.phase !== 'Ready')
          throw new Error('not Ready');
      },
      300_000,
      200,
    );
    const model = Date.now() - t0;
    t0 = Date.now();
    await api.create(
      nerDeployments,
      namespace,
      nerDeployment('notes', 'clinical-v1', { replicas: { min: 1, max: 1 } }),
    );
    await eventually(
      async () => {
        if (((await api.get<NerDeployment>(nerDeployments, namespace, 'notes')).status?.replicas?.ready ?? 0) < 1)
          throw new Error('not serving');
      },
      300_000,
      200,
    );
    const serving = Date.now() - t0;
    await api.create(
      nerModels,
      namespace,
      nerModel('clinical-v2', candidateUri, candidate.digest, (m) => (m.spec.version = '1.1.0')),
    );
    await eventually(
      async () => {
        if ((await api.get<NerModel>(nerModels, namespace, 'clinical-v2')).status?.phase !== 'Ready')
          throw new Error('not Ready');
      },
      300_000,
      200,
    );
    const endpoints = new ServiceEndpoints(api.kube, {
      namespace,
      service: 'notes',
      fallbackSelector: { 'nerops.io/deployment': 'notes' },
    });
    const traffic = new TrafficGenerator({
      rate: 10,
      targets: endpoints.targets,
      nextText: () => 'History of asthma, started on lisinopril for hypertension.',
    });
    await endpoints.start();
    traffic.start();
    try {
      t0 = Date.now();
      await api.patch(nerDeployments, namespace, 'notes', { spec: { model: 'clinical-v2' } });
      let last: NerDeployment['status'];
      await eventually(
        async () => {
          last = (await api.get<NerDeployment>(nerDeployments, namespace, 'notes')).status;
          if (last?.stableModel !== 'clinical-v2' || last.phase !== 'Healthy') throw new Error('not promoted');
        },
        600_000,
        500,
      ).catch((err: unknown) => {
        console.error(`${cluster.profile}: not promoted; last status ${JSON.stringify(last)}`);
        throw err;
      });
    } finally {
      endpoints.stop();
      await traffic.stop();
    }
    return { model, serving, canary: Date.now() - t0 };
  } finally {
    await stopOperator();
    api.close();
  }
}

async function measure(
  profile: ClusterProfile,
  runs: number,
  bundle: TrainedBundle,
  candidate: TrainedBundle,
): Promise<string[]> {
  const cluster = await startCluster({ profile });
  try {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const ns = await createTestNamespace(core, 'bench');
    const pods: number[] = [];
    for (let i = 0; i < runs; i++) pods.push(await podReadyMs(cluster.kubeConfig, ns, `server-${i}`));
    const { model, serving, canary } = await modelServingAndCanaryMs(cluster, ns, bundle, candidate);
    return [
      `${profile}: cluster start ${seconds(cluster.startMs)}`,
      `${profile}: serving pod created → Ready, median of ${runs}: ${seconds(median(pods))} (${pods.map(seconds).join(', ')})`,
      `${profile}: NerModel applied → Ready ${seconds(model)}; NerDeployment applied → serving ${seconds(serving)}`,
      `${profile}: second model, default canary steps (10%/60s, 25%/60s, 50%/60s) at 10 req/s → promoted ${seconds(canary)}`,
    ];
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const bundle = await trainSmallBundle({ seed: 7, count: 200, epochs: 3, name: 'clinical', version: '1.0.0' });
  const candidate = await trainSmallBundle({ seed: 8, count: 200, epochs: 3, name: 'clinical', version: '1.1.0' });
  for (const profile of ['full', 'real'] as const)
    for (const line of await measure(profile, runs, bundle, candidate)) console.log(line);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
