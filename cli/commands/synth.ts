import { CliError, intFlag, parseCommandArgs, type Command } from '../command.js';
import { formatConll } from '../../engine/corpus/conll.js';
import { generateNotes, writeConll } from '../../trainer/synthetic.js';

const HELP = `usage: ner-ops synth [--count N] [--seed N] [--vocabulary base|shifted] [--out FILE] [--text]

Generate synthetic clinical notes annotated with DISEASE and TREATMENT (CoNLL), or raw text lines with --text.`;

const synth: Command = async (argv) => {
  const { values } = parseCommandArgs('synth', argv, {
    count: { type: 'string' },
    seed: { type: 'string' },
    vocabulary: { type: 'string' },
    out: { type: 'string' },
    text: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const vocabulary = values.vocabulary ?? 'base';
  if (vocabulary !== 'base' && vocabulary !== 'shifted')
    throw new CliError(`synth: --vocabulary must be 'base' or 'shifted', got '${vocabulary}'`);
  const notes = generateNotes({
    count: intFlag('count', values.count, 1000, 1),
    seed: intFlag('seed', values.seed, 1),
    vocabulary,
  });
  if (values.text) {
    const text = notes.map((n) => n.text).join('\n') + '\n';
    if (values.out) await (await import('node:fs/promises')).writeFile(values.out, text);
    else process.stdout.write(text);
  } else if (values.out) await writeConll(values.out, notes);
  else process.stdout.write(formatConll(notes));
  return 0;
};
export default synth;
