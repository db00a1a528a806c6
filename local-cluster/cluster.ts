/**
 * `startCluster()`: a real local Kubernetes control plane for tests, scripts and the demo.
 *
 * Profiles:
 * - `apiserver`: etcd + kube-apiserver. Enough for CRDs, validation, watches, conflicts, status
 *   subresources. No controllers: nothing garbage-collects, nothing schedules.
 * - `full`: + kube-controller-manager, kube-scheduler, KWOK nodes for generic pods, one process node
 *   whose pods run as local processes, and Prometheus scraping the process node's pods.
 * - `real`: + kube-controller-manager, kube-scheduler, one real node (containerd, kubelet, kube-proxy,
 *   CNI bridge) running images in containers, CoreDNS, a default StorageClass, and Prometheus
 *   scraping every pod. One per machine (real-node.ts).
 *
 * `apiserver` and `full` listen on 127.0.0.1 on ports picked at start, so they run side by side; the
 * real profile listens on its node's bridge address (NODE_IP), where pods reach it.
 */
import { AppsV1Api, KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries, type BinaryName } from './binaries.js';
import {
  startApiserver,
  startControllerManager,
  startEtcd,
  startScheduler,
  type ControlPlaneContext,
} from './controlplane.js';
import { writeKubeconfig } from './kubeconfig.js';
import { createKwokNodes, startKwok } from './kwok.js';
import { generatePki } from './pki.js';
import { clusterDnsObjects } from './cluster-dns.js';
import { run } from './host-commands.js';
import { HostPathProvisioner } from './host-path-provisioner.js';
import { nodeImageArchives } from './node-images.js';
import { installPlacementPolicy } from './placement-policy.js';
import { PodDiscovery } from './pod-discovery.js';
import { NODE_IP, REAL_NODE_NAME } from './real-node-config.js';
import { prepareNodeNetwork, RealNode, sweepRealNode } from './real-node.js';
import { freePorts } from './ports.js';
import { ProcessNode } from './process-node.js';
import { startPrometheus } from './prometheus.js';
import { Supervisor, type ManagedProcess } from './supervisor.js';
import { waitFor } from './wait.js';

export type ClusterProfile = 'apiserver' | 'full' | 'real';

/**
 * Who runs the cluster: `local` is this harness (binaries built from source, one real node or process
 * nodes); `kind` is a kind cluster on a Docker host that can pull images (kind.ts), for the same
 * scenarios on a user's machine.
 */
export type ClusterProvider = 'local' | 'kind';

/** The client tools that talk to a cluster, as paths or names on PATH. */
export interface ClusterTools {
  kubectl: string;
  helm: string;
}

export interface ClusterOptions {
  profile: ClusterProfile;
  /** Where certificates, data, logs and pid files go; a fresh temp dir by default. */
  stateDir?: string;
  /** Number of KWOK nodes (full profile). Default 2. */
  kwokNodes?: number;
  /** Progress lines (start-up steps); silent by default. */
  log?: (line: string) => void;
}

/** A running cluster. Everything in it is stopped by {@link Cluster.stop}. */
export interface Cluster {
  provider: ClusterProvider;
  profile: ClusterProfile;
  stateDir: string;
  /** Admin kubeconfig (client certificate), for kubectl and @kubernetes/client-node. */
  kubeconfigPath: string;
  /** The same credentials, loaded. */
  kubeConfig: KubeConfig;
  apiserverUrl: string;
  /** Full profile only. */
  prometheusUrl?: string;
  /** Full profile only: the Node whose pods run as local processes. */
  processNodeName?: string;
  /** Real profile only: the Node whose pods run in containers. */
  realNodeName?: string;
  /** Full profile only. */
  kwokNodeNames: string[];
  /** First three octets of the process node's pod addresses (`127.x.y`); pods get `.2`, `.3`, ... */
  podSubnet?: string;
  /** Directory of component logs (`<name>.log`); pod logs are under `<stateDir>/pods/`. */
  logDir: string;
  binaries: Record<BinaryName, string>;
  tools: ClusterTools;
  /** Milliseconds from the call to startCluster until the cluster was ready. */
  startMs: number;
  /** Stops every process (pods first, etcd last). Idempotent. */
  stop(): Promise<void>;
}

/** The name of the process node in every full cluster. */
export const PROCESS_NODE_NAME = 'process-node';

