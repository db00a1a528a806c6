import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { NerDeployment, NerDeploymentStatus } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import { isApplied } from '../../runtime/apply.js';
import { stepsHash } from './rollout.js';
import { routeWeights, routingProblem, weightedRules, type HttpRoute } from './routing.js';
import { planDeployment, type DeploymentObserved } from './plan.js';
import { nerDeployment, nerModel, readyStatus, trackDeployment } from '../../testing/builders.js';

const NOW = new Date('2025-01-01T00:10:00Z');
const STEPS = [{ weight: 10, pauseSeconds: 60 }];

function nd(status: NerDeploymentStatus, mod: (x: NerDeployment) => void = () => {}): NerDeployment {
  return nerDeployment(
    {
      metadata: { uid: 'nd-uid', generation: 3 },
      spec: { replicas: { min: 4, max: 4 } },
      rollout: { steps: STEPS, failureLimit: 0 },
      status: { stableModel: 'v1', replicas: { desired: 4, ready: 4, stable: { desired: 4, ready: 4 } }, ...status },
    },
    mod,
  );
}

function model(name: string): NerModel {
  return nerModel({
    name,
    metadata: { uid: `${name}-uid` },
    spec: { version: name },
    source: { uri: 'https://m.example/x/', digest: 'ab'.repeat(32) },
    status: readyStatus(),
  });
}

function live(track: 'stable' | 'canary', modelName: string, replicas: number, ready = replicas): V1Deployment {
  return trackDeployment({ name: `notes-${track}`, model: modelName, replicas, ready });
}

const obs = (o: Partial<DeploymentObserved> & { nd: NerDeployment }): DeploymentObserved => ({
  models: [model('v1'), model('v2')],
  deployment: live('stable', 'v1', 4),
  now: NOW,
  image: 'nerops:test',
  history: [],
  ...o,
});
const byName = (p: { apply: unknown[] }, kind: string, name: string) =>
  (p.apply as Array<{ kind: string; metadata: { name: string } }>).find(
    (x) => x.kind === kind && x.metadata.name === name,
  );

