/**
 * The reference CRF the engine is compared with, trained in the same bench run on the same split:
 * python-crfsuite with the standard features (bench/reference-crf.py). The package comes from PyPI, pinned,
 * installed once with pip into `$NEROPS_CACHE` (or ~/.cache/nerops), never into the repository. Its dev
 * predictions are scored here by the engine's own entity scorer, so both sides are judged alike.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readConll } from '../engine/corpus/conll.js';
import { cacheRoot } from '../local-cluster/binaries.js';
import { evaluateSequences } from '../trainer/evaluate.js';

export const PYTHON_CRFSUITE = { name: 'python-crfsuite', version: '0.9.12' } as const;

const run = promisify(execFile);

/** The directory python-crfsuite is installed in (a pip --target), installing it on first use. */
async function crfsuiteDir(): Promise<string> {
  const dir = join(cacheRoot(), `python-crfsuite-${PYTHON_CRFSUITE.version}`);
  if (existsSync(join(dir, 'pycrfsuite'))) return dir;
  await mkdir(cacheRoot(), { recursive: true });
  const work = await mkdtemp(join(cacheRoot(), 'pycrfsuite-'));
  try {
    await run(
      'python3',
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--no-deps',
        '--only-binary=:all:',
        '--target',
        work,
        `${PYTHON_CRFSUITE.name}==${PYTHON_CRFSUITE.version}`,
      ],
      { timeout: 300_000 },
    );
    await rename(work, dir);
    return dir;
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw new Error(
      `bench: pip could not install ${PYTHON_CRFSUITE.name}==${PYTHON_CRFSUITE.version} (the reference CRF needs python3 with pip): ${(err as Error).message.split('\n')[0]}`,
    );
  }
}

export interface ReferenceResult {
  f1: number;
  trainCpuSeconds: number;
}

/** Train the reference CRF on `trainFile`, tag `devFile`, and score it. */
export async function referenceCrf(trainFile: string, devFile: string, scratch: string): Promise<ReferenceResult> {
  const site = await crfsuiteDir();
  const script = fileURLToPath(new URL('../../bench/reference-crf.py', import.meta.url));
  const out = join(scratch, 'reference-tags.txt');
  const { stdout } = await run('python3', [script, trainFile, devFile, out], {
    env: { ...process.env, PYTHONPATH: site },
    timeout: 1_800_000,
    maxBuffer: 1 << 20,
  });
  const { trainCpuSeconds } = JSON.parse(stdout.trim().split('\n').pop() as string) as { trainCpuSeconds: number };
  const gold = (await readConll(devFile)).map((s) => s.labels);
  const predicted = (await readFile(out, 'utf8'))
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => block.split('\n').filter((l) => l !== ''));
  if (predicted.length !== gold.length)
    throw new Error(`bench: the reference tagged ${predicted.length} sentences of ${gold.length}`);
  return { f1: evaluateSequences(gold, predicted).micro.f1, trainCpuSeconds };
}
