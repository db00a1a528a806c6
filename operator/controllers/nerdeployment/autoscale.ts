/**
 * Autoscaling on the request rate, the in-flight requests and a p95 latency guardrail, as one pure function
 * with an injected clock.
 *
 * - per signal with a target: recommendation = ceil(observed / target); the largest one wins (as an HPA does
 *   over several metrics), within [min, max];
 * - inside a signal's tolerance band (|observed / (current · target) − 1| ≤ tolerance) it recommends the
 *   current count;
 * - the p95 guardrail: when the measured p95 exceeds `maxP95LatencyMs`, at least one more replica, whatever
 *   the rate or concurrency say (a latency without traffic is no data and never triggers it);
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

function trackSelector(nd: NerDeployment, track: string): string {
  return labelMatchers({ namespace: nd.metadata.namespace ?? '', deployment: nd.metadata.name ?? '', track });
}

/** PromQL: requests/s of a track, summed over its pods (rates of counters add; gauges are never averaged). */
export function requestRateQuery(nd: NerDeployment, windowSeconds: number, track = 'stable'): string {
  return `sum(rate(${ServerMetric.requests}${trackSelector(nd, track)}[${windowSeconds}s]))`;
}

/** PromQL: requests in flight on a track, summed over its pods (the total concurrency, never a per-pod mean). */
export function inFlightQuery(nd: NerDeployment, track = 'stable'): string {
  return `sum(${ServerMetric.inflight}${trackSelector(nd, track)})`;
}

/** PromQL: p95 request latency of a track in seconds, from the histogram buckets summed over its pods. */
export function p95LatencyQuery(nd: NerDeployment, windowSeconds: number, track = 'stable'): string {
  return `histogram_quantile(0.95, sum by (le) (rate(${ServerMetric.requestDuration}_bucket${trackSelector(nd, track)}[${windowSeconds}s])))`;
}

/** One recommendation kept for the scale-down stabilization window. */
export interface Recommendation {
  /** Epoch milliseconds of the observation. */
  timeMs: number;
  replicas: number;
}

/**
 * The signals as measured, or why they could not be. `inFlight` is undefined when not asked for or without
 * a series (then a concurrency target holds the count); `p95Seconds` is undefined without traffic.
 */
export type RateMeasurement =
  { ok: true; rate: number; inFlight?: number; p95Seconds?: number } | { ok: false; reason: string; message: string };

export interface AutoscaleInput {
  now: Date;
  /** Replicas currently asked of the Deployment (its spec.replicas); undefined when it does not exist yet. */
  current: number | undefined;
  min: number;
  max: number;
  policy: Pick<
    Autoscaling,
    | 'targetRequestsPerSecond'
    | 'targetInFlightPerReplica'
    | 'maxP95LatencyMs'
    | 'tolerance'
    | 'scaleUpMaxStep'
    | 'scaleDownStabilizationSeconds'
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

interface SignalRecommendation {
  replicas: number;
  /** What was measured, for the message. */
  text: string;
}

/** One recommendation per signal that has a target (within its tolerance band: the current count). */
function signalRecommendations(
  m: { rate: number; inFlight?: number },
  policy: AutoscaleInput['policy'],
  current: number,
): SignalRecommendation[] {
  const out: SignalRecommendation[] = [];
  const one = (observed: number, target: number, unit: string) => {
    const ratio = observed / (current * target);
    // Within the tolerance band the current count is the recommendation (no flapping around the target).
    const replicas = Math.abs(ratio - 1) <= policy.tolerance ? current : Math.ceil(observed / target - 1e-9);
    out.push({ replicas, text: `${fmt(observed)} ${unit} for a target of ${fmt(target)}/replica` });
  };
  if (policy.targetRequestsPerSecond !== undefined) one(Math.max(0, m.rate), policy.targetRequestsPerSecond, 'req/s');
  if (policy.targetInFlightPerReplica !== undefined)
    one(Math.max(0, m.inFlight ?? 0), policy.targetInFlightPerReplica, 'in flight');
  return out;
}

/** The guardrail's message when the p95 latency exceeds its limit. */
function latencyBreach(m: { p95Seconds?: number }, policy: AutoscaleInput['policy']): string | undefined {
  if (policy.maxP95LatencyMs === undefined || m.p95Seconds === undefined || !Number.isFinite(m.p95Seconds))
    return undefined;
  const ms = m.p95Seconds * 1000;
  return ms > policy.maxP95LatencyMs ? `p95 ${fmt(ms)} ms > maxP95LatencyMs ${policy.maxP95LatencyMs}` : undefined;
}

/** Holding the current count because a signal the policy needs is missing. */
function holdNoMetrics(current: number, clamped: boolean, why: string): AutoscaleDecision {
  return {
    desired: current,
    action: clamped ? 'Clamp' : 'HoldNoMetrics',
    history: [],
    message: `holding ${current} replicas: ${why}`,
  };
}

/**
 * The recommendations inside the scale-down window, plus the newest one at or before its start, which
 * proves the window is covered.
 */
function stabilizationWindow(
  past: readonly Recommendation[],
  latest: Recommendation,
  windowMs: number,
): { history: Recommendation[]; covered: boolean } {
  const all = [...past.filter((h) => h.timeMs <= latest.timeMs), latest];
  const start = latest.timeMs - windowMs;
  let anchor = -1;
  for (let i = 0; i < all.length; i++) if ((all[i] as Recommendation).timeMs <= start) anchor = i;
  return { history: anchor >= 0 ? all.slice(anchor) : all, covered: anchor >= 0 || windowMs === 0 };
}

/** Decide the replica count. Pure: same input, same output. */
export function decideReplicas(input: AutoscaleInput): AutoscaleDecision {
  const { min, max, policy, measurement } = input;
  const nowMs = input.now.getTime();
  const current = clamp(input.current ?? min, min, max);
  const clamped = input.current !== undefined && current !== input.current;

  if (!measurement.ok) return holdNoMetrics(current, clamped, measurement.message);
  // A concurrency target without a concurrency series is a lost metric: hold, as for the rate.
  if (policy.targetInFlightPerReplica !== undefined && measurement.inFlight === undefined)
    return holdNoMetrics(current, clamped, 'no in-flight series for the stable pods');
  const signals = signalRecommendations(measurement, policy, current);
  const breach = latencyBreach(measurement, policy);
  const raw = Math.max(0, ...signals.map((x) => x.replicas), breach ? current + 1 : 0);
  const recommendation = clamp(raw, min, max);
  const windowMs = policy.scaleDownStabilizationSeconds * 1000;
  const { history, covered } = stabilizationWindow(
    input.history,
    { timeMs: nowMs, replicas: recommendation },
    windowMs,
  );

  const observed = [...signals.map((x) => x.text), ...(breach ? [breach] : [])].join(', ') || 'no target';
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
