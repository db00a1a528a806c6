/**
 * The record of a human approval, shared by NerDeployment (a canary step with `approval.required`) and
 * DriftPolicy (`approval: Manual`). The approval itself is written as annotations (contracts/user-actions.ts)
 * that the chart's ValidatingAdmissionPolicy checks: the approver named is the user who wrote them.
 */
import { z } from 'zod';
import { APPROVAL_COMMENT_LIMIT, APPROVER_LIMIT } from '../../contracts/user-actions.js';
import { TimestampSchema } from './shared-schemas.js';

/** Who approved what, when, and why (as recorded by the operator). */
export const ApprovalRecordSchema = z.object({
  /** The approving user, as the API server authenticated them (`request.userInfo.username`). */
  approver: z.string().min(1).max(APPROVER_LIMIT),
  /** What was approved: `<model>@<digest>/step-<n>` (a rollout step) or a retraining run id. */
  target: z.string().min(1).max(512),
  /** Index of the approved canary step (rollouts only). */
  stepIndex: z.int().min(0).optional(),
  /** When the operator recorded the approval. */
  time: TimestampSchema,
  /** The approver's comment: one line, at most 256 characters (user text, never patient text). */
  comment: z.string().max(APPROVAL_COMMENT_LIMIT).optional(),
});
export type ApprovalRecord = z.output<typeof ApprovalRecordSchema>;
