/**
 * The operator's own Prometheus metrics, on a registry per operator instance (two instances in one test
 * process do not collide).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry: Registry;
  /** Reconciles finished, by controller and result (success, requeue, conflict, error, notfound). */
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  /** Reconciles that failed with an error other than NotFound/Conflict. */
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileDuration: Histogram<'controller'>;
  /** Keys waiting in a controller's queue. */
  readonly queueDepth: Gauge<'controller'>;
  /** Watch events received, by resource and informer event type. */
  readonly watchEvents: Counter<'resource' | 'type'>;
  /** Watch restarts, by resource and reason (error, watchdog, expired). */
  readonly watchRestarts: Counter<'resource' | 'reason'>;
  /** Objects in each informer cache. */
  readonly cacheObjects: Gauge<'resource'>;
  /** 1 while this instance holds the leader lease (or leader election is off), else 0. */
  readonly leader: Gauge;
  /** API requests by verb and status code (0 = no response). */
  readonly apiRequests: Counter<'verb' | 'code'>;
  /** Writes by kind and operation; `skipped` counts writes avoided because nothing changed. */
  readonly writes: Counter<'kind' | 'op'>;
  readonly writesSkipped: Counter<'kind' | 'op'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'nerops_operator_' });
    const r = [registry];
    this.reconcileTotal = new Counter({
      name: 'nerops_operator_reconcile_total',
      help: 'Reconciles finished, by result',
      labelNames: ['controller', 'result'],
      registers: r,
    });
    this.reconcileErrors = new Counter({
      name: 'nerops_operator_reconcile_errors_total',
      help: 'Reconciles that failed and were retried with backoff',
      labelNames: ['controller'],
      registers: r,
    });
    this.reconcileDuration = new Histogram({
      name: 'nerops_operator_reconcile_duration_seconds',
      help: 'Reconcile duration',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    });
    this.queueDepth = new Gauge({
      name: 'nerops_operator_queue_depth',
      help: 'Keys waiting in the work queue',
      labelNames: ['controller'],
      registers: r,
    });
    this.watchEvents = new Counter({
      name: 'nerops_operator_watch_events_total',
      help: 'Informer events',
      labelNames: ['resource', 'type'],
      registers: r,
    });
    this.watchRestarts = new Counter({
      name: 'nerops_operator_watch_restarts_total',
      help: 'Watch restarts by reason',
      labelNames: ['resource', 'reason'],
      registers: r,
    });
    this.cacheObjects = new Gauge({
      name: 'nerops_operator_cache_objects',
      help: 'Objects in the informer cache',
      labelNames: ['resource'],
      registers: r,
    });
    this.leader = new Gauge({
      name: 'nerops_operator_leader',
      help: '1 while this instance is the leader',
      registers: r,
    });
    this.apiRequests = new Counter({
      name: 'nerops_operator_api_requests_total',
      help: 'Kubernetes API requests',
      labelNames: ['verb', 'code'],
      registers: r,
    });
    this.writes = new Counter({
      name: 'nerops_operator_writes_total',
      help: 'Writes to the API server',
      labelNames: ['kind', 'op'],
      registers: r,
    });
    this.writesSkipped = new Counter({
      name: 'nerops_operator_writes_skipped_total',
      help: 'Writes skipped because nothing changed',
      labelNames: ['kind', 'op'],
      registers: r,
    });
  }
}
