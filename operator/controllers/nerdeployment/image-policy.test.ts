import { describe, expect, it } from 'vitest';
import type { NerDeployment } from '../../api/nerdeployment.js';
import { nerDeployment, nerModel, readyStatus, trackDeployment } from '../../testing/builders.js';
import { planDeployment, type DeploymentObserved } from './plan.js';

const NOW = new Date('2025-01-01T00:00:00Z');

function nd(image?: string, mod: (x: NerDeployment) => void = () => {}): NerDeployment {
  return nerDeployment(
    { metadata: { uid: 'nd-uid', generation: 2 }, spec: { model: 'clinical-v1', ...(image ? { image } : {}) } },
    mod,
  );
}

function obs(o: Partial<DeploymentObserved> = {}): DeploymentObserved {
  return {
    nd: nd(),
    models: [
      nerModel({ name: 'clinical-v1', source: { uri: 'file:///m', digest: 'cd'.repeat(32) }, status: readyStatus() }),
    ],
    deployment: undefined,
    now: NOW,
    image: 'nerops:test',
    history: [],
    ...o,
  };
}

const condition = (p: ReturnType<typeof planDeployment>, type: string) =>
  p.status.conditions?.find((c) => c.type === type);

describe('NerDeployment spec.image and the allowed registries', () => {
  it('no spec.image, or the operator image repository: children are applied', () => {
    expect(planDeployment(obs()).apply.map((o) => o.kind)).toContain('Deployment');
    expect(planDeployment(obs({ nd: nd('nerops:other-tag') })).apply.map((o) => o.kind)).toContain('Deployment');
  });

  it('an image from a registry not allowed: nothing applied or pruned, Ready=False ImageNotAllowed, one Warning', () => {
    const p = planDeployment(obs({ nd: nd('evil.example/miner:1') }));
    expect(p.apply).toEqual([]);
    expect(p.prune).toEqual([]);
    expect(p.routePatch).toBeUndefined();
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason: 'ImageNotAllowed' });
    expect(condition(p, 'Ready')?.message).toMatch(
      /^spec\.image image 'evil\.example\/miner:1' is not from an allowed registry/,
    );
    expect(p.status.phase).toBe('Degraded');
    expect(p.events).toEqual([{ type: 'Warning', reason: 'ImageNotAllowed', note: condition(p, 'Ready')?.message }]);
    const again = planDeployment(obs({ nd: nd('evil.example/miner:1', (x) => (x.status = p.status)) }));
    expect(again.events).toEqual([]);
  });

  it('a refused edit leaves the running Deployment as it is (no outage), and the status says so', () => {
    const live = trackDeployment({ name: 'notes-stable', model: 'clinical-v1', replicas: 2, ready: 2, generation: 2 });
    const p = planDeployment(obs({ nd: nd('docker.io/library/busybox'), deployment: live }));
    expect(p.apply).toEqual([]);
    expect(p.prune).toEqual([]);
    expect(condition(p, 'Ready')?.message).toMatch(/no Deployment or pod is created or changed/);
  });

  it('the allowed registries come from the operator configuration, matched on normalised references', () => {
    const tenant = { allowedServiceAccounts: [], allowedImageRegistries: ['ghcr.io/acme'] };
    expect(planDeployment(obs({ nd: nd('ghcr.io/acme/ner:2'), tenant })).apply).not.toEqual([]);
    expect(planDeployment(obs({ nd: nd('ghcr.io/acme-x/ner:2'), tenant })).apply).toEqual([]);
  });
});
