/**
 * A "process node": a Node object whose pods run as real local processes instead of containers.
 *
 * The runner watches pods bound to the node. For each one it gives the pod its own loopback address
 * (reported as the pod IP), starts each container's command (see pod-command.ts) with the pod's env,
 * probes readiness (httpGet), and writes a kubelet-like status: on exit, the exit code and the
 * termination message (read from the file named by NEROPS_TERMINATION_LOG) so Jobs complete or fail
 * for real. Deleting a pod sends SIGTERM to its processes, SIGKILL after the grace period, and then
 * removes the pod object, as the kubelet does.
 *
 * Init containers run one after another, each to success, before the containers start. Volumes are
 * local directories: emptyDir starts empty, secret and configMap volumes hold their keys as files, and a
 * claim bound to a hostPath (or local) PersistentVolume is that directory, shared by the pods mounting it.
 * A process has no mount namespace, so container paths in args and env values (volume mount paths,
 * the termination message path) are rewritten to the local directories (see mapContainerPaths).
 *
 * Services: a loopback service IP and TCP proxy per ClusterIP Service, and Service names resolved inside
 * pods by a dns.lookup preload (NODE_OPTIONS), see service-proxy.ts.
 *
 * Not modelled: liveness/startup probes, resource limits, other volume types (they start empty).
 */
import {
  CoreV1Api,
  ListWatch,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type V1Container,
  type V1Pod,
} from '@kubernetes/client-node';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { removeNotReadyTaint } from './node-taints.js';
import { ProcessNodeEnv } from '../contracts/process-node-env.js';
import { DEFAULT_TERMINATION_MESSAGE_PATH } from '../contracts/termination-message.js';
import { containerEnv, localCommand, mapContainerPaths, type PathMapping } from './pod-command.js';
import { podStatus, type ContainerRunState, type PodRunState } from './pod-status.js';
import { writeTargets } from './prometheus.js';
import { scrapeTargets } from './scrape-targets.js';
import { nerOpsCli, repoRoot, serviceDnsPreload } from './paths.js';
import { ServiceProxies, watchServices } from './service-proxy.js';
import type { ManagedProcess, Supervisor } from './supervisor.js';

/** Label every process node carries (`nerops.dev/node-kind=process`); KWOK nodes carry `kwok`. */
export const NODE_KIND_LABEL = 'nerops.dev/node-kind';
/** Taint that keeps generic pods (which cannot run as processes) off process nodes. */
export const PROCESS_NODE_TAINT = { key: 'nerops.dev/process-node', value: 'true', effect: 'NoSchedule' } as const;

/** Pod-spec fields that send a pod to a process node: merge them into a pod template. */
export function processNodePlacement(): {
  nodeSelector: Record<string, string>;
  tolerations: Array<{ key: string; operator: string; value: string; effect: string }>;
} {
  return {
    nodeSelector: { [NODE_KIND_LABEL]: 'process' },
    tolerations: [
      {
        key: PROCESS_NODE_TAINT.key,
        operator: 'Equal',
        value: PROCESS_NODE_TAINT.value,
        effect: PROCESS_NODE_TAINT.effect,
      },
    ],
  };
}

/** Images a process node accepts: the project's own (any registry/tag whose repository is `nerops`). */
export const DEFAULT_PROCESS_IMAGE = /(^|\/)ner-?ops(:[^/]*)?(@.*)?$/;

export interface ProcessNodeOptions {
  kc: KubeConfig;
  /** Path handed to processes as KUBECONFIG. */
  kubeconfigPath: string;
  sup: Supervisor;
  stateDir: string;
  nodeName: string;
  /** First three octets of this cluster's pod addresses, e.g. `127.0.37`. */
  podSubnet: string;
  imagePattern?: RegExp;
  /** When set, the Prometheus file_sd target list of running pods is kept current in this file. */
  targetsFile?: string;
  log?: (line: string) => void;
}

