import type { V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { NerModel } from '../../api/nermodel.js';
import { driftPolicy, nerDeployment, nerModel, readyStatus, taskJob } from '../../testing/builders.js';
import { podViolations, STRICTEST_TENANT_POLICY } from '../pod-policy.js';
import { bundleIsOurs, planBundleCleanup, type BundleCleanupInput } from './bundle-cleanup.js';
import { CLEANUP_MODELS_ANNOTATION, cleanupJobName, desiredCleanupJob } from './cleanup-job.js';
import { planDriftPolicy, type PolicyGathered } from './plan.js';

const PREFIX = 'pvc://models/runs';
const NOW = new Date('2025-01-02T00:00:00Z');
const BUNDLE = 'nerops.io/bundle-cleanup';
const IN_USE = 'nerops.io/in-use';

/** A model of policy `drift` on `uri`; pruned: being deleted with the bundle-cleanup finalizer. */
function model(name: string, uri: string, o: { pruned?: boolean; served?: boolean; policy?: string } = {}): NerModel {
  return nerModel({
    name,
    source: { uri },
    metadata: {
      labels: { 'app.kubernetes.io/managed-by': 'nerops', 'nerops.io/drift-policy': o.policy ?? 'drift' },
      resourceVersion: '7',
      ...(o.pruned
        ? { deletionTimestamp: new Date('2025-01-01T00:00:00Z'), finalizers: [BUNDLE, ...(o.served ? [IN_USE] : [])] }
        : {}),
    },
    status: readyStatus(),
  });
}

const policy = driftPolicy({
  retention: { keepLast: 1 },
  retraining: { datasetUri: 'pvc://data/train.conll', outputUri: PREFIX },
});

function input(models: NerModel[], o: Partial<BundleCleanupInput> = {}): BundleCleanupInput {
  return {
    policy,
    outputPrefix: PREFIX,
    models,
    deployments: [],
    jobs: [],
    results: {},
    image: 'nerops:dev',
    templateAllowed: true,
    now: NOW,
    ...o,
  };
}

const args = (job: V1Job | undefined) => job?.spec?.template.spec?.containers[0]?.args;

/** The cleanup Job the plan would create for these models, as the cluster reports it. */
function jobFor(models: NerModel[], finished?: 'Complete' | 'Failed'): V1Job {
  const job = desiredCleanupJob({
    policy,
    within: PREFIX,
    bundles: models.map((m) => ({ model: m.metadata.name ?? '', uri: m.spec.source.uri })),
    keep: [],
    image: 'nerops:dev',
    templateAllowed: true,
  });
  return { ...job, status: taskJob('x', finished).status };
}

describe('bundleIsOurs', () => {
  it.each([
    ['pvc://models/runs/r1', PREFIX, true],
    ['pvc://models/runs/a/b', PREFIX, true],
    ['pvc://models/runs', PREFIX, false],
    ['pvc://models/base/1', PREFIX, false],
    ['pvc://other/runs/r1', PREFIX, false],
    ['pvc://models/runs/r1', 'file:///out', false],
    ['https://store/runs/r1', PREFIX, false],
    ['pvc://models/runs/r1', undefined, false],
  ] as const)('%s in %s: %s', (uri, prefix, ours) => {
    expect(bundleIsOurs(model('m', uri), prefix)).toBe(ours);
  });
});

describe('planBundleCleanup', () => {
  it('nothing pending: an idle condition once retention is configured, nothing without it', () => {
    expect(planBundleCleanup(input([model('a', `${PREFIX}/a`)]))).toEqual({
      release: [],
      releaseEvents: [],
      events: [],
      condition: { status: 'False', reason: 'AsExpected', message: 'no bundle waits for deletion' },
    });
    expect(planBundleCleanup(input([], { policy: driftPolicy() })).condition).toBeUndefined();
  });

  it('starts one Job for the pruned models no one serves, keeping every other location in or above the prefix', () => {
    const models = [
      model('r1', `${PREFIX}/r1`, { pruned: true }),
      model('r2', `${PREFIX}/r2`, { pruned: true }),
      model('r3', `${PREFIX}/r3`),
      model('base', 'pvc://models/base/1'),
      model('elsewhere', 'pvc://datasets/x'),
      model('http', 'https://store/x'),
    ];
    const plan = planBundleCleanup(input(models));
    const name = cleanupJobName(policy, [
      { model: 'r1', uri: `${PREFIX}/r1` },
      { model: 'r2', uri: `${PREFIX}/r2` },
    ]);
    expect(plan.createJob?.metadata?.name).toBe(name);
    expect(args(plan.createJob)).toEqual([
      'delete-bundles',
      '--within',
      PREFIX,
      '--bundle',
      `${PREFIX}/r1`,
      '--bundle',
      `${PREFIX}/r2`,
      '--keep',
      `${PREFIX}/r3`,
    ]);
    expect(plan.createJob?.metadata?.annotations?.[CLEANUP_MODELS_ANNOTATION]).toBe('r1,r2');
    expect(plan.release).toEqual([]);
    expect(plan.condition).toEqual({
      status: 'True',
      reason: 'CleanupRunning',
      message: `cleanup Job ${name} deletes the bundles of 2 pruned NerModels`,
    });
    expect(plan.events).toEqual([{ type: 'Normal', reason: 'BundleCleanupStarted', note: plan.condition?.message }]);
  });

  it('a pruned model still served waits (its in-use finalizer holds the deletion); its bundle is not in any Job', () => {
    const plan = planBundleCleanup(input([model('r1', `${PREFIX}/r1`, { pruned: true, served: true })]));
    expect(plan.createJob).toBeUndefined();
    expect(plan.condition).toEqual({
      status: 'True',
      reason: 'WaitingForServing',
      message: '1 pruned NerModel still served: its bundle waits until nothing serves it',
    });
  });

  it.each([
    ['serves it (stable)', { status: { stableModel: 'r1' } }],
    ['serves it (canary)', { status: { stableModel: 'x', canaryModel: 'r1' } }],
    ['pins it', { spec: { model: 'r1' } }],
  ])('a pruned model without the in-use finalizer waits while a NerDeployment %s', (_what, init) => {
    const plan = planBundleCleanup(
      input([model('r1', `${PREFIX}/r1`, { pruned: true })], { deployments: [nerDeployment(init)] }),
    );
    expect(plan.createJob).toBeUndefined();
    expect(plan.condition?.reason).toBe('WaitingForServing');
  });

  it('a bundle another NerModel references stays: the pruned model is released without a Job', () => {
    const plan = planBundleCleanup(
      input([model('r1', `${PREFIX}/r1`, { pruned: true }), model('copy', `${PREFIX}/r1/`, { policy: 'other' })]),
    );
    expect(plan.createJob).toBeUndefined();
    expect(plan.release).toEqual([{ name: 'r1', because: 'referenced' }]);
    expect(plan.releaseEvents).toEqual([
      {
        type: 'Normal',
        reason: 'BundlesKept',
        note: '1 pruned NerModel released with the bundle left: 1 still referenced, 0 outside the pvc:// output',
      },
    ]);
  });

  it('a model whose whole prefix another NerModel references stays too', () => {
    const plan = planBundleCleanup(input([model('r1', `${PREFIX}/r1`, { pruned: true }), model('all', PREFIX)]));
    expect(plan.release).toEqual([{ name: 'r1', because: 'referenced' }]);
  });

  it('two pruned models on the same bundle go together, once neither is served', () => {
    const a = model('a', `${PREFIX}/r1`, { pruned: true });
    const b = model('b', `${PREFIX}/r1`, { pruned: true, served: true });
    expect(planBundleCleanup(input([a, b])).condition?.reason).toBe('WaitingForServing');
    const both = planBundleCleanup(input([a, model('b', `${PREFIX}/r1`, { pruned: true })]));
    expect(both.createJob?.metadata?.annotations?.[CLEANUP_MODELS_ANNOTATION]).toBe('a,b');
  });

  it('a bundle outside the pvc:// output (changed since, or none) is released, never deleted', () => {
    const pruned = model('r1', `${PREFIX}/r1`, { pruned: true });
    for (const o of [{ outputPrefix: 'pvc://models/new' }, { outputPrefix: undefined }]) {
      const plan = planBundleCleanup(input([pruned], o));
      expect(plan.createJob).toBeUndefined();
      expect(plan.release).toEqual([{ name: 'r1', because: 'notOurs' }]);
    }
  });

  it("ignores other policies' models and models not being deleted", () => {
    const plan = planBundleCleanup(
      input([model('r1', `${PREFIX}/r1`, { pruned: true, policy: 'other' }), model('r2', `${PREFIX}/r2`)]),
    );
    expect(plan.createJob).toBeUndefined();
    expect(plan.condition?.reason).toBe('AsExpected');
  });

  it('a running Job: no second one', () => {
    const r1 = model('r1', `${PREFIX}/r1`, { pruned: true });
    const plan = planBundleCleanup(
      input([r1, model('r2', `${PREFIX}/r2`, { pruned: true })], { jobs: [jobFor([r1])] }),
    );
    expect(plan.createJob).toBeUndefined();
    expect(plan.condition?.reason).toBe('CleanupRunning');
  });

  it('a completed Job releases its models with the counts, and the next batch starts', () => {
    const r1 = model('r1', `${PREFIX}/r1`, { pruned: true });
    const r2 = model('r2', `${PREFIX}/r2`, { pruned: true });
    const done = jobFor([r1], 'Complete');
    const plan = planBundleCleanup(
      input([r1, r2], {
        jobs: [done],
        results: {
          [done.metadata?.name ?? '']: {
            resultVersion: 1,
            outcome: 'Succeeded',
            deleted: 1,
            alreadyGone: 0,
            refused: 0,
          },
        },
      }),
    );
    expect(plan.release).toEqual([{ name: 'r1', because: 'deleted' }]);
    expect(plan.releaseEvents).toEqual([
      {
        type: 'Normal',
        reason: 'BundlesDeleted',
        note: 'bundles of 1 pruned NerModel deleted (1 removed, 0 already gone)',
      },
    ]);
    expect(plan.createJob?.metadata?.annotations?.[CLEANUP_MODELS_ANNOTATION]).toBe('r2');
    // Its pod gone (a restart after the TTL): released all the same, without counts.
    expect(planBundleCleanup(input([r1], { jobs: [done] })).releaseEvents).toEqual([
      { type: 'Normal', reason: 'BundlesDeleted', note: 'bundles of 1 pruned NerModel deleted' },
    ]);
  });

  it('a completed Job releases only models whose bundle it was given', () => {
    const r1 = model('r1', `${PREFIX}/r1`, { pruned: true });
    const done = jobFor([model('r1', `${PREFIX}/other`)], 'Complete');
    const plan = planBundleCleanup(input([r1], { jobs: [done] }));
    expect(plan.release).toEqual([]);
    expect(plan.createJob).toBeDefined();
  });

  it('a failed Job is not recreated while it exists; one Warning on the transition', () => {
    const r1 = model('r1', `${PREFIX}/r1`, { pruned: true });
    const failed = jobFor([r1], 'Failed');
    const plan = planBundleCleanup(input([r1], { jobs: [failed] }));
    expect(plan.createJob).toBeUndefined();
    expect(plan.condition?.reason).toBe('CleanupFailed');
    expect(plan.events.map((e) => e.reason)).toEqual(['BundleCleanupFailed']);
    const again = planBundleCleanup(
      input([r1], {
        jobs: [failed],
        policy: {
          ...policy,
          status: {
            conditions: [
              { type: 'BundleCleanup', status: 'True', reason: 'CleanupFailed', message: '', lastTransitionTime: '' },
            ],
          },
        },
      }),
    );
    expect(again.events).toEqual([]);
    // Once it expired (TTL), the same Job is created again: the bundles already gone count as done.
    expect(planBundleCleanup(input([r1])).createJob?.metadata?.name).toBe(failed.metadata?.name);
  });

  it('at most 20 bundles per Job', () => {
    const many = Array.from({ length: 25 }, (_, k) =>
      model(`r${String(k).padStart(2, '0')}`, `${PREFIX}/r${k}`, { pruned: true }),
    );
    const plan = planBundleCleanup(input(many));
    expect(args(plan.createJob)?.filter((a) => a === '--bundle')).toHaveLength(20);
  });
});

describe('desiredCleanupJob', () => {
  const pruned = [{ model: 'r1', uri: `${PREFIX}/r1` }];

  it('is a restricted task pod with the claim mounted where pvc:// resolves, owned by the policy', () => {
    const job = desiredCleanupJob({
      policy,
      within: PREFIX,
      bundles: pruned,
      keep: [],
      image: 'nerops:dev',
      templateAllowed: true,
    });
    const pod = job.spec?.template.spec;
    expect(podViolations(pod!, 'pod', STRICTEST_TENANT_POLICY, 'nerops:dev')).toEqual([]);
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.volumes).toContainEqual({ name: 'pvc-0', persistentVolumeClaim: { claimName: 'models' } });
    expect(pod?.containers[0]?.volumeMounts).toContainEqual({
      name: 'pvc-0',
      mountPath: '/mnt/nerops/pvc/claims/models',
    });
    expect(pod?.containers[0]?.env).toContainEqual({ name: 'NEROPS_PVC_ROOT', value: '/mnt/nerops/pvc/claims' });
    expect(job.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'DriftPolicy', name: 'drift', controller: true });
    expect(job.metadata?.labels).toMatchObject({
      'nerops.io/drift-policy': 'drift',
      'nerops.io/bundle-cleanup': 'true',
    });
    expect(job.spec).toMatchObject({ backoffLimit: 0, ttlSecondsAfterFinished: 600 });
  });

  it('takes the user, group and placement of an allowed retraining template, nothing else of it', () => {
    const withTemplate = driftPolicy({
      retraining: {
        datasetUri: 'pvc://data/x',
        outputUri: PREFIX,
        template: {
          spec: {
            template: {
              spec: {
                securityContext: { runAsUser: 1234, runAsGroup: 1234, fsGroup: 1234 },
                nodeSelector: { disk: 'ssd' },
                containers: [{ name: 'train', image: 'nerops:dev', env: [{ name: 'X', value: 'y' }] }],
              },
            },
          },
        },
      },
    });
    const pod = desiredCleanupJob({
      policy: withTemplate,
      within: PREFIX,
      bundles: pruned,
      keep: [],
      image: 'nerops:dev',
      templateAllowed: true,
    }).spec?.template.spec;
    expect(pod?.securityContext).toMatchObject({
      runAsUser: 1234,
      runAsGroup: 1234,
      fsGroup: 1234,
      runAsNonRoot: true,
    });
    expect(pod?.nodeSelector).toEqual({ disk: 'ssd' });
    expect(pod?.containers.map((c) => c.name)).toEqual(['delete-bundles']);
    expect(podViolations(pod!, 'pod', STRICTEST_TENANT_POLICY, 'nerops:dev')).toEqual([]);
    const refused = desiredCleanupJob({
      policy: withTemplate,
      within: PREFIX,
      bundles: pruned,
      keep: [],
      image: 'nerops:dev',
      templateAllowed: false,
    }).spec?.template.spec;
    expect(refused?.securityContext?.runAsUser).toBe(65532);
    expect(refused?.nodeSelector).toBeUndefined();
  });
});

