/**
 * The new-annotations trigger (`spec.triggers.newAnnotations: {minDocuments}`): retrain when that many validated
 * documents were stored by the target NerDeployment's feedback store since the last run started.
 *
 * How it counts. The operator mounts no volumes, so it cannot read the store's manifests; a Job per evaluation
 * just to count would cost a pod every interval. Every serving pod already counts what it stored,
 * `nerops_feedback_documents_total{stored="true"}`, so the count is one PromQL `increase()` over the window from
 * `status.annotations.since` to now, summed over every pod of both tracks (a correction is training data
 * whichever model answered it). `increase()` is reset-safe: a restarted or replaced pod is a new series starting
 * at 0 (the server initialises the counter), and a counter reset inside a series is compensated. `since` moves
 * to the start of every run (whatever triggered it, since every run exports the whole store), so one crossing
 * starts one run: after it the count starts again from 0. The measurement is tagged with the `since` it was
 * taken for, and one taken for an older `since` is ignored.
 *
 * Limits: documents older than Prometheus' retention are not counted (the trigger then fires late, never
 * twice), and `increase()` extrapolates, so the count is rounded to whole documents.
 */
import { ServerMetric } from '../../../contracts/metrics.js';
import type { AnnotationCount, NewAnnotations } from '../../api/driftpolicy.js';
import { labelMatchers, PrometheusError, type MetricsQuerier } from '../../prometheus/client.js';
import { formatTime } from '../../runtime/conditions.js';

/** The stored-documents count since `since`, or why it could not be measured. */
export type AnnotationMeasurement =
  { ok: true; since: string; documents: number } | { ok: false; since: string; message: string };

/** Seconds from `since` to `now`, at least 1 (PromQL refuses an empty range). */
export function rangeSeconds(since: string, now: Date): number {
  return Math.max(1, Math.ceil((now.getTime() - Date.parse(since)) / 1000));
}

/** Documents the target's pods (both tracks) stored in the last `seconds`. */
export function storedDocumentsQuery(t: { namespace: string; deployment: string }, seconds: number): string {
  const sel = labelMatchers({ namespace: t.namespace, deployment: t.deployment, stored: 'true' });
  return `sum(increase(${ServerMetric.feedbackDocuments}${sel}[${seconds}s]))`;
}

/** Measure the count since `since`; failures become a message, never an exception. */
export async function measureNewAnnotations(
  prometheus: MetricsQuerier | undefined,
  t: { namespace: string; deployment: string },
  since: string,
  now: Date,
): Promise<AnnotationMeasurement> {
  if (!prometheus) return { ok: false, since, message: 'no Prometheus is configured' };
  try {
    const r = await prometheus.query(storedDocumentsQuery(t, rangeSeconds(since, now)));
    // No series: no pod has reported storing anything in the window.
    const v = r.value;
    return { ok: true, since, documents: v !== undefined && Number.isFinite(v) ? Math.max(0, Math.round(v)) : 0 };
  } catch (err) {
    const message = err instanceof PrometheusError ? `${err.reason}: ${err.message}` : (err as Error).message;
    return { ok: false, since, message: message.slice(0, 200) };
  }
}

/** What the trigger decided: the count for status, and why a run is wanted (undefined: not yet). */
export interface AnnotationsDecision {
  count: AnnotationCount | undefined;
  why?: string;
}

/**
 * Pure: the trigger's status and whether it wants a run. Without the trigger, nothing (and the old count is
 * dropped). First sight starts counting now. A measurement taken for another `since` (a run started since)
 * counts for nothing.
 */
export function decideNewAnnotations(
  trigger: NewAnnotations | undefined,
  prev: AnnotationCount | undefined,
  measured: AnnotationMeasurement | undefined,
  now: Date,
): AnnotationsDecision {
  if (!trigger) return { count: undefined };
  if (!prev) return { count: { since: formatTime(now) } };
  if (!measured || measured.since !== prev.since || !measured.ok) return { count: prev };
  const count: AnnotationCount = { since: prev.since, documents: measured.documents };
  if (measured.documents < trigger.minDocuments) return { count };
  return {
    count,
    why: `${measured.documents} new feedback documents stored since ${prev.since} (minDocuments ${trigger.minDocuments})`,
  };
}