interface ContainerRun {
  spec: V1Container;
  /** An init container: runs to completion before the next one and before the containers. */
  init: boolean;
  /** Container paths (volume mounts, termination message path) → local paths. */
  mappings: PathMapping[];
  state: ContainerRunState;
  proc?: ManagedProcess;
  terminationLog: string;
  scratch: string;
  probeTimer?: NodeJS.Timeout;
}

interface PodRun {
  uid: string;
  namespace: string;
  name: string;
  pod: V1Pod;
  dir: string;
  status: PodRunState;
  initContainers: ContainerRun[];
  containers: ContainerRun[];
  transitions: Map<string, { ok: boolean; at: Date }>;
  deleting: boolean;
  /** Serialises status writes so an older status never lands after a newer one. */
  writes: Promise<void>;
}

const TERMINATION_MESSAGE_MAX = 4096;
const FALLBACK_LOG_LINES = 80;
const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6, SIGSEGV: 11 };

/** Where the process node keeps a pod's files; each container's log is `<dir>/<container>/log`. */
export function processNodePodDir(stateDir: string, pod: V1Pod): string {
  const meta = pod.metadata!;
  return join(stateDir, 'pods', `${meta.namespace}_${meta.name}_${meta.uid!.slice(0, 8)}`);
}

export class ProcessNode {
  readonly #o: ProcessNodeOptions;
  readonly #core: CoreV1Api;
  readonly #runs = new Map<string, PodRun>();
  /** Per-pod event chains: events for one pod are handled in order, pods in parallel. */
  readonly #chains = new Map<string, Promise<void>>();
  #informer: ListWatch<V1Pod> | undefined;
  #nextIp = 2;
  #targetWrites: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Service IPs and proxies for the pods (service-proxy.ts); their names resolve through #hostsFile. */
  readonly #services: ServiceProxies;
  readonly #hostsFile: string;
  #stopServiceWatch: (() => Promise<void>) | undefined;

