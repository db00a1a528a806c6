/**
 * `ner-ops feedback export`: turn a feedback store (written by `ner-ops serve --feedback-store`) into one
 * dataset directory (train.conll + dev.conll) the retraining Job reads, and print its digest and document
 * counts as one JSON line. A segment that fails its digest stops the export, naming the file.
 */
import { join } from 'node:path';
import { CliError, intFlag, numberFlag, parseCommandArgs, type Command } from '../command.js';
import { exportStore, StoreCorruptError } from '../../engine/feedback/export.js';
import { localPath, pvcRootFromEnv } from '../../engine/locations.js';

const HELP = `usage: ner-ops feedback export --store URI --out DIR [--holdout 0.2] [--seed N]

Verify every segment of a feedback store against its writer's manifest (sha256, committed length, document
count), merge the documents (identical ones kept once), split them into DIR/train.conll and DIR/dev.conll by a
hash of each document (stable as the store grows), and print {digest, documents, ...} as JSON. The digest is
sha256 over train.conll then dev.conll, as the retraining Job records a dataset directory's digest.

  --store URI     pvc://claim/path (under $NEROPS_PVC_ROOT), file:// or a path
  --out DIR       where train.conll and dev.conll are written (replaced atomically)
  --holdout F     share of documents held out, 0 < F < 1 (default 0.2)
  --seed N        split seed (default 1)`;

const feedback: Command = async (argv) => {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub !== 'export') throw new CliError(`feedback: unknown subcommand '${sub}'\n\n${HELP}`);
  const { values: v } = parseCommandArgs('feedback export', rest, {
    store: { type: 'string' },
    out: { type: 'string' },
    holdout: { type: 'string' },
    seed: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  if (!v.store || !v.out) throw new CliError(`feedback export: --store URI and --out DIR are required\n\n${HELP}`);
  const holdout = numberFlag('holdout', v.holdout, 0.2);
  if (!(holdout > 0 && holdout < 1)) throw new CliError('feedback export: --holdout must be between 0 and 1');
  const seed = intFlag('seed', v.seed, 1);
  const root = localPath(v.store, pvcRootFromEnv());
  if (!root) throw new CliError(`feedback export: unsupported store URI scheme: ${v.store.split(':')[0]}`);
  try {
    const result = await exportStore(root, v.out, { holdout, seed });
    console.log(JSON.stringify(result));
    return 0;
  } catch (err) {
    if (err instanceof StoreCorruptError)
      throw new CliError(`feedback export: refusing the store: ${join(root, err.file)}: ${err.problem}`, 1);
    throw err;
  }
};
export default feedback;
