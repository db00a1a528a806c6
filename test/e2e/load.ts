/**
 * Bounded load for the end-to-end tests: `rate` req/s spread round-robin over the ready pods a
 * NerDeployment's client Service selects (what kube-proxy does in a real cluster; the process node has
 * none), counted per track. One fixed clinical sentence; no request text is ever logged.
 */
import type { KubeClient } from '../../operator/runtime/kube.js';
import { TrafficGenerator } from '../../loadgen/traffic.js';
import { ServiceEndpoints } from '../../local-cluster/service-endpoints.js';

export class Load {
  readonly #endpoints: ServiceEndpoints;
  readonly #traffic: TrafficGenerator;
  constructor(kube: KubeClient, namespace: string, name: string, rate: number) {
    this.#endpoints = new ServiceEndpoints(kube, {
      namespace,
      service: name,
      fallbackSelector: { 'nerops.io/deployment': name },
    });
    this.#traffic = new TrafficGenerator({
      rate,
      targets: this.#endpoints.targets,
      nextText: () => 'History of asthma, started on lisinopril for hypertension.',
    });
  }
  /** 2xx answers by track. */
  get served(): Record<string, number> {
    return this.#traffic.stats.byTrack;
  }
  /** Answers by HTTP status (0: network error or timeout). */
  get codes(): Record<number, number> {
    return this.#traffic.stats.codes;
  }
  async start(): Promise<this> {
    await this.#endpoints.start();
    this.#traffic.start();
    return this;
  }
  stop(): void {
    this.#endpoints.stop();
    void this.#traffic.stop();
  }
}
