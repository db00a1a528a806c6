/**
 * `ner-ops delete-bundles`: the DriftPolicy bundle cleanup Job. Deletes the bundles of the NerModels that
 * retention pruned, on the policy's own `pvc://` output, with the claim mounted under $NEROPS_PVC_ROOT:
 *   --within pvc://claim/prefix   the policy's output prefix; nothing outside it is deleted
 *   --bundle pvc://claim/prefix/run   (repeated) a bundle to delete
 *   --keep pvc://claim/...        (repeated) a location another NerModel still references
 * Every bundle is checked first (contracts/bundle-cleanup.ts, then on the disk: no symbolic link may lead
 * out of the prefix); one refusal and nothing is deleted. A bundle already gone is a success, so a retried
 * Job finishes what a previous one started. The result (counts only) goes to the termination message.
 */
import { lstat, realpath, rm, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { parseCommandArgs, type Command } from '../command.js';
import { pvcRootFromEnv } from '../../engine/locations.js';
import {
  CleanupRefusal,
  DELETE_BUNDLES_EXIT,
  deletionRefusal,
  encodeDeleteBundlesResult,
  parsePvcUri,
  type DeleteBundlesResult,
  type PvcLocation,
} from '../../contracts/bundle-cleanup.js';
import { DELETE_BUNDLES_COMMAND, DeleteBundlesFlag } from '../../contracts/task-commands.js';
import { DEFAULT_TERMINATION_MESSAGE_PATH } from '../../contracts/termination-message.js';
import { ProcessNodeEnv } from '../../contracts/process-node-env.js';

const HELP = `usage: ner-ops ${DELETE_BUNDLES_COMMAND} --${DeleteBundlesFlag.within} pvc://claim/prefix --${DeleteBundlesFlag.bundle} pvc://claim/prefix/run [...] [--${DeleteBundlesFlag.keep} pvc://claim/path ...]

The DriftPolicy bundle cleanup Job (started by the operator when retention pruned NerModels). Claims are
mounted under $NEROPS_PVC_ROOT (<root>/<claim>/...). A bundle is deleted only when it lies strictly inside
--${DeleteBundlesFlag.within}, overlaps no --${DeleteBundlesFlag.keep} location, and no symbolic link leads it out of the prefix;
a single refusal and nothing is deleted. A bundle already gone counts as done.

  --termination-log PATH   where to write the result (default $NEROPS_TERMINATION_LOG or /dev/termination-log)

Exit codes: 0 every bundle is gone, ${DELETE_BUNDLES_EXIT.refused} refused (nothing deleted), ${DELETE_BUNDLES_EXIT.failed} a deletion failed, 2 usage.`;

/** What to delete, and where the claims are mounted. */
export interface DeleteBundlesRequest {
  within: string;
  bundles: readonly string[];
  keep: readonly string[];
  pvcRoot: string;
}

const localOf = (root: string, loc: PvcLocation) => join(root, loc.claim, ...loc.segments);

/** True when the path exists (a dangling symbolic link exists too: it is what would be removed). */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return false;
    throw err;
  }
}

/**
 * Whether a path's parent directory, with every symbolic link resolved, is still inside the prefix: a
 * link at or above the bundle could otherwise point the deletion anywhere on the claim (or beyond). The
 * bundle itself may be a link: `rm` removes the link, never what it points to.
 */
async function parentStaysInside(path: string, prefix: string): Promise<boolean> {
  const realPrefix = await realpath(prefix);
  const realParent = await realpath(join(path, '..'));
  return realParent === realPrefix || realParent.startsWith(realPrefix + sep);
}

function result(r: Omit<DeleteBundlesResult, 'resultVersion'>): DeleteBundlesResult {
  return { resultVersion: 1, ...r };
}

/** Checks every bundle, then deletes those present. Never throws: failures are results. */
export async function deleteBundles(req: DeleteBundlesRequest): Promise<DeleteBundlesResult> {
  const within = parsePvcUri(req.within);
  const refusals = req.bundles.map((b) => deletionRefusal(b, req.within, req.keep));
  const firstRefusal = refusals.find((r) => r !== undefined);
  if (!within || firstRefusal) {
    return result({
      outcome: 'Refused',
      deleted: 0,
      alreadyGone: 0,
      refused: within ? refusals.filter((r) => r !== undefined).length : req.bundles.length,
      reason: firstRefusal ?? CleanupRefusal.NotPvc,
      message: 'a bundle breaks the cleanup rule; nothing was deleted',
    });
  }
  const prefix = localOf(req.pvcRoot, within);
  try {
    // No prefix directory: nothing of this policy's output is on the claim, every bundle is gone already.
    if (!(await exists(prefix)))
      return result({ outcome: 'Succeeded', deleted: 0, alreadyGone: req.bundles.length, refused: 0 });
    const present: string[] = [];
    let escaped = 0;
    for (const b of req.bundles) {
      const path = localOf(req.pvcRoot, parsePvcUri(b) as PvcLocation);
      if (!(await exists(path))) continue;
      if (await parentStaysInside(path, prefix)) present.push(path);
      else escaped++;
    }
    if (escaped)
      return result({
        outcome: 'Refused',
        deleted: 0,
        alreadyGone: 0,
        refused: escaped,
        reason: CleanupRefusal.OutsideOutput,
        message: 'a symbolic link leads a bundle out of the output prefix; nothing was deleted',
      });
    for (const path of present) await rm(path, { recursive: true, force: true });
    return result({
      outcome: 'Succeeded',
      deleted: present.length,
      alreadyGone: req.bundles.length - present.length,
      refused: 0,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The error code only: a message from the file system names paths.
    return result({
      outcome: 'Failed',
      deleted: 0,
      alreadyGone: 0,
      refused: 0,
      reason: 'Failed',
      message: `deletion failed${code ? ` (${code})` : ''}`,
    });
  }
}

const EXIT: Record<DeleteBundlesResult['outcome'], number> = {
  Succeeded: DELETE_BUNDLES_EXIT.ok,
  Refused: DELETE_BUNDLES_EXIT.refused,
  Failed: DELETE_BUNDLES_EXIT.failed,
};

const deleteBundlesCommand: Command = async (argv) => {
  const { values: v } = parseCommandArgs(DELETE_BUNDLES_COMMAND, argv, {
    [DeleteBundlesFlag.within]: { type: 'string' },
    [DeleteBundlesFlag.bundle]: { type: 'string', multiple: true },
    [DeleteBundlesFlag.keep]: { type: 'string', multiple: true },
    'termination-log': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const within = v[DeleteBundlesFlag.within];
  if (!within) {
    console.error(`ner-ops ${DELETE_BUNDLES_COMMAND}: --${DeleteBundlesFlag.within} is required`);
    return DELETE_BUNDLES_EXIT.usage;
  }
  const r = await deleteBundles({
    within,
    bundles: v[DeleteBundlesFlag.bundle] ?? [],
    keep: v[DeleteBundlesFlag.keep] ?? [],
    pvcRoot: pvcRootFromEnv(),
  });
  const encoded = encodeDeleteBundlesResult(r);
  const terminationLog =
    v['termination-log'] ?? process.env[ProcessNodeEnv.terminationLog] ?? DEFAULT_TERMINATION_MESSAGE_PATH;
  try {
    await writeFile(terminationLog, encoded);
  } catch (err) {
    console.error(`ner-ops ${DELETE_BUNDLES_COMMAND}: cannot write the termination message: ${(err as Error).message}`);
  }
  console.log(encoded);
  return EXIT[r.outcome];
};

export default deleteBundlesCommand;