  constructor(opts: ProcessNodeOptions) {
    this.#o = opts;
    this.#core = opts.kc.makeApiClient(CoreV1Api);
    this.#hostsFile = join(opts.stateDir, 'service-hosts.json');
    mkdirSync(opts.stateDir, { recursive: true });
    this.#services = new ServiceProxies({
      allocateIp: () => this.#allocateIp(),
      hostsFile: this.#hostsFile,
      log: (l) => this.#log(l),
    });
  }

  /** The Service routing of this node (tests, debugging). */
  get services(): ServiceProxies {
    return this.#services;
  }

  get nodeName(): string {
    return this.#o.nodeName;
  }

  /** Registers the Node object and starts watching its pods. */
  async start(): Promise<void> {
    this.#publishTargets();
    await this.#registerNode();
    const fieldSelector = `spec.nodeName=${this.#o.nodeName}`;
    const informer = new ListWatch<V1Pod>(
      '/api/v1/pods',
      new Watch(this.#o.kc),
      () => this.#core.listPodForAllNamespaces({ fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
    for (const verb of ['add', 'update'] as const)
      informer.on(verb, (pod) => this.#enqueue(pod, () => this.#onPod(pod)));
    informer.on('delete', (pod) => this.#enqueue(pod, () => this.#onPodGone(pod)));
    // ListWatch stops on any error but 410; restart it, since the runner must outlive API hiccups.
    informer.on('error', (err) => {
      if (this.#stopped) return;
      this.#log(`pod watch failed (${String(err)}); restarting in 1 s`);
      setTimeout(() => void (this.#stopped ? undefined : informer.start().catch(() => undefined)), 1000);
    });
    this.#informer = informer;
    await informer.start();
    this.#stopServiceWatch = await watchServices(this.#o.kc, this.#o.nodeName, this.#services, (l) => this.#log(l));
  }

  /** Stops watching and stops every pod process (SIGTERM, SIGKILL after `graceMs`). */
  async stop(graceMs = 2000): Promise<void> {
    this.#stopped = true;
    await this.#informer?.stop().catch(() => undefined);
    await this.#stopServiceWatch?.();
    await Promise.all([...this.#runs.values()].map((run) => this.#stopProcesses(run, graceMs)));
    await this.#services.stop();
    this.#runs.clear();
    this.#publishTargets();
    await this.#targetWrites;
  }

  #log(line: string): void {
    this.#o.log?.(`[process-node ${this.#o.nodeName}] ${line}`);
  }

  #enqueue(pod: V1Pod, fn: () => Promise<void>): void {
    const uid = pod.metadata?.uid ?? '';
    const next = (this.#chains.get(uid) ?? Promise.resolve())
      .then(fn)
      .catch((err: unknown) => this.#log(`pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${String(err)}`));
    this.#chains.set(uid, next);
    void next.then(() => {
      if (this.#chains.get(uid) === next) this.#chains.delete(uid);
    });
  }

  async #registerNode(): Promise<void> {
    const name = this.#o.nodeName;
    await this.#core.createNode({
      body: {
        metadata: {
          name,
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            [NODE_KIND_LABEL]: 'process',
          },
        },
        spec: { taints: [{ ...PROCESS_NODE_TAINT }] },
      },
    });
    const now = new Date();
    await this.#core.patchNodeStatus(
      {
        name,
        body: {
          status: {
            capacity: { cpu: '16', memory: '64Gi', pods: '250' },
            allocatable: { cpu: '16', memory: '64Gi', pods: '250' },
            addresses: [
              { type: 'InternalIP', address: '127.0.0.1' },
              { type: 'Hostname', address: name },
            ],
            // The node-lifecycle controller is off (see controlplane.ts), so one Ready write lasts.
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'ProcessNodeReady',
                message: 'pods run as local processes',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
            ],
            nodeInfo: {
              architecture: 'amd64',
              operatingSystem: 'linux',
              kubeletVersion: 'process-node',
              kubeProxyVersion: '',
              containerRuntimeVersion: 'process://',
              kernelVersion: '',
              osImage: 'local processes',
              machineID: '',
              systemUUID: '',
              bootID: '',
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await removeNotReadyTaint(this.#core, name);
  }

  #allocateIp(): string {
    // Skip .0 and .255 of each /24, carrying into the third octet.
    for (;;) {
      const n = this.#nextIp++;
      const last = n % 256;
      if (last === 0 || last === 255) continue;
      const [a, b, c] = this.#o.podSubnet.split('.').map(Number) as [number, number, number];
      return `${a}.${b}.${c + Math.floor(n / 256)}.${last}`;
    }
  }

  async #onPod(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    const run = this.#runs.get(uid);
    if (pod.metadata?.deletionTimestamp) {
      if (run && !run.deleting) {
        run.deleting = true;
        const graceS = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
        await this.#stopProcesses(run, graceS * 1000);
      }
      this.#runs.delete(uid);
      this.#publishTargets();
      await this.#forceDelete(pod);
      return;
    }
    if (run || this.#stopped) return;
    // A terminal pod we did not run (a previous harness ran it) stays as it is.
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    await this.#startPod(pod);
  }

  async #onPodGone(pod: V1Pod): Promise<void> {
    const run = this.#runs.get(pod.metadata?.uid ?? '');
    if (!run) return;
    run.deleting = true;
    this.#runs.delete(run.uid);
    this.#publishTargets();
    await this.#stopProcesses(run, 2000);
  }

  async #forceDelete(pod: V1Pod): Promise<void> {
    try {
      await this.#core.deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid! } },
      });
    } catch (err) {
      if (!isStatus(err, 404) && !isStatus(err, 409)) throw err;
    }
  }

  async #startPod(pod: V1Pod): Promise<void> {
    const meta = pod.metadata!;
    const ip = this.#allocateIp();
    const dir = processNodePodDir(this.#o.stateDir, pod);
    const image = this.#o.imagePattern ?? DEFAULT_PROCESS_IMAGE;
    const run: PodRun = {
      uid: meta.uid!,
      namespace: meta.namespace!,
      name: meta.name!,
      pod,
      dir,
      initContainers: [],
      containers: [],
      transitions: new Map(),
      deleting: false,
      writes: Promise.resolve(),
      status: {
        podIp: ip,
        hostIp: '127.0.0.1',
        startTime: new Date(),
        restartPolicy: pod.spec?.restartPolicy ?? 'Always',
        initContainers: [],
        containers: [],
      },
    };
    let volumes: Map<string, string>;
    try {
      volumes = await this.#prepareVolumes(run);
    } catch (err) {
      volumes = new Map();
      this.#log(`${run.namespace}/${run.name}: volumes: ${String(err)}`);
    }
    const hasInit = (pod.spec?.initContainers ?? []).length > 0;
    for (const [specs, init] of [
      [pod.spec?.initContainers ?? [], true],
      [pod.spec?.containers ?? [], false],
    ] as const) {
      for (const spec of specs) {
        const cdir = join(dir, spec.name);
        mkdirSync(join(cdir, 'scratch'), { recursive: true });
        const terminationLog = join(cdir, 'termination-log');
        const mappings: PathMapping[] = [
          { containerPath: spec.terminationMessagePath ?? DEFAULT_TERMINATION_MESSAGE_PATH, hostPath: terminationLog },
        ];
        for (const m of spec.volumeMounts ?? []) {
          const local = volumes.get(m.name);
          if (local)
            mappings.push({ containerPath: m.mountPath, hostPath: m.subPath ? join(local, m.subPath) : local });
        }
        mappings.push(...claimParentMappings(spec, pod, volumes, join(cdir, 'paths')));
        const waiting = init ? 'ContainerCreating' : hasInit ? 'PodInitializing' : 'ContainerCreating';
        const state: ContainerRunState = {
          name: spec.name,
          image: spec.image ?? '',
          restartCount: 0,
          ready: false,
          state: { kind: 'waiting', reason: waiting },
        };
        const c: ContainerRun = { spec, init, mappings, state, terminationLog, scratch: join(cdir, 'scratch') };
        (init ? run.initContainers : run.containers).push(c);
        (init ? run.status.initContainers : run.status.containers).push(state);
      }
    }
    this.#runs.set(run.uid, run);
    this.#log(`starting ${run.namespace}/${run.name} on ${ip}`);
    for (const c of [...run.initContainers, ...run.containers]) {
      if (!image.test(c.spec.image ?? '')) {
        c.state.state = {
          kind: 'waiting',
          reason: 'ErrImageNotRunnable',
          message: `process nodes run the project's image only (${image}), got '${c.spec.image}'`,
        };
      }
    }
    await this.#startNext(run);
    this.#writeStatus(run);
  }

  /** Starts the next init container that has not completed, or all containers once init is done. */
  async #startNext(run: PodRun): Promise<void> {
    if (run.deleting || this.#stopped) return;
    const pending = run.initContainers.find(
      (c) => !(c.state.state.kind === 'terminated' && c.state.state.exitCode === 0),
    );
    if (pending) {
      if (pending.state.state.kind === 'waiting' && pending.state.state.reason === 'ErrImageNotRunnable') return;
      await this.#spawn(run, pending);
      return;
    }
    for (const c of run.containers) {
      if (c.state.state.kind === 'waiting' && c.state.state.reason === 'ErrImageNotRunnable') continue;
      if (c.state.state.kind === 'waiting' && c.state.state.reason === 'PodInitializing')
        c.state.state = { kind: 'waiting', reason: 'ContainerCreating' };
      await this.#spawn(run, c);
    }
  }

  /**
   * The directory of a claim bound to a hostPath (or local) PersistentVolume, shared by every pod that
   * mounts it, as on a real node; undefined for other claims (they start empty, per pod).
   */
  async #claimDirectory(namespace: string, claimName: string): Promise<string | undefined> {
    try {
      const claim = await this.#core.readNamespacedPersistentVolumeClaim({ name: claimName, namespace });
      if (!claim.spec?.volumeName) return undefined;
      const pv = await this.#core.readPersistentVolume({ name: claim.spec.volumeName });
      return pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    } catch {
      return undefined;
    }
  }

  /** Local directories for the pod's volumes (emptyDir empty; secret/configMap keys as files; hostPath claims shared). */
  async #prepareVolumes(run: PodRun): Promise<Map<string, string>> {
    const dirs = new Map<string, string>();
    for (const v of run.pod.spec?.volumes ?? []) {
      const claimDir = v.persistentVolumeClaim?.claimName
        ? await this.#claimDirectory(run.namespace, v.persistentVolumeClaim.claimName)
        : undefined;
      if (claimDir) {
        mkdirSync(claimDir, { recursive: true });
        dirs.set(v.name, claimDir);
        continue;
      }
      const local = join(run.dir, 'volumes', v.name);
      mkdirSync(local, { recursive: true });
      dirs.set(v.name, local);
      let files: Record<string, string> = {};
      if (v.secret?.secretName) {
        const secret = await this.#core
          .readNamespacedSecret({ name: v.secret.secretName, namespace: run.namespace })
          .catch(optionalMissing(v.secret.optional));
        files = Object.fromEntries(
          Object.entries(secret?.data ?? {}).map(([k, b64]) => [k, Buffer.from(b64, 'base64').toString('utf8')]),
        );
        files = selectItems(files, v.secret.items);
      } else if (v.configMap?.name) {
        const cm = await this.#core
          .readNamespacedConfigMap({ name: v.configMap.name, namespace: run.namespace })
          .catch(optionalMissing(v.configMap.optional));
        files = selectItems(cm?.data ?? {}, v.configMap.items);
      }
      for (const [name, content] of Object.entries(files)) {
        mkdirSync(join(local, name, '..'), { recursive: true });
        writeFileSync(join(local, name), content);
      }
    }
    return dirs;
  }

  async #spawn(run: PodRun, c: ContainerRun): Promise<void> {
    if (run.deleting) return;
    const pod = run.pod;
    const base: Record<string, string> = {};
    for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'USER', 'TZ'])
      if (process.env[k] !== undefined) base[k] = process.env[k]!;
    Object.assign(base, {
      HOSTNAME: run.name,
      [ProcessNodeEnv.podIp]: run.status.podIp,
      [ProcessNodeEnv.nerPodIp]: run.status.podIp,
      [ProcessNodeEnv.terminationLog]: c.terminationLog,
      [ProcessNodeEnv.scratch]: c.scratch,
      [ProcessNodeEnv.kubeconfig]: this.#o.kubeconfigPath,
      [ProcessNodeEnv.serviceHosts]: this.#hostsFile,
      [ProcessNodeEnv.podNamespace]: run.namespace,
    });
    let env: Record<string, string>;
    try {
      env = await containerEnv(
        c.spec,
        base,
        (path) => fieldRef(pod, run.status.podIp, path),
        (ref) => this.#resolveRef(run.namespace, ref),
        (src) => this.#resolveEnvFrom(run.namespace, src),
      );
    } catch (err) {
      c.state.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: String(err) };
      return;
    }
    for (const [k, v] of Object.entries(env)) env[k] = mapContainerPaths(v, c.mappings);
    // Cluster DNS: Service names resolve to their service IPs (service-dns-preload.ts), whatever NODE_OPTIONS the pod sets.
    if (existsSync(serviceDnsPreload))
      env.NODE_OPTIONS = `--import ${pathToFileURL(serviceDnsPreload).href}${env.NODE_OPTIONS ? ` ${env.NODE_OPTIONS}` : ''}`;
    const cmd = localCommand(c.spec, env, { nodeBin: process.execPath, nerOpsCli }, c.mappings);
    if ('error' in cmd) {
      c.state.state = { kind: 'waiting', reason: 'CreateContainerError', message: cmd.error };
      return;
    }
    if (cmd.args[0] === nerOpsCli && !existsSync(nerOpsCli)) {
      c.state.state = {
        kind: 'waiting',
        reason: 'CreateContainerError',
        message: `${nerOpsCli} does not exist: run npm run build`,
      };
      return;
    }
    writeFileSync(c.terminationLog, '');
    const proc = this.#o.sup.start(
      `pod-${run.namespace}-${run.name}-${c.spec.name}-${c.state.restartCount}`,
      cmd.command,
      cmd.args,
      {
        env,
        cwd: repoRoot,
        logFile: join(run.dir, c.spec.name, 'log'),
      },
    );
    c.proc = proc;
    const startedAt = new Date();
    c.state.containerId = `process://${proc.pid}`;
    c.state.state = { kind: 'running', startedAt };
    c.state.ready = !c.spec.readinessProbe?.httpGet;
    if (c.spec.readinessProbe?.httpGet) this.#probe(run, c, proc);
    void proc.exited.then((info) => this.#onExit(run, c, proc, startedAt, info.code, info.signal));
  }

  /** Polls the readiness probe while `proc` runs; fast (0.5 s) until the first success, then every periodSeconds. */
  #probe(run: PodRun, c: ContainerRun, proc: ManagedProcess): void {
    const probe = c.spec.readinessProbe!;
    const get = probe.httpGet!;
    const port =
      typeof get.port === 'number'
        ? get.port
        : (c.spec.ports?.find((p) => p.name === get.port)?.containerPort ?? Number(get.port));
    const url = `${(get.scheme ?? 'HTTP').toLowerCase()}://${get.host ?? run.status.podIp}:${port}${get.path ?? '/'}`;
    const headers = Object.fromEntries((get.httpHeaders ?? []).map((h) => [h.name, h.value]));
    let failures = 0;
    let successes = 0;
    const tick = async (): Promise<void> => {
      if (proc.exitInfo || run.deleting) return;
      let ok = false;
      try {
        const res = await fetch(url, { headers, signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000) });
        await res.body?.cancel();
        ok = res.status >= 200 && res.status < 400;
      } catch {
        ok = false;
      }
      if (proc.exitInfo || run.deleting) return;
      successes = ok ? successes + 1 : 0;
      failures = ok ? 0 : failures + 1;
      const before = c.state.ready;
      if (ok && successes >= (probe.successThreshold ?? 1)) c.state.ready = true;
      if (!ok && failures >= (probe.failureThreshold ?? 3)) c.state.ready = false;
      if (before !== c.state.ready) this.#writeStatus(run);
      const periodMs = c.state.ready
        ? (probe.periodSeconds ?? 10) * 1000
        : Math.min((probe.periodSeconds ?? 10) * 1000, 500);
      c.probeTimer = setTimeout(() => void tick(), periodMs);
    };
    c.probeTimer = setTimeout(() => void tick(), (probe.initialDelaySeconds ?? 0) * 1000);
  }

  #onExit(
    run: PodRun,
    c: ContainerRun,
    proc: ManagedProcess,
    startedAt: Date,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (c.proc !== proc) return;
    clearTimeout(c.probeTimer);
    const exitCode = code ?? 128 + (SIGNALS[signal ?? ''] ?? 9);
    const message = terminationMessage(c, exitCode, proc.logFile);
    const terminated = {
      kind: 'terminated' as const,
      startedAt,
      finishedAt: new Date(),
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      ...(message ? { message } : {}),
    };
    c.state.state = terminated;
    c.state.ready = false;
    this.#log(`${run.namespace}/${run.name}/${c.spec.name} exited with ${exitCode}`);
    if (run.deleting) return;
    const policy = run.status.restartPolicy;
    if (c.init) {
      if (exitCode === 0) {
        void this.#startNext(run).then(() => this.#writeStatus(run));
      } else if (policy !== 'Never') {
        // A failed init container is retried (with back-off) unless the pod never restarts.
        this.#restartLater(run, c, terminated);
      } else {
        for (const main of run.containers) main.state.state = { kind: 'waiting', reason: 'PodInitializing' };
      }
      this.#writeStatus(run);
      return;
    }
    if (policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0)) this.#restartLater(run, c, terminated);
    this.#writeStatus(run);
  }

  /** Restarts a container after the kubelet's back-off (doubling from 1 s, capped at 10 s), so a crash loop does not spin. */
  #restartLater(run: PodRun, c: ContainerRun, terminated: NonNullable<ContainerRunState['lastTerminated']>): void {
    const delayMs = Math.min(1000 * 2 ** c.state.restartCount, 10_000);
    setTimeout(() => {
      if (run.deleting || this.#stopped || !this.#runs.has(run.uid)) return;
      c.state.lastTerminated = terminated;
      c.state.restartCount += 1;
      void this.#spawn(run, c).then(() => this.#writeStatus(run));
    }, delayMs);
  }

  async #stopProcesses(run: PodRun, graceMs: number): Promise<void> {
    const all = [...run.initContainers, ...run.containers];
    for (const c of all) clearTimeout(c.probeTimer);
    await Promise.all(all.filter((c) => c.proc && !c.proc.exitInfo).map((c) => this.#o.sup.stop(c.proc!, graceMs)));
  }

  /** Rewrites the scrape target list from the pods that have a running container. */
  #publishTargets(): void {
    const file = this.#o.targetsFile;
    if (!file) return;
    const pods = [...this.#runs.values()].map((r) => ({
      pod: r.pod,
      podIp: r.status.podIp,
      running: !r.deleting && r.containers.some((c) => c.state.state.kind === 'running'),
    }));
    const groups = scrapeTargets(pods);
    this.#targetWrites = this.#targetWrites
      .then(() => writeTargets(file, groups))
      .catch((err: unknown) => this.#log(`writing ${file} failed: ${String(err)}`));
  }

  #writeStatus(run: PodRun): void {
    this.#publishTargets();
    run.writes = run.writes.then(async () => {
      if (run.deleting) return;
      const status = podStatus(run.status, new Date(), run.transitions);
      try {
        await this.#core.patchNamespacedPodStatus(
          { name: run.name, namespace: run.namespace, body: { status } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      } catch (err) {
        if (!isStatus(err, 404)) this.#log(`status write for ${run.namespace}/${run.name} failed: ${String(err)}`);
      }
    });
  }

  async #resolveRef(
    namespace: string,
    ref: NonNullable<V1Container['env']>[number]['valueFrom'],
  ): Promise<string | undefined> {
    if (ref?.configMapKeyRef) {
      const cm = await this.#core
        .readNamespacedConfigMap({ name: ref.configMapKeyRef.name!, namespace })
        .catch(optionalMissing(ref.configMapKeyRef.optional));
      return cm?.data?.[ref.configMapKeyRef.key];
    }
    if (ref?.secretKeyRef) {
      const secret = await this.#core
        .readNamespacedSecret({ name: ref.secretKeyRef.name!, namespace })
        .catch(optionalMissing(ref.secretKeyRef.optional));
      const b64 = secret?.data?.[ref.secretKeyRef.key];
      return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
    }
    return undefined;
  }

  async #resolveEnvFrom(
    namespace: string,
    src: NonNullable<V1Container['envFrom']>[number],
  ): Promise<Record<string, string>> {
    if (src.configMapRef) {
      const cm = await this.#core
        .readNamespacedConfigMap({ name: src.configMapRef.name!, namespace })
        .catch(optionalMissing(src.configMapRef.optional));
      return cm?.data ?? {};
    }
    if (src.secretRef) {
      const secret = await this.#core
        .readNamespacedSecret({ name: src.secretRef.name!, namespace })
        .catch(optionalMissing(src.secretRef.optional));
      return Object.fromEntries(
        Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    }
    return {};
  }
}

