/** The NerDeployment controller's metrics on the operator's /metrics registry. */
import { Counter, Gauge, Registry } from 'prom-client';
import type { NerDeploymentStatus } from '../../api/nerdeployment.js';

/**
 * Rollout metrics for alerts and dashboards (charts/nerops PrometheusRule and Grafana dashboard):
 * the canary weight in effect and the number of rollbacks, per NerDeployment.
 */
export class RolloutMetrics {
  readonly canaryWeight: Gauge<'namespace' | 'nerdeployment'>;
  readonly rollbacks: Counter<'namespace' | 'nerdeployment'>;

  constructor(registry: Registry = new Registry()) {
    const registers = [registry];
    this.canaryWeight = new Gauge({
      name: 'nerops_operator_canary_weight',
      help: 'Percent of traffic on the canary track (0 without a rollout)',
      labelNames: ['namespace', 'nerdeployment'],
      registers,
    });
    this.rollbacks = new Counter({
      name: 'nerops_operator_rollbacks_total',
      help: 'Canary rollouts aborted and rolled back to stable',
      labelNames: ['namespace', 'nerdeployment'],
      registers,
    });
  }

  /** Record a status written for a NerDeployment; `previousPhase` is the phase before the write. */
  observe(namespace: string, name: string, previousPhase: string | undefined, status: NerDeploymentStatus): void {
    const labels = { namespace, nerdeployment: name };
    this.canaryWeight.set(labels, status.weights?.canary ?? 0);
    if (status.phase === 'RolledBack' && previousPhase !== 'RolledBack') this.rollbacks.inc(labels);
  }

  forget(namespace: string, name: string): void {
    this.canaryWeight.remove({ namespace, nerdeployment: name });
  }
}
