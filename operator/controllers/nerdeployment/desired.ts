/**
 * Desired children of a NerDeployment's stable track: Deployment, Service, PodDisruptionBudget. Pure and
 * deterministic (no clock, no randomness), so applying them twice is a no-op and a hand edit is reverted.
 *
 * Pods: an init container `ner-ops fetch-model` downloads and verifies the bundle into an emptyDir; the
 * container `ner-ops serve` loads it (verifying the digest again), binds to the pod IP (downward API
 * `POD_IP`) and carries the metric labels namespace/deployment/model/version/track through env vars.
 * Restricted pod security throughout; /tmp is an emptyDir because the root filesystem is read-only.
 */
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1Service,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { fetchLimitArgs } from '../fetch-limits.js';
import { LABELS, type Track } from '../../api/group.js';
import type { NerDeployment } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import { ownerReference } from '../../runtime/client.js';
import { boundedName, managedLabels } from '../child-metadata.js';
import {
  nerOpsCommand,
  PVC_CLAIMS_ROOT,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  tmpVolume,
} from '../pod-templates.js';
import { PVC_ROOT_ENV } from '../../../contracts/retraining-job.js';
import { sourceAccess, withStorageDefaults, type ModelStorageDefaults, type SourceAccess } from '../model-storage.js';
import {
  fhirMappingArg,
  flagArg,
  SERVE_COMMAND,
  ServeEnv,
  ServeEnvFallback,
  ServeFlag,
} from '../../../contracts/serve.js';
import { TracingEnv } from '../../../contracts/tracing.js';
import { FETCH_MODEL_COMMAND, FetchModelFlag } from '../../../contracts/task-commands.js';
import { withPodOverrides } from './pod-overrides.js';

/** Where the init container installs the bundle and the server reads it. */
export const MODEL_MOUNT = '/models';
export const MODEL_DIR = `${MODEL_MOUNT}/bundle`;
/** Where the auth token hashes Secret is mounted. */
export const AUTH_MOUNT = '/etc/nerops/auth';
/** Where the stable pods find the token they send with mirrored requests (shadow phase with auth). */
export const SHADOW_TOKEN_MOUNT = '/etc/nerops/shadow';
/** Where the audit log's HMAC key Secret is mounted. */
export const AUDIT_KEY_MOUNT = '/etc/nerops/audit';
/** Where the feedback token hashes Secret is mounted. */
export const FEEDBACK_AUTH_MOUNT = '/etc/nerops/feedback-auth';
/** Container name of the inference server. */
export const SERVER_CONTAINER = 'server';
/** Default resources of the server container when spec.resources is omitted. */
/** The server's memory model (docs/server.md, "Memory and bounded work"): base plus bounded working state. */
export const DEFAULT_RESOURCES = { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } };

/**
 * How long a terminating server keeps answering (unready) before it closes its listener: the time for
 * the endpoints change to reach every kube-proxy, so a rollout or scale-down drops no request. Well
 * inside terminationGracePeriodSeconds (30) together with the server's drain budget.
 */
export const SHUTDOWN_DELAY_MS = 3000;

/** Name of the stable track's Deployment. */
export function deploymentName(nd: NerDeployment, track: Track = 'stable'): string {
  return boundedName(nd.metadata.name ?? 'ner', `-${track}`);
}

/** Labels selecting a track's pods (the Deployment selector; immutable, so the model is not part of it). */
export function selectorLabels(nd: NerDeployment, track: Track = 'stable'): Record<string, string> {
  return { [LABELS.deployment]: nd.metadata.name ?? '', [LABELS.track]: track };
}

function podLabels(nd: NerDeployment, model: NerModel, track: Track): Record<string, string> {
  return managedLabels({
    ...selectorLabels(nd, track),
    [LABELS.model]: model.metadata.name ?? '',
    'app.kubernetes.io/name': 'nerops-server',
    'app.kubernetes.io/instance': nd.metadata.name ?? '',
  });
}

/** `ner-ops serve` flags for the spec's server tuning (only what the spec sets; the server has defaults). */
export function tuningArgs(nd: NerDeployment): string[] {
  const s = nd.spec.server;
  const flags: Array<[ServeFlag, number | string | undefined]> = [
    [ServeFlag.maxBatchSize, s.maxBatchSize],
    [ServeFlag.maxBatchWaitMs, s.maxBatchWaitMs],
    [ServeFlag.maxQueue, s.maxQueue],
    [ServeFlag.maxConcurrentBatches, s.maxConcurrentBatches],
    [ServeFlag.requestTimeoutMs, s.requestTimeoutMs],
    [ServeFlag.maxDocumentChars, s.maxDocumentChars],
    [ServeFlag.maxDocuments, s.maxDocuments],
    [ServeFlag.maxRequestTokens, s.maxRequestTokens],
    [ServeFlag.threads, s.threads],
    [ServeFlag.logLevel, s.logLevel],
  ];
  return flags.flatMap(([flag, v]) => (v === undefined ? [] : [flagArg(flag), String(v)]));
}