/** The termination message: the file's content, or with FallbackToLogsOnError the log tail of a failed run. */
function terminationMessage(c: ContainerRun, exitCode: number, logFile: string): string {
  let msg = '';
  try {
    msg = readFileSync(c.terminationLog, 'utf8').slice(0, TERMINATION_MESSAGE_MAX);
  } catch {
    msg = '';
  }
  if (!msg && exitCode !== 0 && c.spec.terminationMessagePolicy === 'FallbackToLogsOnError') {
    try {
      msg = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-FALLBACK_LOG_LINES).join('\n').slice(-2048);
    } catch {
      msg = '';
    }
  }
  return msg;
}

/**
 * A process has no mount namespace, so the directory that holds claim mounts (`/mnt/nerops/pvc/claims`
 * holding `<claim>` mounts, named by `NEROPS_PVC_ROOT`) exists nowhere. Each such parent maps to a directory
 * of the container's own, holding a symbolic link per claim mounted in it, so `<root>/<claim>/path` reaches
 * the claim as it would in a container.
 */
function claimParentMappings(
  spec: V1Container,
  pod: V1Pod,
  volumes: ReadonlyMap<string, string>,
  root: string,
): PathMapping[] {
  const claims = new Set((pod.spec?.volumes ?? []).filter((v) => v.persistentVolumeClaim).map((v) => v.name));
  const out: PathMapping[] = [];
  for (const m of spec.volumeMounts ?? []) {
    const local = volumes.get(m.name);
    const parent = dirname(m.mountPath);
    if (!local || !claims.has(m.name) || m.subPath || parent === '/') continue;
    const shadow = join(root, parent);
    mkdirSync(shadow, { recursive: true });
    if (!existsSync(join(shadow, basename(m.mountPath)))) symlinkSync(local, join(shadow, basename(m.mountPath)));
    if (!out.some((o) => o.containerPath === parent)) out.push({ containerPath: parent, hostPath: shadow });
  }
  return out;
}

