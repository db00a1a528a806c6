import { describe, expect, it } from 'vitest';
import type { NerModel, NerModelStatus } from '../../api/nermodel.js';
import { driftPolicy, nerDeployment, nerModel, readyStatus, taskJob } from '../../testing/builders.js';
import { BASE_MODEL_ANNOTATION } from './plan.js';
import { createdByPolicy, planRetention, type RetentionInput } from './retention.js';

/** A model run `i` of policy `drift` created, `i` minutes after midnight (higher = newer). */
function retrained(i: number, mod: (m: NerModel) => void = () => {}, status: NerModelStatus = readyStatus()): NerModel {
  return nerModel(
    {
      name: `clinical-r${i}`,
      metadata: {
        creationTimestamp: new Date(Date.UTC(2025, 0, 1, 0, i)),
        labels: { 'app.kubernetes.io/managed-by': 'nerops', 'nerops.io/drift-policy': 'drift' },
      },
      spec: { lineage: { parentModel: 'clinical-v1', driftPolicy: 'drift', runId: `r${i}` } },
      status,
    },
    mod,
  );
}

const base = nerModel({ name: 'clinical-v1', metadata: { creationTimestamp: new Date(0) }, status: readyStatus() });

function input(models: NerModel[], o: Partial<RetentionInput> = {}, keepLast: number | null = 2): RetentionInput {
  return {
    policy: driftPolicy(keepLast === null ? {} : { retention: { keepLast } }),
    models: [base, ...models],
    deployments: [nerDeployment({ spec: { model: 'clinical-v1' }, status: { stableModel: 'clinical-v1' } })],
    jobs: [],
    servingName: 'clinical-v1',
    baseModelAnnotation: BASE_MODEL_ANNOTATION,
    ...o,
  };
}

const five = [1, 2, 3, 4, 5].map((i) => retrained(i));

describe('planRetention', () => {
  it('without spec.retention keeps everything', () => {
    expect(planRetention(input(five, {}, null))).toEqual({ deleteModels: [], kept: [] });
  });

  it('keeps the newest N per family and deletes the older ones, oldest first; never the base model', () => {
    expect(planRetention(input(five)).deleteModels).toEqual(['clinical-r1', 'clinical-r2', 'clinical-r3']);
    expect(planRetention(input(five, {}, 5)).deleteModels).toEqual([]);
    // Listed in any order: creation time decides.
    expect(planRetention(input([...five].reverse(), {}, 4)).deleteModels).toEqual(['clinical-r1']);
  });

  it.each<[string, Partial<RetentionInput>, string]>([
    [
      'served on the stable track',
      { deployments: [nerDeployment({ status: { stableModel: 'clinical-r1' } })] },
      'served',
    ],
    [
      'served on the canary track',
      { deployments: [nerDeployment({ status: { stableModel: 'clinical-v1', canaryModel: 'clinical-r1' } })] },
      'served',
    ],
    ['pinned by a NerDeployment', { deployments: [nerDeployment({ spec: { model: 'clinical-r1' } })] }, 'pinned'],
    ['the serving model the next run starts from', { servingName: 'clinical-r1' }, 'base'],
    [
      'the base of a running retraining Job',
      {
        jobs: [
          { ...taskJob('run-6'), metadata: { name: 'run-6', annotations: { [BASE_MODEL_ANNOTATION]: 'clinical-r1' } } },
        ],
      },
      'base',
    ],
  ])('never deletes a model %s', (_name, o, because) => {
    const plan = planRetention(input(five, o));
    expect(plan.deleteModels).toEqual(['clinical-r2', 'clinical-r3']);
    expect(plan.kept).toEqual([{ name: 'clinical-r1', because }]);
  });

  it('the base of a finished Job is no reason to keep a model', () => {
    const job = {
      ...taskJob('run-5', 'Complete'),
      metadata: { name: 'run-5', annotations: { [BASE_MODEL_ANNOTATION]: 'clinical-r1' } },
    };
    expect(planRetention(input(five, { jobs: [job] })).deleteModels).toEqual([
      'clinical-r1',
      'clinical-r2',
      'clinical-r3',
    ]);
  });

  it.each<[string, NerModelStatus | undefined]>([
    ['Pending', { phase: 'Pending' }],
    ['Validating', { phase: 'Validating' }],
    ['not yet reconciled', undefined],
  ])('never deletes a model that is still validating (%s)', (_name, status) => {
    const models = [retrained(1, (m) => (m.status = status)), ...five.slice(1)];
    expect(planRetention(input(models)).kept).toEqual([{ name: 'clinical-r1', because: 'validating' }]);
  });

  it('deletes Rejected and Failed old models like Ready ones', () => {
    const models = [
      retrained(1, () => {}, { phase: 'Rejected' }),
      retrained(2, () => {}, { phase: 'Failed' }),
      ...five.slice(2),
    ];
    expect(planRetention(input(models)).deleteModels).toEqual(['clinical-r1', 'clinical-r2', 'clinical-r3']);
  });

  it('newer models that failed validation do not push out the newest Ready ones', () => {
    const models = [1, 2, 3]
      .map((i) => retrained(i))
      .concat([4, 5].map((i) => retrained(i, () => {}, { phase: 'Rejected' })));
    expect(planRetention(input(models)).deleteModels).toEqual(['clinical-r1']);
  });

  it("never touches models it did not create: another policy's, a user's with a copied lineage, the base", () => {
    const other = retrained(0, (m) => {
      m.metadata.name = 'other-r0';
      m.metadata.labels = { ...m.metadata.labels, 'nerops.io/drift-policy': 'other' };
      m.spec.lineage = { driftPolicy: 'other' };
    });
    const users = retrained(0, (m) => {
      m.metadata.name = 'users-r0';
      m.metadata.labels = {};
    });
    const p = driftPolicy();
    expect([other, users, base].map((m) => createdByPolicy(m, p))).toEqual([false, false, false]);
    expect(createdByPolicy(five[0] as NerModel, p)).toBe(true);
    expect(planRetention(input([other, users, ...five])).deleteModels).toEqual([
      'clinical-r1',
      'clinical-r2',
      'clinical-r3',
    ]);
  });

  it('counts per family, and skips models already being deleted', () => {
    const triage = [6, 7, 8].map((i) =>
      retrained(i, (m) => {
        m.metadata.name = `triage-r${i}`;
        m.spec.family = 'triage';
      }),
    );
    const going = retrained(0, (m) => (m.metadata.deletionTimestamp = new Date(0)));
    expect(planRetention(input([going, ...five, ...triage])).deleteModels).toEqual([
      'clinical-r1',
      'clinical-r2',
      'clinical-r3',
      'triage-r6',
    ]);
  });
});