describe('planDeployment with a canary (replicaRatio)', () => {
  it('a new Ready model starts a rollout: candidate Deployment at round(10% × 4) → 1 replica, stable fully scaled, Service on both tracks', () => {
    const p = planDeployment(obs({ nd: nd({}) }));
    expect((byName(p, 'Deployment', 'notes-stable') as V1Deployment).spec?.replicas).toBe(4);
    expect((byName(p, 'Deployment', 'notes-stable') as V1Deployment).metadata?.labels?.['nerops.io/model']).toBe('v1');
    const canary = byName(p, 'Deployment', 'notes-canary') as V1Deployment;
    expect(canary.spec?.replicas).toBe(1);
    expect(canary.metadata?.labels).toMatchObject({ 'nerops.io/track': 'canary', 'nerops.io/model': 'v2' });
    expect((byName(p, 'Service', 'notes') as V1Service).spec?.selector).toEqual({ 'nerops.io/deployment': 'notes' });
    expect(p.status).toMatchObject({
      phase: 'Progressing',
      stableModel: 'v1',
      canaryModel: 'v2',
      currentStepIndex: 0,
      weights: { stable: 90, canary: 10 },
      replicas: { desired: 5, stable: { desired: 4 }, canary: { desired: 1 } },
    });
    expect(p.events.map((e) => e.reason)).toEqual(['RolloutStarted']);
    expect(p.routeWeights).toEqual({ stable: 100, canary: 0 });
  });

  it('shadow phase: stable mirrors to the canary Service, the client Service selects stable only', () => {
    const p = planDeployment(obs({ nd: nd({}, (x) => (x.spec.shadow = { percent: 25, durationSeconds: 30 })) }));
    const args =
      (byName(p, 'Deployment', 'notes-stable') as V1Deployment).spec?.template.spec?.containers[0]?.args ?? [];
    expect(args.slice(-4)).toEqual(['--shadow-url', 'http://notes-canary.ns.svc:8080', '--shadow-percent', '25']);
    expect((byName(p, 'Service', 'notes') as V1Service).spec?.selector).toEqual({
      'nerops.io/deployment': 'notes',
      'nerops.io/track': 'stable',
    });
    expect((byName(p, 'Service', 'notes-canary') as V1Service).spec?.selector).toEqual({
      'nerops.io/deployment': 'notes',
      'nerops.io/track': 'canary',
    });
    expect(p.status.weights).toEqual({ stable: 100, canary: 0 });
  });

  it('shadow phase with auth: the stable pods mount the shadow token and send it; the canary pods do not get it', () => {
    const p = planDeployment(
      obs({
        nd: nd({}, (x) => {
          x.spec.shadow = { percent: 25, durationSeconds: 30 };
          x.spec.auth = { tokenHashesSecretRef: { name: 'tokens' }, shadowTokenSecretRef: { name: 'shadow-client' } };
        }),
      }),
    );
    const stable = (byName(p, 'Deployment', 'notes-stable') as V1Deployment).spec?.template.spec;
    const args = stable?.containers[0]?.args ?? [];
    expect(args.slice(-2)).toEqual(['--shadow-token-file', '/etc/nerops/shadow/token']);
    expect(stable?.volumes).toContainEqual({
      name: 'shadow-token',
      secret: { secretName: 'shadow-client', items: [{ key: 'token', path: 'token' }] },
    });
    expect(stable?.containers[0]?.volumeMounts).toContainEqual({
      name: 'shadow-token',
      mountPath: '/etc/nerops/shadow',
      readOnly: true,
    });
    const canary = (byName(p, 'Deployment', 'notes-canary') as V1Deployment).spec?.template.spec;
    expect(canary?.containers[0]?.args).toContain('--auth-token-file');
    expect(canary?.containers[0]?.args).not.toContain('--shadow-token-file');
    expect(canary?.volumes?.map((v) => v.name)).not.toContain('shadow-token');
  });

  it('after the shadow phase the client Service is re-applied without the track key (atomic selector, not a subset)', () => {
    const shadowSvc = byName(
      planDeployment(obs({ nd: nd({}, (x) => (x.spec.shadow = { percent: 25, durationSeconds: 30 })) })),
      'Service',
      'notes',
    ) as V1Service;
    // As the apiserver records it: the selector is atomic, so the manager owns it as one leaf.
    const live: V1Service = {
      ...shadowSvc,
      metadata: {
        ...shadowSvc.metadata,
        resourceVersion: '7',
        managedFields: [
          {
            manager: 'nerops',
            operation: 'Apply',
            fieldsType: 'FieldsV1',
            fieldsV1: {
              'f:metadata': { 'f:labels': {}, 'f:ownerReferences': {} },
              'f:spec': { 'f:type': {}, 'f:selector': {}, 'f:ports': {} },
            },
          },
        ],
      },
    };
    const stepSvc = byName(planDeployment(obs({ nd: nd({}) })), 'Service', 'notes') as V1Service;
    expect(stepSvc.spec?.selector).toEqual({ 'nerops.io/deployment': 'notes' });
    // The desired selector is a subset of the live one, yet the skip check sees the dropped key and applies ...
    expect(isApplied(stepSvc, live, 'nerops')).toBe(false);
    // ... while an unchanged Service is still skipped.
    expect(isApplied(shadowSvc, live, 'nerops')).toBe(true);
  });

  it('rolled back: candidate kept at zero replicas, phase RolledBack, Degraded', () => {
    const p = planDeployment(
      obs({ nd: nd({ rejectedModel: 'v2', abortReason: 'too slow' }), canaryDeployment: live('canary', 'v2', 0) }),
    );
    expect((byName(p, 'Deployment', 'notes-canary') as V1Deployment).spec?.replicas).toBe(0);
    expect(p.status.phase).toBe('RolledBack');
    expect(p.status.weights).toEqual({ stable: 100, canary: 0 });
    expect(p.status.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'RolloutAborted',
    });
  });

  it('promotion: the stable track moves to the candidate, whose pods serve until it has rolled out, then they are pruned', () => {
    const runningAt = {
      canaryModel: 'v2',
      currentStepIndex: 0,
      stepsHash: stepsHash(STEPS),
      weights: { stable: 90, canary: 10 },
      pauseStartTime: '2025-01-01T00:00:00Z',
    };
    const promoted = planDeployment(
      obs({
        nd: nd(runningAt, (x) => (x.metadata.annotations = { 'nerops.io/rollout-action': 'promote' })),
        canaryDeployment: live('canary', 'v2', 1),
      }),
    );
    expect(promoted.status.stableModel).toBe('v2');
    expect(promoted.rollout?.consumeAction).toBe(true);
    expect((byName(promoted, 'Deployment', 'notes-stable') as V1Deployment).metadata?.labels?.['nerops.io/model']).toBe(
      'v2',
    );
    expect(promoted.prune).toEqual([]); // the stable Deployment still runs v1
    const done = planDeployment(
      obs({ nd: nd(promoted.status), deployment: live('stable', 'v2', 4), canaryDeployment: live('canary', 'v2', 1) }),
    );
    expect(done.prune).toEqual([
      { kind: 'Deployment', name: 'notes-canary' },
      { kind: 'Service', name: 'notes-canary' },
    ]);
    expect(done.status.phase).toBe('Healthy');
    expect(done.status.history?.at(-1)).toMatchObject({ model: 'v2', previousModel: 'v1', outcome: 'Promoted' });
  });
});

