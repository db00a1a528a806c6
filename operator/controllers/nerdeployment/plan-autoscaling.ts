/**
 * The autoscaling part of the NerDeployment plan: how many replicas the stable track runs, and the status it
 * owns (`observedRequestRate`, `lastScaleTime`, the MetricsAvailable and ScalingActive conditions).
 * The autoscaler owns spec.replicas of the Deployment we create; without `spec.autoscaling` the track runs
 * `replicas.min`.
 */
import type { NerDeploymentStatus } from '../../api/nerdeployment.js';
import {
  NerDeploymentConditionType as C,
  NerDeploymentEventReason as E,
  NerDeploymentReason as R,
} from '../../api/nerdeployment-constants.js';
import type { EventSpec } from '../../runtime/client.js';
import { findCondition, formatTime } from '../../runtime/conditions.js';
import { decideReplicas, type AutoscaleDecision, type RateMeasurement, type Recommendation } from './autoscale.js';
import { removed, setTo, type ConditionChange } from './condition-changes.js';
import type { DeploymentObserved } from './observed.js';
import { externalReplicas, scaleStatus } from './scale.js';

/** How often the request rate is re-read while autoscaling is on. */
export const DEFAULT_METRICS_INTERVAL_MS = 10_000;

export interface AutoscalingPart {
  /** Replicas of the stable track. */
  desired: number;
  /** Recommendations to keep for the next decision. */
  history: Recommendation[];
  status: Pick<NerDeploymentStatus, 'observedRequestRate' | 'lastScaleTime' | 'scale'>;
  conditions: ConditionChange[];
  events: EventSpec[];
  requeueAfterMs?: number;
}

function scalingReason(d: AutoscaleDecision, m: RateMeasurement): string {
  switch (d.action) {
    case 'ScaleUp':
      return R.ScaledUp;
    case 'ScaleDown':
      return R.ScaledDown;
    case 'ScaleDownPending':
      return R.ScaleDownStabilizing;
    case 'HoldNoMetrics':
      return m.ok ? R.MetricsQueried : m.reason;
    default:
      return R.MetricsQueried;
  }
}

/** MetricsAvailable from the measurement, with an Event on each transition. */
function metricsAvailability(o: DeploymentObserved, m: RateMeasurement, desired: number, part: AutoscalingPart): void {
  const wasAvailable = findCondition(o.nd.status?.conditions, C.MetricsAvailable)?.status;
  if (m.ok) {
    part.status.observedRequestRate = Math.round(m.rate * 100) / 100;
    part.conditions.push(
      setTo(
        C.MetricsAvailable,
        'True',
        R.MetricsQueried,
        `${part.status.observedRequestRate} req/s over the stable pods`,
      ),
    );
    if (wasAvailable === 'False')
      part.events.push({ type: 'Normal', reason: E.MetricsRecovered, note: 'request rate measurable again' });
  } else {
    part.conditions.push(setTo(C.MetricsAvailable, 'False', m.reason, `${m.message}; holding ${desired} replicas`));
    if (wasAvailable !== 'False')
      part.events.push({
        type: 'Warning',
        reason: E.MetricsUnavailable,
        note: `${m.message}; holding ${desired} replicas`.slice(0, 300),
      });
  }
}

/**
 * Plan the stable track's replicas. `serving`: whether some model is (or will be) served, so a changed
 * count is a real scale event. The count we last decided (status) is the reference, not the live
 * Deployment: a hand edit of spec.replicas is reverted rather than adopted.
 */
export function planAutoscaling(o: DeploymentObserved, serving: boolean): AutoscalingPart {
  const { nd, now } = o;
  const prev = nd.status ?? {};
  const { min, max } = nd.spec.replicas;
  const current = o.deployment ? prev.replicas?.stable?.desired || o.deployment.spec?.replicas : undefined;
  const auto = nd.spec.autoscaling;
  const part: AutoscalingPart = {
    desired: auto ? Math.min(max, Math.max(min, current ?? min)) : min,
    history: [],
    status: { ...(prev.lastScaleTime !== undefined ? { lastScaleTime: prev.lastScaleTime } : {}) },
    conditions: [],
    events: [],
  };
  part.status.scale = scaleStatus(o);
  if (auto?.mode === 'External') return planExternal(o, current, part);
  if (!auto || !o.measurement) {
    part.conditions.push(removed(C.MetricsAvailable), removed(C.ScalingActive));
    return part;
  }
  const m = o.measurement;
  // A failed measurement keeps the last rate it measured.
  if (prev.observedRequestRate !== undefined) part.status.observedRequestRate = prev.observedRequestRate;
  const d = decideReplicas({ now, current, min, max, policy: auto, measurement: m, history: o.history });
  part.desired = d.desired;
  part.history = d.history;
  part.requeueAfterMs = o.metricsIntervalMs ?? DEFAULT_METRICS_INTERVAL_MS;
  metricsAvailability(o, m, d.desired, part);
  part.conditions.push(
    setTo(C.ScalingActive, d.action === 'HoldNoMetrics' ? 'False' : 'True', scalingReason(d, m), d.message),
  );
  if (serving && current !== undefined && d.desired !== current) {
    part.status.lastScaleTime = formatTime(now);
    part.events.push({ type: 'Normal', reason: E.Scaled, note: d.message.slice(0, 300) });
  }
  return part;
}

/**
 * `External` mode: an HPA or KEDA owns the count through the `/scale` subresource; the operator takes
 * spec.replicas.desired (clamped into [min, max]) and measures nothing itself.
 */
function planExternal(o: DeploymentObserved, current: number | undefined, part: AutoscalingPart): AutoscalingPart {
  const { min, max, desired } = o.nd.spec.replicas;
  const d = externalReplicas(desired, min, max);
  part.desired = d.replicas;
  part.conditions.push(removed(C.MetricsAvailable), setTo(C.ScalingActive, 'True', R.ExternalScaler, d.message));
  if (current !== undefined && d.replicas !== current) {
    part.status.lastScaleTime = formatTime(o.now);
    part.events.push({ type: 'Normal', reason: E.Scaled, note: `scaling ${current} → ${d.replicas}: ${d.message}` });
  }
  return part;
}
