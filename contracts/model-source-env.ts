/**
 * Environment naming a model bundle and how to reach it. The operator sets these on the pods it creates;
 * `ner-ops serve`, `fetch-model` and `retrain` read them (a command-line flag wins over its variable).
 */
export const ModelSourceEnv = {
  /** Where the bundle is: directory, .tar/.tar.gz, file://, http(s)://. */
  uri: 'NEROPS_MODEL_URI',
  /** Expected bundle digest (sha256 of the manifest). */
  digest: 'NEROPS_MODEL_DIGEST',
  /** Bearer token file for http(s) sources. */
  tokenFile: 'NEROPS_MODEL_TOKEN_FILE',
  /** PEM CA bundle for https sources. */
  caFile: 'NEROPS_MODEL_CA_FILE',
} as const;
