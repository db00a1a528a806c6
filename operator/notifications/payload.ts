/**
 * What a notification says: the Event (reason, type, note — operator-written text that never carries
 * request text) and the object's *current* state as the operator just wrote it, so a receiver never has to
 * call back into the cluster. Pure: the notifier supplies the object (with its new status), the digests of
 * the models it names, and the time.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { DriftPolicy } from '../api/driftpolicy.js';
import type { NerDeployment } from '../api/nerdeployment.js';
import type { NerModel } from '../api/nermodel.js';
import type { EventSpec } from '../runtime/client.js';

export const NOTIFICATION_VERSION = 'nerops.io/notification/v1';

export interface NotificationInput {
  object: KubernetesObject & { status?: unknown; spec?: unknown };
  event: Pick<EventSpec, 'type' | 'reason' | 'note'>;
  /** Verified digests of the NerModels the state names (stable/canary models), by model name. */
  digests: Readonly<Record<string, string>>;
  time: Date;
  /** Unique per notification: receivers deduplicate retried deliveries with it. */
  id: string;
}

export interface Notification {
  version: typeof NOTIFICATION_VERSION;
  id: string;
  time: string;
  event: { reason: string; type: 'Normal' | 'Warning'; note: string };
  object: {
    apiVersion?: string;
    kind: string;
    namespace: string;
    name: string;
    uid?: string;
    generation?: number;
    observedGeneration?: number;
  };
  state: Record<string, unknown>;
}

const model = (name: string | undefined, digests: NotificationInput['digests']) =>
  name ? { name, ...(digests[name] ? { digest: digests[name] } : {}) } : undefined;

function deploymentState(nd: NerDeployment, digests: NotificationInput['digests']): Record<string, unknown> {
  const s = nd.status ?? {};
  const steps = nd.spec.rollout?.steps;
  return {
    phase: s.phase,
    stable: model(s.stableModel, digests),
    canary: model(s.canaryModel, digests),
    step:
      s.canaryModel && s.currentStepIndex !== undefined
        ? { index: s.currentStepIndex + 1, of: steps?.length, weight: steps?.[s.currentStepIndex]?.weight }
        : undefined,
    paused: s.paused,
    weights: s.weights,
    replicas: s.replicas,
    analysis: s.lastAnalysis,
    failedAnalyses: s.failedAnalyses,
    rejectedModel: s.rejectedModel,
    abortReason: s.abortReason,
    lastRollout: s.history?.at(-1),
  };
}

function policyState(p: DriftPolicy): Record<string, unknown> {
  const s = p.status ?? {};
  return {
    state: s.state,
    target: p.spec.targetRef.name,
    evaluation: s.lastEvaluation,
    activeJob: s.activeJob,
    consecutiveFailures: s.consecutiveFailures,
    lastRetraining: s.history?.at(-1),
  };
}

function modelState(m: NerModel): Record<string, unknown> {
  const s = m.status ?? {};
  return {
    phase: s.phase,
    version: m.spec.version,
    family: m.spec.family,
    digest: s.verifiedDigest ?? m.spec.source.digest,
    metrics: s.metrics ? { micro: s.metrics.micro, perType: s.metrics.perType } : undefined,
    lineage: s.lineage ?? m.spec.lineage,
  };
}

/** Drop undefined members so the JSON shows only what is known. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export function buildNotification(i: NotificationInput): Notification {
  const o = i.object;
  const kind = o.kind ?? '';
  const state =
    kind === 'NerDeployment'
      ? deploymentState(o as NerDeployment, i.digests)
      : kind === 'DriftPolicy'
        ? policyState(o as DriftPolicy)
        : kind === 'NerModel'
          ? modelState(o as NerModel)
          : {};
  const observed = (o.status as { observedGeneration?: number } | undefined)?.observedGeneration;
  return {
    version: NOTIFICATION_VERSION,
    id: i.id,
    time: i.time.toISOString(),
    event: { reason: i.event.reason, type: i.event.type, note: i.event.note },
    object: {
      ...(o.apiVersion ? { apiVersion: o.apiVersion } : {}),
      kind,
      namespace: o.metadata?.namespace ?? '',
      name: o.metadata?.name ?? '',
      ...(o.metadata?.uid ? { uid: o.metadata.uid } : {}),
      ...(o.metadata?.generation !== undefined ? { generation: o.metadata.generation } : {}),
      ...(observed !== undefined ? { observedGeneration: observed } : {}),
    },
    state: compact(state),
  };
}

/** Drift alerts a DriftResolved ends (Alertmanager resolves an alert whose endsAt has passed). */
const RESOLVES: Readonly<Record<string, readonly string[]>> = { DriftResolved: ['DriftWarning', 'DriftCritical'] };

/** How long an Alertmanager alert of a one-off transition stays firing unless resolved earlier. */
export const ALERT_LIFETIME_MS = 60 * 60_000;

/**
 * The same notification as Alertmanager API v2 alerts (`POST /api/v2/alerts`): one alert named
 * `Nerops<Reason>`, labelled by namespace, kind and name; and for DriftResolved, the drift alerts of the
 * object with `endsAt` now, so they resolve.
 */
export function alertmanagerAlerts(n: Notification): Array<Record<string, unknown>> {
  const labels = (reason: string) => ({
    alertname: `Nerops${reason}`,
    severity: n.event.type === 'Warning' ? 'warning' : 'info',
    namespace: n.object.namespace,
    kind: n.object.kind,
    name: n.object.name,
  });
  const annotations = { summary: n.event.note, state: JSON.stringify(n.state).slice(0, 8192) };
  const start = Date.parse(n.time);
  const alerts: Array<Record<string, unknown>> = [
    {
      labels: labels(n.event.reason),
      annotations,
      startsAt: n.time,
      endsAt: new Date(start + ALERT_LIFETIME_MS).toISOString(),
    },
  ];
  for (const reason of RESOLVES[n.event.reason] ?? [])
    alerts.push({ labels: { ...labels(reason), severity: 'warning' }, annotations, endsAt: n.time });
  return alerts;
}
