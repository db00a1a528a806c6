/**
 * A NerModel's fetch limits (`spec.source.maxBytes`, `fetchDeadlineSeconds`) for the pods that fetch its bundle:
 * as flags for `fetch-model` and `validate`, as environment for `retrain` (which fetches its base model without
 * flags of its own). Unset limits are left to the command's defaults (contracts/model-source-env.ts).
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { ModelSourceEnv } from '../../contracts/model-source-env.js';
import { ModelSourceFlag } from '../../contracts/task-commands.js';
import { flagArg } from '../../contracts/serve.js';
import type { ModelSource } from '../api/nermodel.js';

type Limits = Pick<ModelSource, 'maxBytes' | 'fetchDeadlineSeconds'>;

function limitValues(source: Limits): Array<[flag: string, env: string, value: number]> {
  const out: Array<[string, string, number]> = [];
  if (source.maxBytes !== undefined) out.push([ModelSourceFlag.maxBytes, ModelSourceEnv.maxBytes, source.maxBytes]);
  if (source.fetchDeadlineSeconds !== undefined)
    out.push([ModelSourceFlag.fetchDeadlineMs, ModelSourceEnv.fetchDeadlineMs, source.fetchDeadlineSeconds * 1000]);
  return out;
}

/** `--max-bundle-bytes N --fetch-deadline-ms N` for what the source sets. */
export function fetchLimitArgs(source: Limits): string[] {
  return limitValues(source).flatMap(([flag, , value]) => [flagArg(flag), String(value)]);
}

/** NEROPS_MODEL_MAX_BYTES / NEROPS_MODEL_FETCH_DEADLINE_MS for what the source sets. */
export function fetchLimitEnv(source: Limits): V1EnvVar[] {
  return limitValues(source).map(([, name, value]) => ({ name, value: String(value) }));
}
