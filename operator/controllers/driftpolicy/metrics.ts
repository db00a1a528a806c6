/**
 * The DriftPolicy controller's metrics on the operator's /metrics registry:
 * `nerops_drift_signal{namespace,driftpolicy,signal}`, `nerops_operator_driftpolicy_state{namespace,driftpolicy,state}`
 * and `nerops_operator_retraining_runs_total{namespace,driftpolicy,result}`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { DriftStateSchema, type DriftPolicy } from '../../api/driftpolicy.js';

/** The drift metrics, on the operator's registry. */
export class DriftMetrics {
  readonly signal: Gauge<'namespace' | 'driftpolicy' | 'signal'>;
  readonly state: Gauge<'namespace' | 'driftpolicy' | 'state'>;
  readonly runs: Counter<'namespace' | 'driftpolicy' | 'result'>;
  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.signal = new Gauge({
      name: 'nerops_drift_signal',
      help: 'Last value of each drift signal of a DriftPolicy',
      labelNames: ['namespace', 'driftpolicy', 'signal'],
      registers,
    });
    this.state = new Gauge({
      name: 'nerops_operator_driftpolicy_state',
      help: '1 for the current drift state of a DriftPolicy, 0 for the others',
      labelNames: ['namespace', 'driftpolicy', 'state'],
      registers,
    });
    this.runs = new Counter({
      name: 'nerops_operator_retraining_runs_total',
      help: 'Finished retraining runs by result (succeeded, failed)',
      labelNames: ['namespace', 'driftpolicy', 'result'],
      registers,
    });
  }

  /** Signal names exported per policy key, so stale and deleted series can be removed. */
  readonly #signals = new Map<string, Set<string>>();

  /** Sets the gauges of one policy from its status. */
  observe(policy: DriftPolicy): void {
    const labels = { namespace: policy.metadata.namespace ?? '', driftpolicy: policy.metadata.name ?? '' };
    const state = policy.status?.state;
    for (const s of DriftStateSchema.options) this.state.set({ ...labels, state: s }, s === state ? 1 : 0);
    const key = `${labels.namespace}/${labels.driftpolicy}`;
    const seen = new Set<string>();
    for (const s of policy.status?.lastEvaluation?.signals ?? []) {
      if (s.value === undefined) continue;
      this.signal.set({ ...labels, signal: s.name }, s.value);
      seen.add(s.name);
    }
    for (const old of this.#signals.get(key) ?? []) if (!seen.has(old)) this.signal.remove({ ...labels, signal: old });
    this.#signals.set(key, seen);
  }

  /** Removes a deleted policy's series. */
  forget(namespace: string | undefined, name: string): void {
    const labels = { namespace: namespace ?? '', driftpolicy: name };
    for (const s of DriftStateSchema.options) this.state.remove({ ...labels, state: s });
    const key = `${labels.namespace}/${name}`;
    for (const old of this.#signals.get(key) ?? []) this.signal.remove({ ...labels, signal: old });
    this.#signals.delete(key);
  }
}
