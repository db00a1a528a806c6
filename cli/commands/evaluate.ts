import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE } from '../../contracts/bundle-manifest.js';
import { CliError, parseCommandArgs, type Command } from '../command.js';
import { ConllError, labelSetOf, readConll } from '../../engine/corpus/conll.js';
import { evaluateEngine, formatReport } from '../../trainer/evaluate.js';
import { withEngine } from '../open-engine.js';
import { formatSelection, type SelectionView } from '../../trainer/selection/format.js';

const HELP = `usage: ner-ops evaluate --model DIR|FILE.tar.gz|URI --data FILE [--json] [--independent-sentences]

Entity-level exact-span precision, recall and F1 (micro and per type) of a bundle on a CoNLL file.
The file's sentences are read as documents in reading order, as the model's training file was: a model
trained with short-form reuse sees the abbreviations defined in the sentences before each one.
--independent-sentences tags every sentence on its own.
A model whose setup 'ner-ops train --select auto' chose also shows that choice and its fold scores.`;

const evaluate: Command = async (argv) => {
  const { values } = parseCommandArgs('evaluate', argv, {
    model: { type: 'string' },
    data: { type: 'string' },
    json: { type: 'boolean' },
    'independent-sentences': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model || !values.data)
    throw new CliError('evaluate: --model DIR and --data FILE are required\n\n' + HELP);
  let data;
  try {
    data = await readConll(values.data);
  } catch (err) {
    if (err instanceof ConllError) throw new CliError(err.message, 1);
    throw err;
  }
  const dataFile = values.data;
  const independentSentences = values['independent-sentences'] ?? false;
  await withEngine(values.model, async (engine, bundleDir) => {
    const disjoint = disjointTypes(labelSetOf(data), engine.info.entityTypes);
    if (disjoint) console.error(`evaluate: warning: ${disjoint}`);
    const report = await evaluateEngine(engine, data, { independentSentences });
    const selection = await selectionOf(bundleDir);
    if (values.json)
      console.log(
        JSON.stringify({ model: engine.info, data: dataFile, ...report, ...(selection ? { selection } : {}) }),
      );
    else console.log(formatReport(report) + (selection ? '\n' + formatSelection(selection) : ''));
  });
  return 0;
};

/** The manifest's `training.selection` (how `ner-ops train --select auto` chose the setup), if any. */
async function selectionOf(bundleDir: string): Promise<SelectionView | undefined> {
  const manifest = JSON.parse(await readFile(join(bundleDir, MANIFEST_FILE), 'utf8')) as {
    training?: { selection?: SelectionView };
  };
  return manifest.training?.selection;
}

/**
 * A warning when the data's entity types and the model's share none (every score is then 0, which
 * otherwise reads like a broken model rather than the wrong file), or undefined.
 */
export function disjointTypes(dataLabels: readonly string[], modelTypes: readonly string[]): string | undefined {
  const dataTypes = [...new Set(dataLabels.filter((l) => l !== 'O').map((l) => l.replace(/^[BIES]-/, '')))];
  if (dataTypes.length === 0 || dataTypes.some((t) => modelTypes.includes(t))) return undefined;
  return `the data's entity types (${dataTypes.join(', ')}) and the model's (${modelTypes.join(', ')}) share none: every score will be 0`;
}
export default evaluate;
