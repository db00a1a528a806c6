import { describe, expect, it } from 'vitest';
import { driftPolicy, nerModel } from '../../testing/builders.js';
import { bundleCleanupOrphaned } from './bundle-release.js';

const waiting = nerModel({
  name: 'r1',
  metadata: {
    labels: { 'nerops.io/drift-policy': 'drift' },
    deletionTimestamp: new Date('2025-01-01T00:00:00Z'),
    finalizers: ['nerops.io/bundle-cleanup'],
  },
});

describe('bundleCleanupOrphaned', () => {
  it.each([
    ['its policy is gone', waiting, undefined, true],
    ['its policy is being deleted', waiting, driftPolicy({}, (p) => (p.metadata.deletionTimestamp = new Date())), true],
    ['its policy will clean up', waiting, driftPolicy(), false],
    ['not being deleted', nerModel({ metadata: { finalizers: ['nerops.io/bundle-cleanup'] } }), undefined, false],
    [
      'without the finalizer',
      nerModel({ metadata: { deletionTimestamp: new Date(), finalizers: ['nerops.io/in-use'] } }),
      undefined,
      false,
    ],
  ] as const)('%s: %s', (_what, model, policy, orphaned) => {
    expect(bundleCleanupOrphaned(model, policy)).toBe(orphaned);
  });
});
