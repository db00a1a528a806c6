/**
 * The custom resources the demo applies, as a platform team would write them (pure builders). The demo
 * writes each one to `<work>/manifests/*.yaml` and applies it with kubectl, so the files can be read and
 * re-applied by hand against the demo cluster.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

export type Manifest = KubernetesObject & { metadata: { name: string }; spec: Record<string, unknown> };

const API_VERSION = 'nerops.io/v1alpha1';
export const FAMILY = 'clinical-ner';
export const DEPLOYMENT = 'clinical-ner';

/** Timing of the demo: short enough to watch, the same machinery as production defaults. */
export const DEMO_ROLLOUT = {
  steps: [
    { weight: 25, pauseSeconds: 10 },
    { weight: 50, pauseSeconds: 10 },
  ],
  analysisIntervalSeconds: 5,
  minSampleCount: 10,
  failureLimit: 1,
};
export const DEMO_DRIFT = { interval: '5s', window: '20s', minSamples: 50, consecutiveBreaches: 2 };
/**
 * The validation team: corrections per second, and the DriftPolicy's live-F1 signal over them (its own window,
 * since corrections are fewer than requests; `minSamples` counts gold entities).
 */
export const DEMO_FEEDBACK = { rate: 4, window: '30s', minSamples: 60, warning: 0.8, critical: 0 };

export function nerModel(
  name: string,
  version: string,
  uri: string,
  digest: string,
  opts: { assertionLanguage?: 'en' | 'nb' } = {},
): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'NerModel',
    metadata: { name },
    spec: {
      family: FAMILY,
      version,
      format: 'crf',
      source: { uri, digest },
      entityTypes: ['DISEASE', 'TREATMENT'],
      // The servers tag every entity's negation, certainty, temporality and experiencer with these rules.
      ...(opts.assertionLanguage ? { assertions: { language: opts.assertionLanguage } } : {}),
    },
  };
}

/**
 * Serves the newest Ready model of the family; a newer one is canaried with the demo's steps. With
 * `feedbackStoreUri` (`pvc://claim/path`) the pods keep the corrections posted to `/v1/feedback` there.
 */
export function nerDeployment(opts: { feedbackStoreUri?: string } = {}): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'NerDeployment',
    metadata: { name: DEPLOYMENT },
    spec: {
      modelSelector: { family: FAMILY },
      replicas: { min: 2, max: 2 },
      gates: { minF1: 0.5, maxRegression: 0.05 },
      rollout: DEMO_ROLLOUT,
      ...(opts.feedbackStoreUri ? { feedback: { storeUri: opts.feedbackStoreUri } } : {}),
    },
  };
}

/**
 * Retrain on warning-level drift. The critical thresholds of the distribution signals are set out of
 * reach so that this demo's (large) vocabulary shift retrains instead of only alerting — with the
 * defaults, a shift this large is Critical, which raises an alert and waits for a human (onCritical: Alert).
 * The live F1 of the validation team's corrections (`groundTruthF1`) has no out-of-reach critical: an F1 of
 * 0 (the model finds nothing right on the new notes, which happens here) is always Critical. So this policy
 * retrains on Critical too (`onCritical: Retrain`; the DriftCritical alert is raised all the same).
 */
export function driftPolicy(datasetUri: string, outputUri: string): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'DriftPolicy',
    metadata: { name: DEPLOYMENT },
    spec: {
      targetRef: { name: DEPLOYMENT },
      ...DEMO_DRIFT,
      signals: [
        { name: 'label-distribution', type: 'labelDistribution', warning: 0.1, critical: 0.99 },
        { name: 'confidence', type: 'confidence', warning: 0.1, critical: 1000 },
        { name: 'document-length', type: 'documentLength', warning: 0.1, critical: 1000 },
        { name: 'unknown-token-rate', type: 'unknownTokenRate', warning: 0.05, critical: 0.99 },
        {
          name: 'live-f1',
          type: 'groundTruthF1',
          warning: DEMO_FEEDBACK.warning,
          critical: DEMO_FEEDBACK.critical,
          window: DEMO_FEEDBACK.window,
          minSamples: DEMO_FEEDBACK.minSamples,
        },
      ],
      onWarning: 'Retrain',
      onCritical: 'Retrain',
      cooldown: '1h',
      retraining: { datasetUri, outputUri },
    },
  };
}
