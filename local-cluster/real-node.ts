/**
 * The real profile's node: containerd (the node's own, on its own socket), kubelet, kube-proxy and a
 * CNI bridge, running the project's image in real containers.
 *
 * One real node per machine: the bridge, the node IP and the kubelet port are fixed
 * (real-node-config.ts). A claim file (`/run/nerops/real-node.json`) names the cluster that owns them;
 * a new cluster refuses to start while that owner lives and sweeps up after it when it is dead.
 *
 * Nothing outlives the node ({@link RealNode.stop}, then {@link sweepRealNode}): pods are deleted
 * through the API so the kubelet tears their sandboxes down (CNI DEL, mounts, network namespaces),
 * then the sweep kills what is left (containerd shims and the processes of the node's cgroup tree),
 * unmounts everything under the state directory, removes the network namespaces containerd created,
 * kube-proxy's iptables chains (v4 and v6, `kube-proxy --cleanup`), our FORWARD chain and the bridge.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BinaryName } from './binaries.js';
import { run, tryRun } from './host-commands.js';
import { writeKubeconfig } from './kubeconfig.js';
import type { Pki } from './pki.js';
import {
  BRIDGE,
  CGROUP_ROOT,
  cniConfList,
  containerdConfig,
  FORWARD_CHAIN,
  kubeletConfig,
  kubeProxyConfig,
  NODE_IP,
  POD_SUBNET,
  REAL_NODE_NAME,
  type NodePaths,
} from './real-node-config.js';
import { isRunning, type ManagedProcess, type Supervisor } from './supervisor.js';
import { waitFor } from './wait.js';

const CLAIM_FILE = '/run/nerops/real-node.json';
const NETNS_DIR = '/var/run/netns';
const CGROUP_FS = '/sys/fs/cgroup';

/** What a sweep needs to know about a node, written before anything is created. */
interface NodeRecord {
  stateDir: string;
  ownerPid: number;
  containerdSocket: string;
  kubeProxyBin: string;
  /** Network namespaces that existed before the node started: never touched by the sweep. */
  netnsBefore: string[];
}

