/**
 * `kubectl ner promote|abort|pause|resume|retry NAME`: one write each, of the `nerops.io/rollout-action`
 * annotation the operator reads (contracts/user-actions.ts). `pause` stays until `resume`; the others are
 * one-shot (the operator removes the annotation once their effect is in status).
 */
import { NER_DEPLOYMENT } from '../../contracts/api-group.js';
import { ROLLOUT_ACTION_ANNOTATION, RolloutAction } from '../../contracts/user-actions.js';
import type { NerClient } from './client.js';

/** What each subcommand writes and says. */
export const ACTIONS: Record<string, { value: RolloutAction; done: string }> = {
  promote: { value: RolloutAction.Promote, done: 'promotion requested: the candidate becomes stable now' },
  abort: { value: RolloutAction.Abort, done: 'abort requested: traffic goes back to the stable model' },
  pause: { value: RolloutAction.Pause, done: 'paused: the rollout holds at its step until `kubectl ner resume`' },
  resume: { value: RolloutAction.Resume, done: 'resume requested' },
  retry: {
    value: RolloutAction.Retry,
    done: 'retry requested: the rolled-back candidate is canaried again from step 1',
  },
};

export async function rolloutAction(client: NerClient, action: string, name: string, out: (l: string) => void) {
  const a = ACTIONS[action];
  if (!a) throw new Error(`unknown action ${action}`);
  await client.patchAnnotations(NER_DEPLOYMENT, name, { [ROLLOUT_ACTION_ANNOTATION]: a.value });
  out(`nerdeployment/${name}: ${a.done}`);
}
