/** Condition types, reasons, event reasons and annotations of NerDeployment. */
import { CommonConditionType, CommonReason } from './conditions-constants.js';

/** NerDeployment condition types. */
export const NerDeploymentConditionType = {
  ...CommonConditionType,
  /** The request rate could be measured in Prometheus (False: autoscaling holds). */
  MetricsAvailable: 'MetricsAvailable',
  /** The latest candidate failed the offline gates (or is not Ready) and receives no traffic. */
  CandidateRejected: 'CandidateRejected',
  /** The model to serve could be resolved (spec.model exists / modelSelector matched a Ready model). */
  ModelResolved: 'ModelResolved',
  /** The Deployments' replica counts match what the autoscaler wants. */
  ScalingActive: 'ScalingActive',
  /** A canary rollout is paused (by a user or by inconclusive analysis). */
  Paused: 'Paused',
  /** True while the current step waits for an approval (its `approval.required`); absent otherwise. */
  AwaitingApproval: 'AwaitingApproval',
} as const;
export type NerDeploymentConditionType = (typeof NerDeploymentConditionType)[keyof typeof NerDeploymentConditionType];

/** Reasons of NerDeployment conditions. */
export const NerDeploymentReason = {
  ...CommonReason,
  /** spec.model names a NerModel that does not exist. */
  ModelNotFound: 'ModelNotFound',
  /** The resolved NerModel is not Ready (yet). */
  ModelNotReady: 'ModelNotReady',
  /** modelSelector matched no Ready model that passes the gates. */
  NoMatchingModel: 'NoMatchingModel',
  /** The model resolved. */
  ModelResolved: 'ModelResolved',
  /** The Deployment has rolled out and enough replicas are ready. */
  DeploymentAvailable: 'DeploymentAvailable',
  /** Waiting for pods to become ready. */
  DeploymentProgressing: 'DeploymentProgressing',
  /** Pods are not becoming ready (crash loop, image, scheduling). */
  DeploymentUnavailable: 'DeploymentUnavailable',
  /** The request rate was measured. */
  MetricsQueried: 'MetricsQueried',
  /** Prometheus could not be reached; replicas are held. */
  PrometheusUnreachable: 'PrometheusUnreachable',
  /** Prometheus answered with no data for the query; replicas are held. */
  NoData: 'NoData',
  /** Autoscaling is not configured. */
  AutoscalingDisabled: 'AutoscalingDisabled',
  /** Scaled up to meet the request rate. */
  ScaledUp: 'ScaledUp',
  /** Scaled down after the stabilization window. */
  ScaledDown: 'ScaledDown',
  /** Scale-down wanted but held by the stabilization window. */
  ScaleDownStabilizing: 'ScaleDownStabilizing',
  /** autoscaling.mode External: an HPA or KEDA sets the count through the /scale subresource. */
  ExternalScaler: 'ExternalScaler',
  /** A canary rollout is in progress. */
  RolloutInProgress: 'RolloutInProgress',
  /** The shadow phase is in progress. */
  ShadowInProgress: 'ShadowInProgress',
  /** The candidate was promoted to stable. */
  RolloutPromoted: 'RolloutPromoted',
  /** Analysis failed more than failureLimit times; traffic went back to stable. */
  RolloutAborted: 'RolloutAborted',
  /** Analysis was inconclusive (no or too little data, Prometheus down): paused. */
  AnalysisInconclusive: 'AnalysisInconclusive',
  /** A user paused the rollout. */
  PausedByUser: 'PausedByUser',
  /** The step is done but for its approval (`approval.required`): `kubectl ner approve`. */
  ApprovalRequired: 'ApprovalRequired',
  /** Candidate F1 below spec.gates.minF1. */
  BelowMinF1: 'BelowMinF1',
  /** Candidate F1 regresses more than spec.gates.maxRegression against stable. */
  RegressionTooLarge: 'RegressionTooLarge',
  /** Candidate has no metrics to check the gates against. */
  MissingMetrics: 'MissingMetrics',
  /** The traffic router cannot honour an option (e.g. HTTPRoute missing, CRDs not installed). */
  UnsupportedRouting: 'UnsupportedRouting',
  /** The candidate passed the gates. */
  GatesPassed: 'GatesPassed',
  /**
   * spec.image is not from the allowed registries (operator `--allowed-image-registries`): nothing is
   * created or changed until it is; children that already run are left as they are.
   */
  ImageNotAllowed: 'ImageNotAllowed',
} as const;
export type NerDeploymentReason = (typeof NerDeploymentReason)[keyof typeof NerDeploymentReason];

/** Reasons of Events recorded for NerDeployments (on transitions only). */
export const NerDeploymentEventReason = {
  /** Normal: a new model is served on the stable track (first deployment). */
  ModelDeployed: 'ModelDeployed',
  /** Normal: the autoscaler changed the replica count (message has the rate and the decision). */
  Scaled: 'Scaled',
  /** Warning: the request rate cannot be measured; replicas held. */
  MetricsUnavailable: 'MetricsUnavailable',
  /** Normal: metrics are available again. */
  MetricsRecovered: 'MetricsRecovered',
  /** Normal: a canary rollout started. */
  RolloutStarted: 'RolloutStarted',
  /** Normal: "Step i/n completed". */
  StepCompleted: 'StepCompleted',
  /** Warning: an analysis failed (message has the measurements). */
  AnalysisFailed: 'AnalysisFailed',
  /** Normal: analysis inconclusive, rollout paused. */
  AnalysisInconclusive: 'AnalysisInconclusive',
  /** Normal: candidate promoted. */
  RolloutPromoted: 'RolloutPromoted',
  /** Warning: rollout aborted and rolled back. */
  RolloutAborted: 'RolloutAborted',
  /** Normal: a running rollout was superseded by a newer candidate. */
  RolloutSuperseded: 'RolloutSuperseded',
  /** Warning: a candidate failed the gates. */
  CandidateRejected: 'CandidateRejected',
  /** Normal: a user paused or resumed the rollout. */
  RolloutPaused: 'RolloutPaused',
  RolloutResumed: 'RolloutResumed',
  /** Warning: spec.image was refused (not from the allowed registries); nothing created or changed. */
  ImageNotAllowed: 'ImageNotAllowed',
  /** Normal: a step waits for an approval (message: the step, the candidate and its digest). */
  ApprovalRequired: 'ApprovalRequired',
  /** Normal: a step was approved (message: the approver, the step, the candidate, the comment). */
  Approved: 'Approved',
  /** Warning: an approval names another candidate or step than the one waiting; it was removed unused. */
  ApprovalIgnored: 'ApprovalIgnored',
  /** Normal: a user asked to retry a rolled-back candidate (`nerops.io/rollout-action=retry`). */
  RolloutRetried: 'RolloutRetried',
} as const;
export type NerDeploymentEventReason = (typeof NerDeploymentEventReason)[keyof typeof NerDeploymentEventReason];

/**
 * Manual rollout control (`kubectl ner pause|resume|promote|abort|retry`, or `kubectl annotate nerdeployment x
 * nerops.io/rollout-action=pause`) and approvals: what users write is defined in contracts/user-actions.ts.
 */
export { ROLLOUT_ACTION_ANNOTATION, RolloutAction } from '../../contracts/user-actions.js';