export function nodePaths(stateDir: string): NodePaths {
  const dir = join(stateDir, 'node');
  return {
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdSocket: join(dir, 'containerd', 'containerd.sock'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    cniBinDir: '/usr/lib/cni',
    cniIpamDir: join(dir, 'cni', 'ipam'),
    kubeletRoot: join(dir, 'kubelet'),
  };
}

function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/**
 * Claims the machine's real node for `stateDir` and creates the bridge with the node IP on it. Runs
 * before the apiserver starts, because the apiserver listens on the node IP.
 */
export async function prepareNodeNetwork(stateDir: string, bins: Record<BinaryName, string>): Promise<void> {
  for (const tool of ['containerd', 'ctr', 'runc', 'iptables', 'ip']) {
    if (!(await tryRun('sh', ['-c', `command -v ${tool}`]))) {
      throw new Error(`local-cluster: the real profile needs ${tool} (scripts/install-system-deps.sh installs it)`);
    }
  }
  if (!existsSync(join(nodePaths(stateDir).cniBinDir, 'bridge')))
    throw new Error('local-cluster: no CNI plugins in /usr/lib/cni (apt-get install containernetworking-plugins)');
  if (existsSync(CLAIM_FILE)) {
    const prior = JSON.parse(readFileSync(CLAIM_FILE, 'utf8')) as NodeRecord;
    if (prior.ownerPid !== process.pid && isRunning(prior.ownerPid)) {
      throw new Error(
        `local-cluster: a real-profile cluster already runs on this machine (pid ${prior.ownerPid}, state ${prior.stateDir}); stop it first (npm run cluster:down)`,
      );
    }
    await sweepRealNode(prior.stateDir);
  }
  const record: NodeRecord = {
    stateDir,
    ownerPid: process.pid,
    containerdSocket: nodePaths(stateDir).containerdSocket,
    kubeProxyBin: bins['kube-proxy'],
    netnsBefore: listNetns(),
  };
  mkdirSync('/run/nerops', { recursive: true });
  writeFileSync(join(stateDir, 'real-node.json'), `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(CLAIM_FILE, `${JSON.stringify(record, null, 2)}\n`);

  // Leftovers of a sweep that could not finish: start from a clean bridge.
  await tryRun('ip', ['link', 'del', BRIDGE]);
  await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  await run('ip', ['addr', 'add', `${NODE_IP}/${POD_SUBNET.split('/')[1]}`, 'dev', BRIDGE]);
  await run('ip', ['link', 'set', BRIDGE, 'up']);
  // Docker sets the FORWARD policy to DROP; pods on the bridge must still reach each other through
  // Service DNAT (bridged packets pass iptables with br_netfilter on).
  await tryRun('iptables', ['-N', FORWARD_CHAIN]);
  await run('iptables', ['-F', FORWARD_CHAIN]);
  await run('iptables', ['-A', FORWARD_CHAIN, '-i', BRIDGE, '-j', 'ACCEPT']);
  await run('iptables', ['-A', FORWARD_CHAIN, '-o', BRIDGE, '-j', 'ACCEPT']);
  if (!(await tryRun('iptables', ['-C', 'FORWARD', '-j', FORWARD_CHAIN])))
    await run('iptables', ['-I', 'FORWARD', '1', '-j', FORWARD_CHAIN]);
  // kube-proxy's Service DNAT must see traffic between pods on the same bridge.
  writeFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', '1');
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
}

export interface RealNodeOptions {
  kc: KubeConfig;
  sup: Supervisor;
  bins: Record<BinaryName, string>;
  pki: Pki;
  stateDir: string;
  apiserverUrl: string;
  /** Image archives to load into the node's containerd (node-images.ts). */
  images: string[];
  ports: { kubeletHealthz: number; proxyHealthz: number; proxyMetrics: number };
  log: (line: string) => void;
}

export class RealNode {
  readonly name = REAL_NODE_NAME;
  readonly paths: NodePaths;
  #procs: ManagedProcess[] = [];

  constructor(private readonly o: RealNodeOptions) {
    this.paths = nodePaths(o.stateDir);
  }

  /** Starts containerd, loads the images, starts kubelet and kube-proxy, and waits until the Node is Ready. */
  async start(): Promise<void> {
    const { o, paths } = this;
    const nodePki = o.pki.node;
    if (!nodePki) throw new Error('local-cluster: the real node needs node certificates (generatePki with a node)');
    const dir = join(o.stateDir, 'node');
    for (const d of [
      paths.containerdRoot,
      paths.containerdState,
      paths.cniConfDir,
      paths.cniIpamDir,
      paths.kubeletRoot,
    ])
      await mkdir(d, { recursive: true });
    for (const hierarchy of readdirSync(CGROUP_FS))
      mkdirSync(join(CGROUP_FS, hierarchy, CGROUP_ROOT), { recursive: true });

    await writeFile(join(dir, 'containerd.toml'), containerdConfig(paths));
    await writeFile(join(paths.cniConfDir, '10-nerops.conflist'), cniConfList(paths));
    const containerd = o.sup.start('containerd', 'containerd', [
      '--config',
      join(dir, 'containerd.toml'),
      '--log-level',
      'warn',
    ]);
    this.#procs.push(containerd);
    const ctr = ['--address', paths.containerdSocket, '--namespace', 'k8s.io'];
    await waitFor('containerd', () => tryRun('ctr', [...ctr, 'version'], 5_000), {
      timeoutMs: 30_000,
      intervalMs: 200,
      proc: containerd,
    });
    const t0 = Date.now();
    for (const archive of o.images) await run('ctr', [...ctr, 'images', 'import', archive], { timeoutMs: 300_000 });
    o.log(`[real-node] ${o.images.length} images loaded into containerd in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const kubeletKubeconfig = await writeKubeconfig(
      join(dir, 'kubelet.kubeconfig'),
      o.apiserverUrl,
      o.pki,
      'nerops-local',
      { cert: nodePki.kubeletClientCert, key: nodePki.kubeletClientKey },
    );
    await writeFile(
      join(dir, 'kubelet.yaml'),
      kubeletConfig({
        paths,
        caCert: o.pki.caCert,
        servingCert: nodePki.kubeletServingCert,
        servingKey: nodePki.kubeletServingKey,
        healthzPort: o.ports.kubeletHealthz,
      }),
    );
    const kubelet = o.sup.start('kubelet', o.bins.kubelet, [
      `--config=${join(dir, 'kubelet.yaml')}`,
      `--kubeconfig=${kubeletKubeconfig}`,
      `--root-dir=${paths.kubeletRoot}`,
      `--hostname-override=${REAL_NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      '--node-labels=nerops.dev/node-kind=real',
      '--v=1',
    ]);
    this.#procs.push(kubelet);

    const proxyKubeconfig = await writeKubeconfig(
      join(dir, 'kube-proxy.kubeconfig'),
      o.apiserverUrl,
      o.pki,
      'nerops-local',
      { cert: nodePki.kubeProxyCert, key: nodePki.kubeProxyKey },
    );
    await writeFile(
      join(dir, 'kube-proxy.yaml'),
      kubeProxyConfig({
        kubeconfig: proxyKubeconfig,
        healthzPort: o.ports.proxyHealthz,
        metricsPort: o.ports.proxyMetrics,
      }),
    );
    const proxy = o.sup.start('kube-proxy', o.bins['kube-proxy'], [
      `--config=${join(dir, 'kube-proxy.yaml')}`,
      '--v=1',
    ]);
    this.#procs.push(proxy);

    const core = o.kc.makeApiClient(CoreV1Api);
    await waitFor(
      `node ${REAL_NODE_NAME} Ready`,
      async () => {
        const node = await core.readNode({ name: REAL_NODE_NAME });
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        const tainted = (node.spec?.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/'));
        return ready && !tainted;
      },
      { timeoutMs: 90_000, intervalMs: 500, proc: kubelet },
    );
    await waitFor('kube-proxy', async () => (await fetch(`http://127.0.0.1:${o.ports.proxyHealthz}/healthz`)).ok, {
      timeoutMs: 30_000,
      intervalMs: 200,
      proc: proxy,
    });
  }

  /**
   * Deletes every pod so the kubelet tears each one down (call after the controller-manager and
   * scheduler have stopped, or they come back), then stops kube-proxy, kubelet and containerd and
   * sweeps up. Waits at most `timeoutMs` for the pods.
   */
  async stop(timeoutMs = 60_000): Promise<void> {
    const core = this.o.kc.makeApiClient(CoreV1Api);
    const kubeletUp = this.#procs.some((p) => p.name === 'kubelet' && !p.exitInfo);
    if (kubeletUp) {
      try {
        const namespaces = (await core.listNamespace()).items.map((n) => n.metadata!.name!);
        await Promise.all(
          namespaces.map((namespace) => core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 2 })),
        );
        await waitFor(
          'pods to terminate',
          async () => (await core.listPodForAllNamespaces({ limit: 1 })).items.length === 0,
          { timeoutMs, intervalMs: 500 },
        );
      } catch (err) {
        this.o.log(
          `[real-node] pods did not all terminate cleanly (${(err as Error).message.split('\n')[0]}); sweeping`,
        );
      }
    }
    for (const p of [...this.#procs].reverse()) await this.o.sup.stop(p, 10_000);
    this.#procs = [];
    await sweepRealNode(this.o.stateDir);
  }
}

/** The processes (pids) in `CGROUP_ROOT` and below, in every hierarchy. */
function cgroupProcs(): Set<number> {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch {
      // not a cgroup directory
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
  };
  for (const hierarchy of readdirSync(CGROUP_FS)) walk(join(CGROUP_FS, hierarchy, CGROUP_ROOT));
  return pids;
}

/** Removes `CGROUP_ROOT` and its children, deepest first (a cgroup is removed with rmdir, once empty). */
function removeCgroups(): void {
  const remove = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) remove(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      // still busy or already gone; the next sweep retries
    }
  };
  for (const hierarchy of readdirSync(CGROUP_FS)) remove(join(CGROUP_FS, hierarchy, CGROUP_ROOT));
}

