/** Condition types, reasons, event reasons and annotations of DriftPolicy. */
import { GROUP } from './group.js';
import { CommonConditionType, CommonReason } from './conditions-constants.js';

/** DriftPolicy condition types. */
export const DriftPolicyConditionType = {
  ...CommonConditionType,
  /** Drift signals could be queried in Prometheus. */
  MetricsAvailable: 'MetricsAvailable',
  /** A signal is at or above its warning threshold (consecutiveBreaches times). */
  DriftDetected: 'DriftDetected',
  /** A signal is at or above its critical threshold: alert. */
  CriticalDrift: 'CriticalDrift',
  /** A retraining Job is running or waiting for approval. */
  Retraining: 'Retraining',
  /** True while a retraining is parked until someone approves it (approval: Manual). */
  AwaitingApproval: 'AwaitingApproval',
  /**
   * True while bundles of NerModels retention deleted wait to be deleted from the policy's pvc:// output
   * (a cleanup Job runs, failed, or the models are still served); set once retention is configured.
   */
  BundleCleanup: 'BundleCleanup',
} as const;
export type DriftPolicyConditionType = (typeof DriftPolicyConditionType)[keyof typeof DriftPolicyConditionType];

/** Reasons of DriftPolicy conditions. */
export const DriftPolicyReason = {
  ...CommonReason,
  /** The target NerDeployment does not exist. */
  TargetNotFound: 'TargetNotFound',
  /** The serving model has no baseline profile to compare against. */
  NoBaseline: 'NoBaseline',
  /** Fewer than spec.minSamples documents in the window. */
  InsufficientData: 'InsufficientData',
  /** Prometheus unreachable or returned an error. */
  PrometheusUnreachable: 'PrometheusUnreachable',
  /** Metrics queried. */
  MetricsQueried: 'MetricsQueried',
  /** All signals below warning. */
  WithinThresholds: 'WithinThresholds',
  /** Signal(s) at warning level. */
  WarningThresholdExceeded: 'WarningThresholdExceeded',
  /** Signal(s) at critical level. */
  CriticalThresholdExceeded: 'CriticalThresholdExceeded',
  /** A retraining Job is running. */
  JobRunning: 'JobRunning',
  /** The Job waits for the approval annotation. */
  AwaitingApproval: 'AwaitingApproval',
  /** Within the cooldown after the last retraining. */
  CoolingDown: 'CoolingDown',
  /** spec.suspend is true. */
  Suspended: 'Suspended',
  /** The last retraining Job failed. */
  JobFailed: 'JobFailed',
  /** The last retraining Job succeeded and produced a NerModel. */
  JobSucceeded: 'JobSucceeded',
  /** spec.retraining.outputUri is not set and the operator has no --default-model-uri: no Job can start. */
  OutputUnconfigured: 'OutputUnconfigured',
  /**
   * spec.retraining.template breaks the tenant pod policy (Pod Security restricted, allowed ServiceAccounts,
   * allowed image registries): no Job is created until it is fixed.
   */
  TemplateRefused: 'TemplateRefused',
  /** BundleCleanup: a `ner-ops delete-bundles` Job deletes the bundles of pruned NerModels. */
  CleanupRunning: 'CleanupRunning',
  /** BundleCleanup: pruned NerModels are still served; their bundles wait (their in-use finalizer holds them). */
  WaitingForServing: 'WaitingForServing',
  /** BundleCleanup: the cleanup Job failed; it is retried once the failed Job expires. */
  CleanupFailed: 'CleanupFailed',
} as const;
export type DriftPolicyReason = (typeof DriftPolicyReason)[keyof typeof DriftPolicyReason];

/** Reasons of Events recorded for DriftPolicies (on transitions only). */
export const DriftPolicyEventReason = {
  /** Warning: the state became Warning. */
  DriftWarning: 'DriftWarning',
  /** Warning: the state became Critical (alert). */
  DriftCritical: 'DriftCritical',
  /** Normal: the state went back to Healthy. */
  DriftResolved: 'DriftResolved',
  /** Warning: metrics became unavailable. */
  MetricsUnavailable: 'MetricsUnavailable',
  /** Normal: a retraining Job was created. */
  RetrainingStarted: 'RetrainingStarted',
  /** Normal: a retraining waits for approval. */
  RetrainingAwaitingApproval: 'RetrainingAwaitingApproval',
  /** Normal: a parked retraining was approved (message: the approver, the run and the comment). */
  Approved: 'Approved',
  /** Normal: a retraining Job succeeded and a NerModel was created. */
  RetrainingSucceeded: 'RetrainingSucceeded',
  /** Warning: a retraining Job failed. */
  RetrainingFailed: 'RetrainingFailed',
  /** Warning: no output location (spec.retraining.outputUri nor the operator's --default-model-uri): retraining cannot start. */
  OutputUnconfigured: 'OutputUnconfigured',
  /** Warning: spec.retraining.template was refused by the tenant pod policy (the message names each field and rule). */
  TemplateRefused: 'TemplateRefused',
  /** Normal: retention (spec.retention.keepLast) deleted older retrained NerModels (the note names them). */
  ModelsPruned: 'ModelsPruned',
  /** Normal: a cleanup Job was created for the bundles of pruned NerModels (the note counts them). */
  BundleCleanupStarted: 'BundleCleanupStarted',
  /** Normal: the bundles of pruned NerModels were deleted and the models released (counts). */
  BundlesDeleted: 'BundlesDeleted',
  /** Normal: pruned NerModels released without deleting their bundles: still referenced, or not ours (counts). */
  BundlesKept: 'BundlesKept',
  /** Warning: the cleanup Job failed (retried once it expires). */
  BundleCleanupFailed: 'BundleCleanupFailed',
} as const;
export type DriftPolicyEventReason = (typeof DriftPolicyEventReason)[keyof typeof DriftPolicyEventReason];

/**
 * `nerops.io/approve=<runId>` with `nerops.io/approved-by=<you>` (`kubectl ner approve POLICY`) approves a pending
 * retraining (approval: Manual); defined in contracts/user-actions.ts with the other approval annotations.
 */
export { APPROVE_ANNOTATION, APPROVED_BY_ANNOTATION } from '../../contracts/user-actions.js';
/** `kubectl annotate driftpolicy x nerops.io/retrain=<any new value>` triggers a retraining by hand. */
export const RETRAIN_ANNOTATION = `${GROUP}/retrain`;
