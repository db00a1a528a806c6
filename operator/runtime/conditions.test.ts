import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isApplied, isSubset, ownedFieldsCovered } from './apply.js';
import { keepTransitionTimes, microTime, ownerReference } from './client.js';
import {
  conditionTransitions,
  findCondition,
  removeCondition,
  setCondition,
  statusEqual,
  type Condition,
} from './conditions.js';

const t0 = new Date('2025-01-01T00:00:00.123Z');
const t1 = new Date('2025-01-01T01:00:00Z');

const ready = (status: Condition['status'], time = '2025-01-01T00:00:00Z', gen = 1): Condition => ({
  type: 'Ready',
  status,
  reason: status === 'True' ? 'Available' : 'Unavailable',
  message: '',
  observedGeneration: gen,
  lastTransitionTime: time,
});

describe('setCondition', () => {
  it('adds a new condition with lastTransitionTime = now (whole seconds)', () => {
    const out = setCondition(
      undefined,
      { type: 'Ready', status: 'True', reason: 'Available', observedGeneration: 3 },
      t0,
    );
    expect(out).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Available',
        message: '',
        observedGeneration: 3,
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ]);
  });

  it('keeps lastTransitionTime when the status does not flip, updating reason, message and generation', () => {
    const out = setCondition(
      [ready('True')],
      { type: 'Ready', status: 'True', reason: 'StillAvailable', message: 'm', observedGeneration: 2 },
      t1,
    );
    expect(out[0]).toEqual({
      type: 'Ready',
      status: 'True',
      reason: 'StillAvailable',
      message: 'm',
      observedGeneration: 2,
      lastTransitionTime: '2025-01-01T00:00:00Z',
    });
  });

  it('moves lastTransitionTime when the status flips', () => {
    const out = setCondition(
      [ready('True')],
      { type: 'Ready', status: 'False', reason: 'Unavailable', observedGeneration: 1 },
      t1,
    );
    expect(out[0]?.lastTransitionTime).toBe('2025-01-01T01:00:00Z');
    expect(out[0]?.status).toBe('False');
  });

  it('preserves the order of other conditions and never mutates its input', () => {
    const before: Condition[] = [{ ...ready('True'), type: 'Progressing' }, ready('True')];
    const copy = structuredClone(before);
    const out = setCondition(before, { type: 'Ready', status: 'False', reason: 'X', observedGeneration: 1 }, t1);
    expect(before).toEqual(copy);
    expect(out.map((c) => c.type)).toEqual(['Progressing', 'Ready']);
    expect(findCondition(out, 'Ready')?.reason).toBe('X');
    expect(removeCondition(out, 'Ready').map((c) => c.type)).toEqual(['Progressing']);
  });

  it('lists transitions between two condition sets', () => {
    const prev = [ready('True'), { ...ready('False'), type: 'Degraded' }];
    const next = [ready('False'), { ...ready('False'), type: 'Degraded' }, { ...ready('True'), type: 'Progressing' }];
    expect(conditionTransitions(prev, next).map((t) => [t.type, t.from, t.to])).toEqual([
      ['Ready', 'True', 'False'],
      ['Progressing', undefined, 'True'],
    ]);
  });
});

describe('statusEqual', () => {
  it.each([
    [
      'identical',
      { phase: 'Ready', conditions: [ready('True')] },
      { phase: 'Ready', conditions: [ready('True')] },
      true,
    ],
    [
      'only lastTransitionTime differs',
      { conditions: [ready('True')] },
      { conditions: [ready('True', '2030-01-01T00:00:00Z')] },
      true,
    ],
    ['undefined property = missing', { phase: 'Ready', message: undefined }, { phase: 'Ready' }, true],
    ['phase differs', { phase: 'Ready' }, { phase: 'Failed' }, false],
    ['condition status differs', { conditions: [ready('True')] }, { conditions: [ready('False')] }, false],
    [
      'observedGeneration differs',
      { conditions: [ready('True', undefined, 1)] },
      { conditions: [ready('True', undefined, 2)] },
      false,
    ],
    [
      'extra condition',
      { conditions: [ready('True')] },
      { conditions: [ready('True'), { ...ready('True'), type: 'X' }] },
      false,
    ],
    ['nested value differs', { replicas: { ready: 1 } }, { replicas: { ready: 2 } }, false],
    ['number vs string', { n: 1 }, { n: '1' }, false],
  ])('%s', (_name, a, b, equal) => {
    expect(statusEqual(a, b)).toBe(equal);
  });
});