/** `ner-ops serve` flags for the model's assertion stage and FHIR output (only what its spec sets). */
export function clinicalOutputArgs(model: NerModel): string[] {
  const language = model.spec.assertions?.language;
  const f = model.spec.fhir;
  return [
    ...(language ? [flagArg(ServeFlag.assertionLanguage), language] : []),
    ...(f?.mapping?.length ? [flagArg(ServeFlag.fhirMapping), fhirMappingArg(f.mapping)] : []),
    ...(f?.familyHistory ? [flagArg(ServeFlag.fhirFamilyHistory), f.familyHistory] : []),
  ];
}

function quantities(q: Record<string, string | number> | undefined): Record<string, string> | undefined {
  return q && Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)]));
}

/** spec.resources with quantities as strings (what the API server stores), or the defaults. */
export function resourcesOf(nd: NerDeployment): { requests?: Record<string, string>; limits?: Record<string, string> } {
  const r = nd.spec.resources;
  if (!r) return DEFAULT_RESOURCES;
  const requests = quantities(r.requests);
  const limits = quantities(r.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

export interface ServingInput {
  nd: NerDeployment;
  model: NerModel;
  /** Replicas of the track (owned by the operator: the autoscaler decides). */
  replicas: number;
  image: string;
  track?: Track;
  /** Shadow phase: the stable server mirrors `percent` % of its requests to `url` (the candidate's Service). */
  shadow?: { url: string; percent: number };
  /** Operator defaults for http(s) sources without their own credentials / CA refs (fetch-model). */
  storage?: ModelStorageDefaults;
  /** Where the server sends its traces (the operator's own endpoint); unset: tracing off. */
  otlpTracesUrl?: string;
}

/** The server's environment: where it runs and what it serves (for its metrics labels and logs). */
function serverEnv(nd: NerDeployment, model: NerModel, track: Track, tmpDir: string, tracesUrl?: string): V1EnvVar[] {
  return [
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: ServeEnvFallback.namespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: ServeEnv.deployment, value: nd.metadata.name ?? '' },
    { name: ServeEnv.modelName, value: model.metadata.name ?? '' },
    { name: ServeEnv.modelVersion, value: model.spec.version },
    { name: ServeEnv.track, value: track },
    { name: 'TMPDIR', value: tmpDir },
    ...(tracesUrl ? [{ name: TracingEnv.tracesEndpoint, value: tracesUrl }] : []),
  ];
}

/** `ner-ops serve` flags (the auth and shadow flags are added by the caller). */
function serveArgs(nd: NerDeployment, model: NerModel): string[] {
  return [
    SERVE_COMMAND,
    flagArg(ServeFlag.model),
    MODEL_DIR,
    flagArg(ServeFlag.modelDigest),
    model.spec.source.digest,
    flagArg(ServeFlag.host),
    '$(POD_IP)',
    flagArg(ServeFlag.port),
    String(nd.spec.server.port),
    // Scrapes on a port of their own: the chart's NetworkPolicy opens it to Prometheus without opening the API.
    flagArg(ServeFlag.metricsPort),
    String(nd.spec.server.metricsPort),
    flagArg(ServeFlag.shutdownDelayMs),
    String(SHUTDOWN_DELAY_MS),
    ...tuningArgs(nd),
    ...clinicalOutputArgs(model),
  ];
}

/** The init container that fetches and verifies the bundle into the shared model volume. */
function fetchContainer(model: NerModel, image: string, source: SourceAccess, tmp: V1VolumeMount): V1Container {
  return nerOpsCommand({
    name: FETCH_MODEL_COMMAND,
    image,
    args: [
      FETCH_MODEL_COMMAND,
      source.uri,
      flagArg(FetchModelFlag.digest),
      model.spec.source.digest,
      flagArg(FetchModelFlag.to),
      MODEL_DIR,
      ...source.args,
      ...fetchLimitArgs(model.spec.source),
    ],
    env: [{ name: 'TMPDIR', value: tmp.mountPath }, ...source.env],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    securityContext: restrictedContainerSecurity(),
    volumeMounts: [{ name: 'model', mountPath: MODEL_MOUNT }, tmp, ...source.mounts],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  });
}

/** The server container, with its probes. */
function serverContainer(
  nd: NerDeployment,
  image: string,
  args: string[],
  env: V1EnvVar[],
  mounts: V1VolumeMount[],
): V1Container {
  return nerOpsCommand({
    name: SERVER_CONTAINER,
    image,
    args,
    env,
    ports: [
      { name: 'http', containerPort: nd.spec.server.port, protocol: 'TCP' },
      { name: 'metrics', containerPort: nd.spec.server.metricsPort, protocol: 'TCP' },
    ],
    readinessProbe: {
      httpGet: { path: '/readyz', port: 'http' },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 2,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'http' },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    resources: resourcesOf(nd),
    securityContext: restrictedContainerSecurity(),
    volumeMounts: mounts,
    terminationMessagePolicy: 'FallbackToLogsOnError',
  });
}

/**
 * `spec.feedback` in the server pod: the store's claim mounted read-write where `pvc://` URIs resolve
 * (`$NEROPS_PVC_ROOT/<claim>`, as the DriftPolicy Job mounts claims), the pod's name for the store's writer
 * id, the store's bounds, and the feedback token scope.
 */
export function feedbackWiring(
  nd: NerDeployment,
  podVolumes: V1Volume[] = [],
): {
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
  args: string[];
  env: V1EnvVar[];
} {
  const out = { volumes: [] as V1Volume[], mounts: [] as V1VolumeMount[], args: [] as string[], env: [] as V1EnvVar[] };
  const f = nd.spec.feedback;
  if (!f) return out;
  if (f.storeUri) {
    const claim = /^pvc:\/\/([^/]+)\//.exec(f.storeUri)?.[1];
    if (claim) {
      // A pod that names one claim in two volumes never starts (the kubelet waits for the second mount
      // forever), so a store on the model's own claim shares its volume, made writable; the fetch
      // container's mount of it stays read-only.
      const shared = podVolumes.find((v) => v.persistentVolumeClaim?.claimName === claim);
      if (shared?.persistentVolumeClaim) shared.persistentVolumeClaim.readOnly = false;
      else out.volumes.push({ name: 'feedback-store', persistentVolumeClaim: { claimName: claim } });
      out.mounts.push({ name: shared?.name ?? 'feedback-store', mountPath: `${PVC_CLAIMS_ROOT}/${claim}` });
      out.env.push({ name: PVC_ROOT_ENV, value: PVC_CLAIMS_ROOT });
    }
    // The writer id starts with the pod's name, so an operator can tell whose segments are whose.
    out.env.push({ name: ServeEnvFallback.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    out.args.push(flagArg(ServeFlag.feedbackStore), f.storeUri);
    if (f.maxBytes !== undefined) out.args.push(flagArg(ServeFlag.feedbackMaxBytes), String(f.maxBytes));
    if (f.segmentBytes !== undefined) out.args.push(flagArg(ServeFlag.feedbackSegmentBytes), String(f.segmentBytes));
  }
  if (f.tokenHashesSecretRef) {
    const key = f.tokenHashesSecretRef.key ?? 'token-hashes';
    out.volumes.push({
      name: 'feedback-auth',
      secret: { secretName: f.tokenHashesSecretRef.name, items: [{ key, path: 'token-hashes' }] },
    });
    out.mounts.push({ name: 'feedback-auth', mountPath: FEEDBACK_AUTH_MOUNT, readOnly: true });
    out.args.push(flagArg(ServeFlag.feedbackTokenFile), `${FEEDBACK_AUTH_MOUNT}/token-hashes`);
  }
  return out;
}

/** The pod of one track: fetch the bundle, then serve it. */
function servingPod({ nd, model, image, track = 'stable', shadow, storage, otlpTracesUrl }: ServingInput): V1PodSpec {
  const source = sourceAccess(withStorageDefaults(model.spec.source, storage), 'model');
  const tmp = tmpVolume();
  const volumes: V1Volume[] = [{ name: 'model', emptyDir: { sizeLimit: '2Gi' } }, tmp.volume, ...source.volumes];
  const serverMounts: V1VolumeMount[] = [{ name: 'model', mountPath: MODEL_MOUNT, readOnly: true }, tmp.mount];
  const args = serveArgs(nd, model);
  if (nd.spec.auth) {
    const key = nd.spec.auth.tokenHashesSecretRef.key ?? 'token-hashes';
    volumes.push({
      name: 'auth',
      secret: { secretName: nd.spec.auth.tokenHashesSecretRef.name, items: [{ key, path: 'token-hashes' }] },
    });
    serverMounts.push({ name: 'auth', mountPath: AUTH_MOUNT, readOnly: true });
    args.push(flagArg(ServeFlag.authTokenFile), `${AUTH_MOUNT}/token-hashes`);
  }
  // On unless the spec says off: the audit trail is what a hospital's access review reads.
  if (nd.spec.server.auditLog !== 'off') {
    args.push(flagArg(ServeFlag.auditLog), nd.spec.server.auditLog ?? 'stdout');
    const keyRef = nd.spec.server.auditKeySecretRef;
    if (keyRef) {
      volumes.push({
        name: 'audit-key',
        secret: { secretName: keyRef.name, items: [{ key: keyRef.key ?? 'key', path: 'key' }] },
      });
      serverMounts.push({ name: 'audit-key', mountPath: AUDIT_KEY_MOUNT, readOnly: true });
      args.push(flagArg(ServeFlag.auditHmacKeyFile), `${AUDIT_KEY_MOUNT}/key`);
    }
  }
  const feedback = feedbackWiring(nd, volumes);
  volumes.push(...feedback.volumes);
  serverMounts.push(...feedback.mounts);
  args.push(...feedback.args);
  if (shadow) {
    args.push(flagArg(ServeFlag.shadowUrl), shadow.url, flagArg(ServeFlag.shadowPercent), String(shadow.percent));
    const tokenRef = nd.spec.auth?.shadowTokenSecretRef;
    if (tokenRef) {
      volumes.push({
        name: 'shadow-token',
        secret: { secretName: tokenRef.name, items: [{ key: tokenRef.key ?? 'token', path: 'token' }] },
      });
      serverMounts.push({ name: 'shadow-token', mountPath: SHADOW_TOKEN_MOUNT, readOnly: true });
      args.push(flagArg(ServeFlag.shadowTokenFile), `${SHADOW_TOKEN_MOUNT}/token`);
    }
  }
  return {
    automountServiceAccountToken: false,
    securityContext: restrictedPodSecurity(),
    terminationGracePeriodSeconds: 30,
    volumes,
    initContainers: [fetchContainer(model, image, source, tmp.mount)],
    containers: [
      serverContainer(
        nd,
        image,
        args,
        [...serverEnv(nd, model, track, tmp.mount.mountPath, otlpTracesUrl), ...feedback.env],
        serverMounts,
      ),
    ],
  };
}

/** The Deployment of one track, with spec.podTemplate's overrides (pod-overrides.ts). */
export function desiredDeployment(input: ServingInput): V1Deployment {
  return withPodOverrides(input.nd, baseDeployment(input));
}

function baseDeployment(input: ServingInput): V1Deployment {
  const { nd, model, replicas, track = 'stable' } = input;
  const labels = podLabels(nd, model, track);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(nd, track),
      namespace: nd.metadata.namespace,
      labels,
      ownerReferences: [ownerReference(nd)],
    },
    spec: {
      replicas,
      selector: { matchLabels: selectorLabels(nd, track) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels,
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(nd.spec.server.metricsPort),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: servingPod(input),
      },
    },
  };
}

/** Name of the Service of one track (`<name>-stable`, `<name>-canary`): shadow target and Gateway API backends. */
export function trackServiceName(nd: NerDeployment, track: Track): string {
  return boundedName(nd.metadata.name ?? 'ner', `-${track}`);
}

/**
 * The Service clients use: selects every track of the NerDeployment (replica-ratio traffic split), or only
 * `onlyTrack` (the stable track during the shadow phase, when the candidate must get mirrored requests only).
 * With `track`, the per-track Service `<name>-<track>` instead.
 */
export function desiredService(nd: NerDeployment, options: { track?: Track; onlyTrack?: Track } = {}): V1Service {
  const base = nd.metadata.name ?? '';
  const name = options.track ? trackServiceName(nd, options.track) : base;
  const only = options.track ?? options.onlyTrack;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: nd.metadata.namespace,
      labels: managedLabels({ [LABELS.deployment]: base, ...(options.track ? { [LABELS.track]: options.track } : {}) }),
      ownerReferences: [ownerReference(nd)],
    },
    spec: {
      type: 'ClusterIP',
      selector: { [LABELS.deployment]: base, ...(only ? { [LABELS.track]: only } : {}) },
      ports: [{ name: 'http', port: nd.spec.server.port, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

/** At most one stable pod voluntarily disrupted at a time. */
export function desiredPdb(nd: NerDeployment): V1PodDisruptionBudget {
  const name = nd.metadata.name ?? '';
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name,
      namespace: nd.metadata.namespace,
      labels: managedLabels({ [LABELS.deployment]: name }),
      ownerReferences: [ownerReference(nd)],
    },
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(nd, 'stable') } },
  };
}
