/**
 * What kube-proxy would do for a Service, for the process node (which has none): the ready, not
 * terminating pods the Service's selector matches, refreshed every second, as traffic targets. The demo
 * and the end-to-end tests send their load through this, so replica-ratio canaries split traffic the way
 * they would behind a real Service.
 */
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { isNotFound, type KubeClient } from '../operator/runtime/kube.js';
import { builtin, resourcePath } from '../operator/runtime/resource.js';
import type { TrafficTarget } from '../loadgen/traffic.js';

export interface ServiceEndpointsOptions {
  namespace: string;
  service: string;
  /** Selector used while the Service does not exist yet. */
  fallbackSelector?: Record<string, string>;
  /** Container port and route of the targets. Default 8080, `/v1/extract`. */
  port?: number;
  path?: string;
  /** Pod label copied into each target's `track`. Default `nerops.io/track`. */
  trackLabel?: string;
  refreshMs?: number;
}

function selectorString(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

const isReady = (p: V1Pod) =>
  !p.metadata?.deletionTimestamp &&
  !!p.status?.podIP &&
  !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

export class ServiceEndpoints {
  #targets: TrafficTarget[] = [];
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<readonly TrafficTarget[]> | undefined;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: ServiceEndpointsOptions,
  ) {}

  /** The current endpoints (a stable array between refreshes). */
  readonly targets = (): readonly TrafficTarget[] => this.#targets;

  /**
   * One refresh at a time: on a slow API server the 1 s timer would otherwise start a second refresh
   * whose older answer could land after a newer one.
   */
  refresh(): Promise<readonly TrafficTarget[]> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<readonly TrafficTarget[]> {
    const { namespace, service } = this.opts;
    let svc: V1Service | undefined;
    try {
      svc = await this.kube.request<V1Service>({
        method: 'GET',
        path: resourcePath(builtin.services, namespace, service),
      });
    } catch (err) {
      // Only a Service that does not exist (yet) falls back to the broader selector; any other failure
      // keeps the last answer, as kube-proxy does, instead of briefly routing to pods the Service excludes.
      if (!isNotFound(err)) return this.#targets;
    }
    const selector = svc?.spec?.selector ?? this.opts.fallbackSelector;
    if (!selector) return (this.#targets = []);
    const pods = await this.kube
      .request<{ items: V1Pod[] }>({
        method: 'GET',
        path: resourcePath(builtin.pods, namespace),
        query: { labelSelector: selectorString(selector) },
      })
      .then((l) => l.items)
      .catch(() => undefined);
    // A failed list keeps the last answer (kube-proxy keeps its rules when the apiserver blips).
    if (!pods) return this.#targets;
    const trackLabel = this.opts.trackLabel ?? 'nerops.io/track';
    this.#targets = pods.filter(isReady).map((p) => ({
      url: `http://${p.status?.podIP}:${this.opts.port ?? 8080}${this.opts.path ?? '/v1/extract'}`,
      track: p.metadata?.labels?.[trackLabel] ?? '',
    }));
    return this.#targets;
  }

  async start(): Promise<this> {
    await this.refresh();
    this.#timer ??= setInterval(() => void this.refresh(), this.opts.refreshMs ?? 1000);
    return this;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
