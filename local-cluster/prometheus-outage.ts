/**
 * Makes the cluster's Prometheus unreachable from the pods, and reachable again, for the scenarios
 * that check what the operator does without its metrics. On the local real node Prometheus runs on
 * the host, so an iptables rule rejects the pod network's connections to it; on kind it runs in the
 * cluster, so its Deployment scales to zero (the Service then refuses connections) and back.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ClusterInfo } from './cluster.js';
import { KIND_PROMETHEUS_NAMESPACE } from './kind.js';

const execFileAsync = promisify(execFile);

/** The iptables rule that rejects the pod network's connections to the host's Prometheus. */
export function rejectRule(info: ClusterInfo): string[] {
  if (!info.prometheusUrl) throw new Error('the cluster runs no Prometheus');
  const url = new URL(info.prometheusUrl);
  return ['INPUT', '-s', info.podSubnet ?? '10.244.0.0/24', '-d', url.hostname, '-p', 'tcp', '--dport', url.port];
}

async function scalePrometheus(info: ClusterInfo, replicas: number): Promise<void> {
  const kubectl = (...args: string[]) =>
    execFileAsync(info.tools.kubectl, ['--kubeconfig', info.kubeconfigPath, '-n', KIND_PROMETHEUS_NAMESPACE, ...args]);
  await kubectl('scale', 'deployment/prometheus', `--replicas=${replicas}`);
  if (replicas > 0) await kubectl('rollout', 'status', 'deployment/prometheus', '--timeout=300s');
  else await kubectl('wait', '--for=delete', 'pod', '-l', 'app=prometheus', '--timeout=120s');
}

export class PrometheusOutage {
  #active = false;

  constructor(private readonly info: ClusterInfo) {}

  async begin(): Promise<void> {
    if (this.info.provider === 'kind') await scalePrometheus(this.info, 0);
    else await execFileAsync('iptables', ['-I', ...rejectRule(this.info), '-j', 'REJECT']);
    this.#active = true;
  }

  /** Idempotent: safe in an afterAll whether or not begin() ran. */
  async end(): Promise<void> {
    if (!this.#active) return;
    if (this.info.provider === 'kind') await scalePrometheus(this.info, 1);
    else {
      // Delete every copy of the rule (-D removes one per call; it fails once none is left).
      const del = () =>
        execFileAsync('iptables', ['-D', ...rejectRule(this.info), '-j', 'REJECT']).then(
          () => true,
          () => false,
        );
      while (await del());
    }
    this.#active = false;
  }
}
