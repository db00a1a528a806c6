/**
 * Prometheus target discovery for the real profile: every running pod with an IP, by the same rules
 * as the process node (scrape-targets.ts: `prometheus.io/*` annotations, else declared TCP ports).
 *
 * Debian's Prometheus is built without Kubernetes service discovery; this loop stands in for
 * `kubernetes_sd_configs` (role: pod) with the usual annotation relabelling, writing a file_sd list.
 * It polls (every `intervalMs`): one list call per second, and no watch to repair.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { writeTargets } from './prometheus.js';
import { scrapeTargets } from './scrape-targets.js';

export class PodDiscovery {
  #timer: NodeJS.Timeout | undefined;
  #last = '';
  #busy = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly targetsFile: string,
  ) {}

  async start(intervalMs = 1000): Promise<void> {
    await writeTargets(this.targetsFile, []);
    this.#timer = setInterval(() => void this.#tick(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const pods = await this.kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      const groups = scrapeTargets(
        pods.items
          // Host-network pods would be scraped on the node's own address: none of ours are.
          .filter((pod) => pod.status?.podIP && !pod.spec?.hostNetwork)
          .map((pod) => ({
            pod,
            podIp: pod.status!.podIP!,
            running: pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp,
          })),
      );
      const text = JSON.stringify(groups);
      if (text !== this.#last) {
        await writeTargets(this.targetsFile, groups);
        this.#last = text;
      }
    } catch {
      // the apiserver is briefly unreachable (start-up, shutdown): the next tick retries
    } finally {
      this.#busy = false;
    }
  }
}
