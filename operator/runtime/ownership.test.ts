import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { childOwnership } from './ownership.js';

const ref = (uid: string) => ({
  apiVersion: 'nerops.io/v1alpha1',
  kind: 'NerDeployment',
  name: 'p',
  uid,
  controller: true,
});
const obj = (metadata: KubernetesObject['metadata']): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata,
});

describe('childOwnership', () => {
  const owned = obj({ name: 'svc', ownerReferences: [ref('parent-uid')] });

  it('a child that does not exist may be created', () => {
    expect(childOwnership(owned, undefined)).toBe('absent');
  });

  it('a live child is ours only when its ownerReferences include the owner uid we would write', () => {
    expect(childOwnership(owned, obj({ name: 'svc', ownerReferences: [ref('parent-uid')] }))).toBe('ours');
    // Among others (e.g. a non-controller reference someone added) it is still ours.
    expect(
      childOwnership(
        owned,
        obj({ name: 'svc', ownerReferences: [{ ...ref('x'), controller: false }, ref('parent-uid')] }),
      ),
    ).toBe('ours');
    expect(childOwnership(owned, obj({ name: 'svc' })), 'no owner: made by someone else').toBe('foreign');
    expect(childOwnership(owned, obj({ name: 'svc', ownerReferences: [ref('other-uid')] })), 'a namesake parent').toBe(
      'foreign',
    );
    // Our labels on it do not make it ours: only the uid does.
    expect(childOwnership(owned, obj({ name: 'svc', labels: { 'app.kubernetes.io/managed-by': 'nerops' } }))).toBe(
      'foreign',
    );
  });

  it('a child we create without an owner on purpose is ours only when it carries every label we set', () => {
    const labels = {
      'app.kubernetes.io/managed-by': 'nerops',
      'nerops.io/drift-policy': 'd',
      'nerops.io/run-id': 'r1',
    };
    const unowned = obj({ name: 'm', labels });
    expect(childOwnership(unowned, obj({ name: 'm', labels: { ...labels, extra: 'x' } }))).toBe('ours');
    expect(childOwnership(unowned, obj({ name: 'm', labels: { ...labels, 'nerops.io/run-id': 'r2' } }))).toBe(
      'foreign',
    );
    expect(childOwnership(unowned, obj({ name: 'm' }))).toBe('foreign');
    expect(childOwnership(obj({ name: 'm' }), obj({ name: 'm' })), 'no owner and no labels: never ours').toBe(
      'foreign',
    );
  });
});