/** A random `127.x.y` per cluster, so two clusters on one machine never hand out the same pod IP. */
function randomPodSubnet(): string {
  const r = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo + 1));
  return `127.${r(1, 254)}.${r(0, 200)}`;
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  const step = (what: string): void => log(`[cluster +${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'nerops-cluster-'));
  mkdirSync(stateDir, { recursive: true });
  const bins = await ensureBinaries((l) => log(l.trimEnd()));
  const sup = new Supervisor(stateDir);
  sup.armWatchdog();
  // A harness that exits without stop() (an uncaught error, process.exit) still kills its children.
  const onExit = (): void => sup.killAllNow();
  process.once('exit', onExit);

  let processNode: ProcessNode | undefined;
  let realNode: RealNode | undefined;
  const loops: Array<{ stop(): void }> = [];
  const controllers: ManagedProcess[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const loop of loops) loop.stop();
    await processNode?.stop().catch(() => undefined);
    if (realNode) {
      // Nothing may recreate or reschedule the pods the node is tearing down.
      for (const proc of controllers) await sup.stop(proc);
      await realNode.stop().catch((err: unknown) => log(`[cluster] stopping the real node: ${String(err)}`));
    }
    await sup.stopAll();
    // A start that failed before the node ran still left the bridge and the claim (idempotent otherwise).
    if (opts.profile === 'real')
      await sweepRealNode(stateDir).catch((err: unknown) => log(`[cluster] sweeping the real node: ${String(err)}`));
    process.removeListener('exit', onExit);
    // Logs stay for post-mortems; the stores are the bulk of the state and useless once stopped.
    for (const store of ['etcd', join('prometheus', 'data'), ...(opts.profile === 'real' ? ['node', 'volumes'] : [])])
      rmSync(join(stateDir, store), { recursive: true, force: true });
  };

  try {
    const real = opts.profile === 'real';
    if (real) {
      step('claiming the real node, creating its bridge');
      await prepareNodeNetwork(stateDir, bins);
    }
    step('generating certificates');
    const [pki, ports] = await Promise.all([
      generatePki(join(stateDir, 'pki'), real ? { name: REAL_NODE_NAME, ip: NODE_IP } : undefined),
      freePorts(10),
    ]);
    const [
      etcdClient,
      etcdPeer,
      apiPort,
      kcmPort,
      schedPort,
      kwokPort,
      promPort,
      kubeletHealthz,
      proxyHealthz,
      proxyMetrics,
    ] = ports as [number, number, number, number, number, number, number, number, number, number];
    const ctx: ControlPlaneContext = { sup, bins, pki, dir: stateDir };
    // Saving the images (the first time per image id) overlaps the control plane's start.
    const images = real ? nodeImageArchives(bins, log) : undefined;
    images?.catch(() => undefined);

    step('starting etcd');
    const etcd = await startEtcd(ctx, etcdClient, etcdPeer);
    step('starting kube-apiserver');
    const api = await startApiserver(ctx, {
      etcdUrl: etcd.url,
      port: apiPort,
      serviceAccountAdmission: opts.profile !== 'apiserver',
      ...(real
        ? {
            node: {
              ip: NODE_IP,
              kubeletClientCert: pki.node!.apiserverKubeletClientCert,
              kubeletClientKey: pki.node!.apiserverKubeletClientKey,
            },
          }
        : {}),
    });
    const kubeconfigPath = await writeKubeconfig(join(stateDir, 'kubeconfig'), api.url, pki);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);

    const cluster: Cluster = {
      provider: 'local',
      tools: { kubectl: bins.kubectl, helm: bins.helm },
      profile: opts.profile,
      stateDir,
      kubeconfigPath,
      kubeConfig: kc,
      apiserverUrl: api.url,
      kwokNodeNames: [],
      logDir: join(stateDir, 'logs'),
      binaries: bins,
      startMs: 0,
      stop,
    };

    if (opts.profile === 'full') {
      const kwokNodeNames = Array.from({ length: opts.kwokNodes ?? 2 }, (_, i) => `kwok-node-${i}`);
      const podSubnet = randomPodSubnet();
      const targetsFile = join(stateDir, 'prometheus-targets.json');
      step('starting controller-manager, scheduler, kwok, process node, prometheus');
      processNode = new ProcessNode({
        kc,
        kubeconfigPath,
        sup,
        stateDir,
        nodeName: PROCESS_NODE_NAME,
        podSubnet,
        targetsFile,
        log,
      });
      const [, , , prom] = await Promise.all([
        startControllerManager(ctx, kubeconfigPath, kcmPort),
        startScheduler(ctx, kubeconfigPath, schedPort),
        (async () =>
          createKwokNodes(
            kc,
            kwokNodeNames,
            await startKwok({ sup, bin: bins.kwok, kubeconfig: kubeconfigPath, serverPort: kwokPort }),
          ))(),
        (async () => {
          await processNode!.start();
          return startPrometheus({ sup, dir: stateDir, port: promPort, targetsFile });
        })(),
        (async () => {
          // Pods can be created once their namespace's ServiceAccount exists (ServiceAccount admission),
          // and the policy's readiness check creates a (dry-run) pod.
          const core = kc.makeApiClient(CoreV1Api);
          await waitFor(
            'default ServiceAccount',
            async () => !!(await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' })),
            { timeoutMs: 30_000, intervalMs: 100 },
          );
          await installPlacementPolicy(kc);
        })(),
      ]);
      Object.assign(cluster, { prometheusUrl: prom.url, processNodeName: PROCESS_NODE_NAME, kwokNodeNames, podSubnet });
    }

    if (real) {
      step('starting controller-manager, scheduler and the real node (containerd, kubelet, kube-proxy)');
      const [kcm, sched] = await Promise.all([
        startControllerManager(ctx, kubeconfigPath, kcmPort, true),
        startScheduler(ctx, kubeconfigPath, schedPort),
      ]);
      controllers.push(kcm, sched);
      realNode = new RealNode({
        kc,
        sup,
        bins,
        pki,
        stateDir,
        apiserverUrl: api.url,
        images: await images!,
        ports: { kubeletHealthz, proxyHealthz, proxyMetrics },
        log,
      });
      await realNode.start();
      step('starting cluster DNS, the default StorageClass and prometheus');
      const targetsFile = join(stateDir, 'prometheus-targets.json');
      const discovery = new PodDiscovery(kc, targetsFile);
      const provisioner = new HostPathProvisioner(kc, join(stateDir, 'volumes'), REAL_NODE_NAME, log);
      loops.push(discovery, provisioner);
      const dnsFile = join(stateDir, 'cluster-dns.json');
      writeFileSync(dnsFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: clusterDnsObjects() }));
      const [, , , prom] = await Promise.all([
        run(bins.kubectl, [
          '--kubeconfig',
          kubeconfigPath,
          'apply',
          '--server-side',
          '--field-manager=nerops-cluster',
          '-f',
          dnsFile,
        ]),
        discovery.start(),
        provisioner.start(),
        startPrometheus({ sup, dir: stateDir, port: promPort, targetsFile, host: NODE_IP }),
      ]);
      const apps = kc.makeApiClient(AppsV1Api);
      await waitFor(
        'CoreDNS available',
        async () =>
          ((await apps.readNamespacedDeployment({ name: 'coredns', namespace: 'kube-system' })).status
            ?.availableReplicas ?? 0) > 0,
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      Object.assign(cluster, { prometheusUrl: prom.url, realNodeName: REAL_NODE_NAME });
    }

    cluster.startMs = Date.now() - t0;
    step(`ready in ${(cluster.startMs / 1000).toFixed(1)} s`);
    writeFileSync(join(stateDir, 'cluster.json'), `${JSON.stringify(describe(cluster), null, 2)}\n`);
    return cluster;
  } catch (err) {
    await stop();
    throw new Error(`local-cluster: starting the ${opts.profile} profile failed (state in ${stateDir})`, {
      cause: err,
    });
  }
}

/** The serialisable facts about a cluster: what `cluster:up` prints and other processes read. */
export interface ClusterInfo {
  provider: ClusterProvider;
  tools: ClusterTools;
  profile: ClusterProfile;
  stateDir: string;
  kubeconfigPath: string;
  apiserverUrl: string;
  prometheusUrl?: string;
  processNodeName?: string;
  realNodeName?: string;
  kwokNodeNames: string[];
  podSubnet?: string;
  logDir: string;
  startMs: number;
}

export function describe(c: Cluster): ClusterInfo {
  const {
    provider,
    tools,
    profile,
    stateDir,
    kubeconfigPath,
    apiserverUrl,
    prometheusUrl,
    processNodeName,
    realNodeName,
    kwokNodeNames,
    podSubnet,
    logDir,
    startMs,
  } = c;
  return {
    provider,
    tools,
    profile,
    stateDir,
    kubeconfigPath,
    apiserverUrl,
    prometheusUrl,
    processNodeName,
    realNodeName,
    kwokNodeNames,
    podSubnet,
    logDir,
    startMs,
  };
}
