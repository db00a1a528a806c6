/**
 * The local stage the demo and the drift benchmark play on: a full local cluster (test/cluster), the
 * nerops CRDs, a namespace, and `ner-ops operator` running as its own process — the way a user would run
 * it against a real cluster. Manifests are written to `<work>/manifests` and applied with kubectl.
 * `stop()` stops everything it started (also on a failed start).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { KubeClient } from '../../operator/src/runtime/kube.js';
import { resourcePath, type ResourceType } from '../../operator/src/runtime/resource.js';
import { ensureBinaries } from '../../test/cluster/binaries.js';
import { startCluster, type Cluster } from '../../test/cluster/cluster.js';
import { prometheusBinary } from '../../test/cluster/prometheus.js';
import type { Manifest } from './objects.js';

/** The repository root (this file runs from dist/scripts/demo/). */
export const repoRoot = resolve(import.meta.dirname, '..', '..', '..');

export interface StageOptions {
  /** Work directory: cluster state, manifests, operator log. */
  work: string;
  namespace: string;
  /** Progress lines. */
  log: (line: string) => void;
}

export class LocalStage {
  cluster!: Cluster;
  kube!: KubeClient;
  #operator: ChildProcess | undefined;

  constructor(readonly opts: StageOptions) {}

  get namespace(): string {
    return this.opts.namespace;
  }

  get operatorLog(): string {
    return join(this.opts.work, 'operator.log');
  }

  /** Cluster up, CRDs established, namespace created, operator started. */
  async start(): Promise<void> {
    const { work, namespace, log } = this.opts;
    await mkdir(join(work, 'manifests'), { recursive: true });
    prometheusBinary(); // fail now, with the install command, rather than after a long build
    await ensureBinaries((l) => log(l.trimEnd()));
    this.cluster = await startCluster({ profile: 'full', stateDir: join(work, 'cluster') });
    this.kube = new KubeClient(this.cluster.kubeConfig, { userAgent: 'nerops-demo' });
    log(`cluster up in ${(this.cluster.startMs / 1000).toFixed(1)} s; export KUBECONFIG=${this.cluster.kubeconfigPath}`);
    log(`Prometheus ${this.cluster.prometheusUrl} (scrapes every pod every second)`);
    log(await this.kubectl('apply', '--server-side', '-f', join(repoRoot, 'crds')));
    await this.kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd/nermodels.nerops.io', 'crd/nerdeployments.nerops.io', 'crd/driftpolicies.nerops.io');
    log(await this.kubectl('create', 'namespace', namespace));
    const out = createWriteStream(this.operatorLog);
    const args = ['operator', '--kubeconfig', this.cluster.kubeconfigPath, '--prometheus-url', this.cluster.prometheusUrl ?? '', '--namespace', namespace, '--leader-elect', 'false', '--metrics-host', '127.0.0.1', '--metrics-port', '0'];
    const operator = spawn(process.execPath, [join(repoRoot, 'dist', 'cli', 'ner-ops.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    operator.stdout.pipe(out);
    operator.stderr.pipe(out);
    operator.once('exit', (code) => code !== null && code !== 0 && log(`operator exited with ${code}; see ${this.operatorLog}`));
    this.#operator = operator;
    log(`ner-ops operator --namespace ${namespace} --prometheus-url … (log: ${this.operatorLog.replace(`${repoRoot}/`, '')})`);
  }

  async kubectl(...args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(this.cluster.binaries.kubectl, ['--kubeconfig', this.cluster.kubeconfigPath, ...args]);
    return stdout.trim();
  }

  /** Write the manifest to `<work>/manifests` and `kubectl apply` it, as a user would. */
  async apply(m: Manifest): Promise<void> {
    const file = join(this.opts.work, 'manifests', `${m.kind?.toLowerCase()}-${m.metadata.name}.yaml`);
    await writeFile(file, yaml.dump(m, { lineWidth: 120 }));
    this.opts.log(`kubectl apply -f ${file.replace(`${repoRoot}/`, '')}`);
    this.opts.log(`  ${await this.kubectl('apply', '-n', this.namespace, '-f', file)}`);
  }

  get<T>(rt: ResourceType, name: string): Promise<T> {
    return this.kube.request<T>({ method: 'GET', path: resourcePath(rt, this.namespace, name) });
  }

  async list<T>(rt: ResourceType): Promise<T[]> {
    return (await this.kube.request<{ items: T[] }>({ method: 'GET', path: resourcePath(rt, this.namespace) })).items;
  }

  /** Operator first (SIGTERM, 5 s), then the cluster. Idempotent. */
  async stop(): Promise<void> {
    const op = this.#operator;
    this.#operator = undefined;
    if (op && op.exitCode === null) {
      op.kill('SIGTERM');
      await Promise.race([new Promise((r) => op.once('exit', r)), new Promise((r) => setTimeout(r, 5000).unref())]);
      if (op.exitCode === null) op.kill('SIGKILL');
    }
    this.kube?.close();
    await this.cluster?.stop();
  }
}
