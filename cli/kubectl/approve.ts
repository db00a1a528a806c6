/**
 * `kubectl ner approve NAME [--comment …] [--step N]`: writes the approval annotations, naming you (as the
 * API server knows you) as the approver; the chart's ValidatingAdmissionPolicy refuses the write if the name
 * is not yours. NAME is a NerDeployment (the step of the running rollout that waits, bound to the
 * candidate's digest) or, if there is none of that name, a DriftPolicy (its parked retraining run).
 */
import { CliError } from '../command.js';
import { DRIFT_POLICY, NER_DEPLOYMENT, NER_MODEL } from '../../contracts/api-group.js';
import {
  APPROVAL_COMMENT_ANNOTATION,
  APPROVAL_COMMENT_LIMIT,
  APPROVE_ANNOTATION,
  APPROVED_BY_ANNOTATION,
  rolloutApprovalTarget,
} from '../../contracts/user-actions.js';
import { ApiError, type NerClient } from './client.js';
import type { DriftPolicyView, NerDeploymentView, NerModelView } from './view.js';

/** The approval target of a NerDeployment's running rollout (pure); `step` is 1-based. */
export function deploymentTarget(d: NerDeploymentView, candidate: NerModelView | undefined, step?: number): string {
  const s = d.status ?? {};
  if (!s.canaryModel)
    throw new CliError(`nerdeployment/${d.metadata.name} has no rollout running: nothing to approve`, 1);
  const digest = candidate?.spec?.source?.digest;
  if (!digest) throw new CliError(`the candidate NerModel ${s.canaryModel} has no digest: cannot bind the approval`, 1);
  const idx = step !== undefined ? step - 1 : (s.currentStepIndex ?? 0);
  return rolloutApprovalTarget(s.canaryModel, digest, idx);
}

/** The approval target of a DriftPolicy's parked run (pure). */
export function policyTarget(p: DriftPolicyView): string {
  const job = p.status?.activeJob;
  if (!job?.awaitingApproval || !job.runId)
    throw new CliError(`driftpolicy/${p.metadata.name} has no retraining waiting for approval`, 1);
  return job.runId;
}

/** The annotations to write (pure): the comment is checked here too, so the user hears it before the API server. */
export function approvalPatch(
  target: string,
  approver: string,
  comment: string | undefined,
): Record<string, string | null> {
  if (comment !== undefined && [...comment].length > APPROVAL_COMMENT_LIMIT)
    throw new CliError(`--comment is at most ${APPROVAL_COMMENT_LIMIT} characters`);
  return {
    [APPROVE_ANNOTATION]: target,
    [APPROVED_BY_ANNOTATION]: approver,
    [APPROVAL_COMMENT_ANNOTATION]: comment ?? null,
  };
}

async function findDeployment(client: NerClient, name: string): Promise<NerDeploymentView | undefined> {
  try {
    return await client.get<NerDeploymentView>(NER_DEPLOYMENT, name);
  } catch (e) {
    if (e instanceof ApiError && e.statusCode === 404) return undefined;
    throw e;
  }
}

export async function approve(
  client: NerClient,
  name: string,
  o: { comment?: string; step?: number },
  out: (l: string) => void,
): Promise<void> {
  const d = await findDeployment(client, name);
  let target: string;
  if (d) {
    const cand = d.status?.canaryModel;
    const model = cand ? await client.get<NerModelView>(NER_MODEL, cand) : undefined;
    target = deploymentTarget(d, model, o.step);
  } else {
    target = policyTarget(await client.get<DriftPolicyView>(DRIFT_POLICY, name));
  }
  const me = await client.whoAmI();
  const kind = d ? NER_DEPLOYMENT : DRIFT_POLICY;
  await client.patchAnnotations(kind, name, approvalPatch(target, me, o.comment));
  out(`${kind.singular}/${name}: approved ${target} as ${me}`);
}
