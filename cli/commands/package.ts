import { CliError, parseCommandArgs, type Command } from '../command.js';
import { packageTokenClassificationBundle } from '../../trainer/package-transformer.js';
import { ASSERTION_FLAGS_HELP, ASSERTION_FLAG_OPTIONS, assertionRulesFromFlags } from './assertions.js';

const HELP = `usage: ner-ops package --dir DIR --name NAME [--model-version V] [--assertion-language L | --assertion-rules FILE]

Write ner-model.json for a token-classification export in DIR (model.onnx with input_ids/attention_mask →
logits, a WordPiece tokenizer.json, config.json with id2label), making it a verifiable nerops bundle.
Prints the bundle digest.

${ASSERTION_FLAGS_HELP}`;

const pkg: Command = async (argv) => {
  const { values } = parseCommandArgs('package', argv, {
    dir: { type: 'string' },
    name: { type: 'string' },
    'model-version': { type: 'string' },
    ...ASSERTION_FLAG_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.dir || !values.name) throw new CliError('package: --dir DIR and --name NAME are required\n\n' + HELP);
  const assertionRules = assertionRulesFromFlags('package', values);
  try {
    console.log(
      await packageTokenClassificationBundle(values.dir, {
        name: values.name,
        version: values['model-version'] ?? '0.1.0',
        assertionRules,
      }),
    );
  } catch (err) {
    throw new CliError(`package: ${(err as Error).message}`, 1);
  }
  return 0;
};
export default pkg;
