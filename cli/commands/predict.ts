import { CliError, parseCommandArgs, type Command } from '../command.js';
import { withEngine } from '../open-engine.js';

const HELP = `usage: ner-ops predict --model DIR|FILE.tar.gz|URI TEXT...

Extract entities from each TEXT (or from standard input when no TEXT is given); prints JSON.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const predict: Command = async (argv) => {
  const { values, positionals } = parseCommandArgs(
    'predict',
    argv,
    { model: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new CliError('predict: --model DIR is required\n\n' + HELP);
  const texts = positionals.length > 0 ? positionals : [await readStdin()];
  await withEngine(values.model, async (engine) => {
    const results = await engine.extractBatch(texts);
    const out = results.map((r) => ({ entities: r.entities }));
    console.log(
      JSON.stringify(
        texts.length === 1 ? { ...out[0], model: engine.info } : { results: out, model: engine.info },
        null,
        2,
      ),
    );
  });
  return 0;
};
export default predict;
