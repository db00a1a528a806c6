/**
 * The valid samples (manifests/samples) and a catalogue of invalid objects built from them, shared by
 * the cluster test (the real API server must refuse each with a message naming the field) and the
 * unit test of the generator (the zod schemas must refuse them too: schemas and CRDs agree).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

/** A nerops object as plain JSON. */
export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown>;
  spec?: Record<string, unknown>;
} & Record<string, unknown>;

/** Samples in manifests/samples, by kind (one file per object). */
export function loadSamples(root: string): Obj[] {
  const dir = join(root, 'manifests/samples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => yaml.loadAll(readFileSync(join(dir, f), 'utf8')) as Obj[])
    .filter((o) => o !== null && o !== undefined);
}

/** One object the API server must refuse. */
export interface InvalidCase {
  /** Short description (test name). */
  name: string;
  /** The object to create (metadata.name is set by the test). */
  object: Obj;
  /** Strings the API server's message must contain: the field path (and, for CEL, the rule's message). */
  expect: string[];
  /** Create with `fieldValidation=Strict` (unknown fields refused instead of pruned). */
  strict?: boolean;
  /** False when only the API server can refuse it (unknown fields: zod strips them). */
  zod?: boolean;
}

/** One update the API server must refuse (transition rules). */
export interface InvalidUpdateCase {
  name: string;
  object: Obj;
  /** Mutates a copy of the object as created (with metadata.resourceVersion) into the update. */
  update: (o: Obj) => void;
  expect: string[];
}

type Mutator = (spec: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

function sampleOf(samples: readonly Obj[], kind: string): Obj {
  const s = samples.find((o) => o.kind === kind);
  if (!s) throw new Error(`no ${kind} in manifests/samples`);
  return s;
}

/** Field path of a DriftPolicy retraining template's pod spec. */
const TEMPLATE_POD = 'spec.retraining.template.spec.template.spec';

/** A retraining Job template around a pod spec. */
function templateWith(pod: Record<string, unknown>): Record<string, unknown> {
  return { spec: { template: { spec: pod } } };
}

function variant(base: Obj, mutate: Mutator): Obj {
  const copy = structuredClone(base);
  copy.metadata = {};
  mutate(copy.spec as Record<string, unknown>);
  return copy;
}

/** The invalid-object catalogue (at least 30 entries). */
export function invalidCases(samples: readonly Obj[]): InvalidCase[] {
  const model = sampleOf(samples, 'NerModel');
  const dep = sampleOf(samples, 'NerDeployment');
  const drift = sampleOf(samples, 'DriftPolicy');
  const c = (name: string, base: Obj, mutate: Mutator, ...expect: string[]): InvalidCase => ({
    name,
    object: variant(base, mutate),
    expect,
  });
  return [
    // ---- NerModel
    c(
      'NerModel without spec.source.digest',
      model,
      (s) => delete s.source.digest,
      'spec.source.digest',
      'Required value',
    ),
    c('NerModel digest in upper case', model, (s) => (s.source.digest = 'A'.repeat(64)), 'spec.source.digest'),
    c('NerModel digest of 63 hex characters', model, (s) => (s.source.digest = 'a'.repeat(63)), 'spec.source.digest'),
    c(
      'NerModel digest with a sha256: prefix',
      model,
      (s) => (s.source.digest = `sha256:${'a'.repeat(64)}`),
      'spec.source.digest',
    ),
    c('NerModel with unknown format', model, (s) => (s.format = 'onnx'), 'spec.format', 'Unsupported value'),
    c(
      'NerModel with an oci:// source not pinned by digest',
      model,
      (s) => (s.source.uri = 'oci://registry.local/models/ner:1.0'),
      'spec.source.uri',
    ),
    c('NerModel with a gs:// source', model, (s) => (s.source.uri = 'gs://bucket/model'), 'spec.source.uri'),
    c('NerModel with a pvc:// URI without path', model, (s) => (s.source.uri = 'pvc://models'), 'spec.source.uri'),
    c('NerModel family with upper case', model, (s) => (s.family = 'Clinical'), 'spec.family'),
    c('NerModel without family', model, (s) => delete s.family, 'spec.family', 'Required value'),
    c('NerModel with no entity types', model, (s) => (s.entityTypes = []), 'spec.entityTypes'),
    c(
      'NerModel with duplicate entity types',
      model,
      (s) => (s.entityTypes = ['DISEASE', 'DISEASE']),
      'spec.entityTypes[1]',
      'Duplicate value',
    ),
    c('NerModel minimum F1 above 1', model, (s) => (s.evaluation.minMetrics.f1 = 1.5), 'spec.evaluation.minMetrics.f1'),
    c(
      'NerModel evaluation without dataset',
      model,
      (s) => delete s.evaluation.datasetUri,
      'spec.evaluation.datasetUri',
      'Required value',
    ),
    c(
      'NerModel credentials Secret with an invalid name',
      model,
      (s) => (s.source.credentialsSecretRef = { name: 'Bad_Name' }),
      'spec.source.credentialsSecretRef.name',
    ),
    {
      name: 'NerModel without spec',
      object: { apiVersion: model.apiVersion, kind: 'NerModel', metadata: {} },
      expect: ['spec', 'Required value'],
    },
    // ---- NerDeployment
    c(
      'NerDeployment with both model and modelSelector',
      dep,
      (s) => (s.model = 'clinical-ner-1-2-0'),
      'spec',
      'exactly one of spec.model or spec.modelSelector',
    ),
    c(
      'NerDeployment with neither model nor modelSelector',
      dep,
      (s) => delete s.modelSelector,
      'spec',
      'exactly one of spec.model or spec.modelSelector',
    ),
    c(
      'NerDeployment model with an invalid name',
      dep,
      (s) => {
        delete s.modelSelector;
        s.model = 'Model_X';
      },
      'spec.model',
    ),
    c(
      'NerDeployment replicas.min > replicas.max',
      dep,
      (s) => (s.replicas = { min: 5, max: 2 }),
      'spec.replicas',
      'spec.replicas.min must be less than or equal to spec.replicas.max',
    ),
    c('NerDeployment replicas.min = 0', dep, (s) => (s.replicas.min = 0), 'spec.replicas.min'),
    c('NerDeployment replicas.max above 1000', dep, (s) => (s.replicas.max = 1001), 'spec.replicas.max'),
    c(
      'NerDeployment steps with decreasing weights',
      dep,
      (s) => (s.rollout.steps = [{ weight: 50 }, { weight: 10 }]),
      'spec.rollout.steps',
      'strictly increasing',
    ),
    c(
      'NerDeployment steps with equal weights',
      dep,
      (s) => (s.rollout.steps = [{ weight: 20 }, { weight: 20 }]),
      'spec.rollout.steps',
      'strictly increasing',
    ),
    c(
      'NerDeployment step weight above 100',
      dep,
      (s) => (s.rollout.steps = [{ weight: 10 }, { weight: 101 }]),
      'spec.rollout.steps[1].weight',
    ),
    c('NerDeployment step weight 0', dep, (s) => (s.rollout.steps = [{ weight: 0 }]), 'spec.rollout.steps[0].weight'),
    c('NerDeployment without steps', dep, (s) => (s.rollout.steps = []), 'spec.rollout.steps'),
    c(
      'NerDeployment autoscaling without target',
      dep,
      (s) => delete s.autoscaling.targetRequestsPerSecond,
      'spec.autoscaling.targetRequestsPerSecond',
      'Required value',
    ),
    c(
      'NerDeployment autoscaling target 0',
      dep,
      (s) => (s.autoscaling.targetRequestsPerSecond = 0),
      'spec.autoscaling.targetRequestsPerSecond',
    ),
    c('NerDeployment tolerance above 0.9', dep, (s) => (s.autoscaling.tolerance = 2), 'spec.autoscaling.tolerance'),
    c(
      'NerDeployment scaling down on missing metrics',
      dep,
      (s) => (s.autoscaling.onMetricsUnavailable = 'ScaleDown'),
      'spec.autoscaling.onMetricsUnavailable',
      'Unsupported value',
    ),
    c(
      'NerDeployment negative stabilization window',
      dep,
      (s) => (s.autoscaling.scaleDownStabilizationSeconds = -1),
      'spec.autoscaling.scaleDownStabilizationSeconds',
    ),
    c(
      'NerDeployment unknown traffic router',
      dep,
      (s) => (s.trafficRouting.type = 'istio'),
      'spec.trafficRouting.type',
      'Unsupported value',
    ),
    c(
      'NerDeployment gatewayAPI without HTTPRoute',
      dep,
      (s) => (s.trafficRouting = { type: 'gatewayAPI' }),
      'spec.trafficRouting',
      'gatewayAPI is required',
    ),
    c(
      'NerDeployment negative max error rate',
      dep,
      (s) => (s.rollout.thresholds.maxErrorRate = -0.1),
      'spec.rollout.thresholds.maxErrorRate',
    ),
    c(
      'NerDeployment no data meaning Pass',
      dep,
      (s) => (s.rollout.noDataMeans = 'Pass'),
      'spec.rollout.noDataMeans',
      'Unsupported value',
    ),
    c(
      'NerDeployment analysis interval of 1 s',
      dep,
      (s) => (s.rollout.analysisIntervalSeconds = 1),
      'spec.rollout.analysisIntervalSeconds',
    ),
    c('NerDeployment shadow above 100 %', dep, (s) => (s.shadow.percent = 150), 'spec.shadow.percent'),
    c('NerDeployment minimum F1 gate above 1', dep, (s) => (s.gates.minF1 = 2), 'spec.gates.minF1'),
    c(
      'NerDeployment invalid CPU quantity',
      dep,
      (s) => (s.resources.requests.cpu = 'lots'),
      'spec.resources.requests.cpu',
    ),
    c('NerDeployment privileged server port', dep, (s) => (s.server.port = 80), 'spec.server.port'),
    c('NerDeployment privileged metrics port', dep, (s) => (s.server.metricsPort = 80), 'spec.server.metricsPort'),
    c(
      'NerDeployment metrics port equal to the API port (the default 9090)',
      dep,
      (s) => (s.server.port = 9090),
      'spec.server',
      'spec.server.metricsPort must differ from spec.server.port',
    ),
    c('NerDeployment empty image', dep, (s) => (s.image = ''), 'spec.image'),
    c(
      'NerDeployment auth without Secret name',
      dep,
      (s) => (s.auth.tokenHashesSecretRef = {}),
      'spec.auth.tokenHashesSecretRef.name',
      'Required value',
    ),
    c(
      'NerDeployment shadow phase with auth but no shadow token',
      dep,
      (s) => delete s.auth.shadowTokenSecretRef,
      'spec.auth.shadowTokenSecretRef is required when spec.shadow and spec.auth are both set',
    ),
    {
      name: 'NerDeployment with a misspelt field (strict field validation)',
      object: variant(dep, (s) => (s.replica = { min: 1 })),
      expect: ['spec.replica', 'unknown field'],
      strict: true,
      zod: false,
    },
    // ---- DriftPolicy
    c('DriftPolicy without targetRef', drift, (s) => delete s.targetRef, 'spec.targetRef', 'Required value'),
    c(
      'DriftPolicy targeting a Deployment',
      drift,
      (s) => (s.targetRef.kind = 'Deployment'),
      'spec.targetRef.kind',
      'Unsupported value',
    ),
    c('DriftPolicy without retraining', drift, (s) => delete s.retraining, 'spec.retraining', 'Required value'),
    c('DriftPolicy interval in words', drift, (s) => (s.interval = '5 minutes'), 'spec.interval'),
    c('DriftPolicy cooldown in days', drift, (s) => (s.cooldown = '1d'), 'spec.cooldown'),
    c(
      'DriftPolicy unknown signal type',
      drift,
      (s) => (s.signals[0].type = 'kl'),
      'spec.signals[0].type',
      'Unsupported value',
    ),
    c(
      'DriftPolicy promql signal without query',
      drift,
      (s) => delete s.signals[4].query,
      'spec.signals[4]',
      'query is required for type promql',
    ),
    c(
      'DriftPolicy built-in signal with a query',
      drift,
      (s) => (s.signals[0].query = 'up'),
      'spec.signals[0]',
      'query is required for type promql',
    ),
    c(
      'DriftPolicy warning above critical',
      drift,
      (s) => (s.signals[1].warning = 0.5),
      'spec.signals[1]',
      'warning must be less than or equal to critical',
    ),
    c(
      'DriftPolicy duplicate signal names',
      drift,
      (s) => (s.signals[1].name = s.signals[0].name),
      'spec.signals[1]',
      'Duplicate value',
    ),
    c('DriftPolicy negative threshold', drift, (s) => (s.signals[0].warning = -1), 'spec.signals[0].warning'),
    c('DriftPolicy maxConcurrentRuns 0', drift, (s) => (s.maxConcurrentRuns = 0), 'spec.maxConcurrentRuns'),
    c('DriftPolicy consecutiveBreaches 0', drift, (s) => (s.consecutiveBreaches = 0), 'spec.consecutiveBreaches'),
    c(
      'DriftPolicy unknown warning action',
      drift,
      (s) => (s.onWarning = 'Page'),
      'spec.onWarning',
      'Unsupported value',
    ),
    c(
      'DriftPolicy unknown critical action',
      drift,
      (s) => (s.onCritical = 'Rollback'),
      'spec.onCritical',
      'Unsupported value',
    ),
    c('DriftPolicy unknown approval', drift, (s) => (s.approval = 'Later'), 'spec.approval', 'Unsupported value'),
    c('DriftPolicy schedule in words', drift, (s) => (s.triggers.schedule = 'every sunday'), 'spec.triggers.schedule'),
    c(
      'DriftPolicy ftp output',
      drift,
      (s) => (s.retraining.outputUri = 'ftp://host/models'),
      'spec.retraining.outputUri',
    ),
    c(
      'DriftPolicy Job template without spec',
      drift,
      (s) => (s.retraining.template = { metadata: { labels: { team: 'nlp' } } }),
      'spec.retraining.template.spec',
      'Required value',
    ),
    c('DriftPolicy suspend as a string', drift, (s) => (s.suspend = 'yes'), 'spec.suspend', 'boolean'),
    // Tenant boundary: what CEL refuses whatever the operator's configuration (Pod Security restricted).
    c(
      'DriftPolicy template with a privileged container',
      drift,
      (s) =>
        (s.retraining.template = templateWith({ containers: [{ name: 'x', securityContext: { privileged: true } }] })),
      `${TEMPLATE_POD}.containers[0].securityContext.privileged`,
      'privileged containers are not allowed',
    ),
    c(
      'DriftPolicy template with privilege escalation in an init container',
      drift,
      (s) =>
        (s.retraining.template = templateWith({
          containers: [{ name: 'x' }],
          initContainers: [{ name: 'i', securityContext: { allowPrivilegeEscalation: true } }],
        })),
      `${TEMPLATE_POD}.initContainers[0].securityContext.allowPrivilegeEscalation`,
      'allowPrivilegeEscalation must not be true',
    ),
    c(
      'DriftPolicy template with a hostPath volume',
      drift,
      (s) =>
        (s.retraining.template = templateWith({
          containers: [{ name: 'x' }],
          volumes: [{ name: 'root', hostPath: { path: '/' } }],
        })),
      `${TEMPLATE_POD}.volumes[0].hostPath`,
      'hostPath volumes are not allowed',
    ),
    ...(['hostNetwork', 'hostPID', 'hostIPC'] as const).map((f) =>
      c(
        `DriftPolicy template with ${f}`,
        drift,
        (s) => (s.retraining.template = templateWith({ [f]: true, containers: [{ name: 'x' }] })),
        `${TEMPLATE_POD}.${f}`,
        `${f} must not be true`,
      ),
    ),
  ];
}

/** Updates the API server must refuse. */
export function invalidUpdates(samples: readonly Obj[]): InvalidUpdateCase[] {
  const model = sampleOf(samples, 'NerModel');
  return [
    {
      name: 'NerModel spec.version changed',
      object: variant(model, () => undefined),
      update: (o) => ((o.spec as Record<string, unknown>).version = '1.2.1'),
      expect: ['spec', 'spec is immutable'],
    },
    {
      name: 'NerModel spec.source.digest changed',
      object: variant(model, () => undefined),
      update: (o) =>
        (((o.spec as Record<string, Record<string, unknown>>).source as Record<string, unknown>).digest = 'b'.repeat(
          64,
        )),
      expect: ['spec', 'spec is immutable'],
    },
  ];
}
