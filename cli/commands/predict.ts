import { CliError, parseCommandArgs, type Command } from '../command.js';
import { withEngine } from '../open-engine.js';
import { AssertionStage, UnsupportedLanguageError } from '../../server/assertions.js';
import { toFhirBundle } from '../../server/fhir/bundle.js';
import { parseFhirMapping } from '../../server/fhir/mapping.js';
import { subjectSchema } from '../../server/schemas/extract.js';

const HELP = `usage: ner-ops predict --model DIR|FILE.tar.gz|URI [options] TEXT...

Extract entities from each TEXT (or from standard input when no TEXT is given); prints JSON.

  --model DIR|FILE|URI      the model bundle (a directory, .tar/.tar.gz, file:// or http(s)://)
  --format json|fhir        the project's JSON (default), or a FHIR R4 Bundle (type collection)
  --language L              assertion language (en, nb, or the bundle rules' language); default the
                            bundle's; with a model without rules of its own, runs the shipped rules of L
  --subject Patient/ID      the patient of the FHIR resources (default: data-absent-reason "unknown")
  --fhir-mapping SPEC       label → resource overrides, LABEL=Condition|Procedure|MedicationStatement|omit,...
  --fhir-family-history F   a relative's condition: FamilyMemberHistory (default) or omit

Entities carry "assertion" {negated, certainty, temporality, experiencer} when the model has an assertion
stage (its own rules, or --language).`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const predict: Command = async (argv) => {
  const { values, positionals } = parseCommandArgs(
    'predict',
    argv,
    {
      model: { type: 'string' },
      format: { type: 'string' },
      language: { type: 'string' },
      subject: { type: 'string' },
      'fhir-mapping': { type: 'string' },
      'fhir-family-history': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new CliError('predict: --model DIR is required\n\n' + HELP);
  const format = values.format ?? 'json';
  if (format !== 'json' && format !== 'fhir') throw new CliError('predict: --format must be json or fhir');
  let mapping;
  try {
    mapping = parseFhirMapping(values['fhir-mapping'], values['fhir-family-history']);
  } catch (err) {
    throw new CliError(`predict: ${(err as Error).message}`);
  }
  const subject =
    values.subject === undefined ? undefined : subjectSchema.safeParse({ reference: values.subject }).data;
  if (values.subject !== undefined && !subject)
    throw new CliError('predict: --subject must be Patient/<id> (a FHIR id: 1-64 of A-Z a-z 0-9 - .)');
  const texts = positionals.length > 0 ? positionals : [await readStdin()];
  await withEngine(values.model, async (engine) => {
    let stage: AssertionStage | undefined;
    try {
      stage = AssertionStage.forModel(engine.assertionRules, values.language);
    } catch (err) {
      if (err instanceof UnsupportedLanguageError) throw new CliError(`predict: --language: ${err.message}`);
      throw err;
    }
    const results = (await engine.extractBatch(texts)).map((r, i) => ({
      entities: stage ? stage.tag(stage.defaultLanguage, texts[i]!, r.entities) : r.entities,
    }));
    if (format === 'fhir') {
      const documents = results.map((r, i) => ({
        ...(texts.length > 1 ? { id: String(i + 1) } : {}),
        entities: r.entities,
        subject,
      }));
      console.log(JSON.stringify(toFhirBundle(documents, engine.info, { mapping, now: new Date() }), null, 2));
      return;
    }
    console.log(
      JSON.stringify(
        texts.length === 1 ? { ...results[0], model: engine.info } : { results, model: engine.info },
        null,
        2,
      ),
    );
  });
  return 0;
};
export default predict;
