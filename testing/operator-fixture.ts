/**
 * Given/When/Then helpers for tests that run the nerops operator in-process against the local cluster:
 * install the CRDs, start the operator (our controllers, no leader election), create and read nerops
 * objects, train a small real bundle. Pods the operator creates run on the process node as real
 * `ner-ops` processes (so `npm run build` must have run).
 */
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { runOperator, type OperatorHandle } from '../operator/main.js';
import { KubeClient, type RequestObserver } from '../operator/runtime/kube.js';
import { AccessRecorder } from '../operator/runtime/permissions.js';
import { OPERATOR_PERMISSIONS } from '../operator/permissions.js';
import { builtin, resourcePath, type ResourceType } from '../operator/runtime/resource.js';
import type { ControllerSpec } from '../operator/runtime/controller.js';
import { nerModelController } from '../operator/controllers/nermodel/reconcile.js';
import {
  nerDeploymentController,
  type NerDeploymentControllerOptions,
} from '../operator/controllers/nerdeployment/reconcile.js';
import {
  driftPolicyController,
  type DriftPolicyControllerOptions,
} from '../operator/controllers/driftpolicy/reconcile.js';
import { nerDeployments, nerModels } from '../operator/api/resources.js';
import type { NerModel } from '../operator/api/nermodel.js';
import type { NerDeployment } from '../operator/api/nerdeployment.js';
import { trainSmallBundle, type TrainedBundle } from './fixtures.js';
import { eventually } from '../local-cluster/testing.js';

export const TEST_IMAGE = 'nerops:dev';

/** The project's CRDs, applied and Established (local-cluster/crds.ts). */
export { applyCrds as installCrds } from '../local-cluster/crds.js';

export interface TestOperator {
  handle: OperatorHandle;
  /** Mutating requests the operator has sent so far. */
  writes(): number;
  stop(): Promise<void>;
}

/**
 * Start the operator in-process for one namespace: the NerModel and NerDeployment controllers, and the
 * DriftPolicy controller too when `drift` options are given.
 */
export function startOperator(
  kc: KubeConfig,
  namespace: string,
  deployment: Omit<NerDeploymentControllerOptions, 'image'> = {},
  drift?: Omit<DriftPolicyControllerOptions, 'image'>,
): Promise<TestOperator> {
  return startControllers(kc, namespace, [
    nerModelController({ image: TEST_IMAGE }),
    nerDeploymentController({ image: TEST_IMAGE, ...deployment }),
    ...(drift ? [driftPolicyController({ image: TEST_IMAGE, ...drift })] : []),
  ]);
}

/**
 * The NerModel and DriftPolicy controllers alone: retraining scenarios where a NerDeployment is only
 * the policy's target and nothing needs to serve it.
 */
export function startRetrainingOperator(
  kc: KubeConfig,
  namespace: string,
  drift: Omit<DriftPolicyControllerOptions, 'image'> = {},
): Promise<TestOperator> {
  return startControllers(kc, namespace, [
    nerModelController({ image: TEST_IMAGE }),
    driftPolicyController({ image: TEST_IMAGE, ...drift }),
  ]);
}

async function startControllers(kc: KubeConfig, namespace: string, controllers: unknown[]): Promise<TestOperator> {
  const logger = pino({ level: process.env.NEROPS_TEST_LOG ?? 'silent' });
  const specs = controllers as ControllerSpec<KubernetesObject>[];
  // Every request the operator sends must be allowed by the permission table the chart's RBAC is
  // generated from: a request outside it would be a 403 under the chart's ServiceAccount.
  let observe: RequestObserver = () => undefined;
  const recorder = new AccessRecorder({ onRequest: (o) => ((observe = o), () => undefined) });
  const handle = await runOperator(
    { kubeConfig: kc, logger, namespace, metrics: false, leaderElection: false, onRequest: (...a) => observe(...a) },
    specs,
  );
  await handle.manager.waitForSync();
  // Bounded: a test must not hang in teardown if a watch is slow to close.
  const stop = async () => {
    await Promise.race([handle.stop(), new Promise<void>((r) => setTimeout(r, 20_000).unref())]);
    const outside = recorder.notIn(OPERATOR_PERMISSIONS);
    if (outside.length)
      throw new Error(
        `the operator sent requests operator/permissions.ts does not allow (the chart's RBAC would refuse them): ${outside.join('; ')}`,
      );
  };
  return { handle, writes: () => handle.kube.writes, stop };
}

/** An Event as the tests read it. */
export type TestEvent = KubernetesObject & {
  regarding?: { name?: string };
  reason?: string;
  type?: string;
  note?: string;
  eventTime?: string;
  reportingInstance?: string;
};