describe('keepTransitionTimes', () => {
  it('carries old times over for conditions whose status did not change', () => {
    const old = {
      conditions: [
        ready('True', '2020-01-01T00:00:00Z'),
        { ...ready('True', '2020-01-01T00:00:00Z'), type: 'Degraded' },
      ],
    };
    const next = {
      conditions: [
        ready('True', '2025-05-05T00:00:00Z'),
        { ...ready('False', '2025-05-05T00:00:00Z'), type: 'Degraded' },
      ],
    };
    const out = keepTransitionTimes(old, next);
    expect(out.conditions.map((c) => c.lastTransitionTime)).toEqual(['2020-01-01T00:00:00Z', '2025-05-05T00:00:00Z']);
  });
});

describe('server-side apply skip check', () => {
  const live = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'x',
      namespace: 'ns',
      resourceVersion: '7',
      uid: 'u',
      labels: { a: '1', other: 'set-by-someone-else' },
      managedFields: [
        {
          manager: 'nerops',
          operation: 'Apply',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:data': { 'f:k': {} }, 'f:metadata': { 'f:labels': { 'f:a': {} } } },
        },
        {
          manager: 'kubectl',
          operation: 'Update',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': { 'f:other': {} } } },
        },
      ],
    },
    data: { k: 'v' },
  };
  const desired = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'x', namespace: 'ns', labels: { a: '1' } },
    data: { k: 'v' },
  };

  it('is applied when every desired field matches and we own nothing extra', () => {
    expect(isApplied(desired, live, 'nerops')).toBe(true);
  });
  it('is not applied when a desired value differs (hand edit)', () => {
    expect(isApplied({ ...desired, data: { k: 'changed' } } as KubernetesObject, live, 'nerops')).toBe(false);
  });
  it('is not applied when we stopped setting a field we own', () => {
    expect(isApplied({ ...desired, metadata: { name: 'x', namespace: 'ns' } }, live, 'nerops')).toBe(false);
  });
  it('is not applied when our manager never applied the object', () => {
    expect(isApplied(desired, live, 'someone-else')).toBe(false);
    expect(isApplied(desired, undefined, 'nerops')).toBe(false);
  });
  it.each([
    ['extra live fields (server defaults)', { a: 1 }, { a: 1, b: 2 }, true],
    [
      'arrays compare item by item',
      [{ name: 'c', image: 'i' }],
      [{ name: 'c', image: 'i', terminationMessagePath: '/dev/termination-log' }],
      true,
    ],
    ['array length differs', [{ name: 'c' }], [{ name: 'c' }, { name: 'd' }], false],
    ['empty desired map vs missing', { labels: {} }, {}, true],
    ['scalar differs', { replicas: 2 }, { replicas: 3 }, false],
    ['quantity not normalised', { cpu: '1000m' }, { cpu: '1' }, false],
  ])('isSubset: %s', (_n, d, l, expected) => {
    expect(isSubset(d, l)).toBe(expected);
  });
  it('covers keyed list items and set values in fieldsV1', () => {
    const fields = {
      'f:spec': {
        'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} } },
        'f:finalizers': { 'v:"a"': {} },
      },
    };
    expect(ownedFieldsCovered(fields, { spec: { ports: [{ port: 80, protocol: 'TCP' }], finalizers: ['a'] } })).toBe(
      true,
    );
    expect(ownedFieldsCovered(fields, { spec: { ports: [{ port: 81, protocol: 'TCP' }], finalizers: ['a'] } })).toBe(
      false,
    );
    expect(ownedFieldsCovered(fields, { spec: { ports: [{ port: 80, protocol: 'TCP' }], finalizers: ['b'] } })).toBe(
      false,
    );
  });
});

describe('helpers', () => {
  it('ownerReference builds a controller reference and refuses incomplete owners', () => {
    const owner = { apiVersion: 'nerops.io/v1alpha1', kind: 'NerDeployment', metadata: { name: 'd', uid: 'u1' } };
    expect(ownerReference(owner)).toEqual({
      apiVersion: 'nerops.io/v1alpha1',
      kind: 'NerDeployment',
      name: 'd',
      uid: 'u1',
      controller: true,
      blockOwnerDeletion: true,
    });
    expect(() => ownerReference({ metadata: { name: 'd' } })).toThrow(/uid/);
  });
  it('microTime has microseconds', () => {
    expect(microTime(t0)).toBe('2025-01-01T00:00:00.123000Z');
  });
});
