/**
 * A namespace's notification receivers: the `receivers.yaml` key of the ConfigMap `nerops-notifications`
 * in that namespace. URLs and tokens live in Secrets the receivers name (a webhook URL often embeds a
 * token), so the ConfigMap holds nothing secret and can sit in Git.
 */
import yaml from 'js-yaml';
import { z } from 'zod';

/** The ConfigMap the operator reads in a namespace where something it reconciles emitted an Event. */
export const NOTIFICATIONS_CONFIGMAP = 'nerops-notifications';
export const NOTIFICATIONS_KEY = 'receivers.yaml';

/**
 * The Event reasons that become notifications unless a receiver lists its own. Other reasons (scaling,
 * metrics recovered, ...) are routine and stay Events only.
 */
export const NOTIFIED_REASONS = [
  // NerDeployment rollouts.
  'RolloutStarted',
  'StepCompleted',
  'RolloutPaused',
  'RolloutResumed',
  'RolloutPromoted',
  'RolloutAborted',
  'RolloutSuperseded',
  'AnalysisInconclusive',
  'AnalysisFailed',
  'CandidateRejected',
  // DriftPolicy.
  'DriftWarning',
  'DriftCritical',
  'DriftResolved',
  'RetrainingStarted',
  'RetrainingAwaitingApproval',
  'RetrainingSucceeded',
  'RetrainingFailed',
  // NerModel.
  'ModelReady',
  'ModelRejected',
] as const;

const SecretKeyRefSchema = z.strictObject({
  secretKeyRef: z.strictObject({ name: z.string().min(1).max(253), key: z.string().min(1).max(253) }),
});

export const ReceiverSchema = z.strictObject({
  /** Names the receiver in the delivery metric and logs. */
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and "-", at most 63'),
  /** `webhook`: our JSON document POSTed to the URL; `alertmanager`: alerts POSTed to `<URL>/api/v2/alerts`. */
  type: z.enum(['webhook', 'alertmanager']),
  /** The URL (http or https), from a Secret of the namespace. */
  urlFrom: SecretKeyRefSchema,
  /** A bearer token sent as `Authorization: Bearer …`, from a Secret of the namespace. */
  tokenFrom: SecretKeyRefSchema.optional(),
  /** A token over plain http can be read on the wire: refused unless this is set. */
  allowInsecureHttp: z.boolean().default(false),
  /** Only these Event reasons (default: every reason in NOTIFIED_REASONS). */
  reasons: z
    .array(z.string().regex(/^[A-Z][A-Za-z]{0,63}$/))
    .max(64)
    .optional(),
  /** Only Events about these kinds (default: all three). */
  kinds: z
    .array(z.enum(['NerModel', 'NerDeployment', 'DriftPolicy']))
    .max(3)
    .optional(),
});
export type Receiver = z.output<typeof ReceiverSchema>;

export const NotificationConfigSchema = z.strictObject({
  receivers: z.array(ReceiverSchema).max(16),
});
export type NotificationConfig = z.output<typeof NotificationConfigSchema>;

export class NotificationConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotificationConfigError';
  }
}

/**
 * Parse the ConfigMap's `receivers.yaml`. Errors name the ConfigMap, the key and the line (YAML) or the
 * field path (schema), never a value: a URL pasted into the wrong place must not reach the logs.
 */
export function parseNotificationConfig(text: string, where: string): NotificationConfig {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.JSON_SCHEMA });
  } catch (err) {
    const mark = (err as { mark?: { line: number; column: number } }).mark;
    throw new NotificationConfigError(
      `${where}: not valid YAML${mark ? ` at line ${mark.line + 1}, column ${mark.column + 1}` : ''}`,
    );
  }
  const parsed = NotificationConfigSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? issue.path.join('.') : '(document)';
    throw new NotificationConfigError(`${where}: ${path}: ${issue?.message ?? 'invalid'}`);
  }
  const names = parsed.data.receivers.map((r) => r.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new NotificationConfigError(`${where}: receivers: the name ${dup} is used twice`);
  return parsed.data;
}

/** Whether a receiver wants an Event of this kind and reason. */
export function wants(r: Receiver, kind: string, reason: string): boolean {
  const reasons: readonly string[] = r.reasons ?? NOTIFIED_REASONS;
  return reasons.includes(reason) && (!r.kinds || (r.kinds as readonly string[]).includes(kind));
}