/** A JSON client for the test's own reads and writes (not counted as the operator's). */
export class Api {
  readonly kube: KubeClient;
  constructor(kc: KubeConfig) {
    this.kube = new KubeClient(kc, { userAgent: 'nerops-test' });
  }
  create<T extends KubernetesObject>(rt: ResourceType, namespace: string, obj: T): Promise<T> {
    return this.kube.request<T>({ method: 'POST', path: resourcePath(rt, namespace), body: obj });
  }
  get<T extends KubernetesObject>(rt: ResourceType, namespace: string, name: string): Promise<T> {
    return this.kube.request<T>({ method: 'GET', path: resourcePath(rt, namespace, name) });
  }
  async list<T extends KubernetesObject>(rt: ResourceType, namespace: string, labelSelector?: string): Promise<T[]> {
    return (
      await this.kube.request<{ items: T[] }>({
        method: 'GET',
        path: resourcePath(rt, namespace),
        query: { labelSelector },
      })
    ).items;
  }
  delete(rt: ResourceType, namespace: string, name: string): Promise<unknown> {
    return this.kube.request({
      method: 'DELETE',
      path: resourcePath(rt, namespace, name),
      body: { propagationPolicy: 'Background' },
    });
  }
  /** Events about one object (events.k8s.io `regarding`), oldest first. */
  async events(namespace: string, name: string): Promise<TestEvent[]> {
    const all = await this.list<TestEvent>(builtin.events, namespace);
    return all
      .filter((e) => e.regarding?.name === name)
      .sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)));
  }
  /** The same as `Reason: note` lines. */
  async eventNotes(namespace: string, name: string): Promise<string[]> {
    return (await this.events(namespace, name)).map((e) => `${e.reason}: ${e.note}`);
  }
  /** A merge patch of the status subresource (what a controller writes), for tests that play one. */
  patchStatus(rt: ResourceType, namespace: string, name: string, status: unknown): Promise<unknown> {
    return this.kube.request({
      method: 'PATCH',
      path: resourcePath(rt, namespace, name, 'status'),
      body: { status },
      contentType: 'application/merge-patch+json',
    });
  }
  patch(rt: ResourceType, namespace: string, name: string, body: unknown): Promise<unknown> {
    return this.kube.request({
      method: 'PATCH',
      path: resourcePath(rt, namespace, name),
      body,
      contentType: 'application/merge-patch+json',
    });
  }
  close(): void {
    this.kube.close();
  }
}

/**
 * Wait until NerDeployment `name` has promoted `model` to stable; returns every candidate weight seen on
 * the way (so a test can assert the steps it walked through).
 */
export async function untilPromoted(
  api: Api,
  namespace: string,
  name: string,
  model: string,
  timeoutMs: number,
  everyMs = 500,
): Promise<Set<number>> {
  const weights = new Set<number>();
  await eventually(
    async () => {
      const s = (await api.get<NerDeployment>(nerDeployments, namespace, name)).status ?? {};
      if (s.weights) weights.add(s.weights.canary);
      if (s.stableModel !== model)
        throw new Error(
          `${name}: stable is ${s.stableModel ?? 'unset'}, waiting for ${model} (phase ${s.phase ?? '–'}, canary weight ${s.weights?.canary ?? 0})`,
        );
    },
    timeoutMs,
    everyMs,
  );
  return weights;
}

/**
 * The target of a DriftPolicy in the retraining tests: NerModel clinical-v1 of `bundle`, validated to Ready,
 * and NerDeployment `ner` naming it (nothing needs to serve it).
 */
export async function givenRetrainingTarget(
  api: Api,
  namespace: string,
  bundle: { uri: string; digest: string },
): Promise<void> {
  await api.create(nerModels, namespace, nerModel('clinical-v1', bundle.uri, bundle.digest));
  await api.create(nerDeployments, namespace, nerDeployment('ner', 'clinical-v1'));
  await eventually(
    async () => {
      const phase = (await api.get<NerModel>(nerModels, namespace, 'clinical-v1')).status?.phase;
      if (phase !== 'Ready') throw new Error(`clinical-v1 is ${phase ?? 'new'}, waiting for Ready`);
    },
    120_000,
    500,
  );
}

/** A small real `crf` bundle, trained now on synthetic notes. */
export async function trainBundle(seed = 7): Promise<TrainedBundle & { uri: string }> {
  const b = await trainSmallBundle({ seed, count: 200, epochs: 3, name: 'clinical', version: '1.0.0' });
  return { ...b, uri: pathToFileURL(b.dir).href };
}

/** A NerModel manifest. */
export function nerModel(name: string, uri: string, digest: string, mod: (m: NerModel) => void = () => {}): NerModel {
  const m: NerModel = {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerModel',
    metadata: { name },
    spec: {
      family: 'clinical',
      version: '1.0.0',
      format: 'crf',
      source: { uri, digest },
      entityTypes: ['DISEASE', 'TREATMENT'],
    },
  };
  mod(m);
  return m;
}

/** A NerDeployment manifest (input form: the API server applies the defaults). */
export function nerDeployment(
  name: string,
  model: string,
  spec: Record<string, unknown> = {},
): KubernetesObject & { spec: Record<string, unknown> } {
  return {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'NerDeployment',
    metadata: { name },
    spec: { model, replicas: { min: 1, max: 3 }, ...spec },
  };
}

export { nerModels, nerDeployments };
export type { NerModel, NerDeployment };
