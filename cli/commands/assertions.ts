import { readFile } from 'node:fs/promises';
import { CliError, parseCommandArgs, type Command } from '../command.js';
import {
  AssertionRulesError,
  EvaluationDataError,
  SHIPPED_LANGUAGES,
  createAssertionTagger,
  defaultAssertionRules,
  loadAssertionRules,
  parseNegexTsv,
  scoreNegation,
  type AssertionRules,
  type NegationScores,
  type ShippedLanguage,
} from '../../engine/assertions/index.js';

const HELP = `usage: ner-ops assertions evaluate --data FILE.tsv [--language en|nb] [--rules FILE] [--json]

Score the assertion stage's negation on gold concept spans (docs/assertions.md). FILE.tsv is in the NegEx
annotation format: a header line, then report<TAB>concept<TAB>sentence<TAB>Affirmed|Negated, with the concept
in upper case in the sentence. The concept's span is found case-insensitively and its upper case undone, so
the sentence reads as the note did.

  --language   the shipped rules to use (${SHIPPED_LANGUAGES.join(', ')}; default en)
  --rules      a rule file instead (it may extend the shipped rules of a language)
  --json       one JSON object instead of a table

Prints n, accuracy, and precision, recall and F1 of 'negated'. Lines whose concept is not in their sentence
are skipped and listed by line number.`;

function formatTable(s: NegationScores, skipped: number[]): string {
  const pct = (x: number) => x.toFixed(3);
  const rows = [
    ['n', String(s.n)],
    ['accuracy', pct(s.accuracy)],
    ['negated precision', pct(s.negated.precision)],
    ['negated recall', pct(s.negated.recall)],
    ['negated f1', pct(s.negated.f1)],
    ['negated (gold / predicted)', `${s.negated.support} / ${s.negated.predicted}`],
  ];
  if (skipped.length > 0) rows.push(['skipped lines', skipped.join(', ')]);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  return rows.map(([k, v]) => `${k!.padEnd(width)}  ${v}`).join('\n');
}

const evaluate: Command = async (argv) => {
  const { values } = parseCommandArgs('assertions evaluate', argv, {
    data: { type: 'string' },
    language: { type: 'string' },
    rules: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.data) throw new CliError('assertions evaluate: --data FILE is required\n\n' + HELP);
  const language = values.language ?? 'en';
  if (!(SHIPPED_LANGUAGES as readonly string[]).includes(language))
    throw new CliError(`assertions evaluate: --language must be one of ${SHIPPED_LANGUAGES.join(', ')}`);
  let text: string;
  try {
    text = await readFile(values.data, 'utf8');
  } catch (err) {
    throw new CliError(`assertions evaluate: cannot read ${values.data} (${(err as NodeJS.ErrnoException).code})`, 1);
  }
  try {
    const rules = values.rules ? loadAssertionRules(values.rules) : defaultAssertionRules(language as ShippedLanguage);
    const { items, skipped } = parseNegexTsv(text, values.data);
    const scores = scoreNegation(createAssertionTagger(rules), items);
    console.log(
      values.json
        ? JSON.stringify({
            data: values.data,
            language: rules.language,
            rules: values.rules ?? 'shipped',
            ...scores,
            skipped,
          })
        : formatTable(scores, skipped),
    );
    return 0;
  } catch (err) {
    if (err instanceof AssertionRulesError || err instanceof EvaluationDataError) throw new CliError(err.message, 1);
    throw err;
  }
};

/** Help lines for the bundle-writing commands' assertion flags (train, package). */
export const ASSERTION_FLAGS_HELP = `  --assertion-language L
                       pin the shipped assertion rules of language L (${SHIPPED_LANGUAGES.join(', ')}) in the bundle
  --assertion-rules FILE
                       pin this assertion rule file instead (it may extend the shipped rules; the
                       bundle gets the merged, self-contained rules); docs/assertions.md`;

/** The parse options of those flags. */
export const ASSERTION_FLAG_OPTIONS = {
  'assertion-language': { type: 'string' },
  'assertion-rules': { type: 'string' },
} as const;

/** The rules `--assertion-rules` / `--assertion-language` ask a bundle writer to pin; undefined: none. */
export function assertionRulesFromFlags(
  command: string,
  values: { 'assertion-language'?: string | undefined; 'assertion-rules'?: string | undefined },
): AssertionRules | undefined {
  const language = values['assertion-language'];
  const file = values['assertion-rules'];
  if (language !== undefined && file !== undefined)
    throw new CliError(
      `${command}: give --assertion-rules or --assertion-language, not both (a rule file names its language)`,
    );
  if (language !== undefined && !(SHIPPED_LANGUAGES as readonly string[]).includes(language))
    throw new CliError(`${command}: --assertion-language must be one of ${SHIPPED_LANGUAGES.join(', ')}`);
  try {
    if (file !== undefined) return loadAssertionRules(file);
  } catch (err) {
    if (err instanceof AssertionRulesError) throw new CliError(`${command}: ${err.message}`, 1);
    throw err;
  }
  return language === undefined ? undefined : defaultAssertionRules(language as ShippedLanguage);
}

const SUBCOMMANDS: Record<string, Command> = { evaluate };

/** `ner-ops assertions <subcommand>`. */
const assertions: Command = async (argv) => {
  const [sub, ...rest] = argv;
  const command = sub === undefined ? undefined : SUBCOMMANDS[sub];
  if (command) return command(rest);
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(HELP);
    return 0;
  }
  throw new CliError(`assertions: expected a subcommand (${Object.keys(SUBCOMMANDS).join(', ')})\n\n${HELP}`);
};
export default assertions;