/** The keys a secret/configMap volume projects: all, or the listed items under their paths. */
function selectItems(
  data: Record<string, string>,
  items: Array<{ key: string; path: string }> | undefined,
): Record<string, string> {
  if (!items?.length) return data;
  return Object.fromEntries(items.filter((i) => i.key in data).map((i) => [i.path, data[i.key]!]));
}

/** Values of `fieldRef` env sources, as the downward API defines them. */
function fieldRef(pod: V1Pod, podIp: string, path: string): string | undefined {
  const m = pod.metadata;
  const labelOrAnno = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (labelOrAnno) return (labelOrAnno[1] === 'labels' ? m?.labels : m?.annotations)?.[labelOrAnno[2]!];
  const fields: Record<string, string | undefined> = {
    'metadata.name': m?.name,
    'metadata.namespace': m?.namespace,
    'metadata.uid': m?.uid,
    'spec.nodeName': pod.spec?.nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.podIP': podIp,
    'status.podIPs': podIp,
    'status.hostIP': '127.0.0.1',
    'status.hostIPs': '127.0.0.1',
  };
  return fields[path];
}

function isStatus(err: unknown, code: number): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === code;
}

function optionalMissing(optional: boolean | undefined): (err: unknown) => undefined {
  return (err) => {
    if (optional && isStatus(err, 404)) return undefined;
    throw err;
  };
}
