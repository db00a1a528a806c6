import { CliError, parseCommandArgs, type Command } from '../command.js';
import { ModelSourceEnv } from '../../contracts/model-source-env.js';
import { publishBundle } from '../../engine/bundle/model-source.js';
import { verifyBundle } from '../../engine/bundle/bundle.js';
import { packageTokenClassificationBundle } from '../../trainer/package-transformer.js';
import { ASSERTION_FLAGS_HELP, ASSERTION_FLAG_OPTIONS, assertionRulesFromFlags } from './assertions.js';

const HELP = `usage: ner-ops package --dir DIR --name NAME [--model-version V] [--assertion-language L | --assertion-rules FILE]
       ner-ops package --push URI --dir DIR [--registry-auth-file F] [--ca-file F] [--plain-http]
                       [--s3-endpoint URL] [--s3-region R] [--s3-force-path-style] [--allow-insecure-http]

Write ner-model.json for a token-classification export in DIR (model.onnx with input_ids/attention_mask →
logits, a WordPiece tokenizer.json, config.json with id2label), making it a verifiable nerops bundle.
Prints the bundle digest.

${ASSERTION_FLAGS_HELP}

With --push, publish the bundle in DIR (verified first) instead:
  oci://registry/repo:tag   an OCI artifact (one layer per bundle file); prints the digest-pinned URI
                            (oci://registry/repo:tag@sha256:…) and the bundle digest, for a NerModel.
                            Credentials: a docker config.json [env ${ModelSourceEnv.registryAuthFile}].
  s3://bucket/prefix        the bundle's files under the prefix. Credentials: AWS_ACCESS_KEY_ID /
                            AWS_SECRET_ACCESS_KEY; endpoint [env ${ModelSourceEnv.s3Endpoint}].
Credentials never go over plain http unless --allow-insecure-http is given.`;

const pkg: Command = async (argv) => {
  const { values } = parseCommandArgs('package', argv, {
    dir: { type: 'string' },
    name: { type: 'string' },
    'model-version': { type: 'string' },
    ...ASSERTION_FLAG_OPTIONS,
    push: { type: 'string' },
    'registry-auth-file': { type: 'string' },
    'ca-file': { type: 'string' },
    'plain-http': { type: 'boolean' },
    's3-endpoint': { type: 'string' },
    's3-region': { type: 'string' },
    's3-force-path-style': { type: 'boolean' },
    'allow-insecure-http': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.push !== undefined) {
    if (!values.dir) throw new CliError('package: --push needs --dir DIR (the bundle to publish)\n\n' + HELP);
    try {
      const verified = await verifyBundle(values.dir);
      const out = await publishBundle(values.push, values.dir, {
        registryAuthFile: values['registry-auth-file'],
        caFile: values['ca-file'],
        ociPlainHttp: values['plain-http'] === true ? true : undefined,
        allowInsecureHttp: values['allow-insecure-http'] === true,
        s3: {
          endpoint: values['s3-endpoint'],
          region: values['s3-region'],
          forcePathStyle: values['s3-force-path-style'] === true ? true : undefined,
        },
      });
      console.log(out.uri);
      console.log(verified.digest);
    } catch (err) {
      throw new CliError(`package --push: ${(err as Error).message}`, 1);
    }
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
