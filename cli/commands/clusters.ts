import { writeFile } from 'node:fs/promises';
import { CliError, parseCommandArgs, type Command } from '../command.js';
import { learnClusters } from '../../trainer/clusters.js';
import { readUnlabeled } from '../../trainer/stages/corpus.js';

const HELP = `usage: ner-ops clusters --out FILE INPUT...

Learn word clusters (clusters.tsv) from unlabeled text: CoNLL files (first column) or one sentence per line.
Pass the result to 'ner-ops train --clusters FILE'.`;

const clusters: Command = async (argv) => {
  const { values, positionals } = parseCommandArgs(
    'clusters',
    argv,
    { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.out || positionals.length === 0)
    throw new CliError('clusters: --out FILE and at least one INPUT are required\n\n' + HELP);
  const sentences: string[][] = [];
  for (const f of positionals) {
    try {
      sentences.push(...(await readUnlabeled(f)));
    } catch (err) {
      throw new CliError(
        `clusters: cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        1,
      );
    }
  }
  const t0 = performance.now();
  const result = learnClusters(sentences);
  await writeFile(values.out, result.format());
  process.stderr.write(
    `${result.size} words clustered from ${sentences.length} sentences in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  return 0;
};
export default clusters;
