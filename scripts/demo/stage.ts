/**
 * The stage the demo and the drift benchmark play on, the way users run nerops: the `real` profile of
 * local-cluster (containerd, kubelet, kube-proxy, CoreDNS, a default StorageClass, Prometheus on the
 * node), a namespace, and the operator installed by `helm install` of charts/nerops (its CRDs, its
 * ServiceAccount and RBAC, the `nerops:dev` image; never as admin). Model bundles and datasets go on
 * claims of the default StorageClass through a loader pod (`kubectl cp`), named by `pvc://` URIs.
 * Manifests are written to `<work>/manifests` and applied with kubectl. `stop()` saves the operator's
 * and the pods' logs to `<work>/` and stops everything it started (also on a failed start).
 */
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { KubeClient } from '../../operator/runtime/kube.js';
import { builtin, resourcePath, type ResourceType } from '../../operator/runtime/resource.js';
import { ensureBinaries } from '../../local-cluster/binaries.js';
import { startCluster, type Cluster } from '../../local-cluster/cluster.js';
import { prometheusBinary } from '../../local-cluster/prometheus.js';
import { installOperator } from '../../local-cluster/chart-install.js';
import { claimWithLoader, putOnClaim } from '../../local-cluster/workloads.js';
import type { Manifest } from './objects.js';

/** The repository root (this file runs from dist/scripts/demo/). */
export const repoRoot = resolve(import.meta.dirname, '..', '..', '..');

/** The Helm release and its namespace, as the README's install section names them. */
export const RELEASE = 'nerops';
export const OPERATOR_NAMESPACE = 'nerops-system';

export interface StageOptions {
  /** Work directory: cluster state, manifests, logs. */
  work: string;
  namespace: string;
  /** Progress lines. */
  log: (line: string) => void;
}

export class LocalStage {
  cluster!: Cluster;
  kube!: KubeClient;
  #core!: CoreV1Api;
  #loaders = new Map<string, string>();
  #stopping = false;

  constructor(readonly opts: StageOptions) {}

  get namespace(): string {
    return this.opts.namespace;
  }

  /** Where stop() saves the operator pod's log. */
  get operatorLog(): string {
    return join(this.opts.work, 'operator.log');
  }

  /** Cluster up, namespace created, the operator installed by Helm and ready; `claims` bound, with loaders. */
  async start(claims: readonly string[] = []): Promise<void> {
    const { work, namespace, log } = this.opts;
    await mkdir(join(work, 'manifests'), { recursive: true });
    prometheusBinary(); // fail now, with the install command, rather than after a long build
    await ensureBinaries((l) => log(l.trimEnd()));
    this.cluster = await startCluster({
      profile: 'real',
      stateDir: join(work, 'cluster'),
      log: (l) => /building|images loaded/.test(l) && log(l),
    });
    this.kube = new KubeClient(this.cluster.kubeConfig, { userAgent: 'nerops-demo' });
    this.#core = this.cluster.kubeConfig.makeApiClient(CoreV1Api);
    log(
      `cluster up in ${(this.cluster.startMs / 1000).toFixed(1)} s (node ${this.cluster.realNodeName}); export KUBECONFIG=${this.cluster.kubeconfigPath}`,
    );
    log(`Prometheus ${this.cluster.prometheusUrl} (discovers and scrapes every pod every second)`);
    log(await this.kubectl('create', 'namespace', namespace));
    await this.#waitDefaultServiceAccount();
    const t = Date.now();
    log(
      `helm install ${RELEASE} charts/nerops -n ${OPERATOR_NAMESPACE} --create-namespace --set image.tag=dev --set image.pullPolicy=Never --set prometheus.url=${this.cluster.prometheusUrl} --wait`,
    );
    await Promise.all([
      installOperator(this.cluster, { release: RELEASE, namespace: OPERATOR_NAMESPACE, scope: 'cluster' }).then(() =>
        log(
          `  operator ready in ${((Date.now() - t) / 1000).toFixed(1)} s (CRDs, ServiceAccount and RBAC of the chart, image nerops:dev)`,
        ),
      ),
      ...claims.map(async (claim) => {
        this.#loaders.set(claim, await claimWithLoader(this.cluster, this.#core, namespace, claim));
        log(`  claim ${claim} (StorageClass standard) bound, loader pod ${claim}-loader running`);
      }),
    ]);
  }

  /** Copies the local file or directory `from` to `<claim>/<to>` with `kubectl cp`; returns its `pvc://` URI. */
  async put(claim: string, from: string, to: string): Promise<string> {
    const loader = this.#loaders.get(claim);
    if (!loader) throw new Error(`no claim ${claim} on the stage (start([...claims]))`);
    await putOnClaim(this.cluster, this.namespace, loader, from, to);
    this.opts.log(`kubectl cp ${from.replace(`${repoRoot}/`, '')} ${this.namespace}/${loader}:/data/${to}`);
    return `pvc://${claim}/${to}`;
  }

  /** An empty directory `<claim>/<path>`; returns its `pvc://` URI. */
  async mkdir(claim: string, path: string): Promise<string> {
    await this.kubectl(
      '-n',
      this.namespace,
      'exec',
      this.#loaders.get(claim) ?? `${claim}-loader`,
      '--',
      'mkdir',
      '-p',
      `/data/${path}`,
    );
    return `pvc://${claim}/${path}`;
  }

  async kubectl(...args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(
      this.cluster.binaries.kubectl,
      ['--kubeconfig', this.cluster.kubeconfigPath, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
    );
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

  /** Logs of the operator (`<work>/operator.log`) and of the namespace's pods (`<work>/pods/`), then the cluster. Idempotent. */
  async stop(): Promise<void> {
    const cluster = this.cluster;
    if (!cluster || this.#stopping) return;
    this.#stopping = true;
    await this.#saveLogs().catch((err: unknown) => this.opts.log(`saving logs: ${(err as Error).message}`));
    this.kube?.close();
    await cluster.stop();
  }

  async #saveLogs(): Promise<void> {
    const dir = join(this.opts.work, 'pods');
    await mkdir(dir, { recursive: true });
    const logs = (ns: string, what: string) =>
      this.kubectl('-n', ns, 'logs', what, '--all-containers', '--tail=-1').catch(
        (err: Error) => `(no log: ${err.message})`,
      );
    await writeFile(this.operatorLog, await logs(OPERATOR_NAMESPACE, `deployment/${RELEASE}`));
    const pods = await this.list<V1Pod>(builtin.pods).catch(() => []);
    await Promise.all(
      pods.map(async (p) =>
        writeFile(join(dir, `${p.metadata?.name}.log`), await logs(this.namespace, `pod/${p.metadata?.name}`)),
      ),
    );
  }

  async #waitDefaultServiceAccount(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (
      !(await this.#core
        .readNamespacedServiceAccount({ name: 'default', namespace: this.namespace })
        .catch(() => undefined))
    ) {
      if (Date.now() > deadline) throw new Error(`no default ServiceAccount in ${this.namespace} after 30 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
