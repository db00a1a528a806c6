/**
 * `ner-ops retrain`: the default DriftPolicy retraining Job (trainer/retrain-job.ts). Reads the contract env
 * (NEROPS_BASE_MODEL_URI, NEROPS_BASE_MODEL_DIGEST, NEROPS_DATASET_URI, NEROPS_OUTPUT_URI, NEROPS_RUN_ID, and
 * optionally NEROPS_FEEDBACK_STORE_URI),
 * trains, evaluates new and base model on the same held-out data, writes the bundle to the output URI and
 * the JSON result to the termination message (`$NEROPS_TERMINATION_LOG`, else /dev/termination-log).
 */
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, intFlag, parseCommandArgs, type Command } from '../command.js';
import { fetchLimits } from '../fetch-limits.js';
import { readContract, RetrainError, runRetrain } from '../../trainer/retrain-job.js';
import { encodeRetrainResult, RETRAIN_EXIT, type RetrainResult } from '../../contracts/retraining-job.js';
import { DEFAULT_TERMINATION_MESSAGE_PATH, sanitizeMessage } from '../../contracts/termination-message.js';
import { ProcessNodeEnv } from '../../contracts/process-node-env.js';
import { DEFAULT_EPOCHS } from '../../trainer/defaults.js';
import { ModelSourceEnv } from '../../contracts/model-source-env.js';
import { RETRAIN_COMMAND, RetrainFlag } from '../../contracts/task-commands.js';

const HELP = `usage: ner-ops retrain [options]

The DriftPolicy retraining Job. Configured by the contract env (set by the operator):
  NEROPS_BASE_MODEL_URI, NEROPS_BASE_MODEL_DIGEST, NEROPS_DATASET_URI, NEROPS_OUTPUT_URI, NEROPS_RUN_ID
Locations: file://, plain paths, pvc://claim/path (under $NEROPS_PVC_ROOT); the base model and the dataset
also http(s)://. The dataset is a CoNLL file (every 5th sentence held out) or a directory with train.conll
and dev.conll (over http(s), a URL ending in /). The output is written locally (file:// or pvc://).
With NEROPS_FEEDBACK_STORE_URI (a feedback store, pvc:// or file://), the store is exported as
\`ner-ops feedback export\` does and its train and held-out documents are added to the dataset's; the result
records the export's digest and document counts (docs/feedback.md).
Downloads (base model and dataset) stay under NEROPS_MODEL_MAX_BYTES bytes each and finish within
NEROPS_MODEL_FETCH_DEADLINE_MS; the model store's NEROPS_MODEL_TOKEN_FILE and NEROPS_MODEL_CA_FILE apply (the
token goes over plain http:// only with NEROPS_MODEL_ALLOW_INSECURE_HTTP=true).

  --select auto|off        choose the setup on folds of the new training data, as 'ner-ops train' does
                           (default auto); off: the base model's setup as inherited
  --epochs N               SGD epochs (default: the selection's choice, or ${DEFAULT_EPOCHS.linear} with --select off)
  --seed N                 random seed (default 1)
  --from-scratch           accepted for the contract; training always starts from the dataset
  --termination-log PATH   where to write the result (default $NEROPS_TERMINATION_LOG or /dev/termination-log)
  --quiet                  no progress output

Exit codes: 0 trained, ${RETRAIN_EXIT.invalidDataset} invalid dataset or label set, ${RETRAIN_EXIT.failed} other failure, 2 usage.`;

const retrain: Command = async (argv) => {
  const { values: v } = parseCommandArgs(RETRAIN_COMMAND, argv, {
    epochs: { type: 'string' },
    select: { type: 'string' },
    seed: { type: 'string' },
    [RetrainFlag.fromScratch]: { type: 'boolean' },
    'termination-log': { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  if (v.select !== undefined && v.select !== 'auto' && v.select !== 'off')
    throw new CliError(`${RETRAIN_COMMAND}: --select must be 'auto' or 'off', got '${v.select}'`);
  const log = v.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
  const terminationLog =
    v['termination-log'] ?? process.env[ProcessNodeEnv.terminationLog] ?? DEFAULT_TERMINATION_MESSAGE_PATH;
  const workDir = join(
    process.env[ProcessNodeEnv.scratch] ?? tmpdir(),
    `nerops-retrain-${randomBytes(6).toString('hex')}`,
  );
  let result: RetrainResult;
  let code: number;
  try {
    const contract = readContract(process.env);
    const limits = fetchLimits('retrain', {});
    result = await runRetrain(contract, {
      workDir,
      seed: intFlag('seed', v.seed, 1),
      ...(v.epochs !== undefined ? { epochs: intFlag('epochs', v.epochs, DEFAULT_EPOCHS.linear, 1) } : {}),
      ...(v.select === 'off' ? { select: 'off' as const } : {}),
      // The same env as fetch-model: the operator mounts the model store's token and CA for the base model.
      modelTokenFile: process.env[ModelSourceEnv.tokenFile],
      modelCaFile: process.env[ModelSourceEnv.caFile],
      modelAllowInsecureHttp: process.env[ModelSourceEnv.allowInsecureHttp] === 'true',
      fetchLimits: limits,
      ...(log ? { log } : {}),
    });
    code = RETRAIN_EXIT.ok;
  } catch (err) {
    const reason = err instanceof RetrainError ? err.reason : 'InternalError';
    result = { resultVersion: 1, outcome: 'Failed', reason, message: (err as Error).message.slice(0, 1000) };
    code =
      reason === 'InvalidDataset' || reason === 'LabelSetMismatch' ? RETRAIN_EXIT.invalidDataset : RETRAIN_EXIT.failed;
  }
  const encoded = encodeRetrainResult(result);
  try {
    await writeFile(terminationLog, encoded);
  } catch (err) {
    console.error(
      `ner-ops retrain: cannot write the termination message to ${terminationLog}: ${(err as Error).message}`,
    );
  }
  console.log(encoded);
  if (result.outcome !== 'Succeeded')
    console.error(`ner-ops retrain: ${result.reason}: ${sanitizeMessage(result.message ?? '')}`);
  return code;
};

export default retrain;
