/**
 * The permission table (operator/permissions.ts) against the code, both ways:
 *
 * - every informer of the controllers `ner-ops operator` runs, and every request the reconcilers and the
 *   leader elector send in recorded scenarios, is allowed by a row (a missing row would be a 403 in a real
 *   install: the chart is generated from the table);
 * - every row is needed: some informer or recorded request uses it (least privilege), except the rows the
 *   API server checks on the operator's behalf (`checkedBy`).
 *
 * The scenarios run the real reconcile functions over a ClusterClient whose API is an in-memory fake that
 * answers like the API server (404s, 201 for an apply that creates, status subresource, merge patches) and
 * also serves as the informer cache. They walk the paths the issue found unguarded: a promotion with the
 * Gateway API router (HTTPRoute read and patched, the promote annotation removed) and with the
 * replica-ratio router (canary Deployment and Service deleted), plus validation, retraining and leader
 * election.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject, V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RETRAIN_ANNOTATION } from './api/driftpolicy-constants.js';
import { DriftPolicySpecSchema, type DriftPolicy } from './api/driftpolicy.js';
import { NerDeploymentSpecSchema, type NerDeployment } from './api/nerdeployment.js';
import { ROLLOUT_ACTION_ANNOTATION } from './api/nerdeployment-constants.js';
import {
  ALLOWED_ORIGINS_ANNOTATION,
  BUNDLE_CLEANUP_FINALIZER,
  IN_USE_FINALIZER,
  VALIDATION_CONTAINER_NAME,
} from './api/nermodel-constants.js';
import type { NerModel } from './api/nermodel.js';
import { driftPolicies, httpRoutes, nerDeployments, nerModels } from './api/resources.js';
import { controllers } from './controllers/index.js';
import { createDriftPolicyReconciler } from './controllers/driftpolicy/reconcile.js';
import { encodeRetrainResult, RETRAIN_CONTAINER_NAME } from '../contracts/retraining-job.js';
import { createNerDeploymentReconciler } from './controllers/nerdeployment/reconcile.js';
import { stepsHash } from './controllers/nerdeployment/rollout.js';
import { reconcileNerModel } from './controllers/nermodel/reconcile.js';
import { encodeValidationResult } from '../contracts/validation-result.js';
import { DELETE_BUNDLES_CONTAINER_NAME, encodeDeleteBundlesResult } from '../contracts/bundle-cleanup.js';
import { controllerConfig, type ControllerDeps } from './config.js';
import { OPERATOR_PERMISSIONS } from './permissions.js';
import { ClusterClient } from './runtime/client.js';
import { FakeClock } from './runtime/clock.js';
import type { ReconcileContext } from './runtime/controller.js';
import type { CacheReader } from './runtime/informer.js';
import { KubeApiError, type HttpVerb, type KubeRequest, type RequestObserver } from './runtime/kube.js';
import { LeaderElector } from './runtime/leader.js';
import {
  AccessRecorder,
  accessLabel,
  informerAccess,
  permits,
  rbacRules,
  requestAccess,
  type Access,
} from './runtime/permissions.js';
import { builtin, keyOf, type ResourceType } from './runtime/resource.js';
import { nerModel, readyStatus } from './testing/builders.js';

const NOW = new Date('2025-03-01T12:00:00Z');
const NS = 'team';
const DIGEST = 'ab'.repeat(32);
const root = join(import.meta.dirname, '..');

// ---------------------------------------------------------------------------------------------------
// An in-memory API server: enough of the REST semantics for the reconcilers, and their informer cache.

type Obj = KubernetesObject & { spec?: unknown; status?: unknown; data?: Record<string, string> };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function matchesSelector(obj: Obj, selector: string | undefined): boolean {
  if (!selector) return true;
  const labels = obj.metadata?.labels ?? {};
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return v === undefined ? labels[k!] !== undefined : labels[k!] === v;
  });
}

class FakeApi {
  readonly objects = new Map<string, Obj>();
  #rv = 1;
  #observers: RequestObserver[] = [];

  static key(group: string, resource: string, namespace: string | undefined, name: string): string {
    return `${group}/${resource}/${namespace ?? ''}/${name}`;
  }

  onRequest(observer: RequestObserver): () => void {
    this.#observers.push(observer);
    return () => (this.#observers = this.#observers.filter((o) => o !== observer));
  }

  /** Stores an object as if a user or another controller had created it. */
  seed<T extends Obj>(rt: ResourceType, obj: T): T {
    const stored = {
      ...structuredClone(obj),
      apiVersion: obj.apiVersion ?? (rt.group ? `${rt.group}/${rt.version}` : rt.version),
      kind: rt.kind,
    };
    stored.metadata = {
      uid: `uid-${obj.metadata?.name}`,
      creationTimestamp: NOW,
      generation: 1,
      ...stored.metadata,
      resourceVersion: String(++this.#rv),
    };
    this.objects.set(FakeApi.key(rt.group, rt.plural, obj.metadata?.namespace, obj.metadata?.name ?? ''), stored);
    return structuredClone(stored) as T;
  }

  get<T extends Obj>(rt: ResourceType, namespace: string | undefined, name: string): T | undefined {
    const o = this.objects.get(FakeApi.key(rt.group, rt.plural, namespace, name));
    return o ? (structuredClone(o) as T) : undefined;
  }

  /** Changes a stored object the way another controller would (a Job finishing, a Deployment rolling out). */
  update<T extends Obj>(rt: ResourceType, namespace: string, name: string, change: (o: T) => void): void {
    const o = this.get<T>(rt, namespace, name);
    if (!o) throw new Error(`no ${rt.kind} ${namespace}/${name}`);
    change(o);
    this.seed(rt, o);
  }

  /** An informer cache over the stored objects. */
  cache<T extends KubernetesObject>(rt: ResourceType): CacheReader<T> {
    const all = () =>
      [...this.objects.entries()]
        .filter(([k]) => k.startsWith(`${rt.group}/${rt.plural}/`))
        .map(([, o]) => structuredClone(o) as unknown as T);
    return {
      resource: rt,
      get: (ns, name) => this.get(rt, ns, name) as T | undefined,
      getByKey: (key) => all().find((o) => keyOf(o) === key),
      list: (ns, labels) =>
        all().filter(
          (o) =>
            (ns === undefined || o.metadata?.namespace === ns) &&
            Object.entries(labels ?? {}).every(([k, v]) => o.metadata?.labels?.[k] === v),
        ),
      hasSynced: () => true,
    };
  }

  async request<T>(req: KubeRequest): Promise<T> {
    let status = 200;
    try {
      const out = this.#handle(req);
      status = out.status;
      return structuredClone(out.body) as T;
    } catch (err) {
      status = err instanceof KubeApiError ? err.statusCode : 0;
      throw err;
    } finally {
      for (const o of this.#observers) o(req.method, req.path, status, 0);
    }
  }

  #handle(req: KubeRequest): { status: number; body: unknown } {
    const [a] = requestAccess(req.method, req.path) ?? [];
    if (!a) throw new Error(`not a resource path: ${req.path}`);
    const key = (name: string) => FakeApi.key(a.group, a.resource, a.namespace, name);
    const existing = a.name !== undefined ? this.objects.get(key(a.name)) : undefined;
    const notFound = () => new KubeApiError(`${a.resource} ${a.name} not found`, 404, 'NotFound');
    const store = (o: Obj) => {
      o.metadata = { ...o.metadata, resourceVersion: String(++this.#rv) };
      this.objects.set(key(o.metadata.name ?? ''), o);
      return o;
    };
    switch (a.verb) {
      case 'get':
        if (!existing) throw notFound();
        return { status: 200, body: existing };
      case 'list': {
        const prefix = FakeApi.key(a.group, a.resource, a.namespace, '');
        const items = [...this.objects.entries()]
          .filter(
            ([k, o]) => k.startsWith(prefix) && matchesSelector(o, req.query?.labelSelector as string | undefined),
          )
          .map(([, o]) => o);
        return { status: 200, body: { items, metadata: { resourceVersion: String(this.#rv) } } };
      }
      case 'create': {
        const body = structuredClone(req.body) as Obj;
        const name = body.metadata?.name ?? '';
        if (this.objects.has(key(name))) throw new KubeApiError('exists', 409, 'AlreadyExists');
        return {
          status: 201,
          body: store({
            ...body,
            metadata: { uid: `uid-${name}`, creationTimestamp: NOW, generation: 1, ...body.metadata },
          }),
        };
      }
      case 'update': {
        const body = structuredClone(req.body) as Obj;
        if (!existing) throw notFound();
        if (body.metadata?.resourceVersion !== existing.metadata?.resourceVersion)
          throw new KubeApiError('conflict', 409, 'Conflict');
        return { status: 200, body: store(body) };
      }
      case 'patch': {
        const body = structuredClone(req.body) as Obj;
        if (a.subresource === 'status') {
          if (!existing) throw notFound();
          return { status: 200, body: store({ ...existing, status: body.status }) };
        }
        if (req.contentType === 'application/apply-patch+yaml') {
          // Server-side apply: creates when absent (HTTP 201); the main resource never writes status.
          if (!existing)
            return {
              status: 201,
              body: store({
                ...body,
                metadata: { uid: `uid-${a.name}`, creationTimestamp: NOW, generation: 1, ...body.metadata },
              }),
            };
          return {
            status: 200,
            body: store({
              ...existing,
              ...body,
              metadata: { ...existing.metadata, ...body.metadata },
              status: existing.status,
            }),
          };
        }
        if (!existing) throw notFound();
        return { status: 200, body: store(mergePatch(existing, body) as Obj) };
      }
      case 'delete':
        if (!existing) throw notFound();
        this.objects.delete(key(a.name ?? ''));
        return { status: 200, body: { kind: 'Status', status: 'Success' } };
      default:
        throw new Error(`unexpected ${a.verb} ${accessLabel(a)}`);
    }
  }
}

/** A reconcile context for `obj` over the fake API (its cache, a ClusterClient on it, a fixed clock). */
function contextFor<T extends Obj>(api: FakeApi, rt: ResourceType, obj: T): ReconcileContext<T> {
  const clock = new FakeClock(NOW.getTime());
  const log = pino({ level: 'silent' });
  const client = new ClusterClient(api as never, { clock, logger: log });
  return {
    key: keyOf(obj),
    namespace: obj.metadata?.namespace,
    name: obj.metadata?.name ?? '',
    object: obj,
    log,
    clock,
    now: () => new Date(clock.now()),
    primary: api.cache<T>(rt),
    cache: <U extends KubernetesObject>(r: ResourceType) => api.cache<U>(r),
    client,
    signal: new AbortController().signal,
  };
}

/** Reconciles the stored copy of a primary object (so each pass sees the status the last one wrote). */
function stored<T extends Obj>(api: FakeApi, rt: ResourceType, name: string): T {
  const o = api.get<T>(rt, NS, name);
  if (!o) throw new Error(`no ${rt.kind} ${name}`);
  return o;
}

// ---------------------------------------------------------------------------------------------------
// Scenarios. Each returns the API it ran against, with an AccessRecorder attached before the first request.

function readyModel(name: string, version: string): NerModel {
  return nerModel({
    name,
    namespace: NS,
    metadata: { labels: { 'nerops.io/family': 'clinical' } },
    spec: { version, entityTypes: ['DISEASE', 'TREATMENT'] },
    source: { uri: `file:///models/${name}`, digest: DIGEST },
    status: {
      ...readyStatus(),
      baseline: {
        profileVersion: 1,
        documents: 100,
        tokens: 2000,
        entities: 100,
        labelDistribution: { DISEASE: 0.5, TREATMENT: 0.5 },
        confidence: { bounds: [0.5, 0.9], counts: [10, 30, 60] },
        documentLength: { bounds: [10, 20], counts: [20, 50, 30] },
        unknownTokenRate: 0.02,
      },
    },
  });
}

/** A Deployment as the Deployment controller reports it once every replica of its spec is ready. */
function rolledOut(d: V1Deployment): void {
  const n = d.spec?.replicas ?? 1;
  d.metadata = { ...d.metadata, generation: 1 };
  d.status = {
    observedGeneration: 1,
    replicas: n,
    readyReplicas: n,
    updatedReplicas: n,
    availableReplicas: n,
    conditions: [{ type: 'Available', status: 'True' }] as never,
  };
}

/** A finished Job's pod, with the termination message the task wrote. */
function finishedPod(job: string, container: string, message: string): V1Pod {
  return {
    metadata: { name: `${job}-x1`, namespace: NS, labels: { 'job-name': job } },
    status: {
      containerStatuses: [
        {
          name: container,
          image: 'nerops:test',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 0, message } },
        },
      ],
    },
  } as V1Pod;
}

function complete(j: V1Job): void {
  j.status = { completionTime: NOW, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: NOW }] };
}

/**
 * A NerModel validated: its credentials Secret's allowed origins read (metadata only), validation Job
 * created, then finished, its pod's result read.
 */
async function validationScenario(api: FakeApi): Promise<void> {
  const source = {
    uri: 'https://models.example.org/clinical-v3/',
    digest: DIGEST,
    credentialsSecretRef: { name: 'store' },
  };
  api.seed(builtin.secrets, {
    metadata: {
      name: 'store',
      namespace: NS,
      annotations: { [ALLOWED_ORIGINS_ANNOTATION]: 'https://models.example.org' },
    },
  } as Obj);
  const ready = readyModel('clinical-v3', '3.0.0');
  const m = api.seed(nerModels, { ...ready, spec: { ...ready.spec, source }, status: undefined } as NerModel);
  await reconcileNerModel(contextFor(api, nerModels, m), { image: 'nerops:test' });
  const job = api.cache<V1Job>(builtin.jobs).list(NS, { 'nerops.io/validates': 'clinical-v3' })[0];
  expect(job, 'the validation Job was created').toBeDefined();
  const jobName = job?.metadata?.name ?? '';
  api.update<V1Job>(builtin.jobs, NS, jobName, complete);
  const result = encodeValidationResult({
    resultVersion: 1,
    outcome: 'Ready',
    reason: 'Validated',
    message: 'bundle ok',
    digest: DIGEST,
    sizeBytes: 1,
    entityTypes: ['DISEASE', 'TREATMENT'],
    metrics: { source: 'bundle', micro: { precision: 0.9, recall: 0.8, f1: 0.85, support: 10 } },
  });
  api.seed(builtin.pods, finishedPod(jobName, VALIDATION_CONTAINER_NAME, result));
  await reconcileNerModel(contextFor(api, nerModels, stored(api, nerModels, 'clinical-v3')), { image: 'nerops:test' });
  expect(stored<NerModel>(api, nerModels, 'clinical-v3').status?.phase).toBe('Ready');
}

/** Deletion protection: a served model gets the in-use finalizer; once it is no longer served, loses it. */
async function protectionScenario(api: FakeApi): Promise<void> {
  api.seed(nerModels, readyModel('clinical-v1', '1.0.0'));
  api.seed(nerDeployments, {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerDeployment',
    metadata: { name: 'notes', namespace: NS },
    spec: NerDeploymentSpecSchema.parse({ model: 'clinical-v1' }),
    status: { stableModel: 'clinical-v1' },
  } as NerDeployment);
  await reconcileNerModel(contextFor(api, nerModels, stored(api, nerModels, 'clinical-v1')));
  expect(stored<NerModel>(api, nerModels, 'clinical-v1').metadata.finalizers).toEqual([IN_USE_FINALIZER]);
  api.update<NerDeployment>(nerDeployments, NS, 'notes', (d) => (d.status = { stableModel: 'clinical-v2' }));
  await reconcileNerModel(contextFor(api, nerModels, stored(api, nerModels, 'clinical-v1')));
  expect(stored<NerModel>(api, nerModels, 'clinical-v1').metadata.finalizers ?? []).toEqual([]);
}

/** A new NerDeployment: its Deployment, Service and PodDisruptionBudget are created. */
async function firstServingScenario(api: FakeApi): Promise<void> {
  api.seed(nerModels, readyModel('clinical-v1', '1.0.0'));
  api.seed(nerDeployments, {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerDeployment',
    metadata: { name: 'notes', namespace: NS },
    spec: NerDeploymentSpecSchema.parse({ model: 'clinical-v1' }),
  } as NerDeployment);
  await createNerDeploymentReconciler({ image: 'nerops:test' }).reconcile(
    contextFor(api, nerDeployments, stored(api, nerDeployments, 'notes')),
  );
  for (const rt of [builtin.deployments, builtin.services, builtin.podDisruptionBudgets])
    expect(api.cache(rt).list(NS).length, rt.kind).toBeGreaterThan(0);
}

/**
 * A canary of clinical-v2 over clinical-v1, promoted by the user's annotation; then the stable track rolls
 * out v2 and the canary is pruned.
 */
async function promotionScenario(api: FakeApi, routing: 'replicaRatio' | 'gatewayAPI'): Promise<void> {
  api.seed(nerModels, readyModel('clinical-v1', '1.0.0'));
  api.seed(nerModels, readyModel('clinical-v2', '2.0.0'));
  const spec = NerDeploymentSpecSchema.parse({
    model: 'clinical-v2',
    replicas: { min: 4, max: 4 },
    trafficRouting:
      routing === 'gatewayAPI'
        ? { type: 'gatewayAPI', gatewayAPI: { httpRouteName: 'notes-route' } }
        : { type: 'replicaRatio' },
  });
  if (routing === 'gatewayAPI') {
    api.seed(httpRoutes, {
      metadata: { name: 'notes-route', namespace: NS },
      spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'notes', port: 8080 }] }] },
    } as Obj);
  }
  const nd = api.seed(nerDeployments, {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerDeployment',
    metadata: { name: 'notes', namespace: NS, annotations: { [ROLLOUT_ACTION_ANNOTATION]: 'promote' } },
    spec,
    status: {
      stableModel: 'clinical-v1',
      canaryModel: 'clinical-v2',
      currentStepIndex: 0,
      stepsHash: stepsHash(spec.rollout.steps),
      weights: { stable: 90, canary: 10 },
      pauseStartTime: '2025-03-01T11:59:00Z',
    },
  } as NerDeployment);
  const reconciler = createNerDeploymentReconciler({ image: 'nerops:test' });
  // The two tracks as they run before the promotion.
  for (const [track, model, replicas] of [
    ['stable', 'clinical-v1', 4],
    ['canary', 'clinical-v2', 1],
  ] as const) {
    const d = {
      metadata: {
        name: `notes-${track}`,
        namespace: NS,
        labels: { 'app.kubernetes.io/managed-by': 'nerops', 'nerops.io/model': model, 'nerops.io/track': track },
        ownerReferences: [
          {
            apiVersion: 'nerops.io/v1alpha1',
            kind: 'NerDeployment',
            name: 'notes',
            uid: nd.metadata.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: { replicas, selector: {}, template: {} },
    } as V1Deployment;
    rolledOut(d);
    api.seed(builtin.deployments, d);
  }
  api.seed(builtin.services, {
    metadata: {
      name: 'notes-canary',
      namespace: NS,
      labels: { 'app.kubernetes.io/managed-by': 'nerops' },
      ownerReferences: [
        {
          apiVersion: 'nerops.io/v1alpha1',
          kind: 'NerDeployment',
          name: 'notes',
          uid: nd.metadata.uid ?? '',
          controller: true,
        },
      ],
    },
    spec: {},
  } as Obj);

  await reconciler.reconcile(contextFor(api, nerDeployments, stored(api, nerDeployments, 'notes')));
  const promoted = stored<NerDeployment>(api, nerDeployments, 'notes');
  expect(promoted.status?.stableModel).toBe('clinical-v2');
  expect(promoted.metadata.annotations?.[ROLLOUT_ACTION_ANNOTATION], 'the one-shot action is removed').toBeUndefined();

  // The Deployment controller rolls the stable track out on v2; the next reconcile prunes the canary.
  api.update<V1Deployment>(builtin.deployments, NS, 'notes-stable', rolledOut);
  await reconciler.reconcile(contextFor(api, nerDeployments, promoted));
  expect(api.get(builtin.deployments, NS, 'notes-canary'), 'the canary Deployment is deleted').toBeUndefined();
}

/** A retraining requested by hand: the Job is created, finishes, and its result becomes a NerModel. */
async function retrainingScenario(api: FakeApi): Promise<void> {
  const base = api.seed(nerModels, readyModel('clinical-v1', '1.0.0'));
  api.seed(nerDeployments, {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerDeployment',
    metadata: { name: 'notes', namespace: NS },
    spec: NerDeploymentSpecSchema.parse({ model: 'clinical-v1' }),
    status: { stableModel: 'clinical-v1' },
  } as NerDeployment);
  api.seed(builtin.configMaps, { metadata: { name: 'dataset', namespace: NS }, data: { version: 'v7' } } as Obj);
  api.seed(driftPolicies, {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'DriftPolicy',
    metadata: { name: 'drift', namespace: NS, annotations: { [RETRAIN_ANNOTATION]: 'please' } },
    spec: DriftPolicySpecSchema.parse({
      targetRef: { name: 'notes' },
      retraining: { datasetUri: 'file:///data/train.conll', outputUri: 'file:///out' },
      triggers: { datasetRef: { name: 'dataset' } },
    }),
  } as DriftPolicy);
  const reconciler = createDriftPolicyReconciler({ image: 'nerops:test' });
  await reconciler.reconcile(contextFor(api, driftPolicies, stored(api, driftPolicies, 'drift')));
  const job = api.cache<V1Job>(builtin.jobs).list(NS, { 'nerops.io/drift-policy': 'drift' })[0];
  expect(job, 'the retraining Job was created').toBeDefined();
  const jobName = job?.metadata?.name ?? '';
  api.update<V1Job>(builtin.jobs, NS, jobName, complete);
  const result = encodeRetrainResult({
    resultVersion: 1,
    outcome: 'Succeeded',
    reason: 'Trained',
    bundleUri: `file:///out/${job?.metadata?.labels?.['nerops.io/run-id']}`,
    digest: 'cd'.repeat(32),
    format: 'crf',
    entityTypes: ['DISEASE', 'TREATMENT'],
  });
  api.seed(builtin.pods, finishedPod(jobName, RETRAIN_CONTAINER_NAME, result));
  await reconciler.reconcile(contextFor(api, driftPolicies, stored(api, driftPolicies, 'drift')));
  const retrained = api
    .cache<NerModel>(nerModels)
    .list(NS)
    .filter((m) => m.spec.lineage?.parentModel === base.metadata.name);
  expect(retrained, 'the retrained NerModel was created').toHaveLength(1);
}

/** Retention: of three retrained models, keepLast 1 deletes the two older ones nothing needs. */
/** A model retrained by DriftPolicy `drift` from clinical-v1, `minutesAgo` old (its bundle at `uri` when given). */
function retrainedModel(run: string, minutesAgo: number, extra: { uri?: string; pruned?: boolean } = {}): NerModel {
  const m = readyModel(`clinical-${run}`, run);
  return {
    ...m,
    metadata: {
      ...m.metadata,
      creationTimestamp: new Date(NOW.getTime() - minutesAgo * 60_000),
      labels: { 'app.kubernetes.io/managed-by': 'nerops', 'nerops.io/drift-policy': 'drift' },
      ...(extra.pruned ? { deletionTimestamp: NOW, finalizers: [BUNDLE_CLEANUP_FINALIZER] } : {}),
    },
    spec: {
      ...m.spec,
      ...(extra.uri ? { source: { ...m.spec.source, uri: extra.uri } } : {}),
      lineage: { parentModel: 'clinical-v1', driftPolicy: 'drift', runId: run },
    },
  } as NerModel;
}

/** NerDeployment `notes` serving clinical-v1, and DriftPolicy `drift` on it keeping the last retrained model. */
function seedRetention(api: FakeApi, retraining: { datasetUri: string; outputUri: string }): void {
  api.seed(nerDeployments, {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerDeployment',
    metadata: { name: 'notes', namespace: NS },
    spec: NerDeploymentSpecSchema.parse({ model: 'clinical-v1' }),
    status: { stableModel: 'clinical-v1' },
  } as NerDeployment);
  api.seed(driftPolicies, {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'DriftPolicy',
    metadata: { name: 'drift', namespace: NS },
    spec: DriftPolicySpecSchema.parse({ targetRef: { name: 'notes' }, retraining, retention: { keepLast: 1 } }),
  } as DriftPolicy);
}

async function retentionScenario(api: FakeApi): Promise<void> {
  api.seed(nerModels, readyModel('clinical-v1', '1.0.0'));
  for (const [i, run] of ['r1', 'r2', 'r3'].entries()) api.seed(nerModels, retrainedModel(run, 3 - i));
  seedRetention(api, { datasetUri: 'file:///data/train.conll', outputUri: 'file:///out' });
  await createDriftPolicyReconciler({ image: 'nerops:test' }).reconcile(
    contextFor(api, driftPolicies, stored(api, driftPolicies, 'drift')),
  );
  const left = api
    .cache<NerModel>(nerModels)
    .list(NS)
    .map((m) => m.metadata.name)
    .sort();
  expect(left).toEqual(['clinical-r3', 'clinical-v1']);
}

/**
 * Retention on a pvc:// output: the pruned model gets the bundle-cleanup finalizer and is deleted; a pruned
 * model waiting for its bundle gets a cleanup Job, and once it completed, loses the finalizer; a model whose
 * policy is gone is released by the NerModel controller.
 */
async function bundleCleanupScenario(api: FakeApi): Promise<void> {
  const onClaim = (run: string, minutesAgo: number, pruned = false) =>
    retrainedModel(run, minutesAgo, { uri: `pvc://models/runs/${run}`, pruned });
  api.seed(nerModels, readyModel('clinical-v1', '1.0.0'));
  api.seed(nerModels, onClaim('r0', 4, true));
  api.seed(nerModels, onClaim('r1', 3));
  api.seed(nerModels, onClaim('r2', 2));
  seedRetention(api, { datasetUri: 'pvc://data/train.conll', outputUri: 'pvc://models/runs' });
  const reconciler = createDriftPolicyReconciler({ image: 'nerops:test' });
  await reconciler.reconcile(contextFor(api, driftPolicies, stored(api, driftPolicies, 'drift')));
  // The fake API deletes at once; the real one would keep r1, Terminating, with the finalizer.
  expect(api.get(nerModels, NS, 'clinical-r1'), 'r1 pruned').toBeUndefined();
  const job = api.cache<V1Job>(builtin.jobs).list(NS, { 'nerops.io/bundle-cleanup': 'true' })[0];
  expect(job?.spec?.template.spec?.containers[0]?.args).toContain('pvc://models/runs/r0');
  api.update<V1Job>(builtin.jobs, NS, job?.metadata?.name ?? '', complete);
  api.seed(
    builtin.pods,
    finishedPod(
      job?.metadata?.name ?? '',
      DELETE_BUNDLES_CONTAINER_NAME,
      encodeDeleteBundlesResult({ resultVersion: 1, outcome: 'Succeeded', deleted: 1, alreadyGone: 0, refused: 0 }),
    ),
  );
  await reconciler.reconcile(contextFor(api, driftPolicies, stored(api, driftPolicies, 'drift')));
  expect(api.get<NerModel>(nerModels, NS, 'clinical-r0')?.metadata.finalizers).toEqual([]);

  api.seed(nerModels, {
    ...onClaim('r9', 9, true),
    metadata: { ...onClaim('r9', 9, true).metadata, labels: { 'nerops.io/drift-policy': 'gone' } },
  });
  await reconcileNerModel(contextFor(api, nerModels, stored(api, nerModels, 'clinical-r9')));
  expect(api.get<NerModel>(nerModels, NS, 'clinical-r9')?.metadata.finalizers).toEqual([]);
}

/** Two leader-election rounds: create the Lease, renew it, release it. */
async function leaderScenario(api: FakeApi): Promise<void> {
  const clock = new FakeClock(NOW.getTime());
  const elector = new LeaderElector(api as never, {
    namespace: NS,
    name: 'nerops-operator',
    identity: 'op-0',
    clock,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
  });
  const running = elector.run();
  await clock.advance(0);
  expect(elector.isLeader()).toBe(true);
  await clock.advance(4_000);
  await elector.release();
  await running;
}

const SCENARIOS: Array<[string, (api: FakeApi) => Promise<void>]> = [
  ['NerModel validation', validationScenario],
  ['NerModel deletion protection', protectionScenario],
  ['first serving of a NerDeployment', firstServingScenario],
  ['promotion, replicaRatio router', (api) => promotionScenario(api, 'replicaRatio')],
  ['promotion, gatewayAPI router', (api) => promotionScenario(api, 'gatewayAPI')],
  ['retraining by hand', retrainingScenario],
  ['retention of retrained models', retentionScenario],
  ['bundle cleanup of pruned models', bundleCleanupScenario],
  ['leader election', leaderScenario],
];

async function record(
  scenario: (api: FakeApi) => Promise<void>,
): Promise<{ accesses: Access[]; recorder: AccessRecorder }> {
  const api = new FakeApi();
  const recorder = new AccessRecorder(api);
  await scenario(api);
  recorder.stop();
  return { accesses: recorder.accesses, recorder };
}

/** The controllers `ner-ops operator` runs, built as main.ts builds them. */
function operatorControllers() {
  const deps: ControllerDeps = {
    namespace: undefined,
    config: controllerConfig({}),
    logger: pino({ level: 'silent' }),
    clock: undefined,
  };
  return controllers.map((c) => (typeof c === 'function' ? c(deps) : c));
}

const rowLabel = (p: { verb: string; group: string; resource: string; subresource?: string }) =>
  `${p.verb} ${accessLabel(p)}`;

// ---------------------------------------------------------------------------------------------------

describe('requestAccess: the authorization attributes of a request, as the API server derives them', () => {
  it.each<[HttpVerb | 'WATCH', string, { watch?: boolean; created?: boolean }, string[]]>([
    ['GET', '/api/v1/namespaces/ns/configmaps/ds', {}, ['get configmaps ns/ds']],
    ['GET', '/api/v1/namespaces/ns/pods', {}, ['list pods ns/']],
    ['GET', '/apis/apps/v1/deployments', {}, ['list deployments.apps /']],
    ['WATCH', '/apis/apps/v1/namespaces/ns/deployments', {}, ['watch deployments.apps ns/']],
    ['GET', '/apis/batch/v1/jobs', { watch: true }, ['watch jobs.batch /']],
    ['POST', '/apis/events.k8s.io/v1/namespaces/ns/events', {}, ['create events.events.k8s.io ns/']],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l', {}, ['update leases.coordination.k8s.io ns/l']],
    [
      'PATCH',
      '/apis/nerops.io/v1alpha1/namespaces/ns/nermodels/m/status',
      {},
      ['patch nermodels/status.nerops.io ns/m'],
    ],
    [
      'PATCH',
      '/apis/nerops.io/v1alpha1/namespaces/ns/nermodels/m',
      { created: true },
      ['patch nermodels.nerops.io ns/m', 'create nermodels.nerops.io ns/m'],
    ],
    ['DELETE', '/api/v1/namespaces/ns/services/s', {}, ['delete services ns/s']],
    ['DELETE', '/api/v1/namespaces/ns/services', {}, ['deletecollection services ns/']],
    ['GET', '/api/v1/namespaces/ns', {}, ['get namespaces /ns']],
    ['PUT', '/api/v1/namespaces/ns/status', {}, ['update namespaces/status /ns']],
  ])('%s %s', (method, path, options, expected) => {
    const got = (requestAccess(method, path, options) ?? []).map(
      (a) => `${a.verb} ${accessLabel(a)} ${a.namespace ?? ''}/${a.name ?? ''}`,
    );
    expect(got).toEqual(expected);
  });

  it('is undefined for non-resource paths', () => {
    expect(requestAccess('GET', '/healthz')).toBeUndefined();
    expect(requestAccess('GET', '/apis/apps/v1')).toBeUndefined();
  });
});

describe('the permission table', () => {
  it('has each verb on each resource once, and names code that exists', () => {
    const labels = OPERATOR_PERMISSIONS.map((p) => `${rowLabel(p)} ${p.scope}${p.byName ? ' byName' : ''}`);
    expect(new Set(labels).size).toBe(labels.length);
    for (const p of OPERATOR_PERMISSIONS) {
      for (const ref of p.code.split(', ')) {
        const [file, symbol] = ref.split('#') as [string, string | undefined];
        expect(existsSync(join(root, file)), `${rowLabel(p)}: ${file}`).toBe(true);
        if (symbol) expect(readFileSync(join(root, file), 'utf8'), `${rowLabel(p)}: ${ref}`).toContain(symbol);
      }
    }
  });

  it('grants no Secrets beyond get by name (for their metadata), no pod writes, no RBAC, no wildcard', () => {
    for (const p of OPERATOR_PERMISSIONS) {
      if (p.resource === 'secrets') expect(p.verb, rowLabel(p)).toBe('get');
      expect(p.resource + p.verb, rowLabel(p)).not.toMatch(/\*/);
      expect(p.group, rowLabel(p)).not.toBe('rbac.authorization.k8s.io');
      if (p.resource === 'pods') expect(p.verb).toBe('list');
    }
  });

  it('groups into one rule per resource with its verbs (what the chart gets)', () => {
    const deployments = rbacRules(OPERATOR_PERMISSIONS, 'workload').find(
      (r) => r.group === 'apps' && r.resource === 'deployments',
    );
    expect(deployments?.verbs.map((v) => v.verb)).toEqual(['get', 'list', 'watch', 'create', 'patch', 'delete']);
    const leases = rbacRules(OPERATOR_PERMISSIONS, 'leaderElection');
    expect(leases.map((r) => [r.resource, r.byName, r.verbs.map((v) => v.verb)])).toEqual([
      ['leases', false, ['create']],
      ['leases', true, ['get', 'update']],
    ]);
  });
});

describe('the code needs exactly the table', () => {
  it("every informer of the operator's controllers (primary, owned, watched kinds) can list and watch", () => {
    const specs = operatorControllers();
    expect(specs.map((s) => s.name)).toEqual(['nermodel', 'nerdeployment', 'driftpolicy']);
    const missing = informerAccess(specs).filter((a) => !permits(OPERATOR_PERMISSIONS, a));
    expect(missing.map(rowLabel)).toEqual([]);
  });

  it.each(SCENARIOS)('%s: every request it sends is allowed by a row', async (_name, scenario) => {
    const { recorder } = await record(scenario);
    expect(recorder.accesses.length).toBeGreaterThan(0);
    expect(recorder.notIn(OPERATOR_PERMISSIONS)).toEqual([]);
  });

  it('the requests the chart once lacked are among them: canary deletes, the annotation patch, HTTPRoute reads and patches', async () => {
    const seen = new Set<string>();
    for (const [, s] of SCENARIOS) for (const a of (await record(s)).accesses) seen.add(rowLabel(a));
    for (const needed of [
      'delete deployments.apps',
      'delete services',
      'patch nerdeployments.nerops.io',
      'get httproutes.gateway.networking.k8s.io',
      'patch httproutes.gateway.networking.k8s.io',
      'create nermodels.nerops.io',
      'patch nermodels.nerops.io',
      'delete nermodels.nerops.io',
      'list pods',
      'get configmaps',
    ]) {
      expect(seen, needed).toContain(needed);
    }
  });

  it('every row is used by an informer or a recorded request, except the checks the API server makes for the operator', async () => {
    const used = new Set(informerAccess(operatorControllers()).map(rowLabel));
    for (const [, s] of SCENARIOS) for (const a of (await record(s)).accesses) used.add(rowLabel(a));
    const unused = OPERATOR_PERMISSIONS.filter((p) => !p.checkedBy && !used.has(rowLabel(p))).map(rowLabel);
    expect(unused).toEqual([]);
    // The admission checks: children with blockOwnerDeletion point at exactly these owners.
    expect(OPERATOR_PERMISSIONS.filter((p) => p.checkedBy).map(rowLabel)).toEqual([
      'update nermodels/finalizers.nerops.io',
      'update nerdeployments/finalizers.nerops.io',
      'update driftpolicies/finalizers.nerops.io',
    ]);
  });

  it('a request outside the table is reported by the recorder', async () => {
    const api = new FakeApi();
    const recorder = new AccessRecorder(api);
    api.seed(builtin.secrets, { metadata: { name: 's', namespace: NS } });
    await api.request({ method: 'GET', path: `/api/v1/namespaces/${NS}/secrets` });
    await api.request({ method: 'DELETE', path: `/api/v1/namespaces/${NS}/secrets/s` });
    expect(recorder.notIn(OPERATOR_PERMISSIONS)).toEqual(['list secrets', 'delete secrets']);
  });
});
