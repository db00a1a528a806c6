/**
 * Condition types shared by every nerops kind. Reasons are per kind (see the `*-constants.ts`
 * files); phases are derived from these conditions.
 */
export const CommonConditionType = {
  /** The object does what it is for (model usable, deployment serving, policy evaluating). */
  Ready: 'Ready',
  /** The operator is moving the object towards its desired state (validation, rollout, scaling). */
  Progressing: 'Progressing',
  /** Something is wrong that needs attention; the object may still partly work. */
  Degraded: 'Degraded',
} as const;
export type CommonConditionType = (typeof CommonConditionType)[keyof typeof CommonConditionType];

/** Reasons every kind may use. */
export const CommonReason = {
  /** The spec cannot be acted upon (e.g. refers to a missing object); fixed by editing the spec. */
  InvalidSpec: 'InvalidSpec',
  /** The operator has not reconciled this generation yet. */
  Reconciling: 'Reconciling',
  /** Nothing is wrong. */
  AsExpected: 'AsExpected',
  /** An API call failed; retried with backoff. */
  ReconcileError: 'ReconcileError',
} as const;
export type CommonReason = (typeof CommonReason)[keyof typeof CommonReason];

/** Event types (events.k8s.io/v1 `type`). */
export const EventType = { Normal: 'Normal', Warning: 'Warning' } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];
