/**
 * `ner-ops fetch-model URI --digest D --to DIR`: the init container of a NerDeployment pod. Downloads (or
 * copies / extracts) a bundle, verifies every file against the manifest and the manifest against the
 * digest, and only then moves it into DIR, so the serving container never sees a partial or unverified
 * bundle. Idempotent: if DIR already holds a bundle with digest D, it succeeds without downloading.
 */
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CliError, parseCommandArgs, type Command } from '../command.js';
import { ModelSourceEnv } from '../../contracts/model-source-env.js';
import { FETCH_MODEL_COMMAND, FetchModelFlag as F } from '../../contracts/task-commands.js';
import { materializeBundle, ModelSourceError } from '../../engine/bundle/model-source.js';
import { MANIFEST_FILE } from '../../contracts/bundle-manifest.js';
import { FETCH_LIMITS_HELP, fetchLimitOptions, fetchLimits } from '../fetch-limits.js';

const HELP = `usage: ner-ops fetch-model URI --digest SHA256 --to DIR [options]

  URI                       bundle directory, .tar/.tar.gz, file://, http(s)://
  --digest SHA256           expected bundle digest (sha256 of ner-model.json)     [env NEROPS_MODEL_DIGEST]
  --to DIR                  destination directory (may exist, e.g. an emptyDir mount; must be empty
                            or already hold this exact bundle)
  --token-file PATH         bearer token for http(s) sources                       [env NEROPS_MODEL_TOKEN_FILE]
  --ca-file PATH            PEM CA bundle for https sources                        [env NEROPS_MODEL_CA_FILE]
  --allow-insecure-http     send the token over plain http:// too   [env NEROPS_MODEL_ALLOW_INSECURE_HTTP=true]
  --timeout-ms N            per-request network timeout (default 60000)
${FETCH_LIMITS_HELP}`;

const options = {
  [F.digest]: { type: 'string' },
  [F.to]: { type: 'string' },
  [F.tokenFile]: { type: 'string' },
  [F.caFile]: { type: 'string' },
  [F.allowInsecureHttp]: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  ...fetchLimitOptions,
  help: { type: 'boolean', short: 'h' },
} as const;

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

const fetchModel: Command = async (argv) => {
  const { values: v, positionals } = parseCommandArgs(FETCH_MODEL_COMMAND, argv, options, true);
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  const uri = positionals[0];
  if (!uri || positionals.length > 1) throw new CliError('fetch-model: expected exactly one URI (see --help)');
  const digestRaw = v[F.digest] ?? process.env[ModelSourceEnv.digest];
  if (!digestRaw) throw new CliError('fetch-model: --digest is required (a bundle is never installed unverified)');
  const digest = digestRaw.replace(/^sha256:/, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(digest))
    throw new CliError('fetch-model: --digest must be a sha256 hex digest (64 hex characters)');
  const toArg = v[F.to];
  if (!toArg) throw new CliError('fetch-model: --to DIR is required');
  const to = resolve(toArg);
  const timeoutMs = v['timeout-ms'] === undefined ? 60_000 : Number(v['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new CliError('fetch-model: --timeout-ms must be a positive integer');
  const limits = fetchLimits('fetch-model', v);
  const { verifyBundle } = await import('../../engine/bundle/bundle.js');

  // Already installed (init container restarted)? Verify what is there rather than trusting it.
  if ((await isDir(to)) && (await readdir(to)).length > 0) {
    try {
      await verifyBundle(to, digest, limits);
      console.log(JSON.stringify({ digest, dir: to, fetched: false }));
      return 0;
    } catch {
      throw new CliError(
        `fetch-model: ${to} is not empty and does not hold bundle ${digest}; refusing to overwrite`,
        1,
      );
    }
  }

  await mkdir(to, { recursive: true });
  // Stage next to the destination (same filesystem, so the final moves are atomic renames). When the
  // destination is itself a mount point under a read-only root, stage inside it instead.
  const suffix = `.nerops-fetch-${randomBytes(6).toString('hex')}`;
  let staging = join(dirname(to), suffix);
  try {
    await mkdir(staging);
  } catch {
    staging = join(to, suffix);
    await mkdir(staging);
  }
  try {
    let bundleDir: string;
    try {
      const m = await materializeBundle(uri, {
        digest,
        tokenFile: v[F.tokenFile] ?? process.env[ModelSourceEnv.tokenFile],
        caFile: v[F.caFile] ?? process.env[ModelSourceEnv.caFile],
        allowInsecureHttp: v[F.allowInsecureHttp] === true || process.env[ModelSourceEnv.allowInsecureHttp] === 'true',
        workDir: staging,
        timeoutMs,
        ...limits,
      });
      bundleDir = m.dir;
      if (!m.workDir) {
        // A local directory: copy what the manifest pins (verified: regular files within the cap), so the
        // destination is independent of the source and holds nothing else.
        const verified = await verifyBundle(bundleDir, digest, limits);
        const copy = join(staging, 'bundle');
        await mkdir(copy, { recursive: true });
        for (const [name, data] of verified.files) {
          await mkdir(dirname(join(copy, name)), { recursive: true });
          await writeFile(join(copy, name), data);
        }
        await copyFile(join(bundleDir, MANIFEST_FILE), join(copy, MANIFEST_FILE));
        bundleDir = copy;
      }
      await verifyBundle(bundleDir, digest, limits);
    } catch (err) {
      const msg =
        err instanceof ModelSourceError || (err as Error).name === 'BundleVerificationError'
          ? (err as Error).message
          : `unexpected error: ${(err as Error).message}`;
      throw new CliError(`fetch-model: ${msg}`, 1);
    }
    for (const name of await readdir(bundleDir)) await rename(join(bundleDir, name), join(to, name));
    await verifyBundle(to, digest, limits).catch((err: unknown) => {
      throw new CliError(`fetch-model: bundle changed while being installed: ${(err as Error).message}`, 1);
    });
    console.log(JSON.stringify({ digest, dir: to, fetched: true }));
    return 0;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
};

export default fetchModel;
