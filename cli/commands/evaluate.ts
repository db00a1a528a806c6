import { CliError, parseCommandArgs, type Command } from '../command.js';
import { ConllError, readConll } from '../../engine/corpus/conll.js';
import { BundleVerificationError } from '../../engine/bundle/bundle.js';
import { loadEngine } from '../../engine/bundle/load.js';
import { evaluateEngine, formatReport } from '../../trainer/evaluate.js';

const HELP = `usage: ner-ops evaluate --model DIR --data FILE [--json] [--independent-sentences]

Entity-level exact-span precision, recall and F1 (micro and per type) of a bundle on a CoNLL file.
The file's sentences are read as documents in reading order, as the model's training file was: a model
trained with short-form reuse sees the abbreviations defined in the sentences before each one.
--independent-sentences tags every sentence on its own.`;

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
  try {
    const data = await readConll(values.data);
    const engine = await loadEngine(values.model);
    try {
      const report = await evaluateEngine(engine, data, {
        independentSentences: values['independent-sentences'] ?? false,
      });
      console.log(
        values.json ? JSON.stringify({ model: engine.info, data: values.data, ...report }) : formatReport(report),
      );
    } finally {
      await engine.close();
    }
    return 0;
  } catch (err) {
    if (err instanceof ConllError || err instanceof BundleVerificationError) throw new CliError(err.message, 1);
    throw err;
  }
};
export default evaluate;
