/**
 * Gateway API traffic routing of a canary, and manual control, on the local cluster.
 *
 * Given a minimal HTTPRoute CRD (gateway.networking.k8s.io/v1, schema-less spec) and a NerDeployment with
 * `trafficRouting.type: gatewayAPI`,
 * When a candidate appears before its HTTPRoute exists, Then the rollout is refused (UnsupportedRouting);
 * When the route is created, Then its backendRefs become `<name>-stable`/`<name>-canary` weighted 80/20
 * once a candidate pod is ready, other rules untouched;
 * When a user annotates `nerops.io/rollout-action=abort`, Then the weights return to 100/0, the phase is
 * RolledBack and the annotation is removed.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../operator/runtime/resource.js';
import { httpRoutes } from '../../operator/api/resources.js';
import type { HttpRoute } from '../../operator/controllers/nerdeployment/routing.js';
import { applyCrds } from '../../local-cluster/crds.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import {
  Api,
  installCrds,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  startOperator,
  trainBundle,
  type NerDeployment,
  type NerModel,
  type TestOperator,
} from '../../testing/operator-fixture.js';

const { kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator;

const HTTPROUTE_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  // Gateway API lives in a protected *.k8s.io group: its CRDs carry the approval annotation.
  metadata: {
    name: 'httproutes.gateway.networking.k8s.io',
    annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/gateway-api/pull/2466' },
  },
  spec: {
    group: 'gateway.networking.k8s.io',
    names: { kind: 'HTTPRoute', listKind: 'HTTPRouteList', plural: 'httproutes', singular: 'httproute' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

const status = async () => (await api.get<NerDeployment>(nerDeployments, ns, 'routed')).status ?? {};
const route = () => api.get<HttpRoute & KubernetesObject>(httpRoutes, ns, 'routed-route');

beforeAll(async () => {
  const [bundle] = await Promise.all([trainBundle(), installCrds(kc), applyCrds(kc, [HTTPROUTE_CRD])]);
  ns = await createTestNamespace(core, 'canary-gw');
  api = new Api(kc);
  op = await startOperator(kc, ns, {});
  for (const [name, version] of [
    ['clinical-v1', '1.0.0'],
    ['clinical-v2', '1.1.0'],
  ] as const) {
    await api.create(
      nerModels,
      ns,
      nerModel(name, bundle.uri, bundle.digest, (m) => (m.spec.version = version)),
    );
  }
  await eventually(
    async () => {
      for (const n of ['clinical-v1', 'clinical-v2'])
        expect((await api.get<NerModel>(nerModels, ns, n)).status?.phase).toBe('Ready');
    },
    120_000,
    500,
  );
}, 300_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
});

describe('gatewayAPI traffic routing', () => {
  it('refuses without the HTTPRoute, sets backendRefs weights once it exists, and a user abort puts them back', async () => {
    await api.create(
      nerDeployments,
      ns,
      nerDeployment('routed', 'clinical-v1', {
        replicas: { min: 1, max: 1 },
        trafficRouting: { type: 'gatewayAPI', gatewayAPI: { httpRouteName: 'routed-route' } },
        rollout: { steps: [{ weight: 20, pauseSeconds: 600 }], analysisIntervalSeconds: 5 },
      }),
    );
    await eventually(
      async () => expect(await status()).toMatchObject({ phase: 'Healthy', stableModel: 'clinical-v1' }),
      120_000,
      500,
    );

    // When a candidate appears while the HTTPRoute does not exist: refused, no candidate Deployment.
    await api.patch(nerDeployments, ns, 'routed', { spec: { model: 'clinical-v2' } });
    await eventually(
      async () =>
        expect((await status()).conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
          status: 'True',
          reason: 'UnsupportedRouting',
        }),
      30_000,
      250,
    );
    expect((await status()).weights).toEqual({ stable: 100, canary: 0 });

    // When the route exists: our rule gets the two track Services, weighted; the other rule is kept.
    await api.create(httpRoutes, ns, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'routed-route' },
      spec: {
        parentRefs: [{ name: 'gw' }],
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/v1' } }], backendRefs: [{ name: 'routed', port: 8080 }] },
          { backendRefs: [{ name: 'elsewhere', port: 80 }] },
        ],
      },
    });
    await eventually(
      async () => {
        const r = await route();
        expect(r.spec?.rules?.[0]?.backendRefs).toEqual([
          { kind: 'Service', name: 'routed-stable', port: 8080, weight: 80 },
          { kind: 'Service', name: 'routed-canary', port: 8080, weight: 20 },
        ]);
        expect(r.spec?.rules?.[1]).toEqual({ backendRefs: [{ name: 'elsewhere', port: 80 }] });
      },
      90_000,
      500,
    );
    expect(await status()).toMatchObject({
      canaryModel: 'clinical-v2',
      weights: { stable: 80, canary: 20 },
      currentStepIndex: 0,
    });
    for (const svc of ['routed-stable', 'routed-canary'])
      expect((await api.get(builtin.services, ns, svc)).metadata?.name).toBe(svc);

    // When a user aborts: weights back, RolledBack, annotation consumed.
    await api.patch(nerDeployments, ns, 'routed', {
      metadata: { annotations: { 'nerops.io/rollout-action': 'abort' } },
    });
    await eventually(
      async () => {
        const r = await route();
        expect(r.spec?.rules?.[0]?.backendRefs?.map((b) => b.weight)).toEqual([100, 0]);
        const nd = await api.get<NerDeployment>(nerDeployments, ns, 'routed');
        expect(nd.status).toMatchObject({
          phase: 'RolledBack',
          rejectedModel: 'clinical-v2',
          abortReason: 'aborted by user (nerops.io/rollout-action=abort)',
        });
        expect(nd.metadata.annotations?.['nerops.io/rollout-action']).toBeUndefined();
      },
      30_000,
      250,
    );
  }, 300_000);
});
