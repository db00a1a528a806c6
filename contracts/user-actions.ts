/**
 * What a user (by hand, or through `kubectl ner`) writes on a NerDeployment or a DriftPolicy to steer it, and
 * what the operator reads back: the rollout-action annotation and the approval annotations. The annotation
 * keys are also spelled in the chart's ValidatingAdmissionPolicy (charts/nerops/templates/approval-policy.yaml),
 * which a test checks against these constants.
 */
import { GROUP } from './api-group.js';
import { sanitizeMessage } from './termination-message.js';

/** Manual rollout control (`kubectl annotate nerdeployment x nerops.io/rollout-action=pause`). */
export const ROLLOUT_ACTION_ANNOTATION = `${GROUP}/rollout-action`;
/**
 * Values of {@link ROLLOUT_ACTION_ANNOTATION}. `pause` holds while it is set; the others are one-shot (the
 * operator removes the annotation once their effect is in status). `retry` re-runs the canary of a
 * rolled-back candidate from its first step.
 */
export const RolloutAction = {
  Pause: 'pause',
  Resume: 'resume',
  Promote: 'promote',
  Abort: 'abort',
  Retry: 'retry',
} as const;
export type RolloutAction = (typeof RolloutAction)[keyof typeof RolloutAction];

/**
 * What is approved. On a NerDeployment: {@link rolloutApprovalTarget} (candidate model, its digest and the
 * step), so an approval never carries over to another model or another step. On a DriftPolicy: the run id
 * of the parked retraining.
 */
export const APPROVE_ANNOTATION = `${GROUP}/approve`;
/**
 * Who approves: the ValidatingAdmissionPolicy refuses any write that sets or changes the approval
 * annotations unless this equals the requesting user (`request.userInfo.username`).
 */
export const APPROVED_BY_ANNOTATION = `${GROUP}/approved-by`;
/** The approver's optional comment (user text, never patient text): at most {@link APPROVAL_COMMENT_LIMIT}. */
export const APPROVAL_COMMENT_ANNOTATION = `${GROUP}/approval-comment`;
/** The three approval annotations, written (and removed) together. */
export const APPROVAL_ANNOTATIONS = [APPROVE_ANNOTATION, APPROVED_BY_ANNOTATION, APPROVAL_COMMENT_ANNOTATION] as const;

/** Longest approval comment the admission policy admits and status carries. */
export const APPROVAL_COMMENT_LIMIT = 256;
/** Longest approver name kept in status (Kubernetes user names are not bounded; ours in status are). */
export const APPROVER_LIMIT = 253;

/** The approval target of step `stepIndex` (0-based) of the rollout of `model` (digest `digest`). */
export function rolloutApprovalTarget(model: string, digest: string, stepIndex: number): string {
  return `${model}@${digest}/step-${stepIndex + 1}`;
}

/** An approval as read from an object's annotations (undefined: none, or without an approver). */
export interface ApprovalAnnotations {
  target: string;
  approver: string;
  comment?: string;
}

/**
 * The approval written on an object, if complete. The approver and the comment are sanitised (one line,
 * bounded) here, so status and Events only ever carry the sanitised form.
 */
export function readApproval(
  annotations: Readonly<Record<string, string>> | undefined,
): ApprovalAnnotations | undefined {
  const target = annotations?.[APPROVE_ANNOTATION];
  const approver = annotations?.[APPROVED_BY_ANNOTATION];
  if (!target || !approver) return undefined;
  const comment = annotations?.[APPROVAL_COMMENT_ANNOTATION];
  const clean = comment === undefined ? '' : sanitizeMessage(comment, APPROVAL_COMMENT_LIMIT);
  return {
    target,
    approver: sanitizeMessage(approver, APPROVER_LIMIT),
    ...(clean ? { comment: clean } : {}),
  };
}