describe('routing', () => {
  const gw = (x: NerDeployment) =>
    (x.spec.trafficRouting = { type: 'gatewayAPI', gatewayAPI: { httpRouteName: 'notes-route' } });
  const route: HttpRoute = {
    metadata: { name: 'notes-route' },
    spec: {
      parentRefs: [{ name: 'gw' }],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/v1' } }], backendRefs: [{ name: 'notes', port: 8080 }] },
        { backendRefs: [{ name: 'other', port: 80 }] },
      ],
    },
  };

  it('gatewayAPI: our rules get the two track Services with the weights; other rules and fields are kept', () => {
    const x = nd({}, gw);
    expect(routingProblem(x, route)).toBeUndefined();
    const rules = weightedRules(x, route, { stable: 75, canary: 25 });
    expect(rules).toEqual([
      {
        matches: [{ path: { type: 'PathPrefix', value: '/v1' } }],
        backendRefs: [
          { kind: 'Service', name: 'notes-stable', port: 8080, weight: 75 },
          { kind: 'Service', name: 'notes-canary', port: 8080, weight: 25 },
        ],
      },
      { backendRefs: [{ name: 'other', port: 80 }] },
    ]);
    const updated = { ...route, spec: { ...route.spec, rules } };
    expect(routeWeights(x, updated)).toEqual({ stable: 75, canary: 25 });
    expect(weightedRules(x, updated, { stable: 75, canary: 25 })).toBeUndefined();
  });

  it.each([
    ['route missing', nd({}, gw), undefined, /HTTPRoute notes-route not found/],
    [
      'no rule points at us',
      nd({}, gw),
      { metadata: { name: 'notes-route' }, spec: { rules: [{ backendRefs: [{ name: 'other' }] }] } },
      /has no rule with a backendRef to Service notes/,
    ],
    [
      'gatewayAPI settings under replicaRatio',
      nd({}, (x) => (x.spec.trafficRouting = { type: 'replicaRatio', gatewayAPI: { httpRouteName: 'r' } })),
      undefined,
      /replica-ratio router cannot honour/,
    ],
  ])('refused: %s', (_n, x, r, msg) => {
    expect(routingProblem(x, r as HttpRoute | undefined)).toMatch(msg);
  });

  it('a refused router: no candidate traffic, UnsupportedRouting condition, stable keeps serving', () => {
    const p = planDeployment(obs({ nd: nd({}, gw), routingProblem: 'HTTPRoute notes-route not found' }));
    expect(byName(p, 'Deployment', 'notes-canary')).toBeUndefined();
    expect(p.status.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'UnsupportedRouting',
    });
    expect(p.status.weights).toEqual({ stable: 100, canary: 0 });
  });
});
