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
  /**
   * `true`: the bearer token may be sent over plain `http://` (the source's `allowInsecureHttp`). Without it
   * a fetch that would send the token in clear is refused.
   */
  allowInsecureHttp: 'NEROPS_MODEL_ALLOW_INSECURE_HTTP',
  /** Size cap in bytes: downloaded bytes, an archive's expanded bytes and a bundle's files each stay under it. */
  maxBytes: 'NEROPS_MODEL_MAX_BYTES',
  /** Overall deadline in milliseconds for fetching (downloading and extracting) a bundle. */
  fetchDeadlineMs: 'NEROPS_MODEL_FETCH_DEADLINE_MS',
  /** `s3://` sources: the S3 API endpoint (unset: AWS). Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. */
  s3Endpoint: 'NEROPS_MODEL_S3_ENDPOINT',
  /** `s3://` sources: the region to sign for (default us-east-1). */
  s3Region: 'NEROPS_MODEL_S3_REGION',
  /** `s3://` sources: `true` for path-style addressing (most on-prem stores). */
  s3ForcePathStyle: 'NEROPS_MODEL_S3_FORCE_PATH_STYLE',
  /** `oci://` sources: a docker config.json (a kubernetes.io/dockerconfigjson Secret's `.dockerconfigjson`). */
  registryAuthFile: 'NEROPS_MODEL_REGISTRY_AUTH_FILE',
  /** `oci://` sources: `true` to talk plain http to the registry (credentials still need allowInsecureHttp). */
  ociPlainHttp: 'NEROPS_MODEL_OCI_PLAIN_HTTP',
} as const;

/** Defaults of the fetch limits when neither a flag nor the environment sets them. */
export const MODEL_FETCH_DEFAULTS = {
  /** Above any bundle we package (transformers included), well below a node's scratch space. */
  maxBytes: 2 * 1024 ** 3,
  /** 15 minutes. */
  fetchDeadlineMs: 15 * 60_000,
} as const;