/** Pids of containerd shims serving `socket` (shims leave containerd's process group by design). */
function shimPids(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline[0]?.includes('containerd-shim') && cmdline.includes(socket)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
    // mountinfo escapes spaces and such as octal; our paths have none.
    .sort((a, b) => b.length - a.length);
  return [...new Set(points)];
}

/** Removes `chain` of the filter table and every jump to it from `parents`; false when it did not exist. */
async function removeChain(cmd: 'iptables' | 'ip6tables', chain: string, parents: readonly string[]): Promise<boolean> {
  for (const parent of parents) while (await tryRun(cmd, ['-D', parent, '-j', chain]));
  if (!(await tryRun(cmd, ['-F', chain]))) return false;
  return tryRun(cmd, ['-X', chain]);
}

/**
 * Removes everything a real node of `stateDir` left on the machine. Idempotent, safe after a crash
 * (it reads what to remove from `<stateDir>/real-node.json`), and used by `cluster:down`.
 * Returns what it had to clean, for the log.
 */
export async function sweepRealNode(stateDir: string): Promise<string[]> {
  const recordFile = join(stateDir, 'real-node.json');
  if (!existsSync(recordFile)) return [];
  const record = JSON.parse(readFileSync(recordFile, 'utf8')) as NodeRecord;
  const cleaned: string[] = [];
  const kill = (pids: Iterable<number>): number => {
    let n = 0;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        n++;
      } catch {
        // already gone
      }
    }
    return n;
  };
  const shims = kill(shimPids(record.containerdSocket));
  if (shims) cleaned.push(`${shims} containerd shims`);
  for (let i = 0; i < 20; i++) {
    const procs = cgroupProcs();
    if (procs.size === 0) break;
    if (i === 0) cleaned.push(`${procs.size} container processes`);
    kill(procs);
    await new Promise((r) => setTimeout(r, 100));
  }
  removeCgroups();

  for (const ns of listNetns()) {
    if (!ns.startsWith('cni-') || record.netnsBefore.includes(ns)) continue;
    await tryRun('umount', [join(NETNS_DIR, ns)]);
    rmSync(join(NETNS_DIR, ns), { force: true });
    cleaned.push(`netns ${ns}`);
  }
  for (const point of mountsUnder(stateDir)) {
    if (!(await tryRun('umount', [point]))) await tryRun('umount', ['-l', point]);
    cleaned.push(`mount ${point}`);
  }

  // kube-proxy removes its own chains (nat, filter, mangle; IPv4 and IPv6) for every proxy mode.
  if (existsSync(record.kubeProxyBin)) await tryRun(record.kubeProxyBin, ['--cleanup', '--v=0'], 60_000);
  // The kubelet's own chain (it drops martian packets to 127/8) outlives it, in both families.
  for (const [cmd, chain, parents] of [
    ['iptables', FORWARD_CHAIN, ['FORWARD']],
    ['iptables', 'KUBE-FIREWALL', ['INPUT', 'OUTPUT']],
    ['ip6tables', 'KUBE-FIREWALL', ['INPUT', 'OUTPUT']],
  ] as const) {
    if (await removeChain(cmd, chain, parents)) cleaned.push(`${cmd} chain ${chain}`);
  }
  if (await tryRun('ip', ['link', 'del', BRIDGE])) cleaned.push(`bridge ${BRIDGE}`);

  rmSync(recordFile, { force: true });
  try {
    const claim = JSON.parse(readFileSync(CLAIM_FILE, 'utf8')) as NodeRecord;
    if (claim.stateDir === stateDir) rmSync(CLAIM_FILE, { force: true });
  } catch {
    // no claim
  }
  return cleaned;
}
