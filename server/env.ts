/**
 * Environment variables `ner-ops serve` reads (flags win over them). The operator sets these on
 * NerDeployment pods; import the names from here instead of retyping them.
 */
export const ServeEnv = {
  modelUri: 'NEROPS_MODEL_URI',
  modelDigest: 'NEROPS_MODEL_DIGEST',
  modelTokenFile: 'NEROPS_MODEL_TOKEN_FILE',
  modelCaFile: 'NEROPS_MODEL_CA_FILE',
  threads: 'NEROPS_THREADS',
  host: 'NEROPS_HOST',
  port: 'NEROPS_PORT',
  authTokenFile: 'NEROPS_AUTH_TOKEN_FILE',
  namespace: 'NEROPS_NAMESPACE',
  deployment: 'NEROPS_DEPLOYMENT',
  modelName: 'NEROPS_MODEL_NAME',
  modelVersion: 'NEROPS_MODEL_VERSION',
  /** `stable` or `canary`. */
  track: 'NEROPS_TRACK',
  shadowUrl: 'NEROPS_SHADOW_URL',
  shadowPercent: 'NEROPS_SHADOW_PERCENT',
  logLevel: 'NEROPS_LOG_LEVEL',
} as const;