describe('planDriftPolicy with retention on a pvc:// output', () => {
  function gathered(models: NerModel[]): PolicyGathered {
    return {
      policy,
      now: NOW,
      image: 'nerops:dev',
      targetFound: true,
      servingModel: models[0],
      servingName: 'base',
      models,
      jobs: [],
      terminated: {},
      measured: undefined,
      datasetVersion: undefined,
      deployments: [],
    };
  }
  const old = (name: string, minute: number, uri: string) =>
    nerModel({
      name,
      source: { uri },
      metadata: {
        creationTimestamp: new Date(Date.UTC(2025, 0, 1, 0, minute)),
        labels: { 'app.kubernetes.io/managed-by': 'nerops', 'nerops.io/drift-policy': 'drift' },
      },
      spec: { lineage: { parentModel: 'base', driftPolicy: 'drift', runId: name } },
      status: readyStatus(),
    });

  it('marks for bundle cleanup only the pruned models whose bundle is in the output prefix; sets the condition', () => {
    const models = [
      nerModel({ name: 'base', source: { uri: 'pvc://models/base/1' }, status: readyStatus() }),
      old('r1', 1, `${PREFIX}/r1`),
      old('r2', 2, 'pvc://models/elsewhere/r2'),
      old('r3', 3, `${PREFIX}/r3`),
    ];
    const plan = planDriftPolicy(gathered(models));
    expect(plan.deleteModels).toEqual(['r1', 'r2']);
    expect(plan.markBundles).toEqual(['r1']);
    expect(plan.status.conditions?.find((c) => c.type === 'BundleCleanup')).toMatchObject({
      status: 'False',
      reason: 'AsExpected',
      observedGeneration: 1,
    });
  });
});
