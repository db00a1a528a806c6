/**
 * The `ner-ops` task commands the operator runs in the pods and Jobs it creates (`serve` is in serve.ts): their
 * names and the flags the operator passes. Flags only a person types stay with their command in cli/.
 */

/** Init container of every NerDeployment pod: download and verify the bundle into a shared volume. */
export const FETCH_MODEL_COMMAND = 'fetch-model';
/** The NerModel validation Job. */
export const VALIDATE_COMMAND = 'validate';
/** The default DriftPolicy retraining Job. */
export const RETRAIN_COMMAND = 'retrain';

/** Flags of the commands that fetch a model bundle (`fetch-model`, `validate`). */
export const ModelSourceFlag = {
  /** Expected bundle digest. */
  digest: 'digest',
  /** Bearer token file for http(s) sources. */
  tokenFile: 'token-file',
  /** PEM CA bundle for https sources. */
  caFile: 'ca-file',
  /** Boolean: the token may be sent over plain http (env NEROPS_MODEL_ALLOW_INSECURE_HTTP=true). */
  allowInsecureHttp: 'allow-insecure-http',
  /** Size cap in bytes for the fetch (env NEROPS_MODEL_MAX_BYTES). */
  maxBytes: 'max-bundle-bytes',
  /** Overall fetch deadline in milliseconds (env NEROPS_MODEL_FETCH_DEADLINE_MS). */
  fetchDeadlineMs: 'fetch-deadline-ms',
} as const;

export const FetchModelFlag = {
  ...ModelSourceFlag,
  /** Destination directory. */
  to: 'to',
} as const;

export const ValidateFlag = {
  ...ModelSourceFlag,
  /** CoNLL file to evaluate the bundle on (spec.evaluation). */
  dataset: 'dataset',
} as const;

export const RetrainFlag = {
  /** spec.retraining.fromScratch. */
  fromScratch: 'from-scratch',
} as const;

/** The DriftPolicy bundle cleanup Job: deletes the bundles of pruned NerModels on the policy's pvc:// output. */
export const DELETE_BUNDLES_COMMAND = 'delete-bundles';

/** Flags of `delete-bundles` (rules in bundle-cleanup.ts); every value is a `pvc://claim/path` URI. */
export const DeleteBundlesFlag = {
  /** The DriftPolicy's output prefix: nothing outside it is ever deleted. */
  within: 'within',
  /** A bundle to delete (repeated). */
  bundle: 'bundle',
  /** A location some NerModel still references (repeated): never deleted, nor anything above or below it. */
  keep: 'keep',
} as const;
