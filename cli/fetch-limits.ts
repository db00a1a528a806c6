/**
 * The model fetch limits of the commands that fetch a bundle or a dataset: a flag wins over its environment
 * variable, which wins over the default (contracts/model-source-env.ts).
 */
import { CliError } from './command.js';
import { MODEL_FETCH_DEFAULTS, ModelSourceEnv } from '../contracts/model-source-env.js';
import { ModelSourceFlag } from '../contracts/task-commands.js';

export interface FetchLimits {
  maxBytes: number;
  deadlineMs: number;
}

/** parseArgs options for the two flags. */
export const fetchLimitOptions = {
  [ModelSourceFlag.maxBytes]: { type: 'string' },
  [ModelSourceFlag.fetchDeadlineMs]: { type: 'string' },
} as const;

export const FETCH_LIMITS_HELP = `  --${ModelSourceFlag.maxBytes} N      size cap in bytes for downloads and archive expansion     [env ${ModelSourceEnv.maxBytes}]
                            (default ${MODEL_FETCH_DEFAULTS.maxBytes})
  --${ModelSourceFlag.fetchDeadlineMs} N     overall deadline for the fetch                     [env ${ModelSourceEnv.fetchDeadlineMs}]
                            (default ${MODEL_FETCH_DEFAULTS.fetchDeadlineMs})`;

function positive(command: string, name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`${command}: ${name} must be a positive integer`);
  return n;
}

export function fetchLimits(
  command: string,
  values: { [ModelSourceFlag.maxBytes]?: string | undefined; [ModelSourceFlag.fetchDeadlineMs]?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): FetchLimits {
  return {
    maxBytes: positive(
      command,
      `--${ModelSourceFlag.maxBytes} (or ${ModelSourceEnv.maxBytes})`,
      values[ModelSourceFlag.maxBytes] ?? env[ModelSourceEnv.maxBytes],
      MODEL_FETCH_DEFAULTS.maxBytes,
    ),
    deadlineMs: positive(
      command,
      `--${ModelSourceFlag.fetchDeadlineMs} (or ${ModelSourceEnv.fetchDeadlineMs})`,
      values[ModelSourceFlag.fetchDeadlineMs] ?? env[ModelSourceEnv.fetchDeadlineMs],
      MODEL_FETCH_DEFAULTS.fetchDeadlineMs,
    ),
  };
}
