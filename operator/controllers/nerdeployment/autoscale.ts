/**
 * Request-rate autoscaling, as one pure function with an injected clock.
 *
 * - desired = ceil(rate / targetRequestsPerSecond), within [min, max];
 * - inside the tolerance band (|rate / (current · target) − 1| ≤ tolerance) nothing changes;
 * - scale up at once, by at most `scaleUpMaxStep` replicas per decision;
 * - scale down only to the highest recommendation seen over the whole stabilization window, and only
 *   once the window is fully covered by observations (after an operator restart or a metrics outage the
 *   window starts again: a scale-down is delayed, never premature);
 * - no measurement (Prometheus unreachable, query refused, no series): hold the current count (only
 *   clamped into [min, max], which a spec change may require) and forget the window.
 */
import type { Autoscaling, NerDeployment } from '../../api/nerdeployment.js';
import { labelMatchers } from '../../prometheus/client.js';
import { ServerMetric } from '../../../contracts/metrics.js';

/** PromQL: requests/s of a track, summed over its pods (rates of counters add; gauges are never averaged). */
export function requestRateQuery(nd: NerDeployment, windowSeconds: number, track = 'stable'): string {
  const sel = labelMatchers({ namespace: nd.metadata.namespace ?? '', deployment: nd.metadata.name ?? '', track });
  return `sum(rate(${ServerMetric.requests}${sel}[${windowSeconds}s]))`;
}

/** One recommendation kept for the scale-down stabilization window. */
export interface Recommendation {
  /** Epoch milliseconds of the observation. */
  timeMs: number;
  replicas: number;
}

/** The request rate as measured, or why it could not be. */
export type RateMeasurement = { ok: true; rate: number } | { ok: false; reason: string; message: string };

export interface AutoscaleInput {
  now: Date;
  /** Replicas currently asked of the Deployment (its spec.replicas); undefined when it does not exist yet. */
  current: number | undefined;
  min: number;
  max: number;
  policy: Pick<
    Autoscaling,
    'targetRequestsPerSecond' | 'tolerance' | 'scaleUpMaxStep' | 'scaleDownStabilizationSeconds'
  >;
  measurement: RateMeasurement;
  /** Recommendations kept from earlier decisions (oldest first). */
  history: readonly Recommendation[];
}

export type AutoscaleAction = 'ScaleUp' | 'ScaleDown' | 'Steady' | 'HoldNoMetrics' | 'ScaleDownPending' | 'Clamp';

export interface AutoscaleDecision {
  desired: number;
  action: AutoscaleAction;
  /** The unstabilized recommendation from the current measurement (absent without data). */
  recommendation?: number;
  /** History to keep for the next decision. */
  history: Recommendation[];
  /** One line for status/events: what was measured and why this count. */
  message: string;
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

function fmt(rate: number): string {
  return rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2);
}

/** Decide the replica count. Pure: same input, same output. */
export function decideReplicas(input: AutoscaleInput): AutoscaleDecision {
  const { min, max, policy, measurement } = input;
  const nowMs = input.now.getTime();
  const current = clamp(input.current ?? min, min, max);
  const clamped = input.current !== undefined && current !== input.current;

  if (!measurement.ok) {
    return {
      desired: current,
      action: clamped ? 'Clamp' : 'HoldNoMetrics',
      history: [],
      message: `holding ${current} replicas: ${measurement.message}`,
    };
  }

  const rate = Math.max(0, measurement.rate);
  const target = policy.targetRequestsPerSecond;
  const ratio = rate / (current * target);
  // Within the tolerance band the current count is the recommendation (no flapping around the target).
  const raw = Math.abs(ratio - 1) <= policy.tolerance ? current : Math.ceil(rate / target - 1e-9);
  const recommendation = clamp(raw, min, max);

  const windowMs = policy.scaleDownStabilizationSeconds * 1000;
  // Keep the observations inside the window plus the newest one at or before its start, which proves
  // the window is covered.
  const all = [...input.history.filter((h) => h.timeMs <= nowMs), { timeMs: nowMs, replicas: recommendation }];
  const start = nowMs - windowMs;
  let anchor = -1;
  for (let i = 0; i < all.length; i++) if ((all[i] as Recommendation).timeMs <= start) anchor = i;
  const history = anchor >= 0 ? all.slice(anchor) : all;
  const covered = anchor >= 0 || windowMs === 0;

  const observed = `${fmt(rate)} req/s for a target of ${fmt(target)}/replica`;
  if (recommendation > current) {
    const desired = Math.min(recommendation, current + policy.scaleUpMaxStep);
    return {
      desired,
      action: 'ScaleUp',
      recommendation,
      history,
      message: `scaling up ${current} → ${desired}: ${observed}`,
    };
  }
  if (recommendation < current) {
    if (!covered) {
      const waitS = Math.ceil(((history[0]?.timeMs ?? nowMs) + windowMs - nowMs) / 1000);
      return {
        desired: current,
        action: 'ScaleDownPending',
        recommendation,
        history,
        message: `${observed} allows ${recommendation}; keeping ${current} for the stabilization window (${waitS}s left)`,
      };
    }
    const stabilized = Math.max(...history.map((h) => h.replicas));
    if (stabilized >= current) {
      return {
        desired: current,
        action: 'ScaleDownPending',
        recommendation,
        history,
        message: `${observed} allows ${recommendation}; the last ${policy.scaleDownStabilizationSeconds}s needed ${stabilized}`,
      };
    }
    return {
      desired: stabilized,
      action: 'ScaleDown',
      recommendation,
      history,
      message: `scaling down ${current} → ${stabilized}: ${observed} for ${policy.scaleDownStabilizationSeconds}s`,
    };
  }
  return {
    desired: current,
    action: clamped ? 'Clamp' : 'Steady',
    recommendation,
    history,
    message: `${current} replicas: ${observed}`,
  };
}
