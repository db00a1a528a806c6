/**
 * The chart's Argo CD health scripts under a real Lua 5.1 interpreter, on every branch: no status yet, a
 * generation not observed yet, and each phase/state and condition the operator writes. The e2e scenarios
 * (test/e2e/canary.test.ts, drift.test.ts) check the same scripts on the statuses a live operator writes.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { argoHealth, healthScriptPath, type HealthKind } from '../../testing/argocd-health.js';

const cond = (type: string, status: 'True' | 'False', message = '') => ({ type, status, reason: 'R', message });
const object = (status: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) => ({
  metadata: { name: 'x', generation: 2 },
  ...extra,
  ...(status ? { status: { observedGeneration: 2, ...status } } : {}),
});

const cases: Array<[HealthKind, string, unknown, string]> = [
  ['NerModel', 'no status yet', object(undefined), 'Progressing'],
  ['NerModel', 'generation not observed', object({ phase: 'Ready', observedGeneration: 1 }), 'Progressing'],
  ['NerModel', 'validating', object({ phase: 'Validating' }), 'Progressing'],
  ['NerModel', 'ready', object({ phase: 'Ready', conditions: [cond('Ready', 'True')] }), 'Healthy'],
  ['NerModel', 'rejected by its gates', object({ phase: 'Rejected', message: 'F1 0.41 < 0.8' }), 'Degraded'],
  ['NerModel', 'failed', object({ phase: 'Failed' }), 'Degraded'],
  ['NerDeployment', 'no status yet', object(undefined), 'Progressing'],
  ['NerDeployment', 'serving', object({ phase: 'Healthy' }), 'Healthy'],
  ['NerDeployment', 'canary running', object({ phase: 'Progressing', message: 'step 1/3' }), 'Progressing'],
  ['NerDeployment', 'paused', object({ phase: 'Paused' }), 'Suspended'],
  [
    'NerDeployment',
    'paused by condition',
    object({ phase: 'Progressing', conditions: [cond('Paused', 'True')] }),
    'Suspended',
  ],
  ['NerDeployment', 'rolled back', object({ phase: 'RolledBack' }), 'Degraded'],
  [
    'NerDeployment',
    'degraded',
    object({ phase: 'Healthy', conditions: [cond('Degraded', 'True', 'no ready pod')] }),
    'Degraded',
  ],
  ['DriftPolicy', 'suspended', object({ state: 'Healthy' }, { spec: { suspend: true } }), 'Suspended'],
  ['DriftPolicy', 'no status yet', object(undefined, { spec: {} }), 'Progressing'],
  ['DriftPolicy', 'healthy', object({ state: 'Healthy', conditions: [cond('Ready', 'True')] }), 'Healthy'],
  ['DriftPolicy', 'too little traffic', object({ state: 'InsufficientData' }), 'Healthy'],
  ['DriftPolicy', 'warning, retraining', object({ state: 'Warning', activeJob: { name: 'retrain-1' } }), 'Progressing'],
  ['DriftPolicy', 'critical', object({ state: 'Critical' }), 'Degraded'],
  [
    'DriftPolicy',
    'cannot act',
    object({ state: 'Healthy', conditions: [cond('Ready', 'False', 'no output')] }),
    'Degraded',
  ],
  [
    'DriftPolicy',
    'metrics unavailable',
    object({ state: 'MetricsUnavailable', conditions: [cond('Degraded', 'True', 'Prometheus down')] }),
    'Degraded',
  ],
];

describe('Argo CD health scripts (Lua 5.1)', () => {
  it.each(cases)('%s, %s → %s', async (kind, _what, obj, expected) => {
    expect((await argoHealth(kind, obj)).status).toBe(expected);
  });

  it('argocd-cm.yaml carries exactly the three scripts', () => {
    const cm = yaml.load(
      readFileSync(new URL('../../charts/nerops/argocd/argocd-cm.yaml', import.meta.url), 'utf8'),
    ) as { data: Record<string, string> };
    const kinds: HealthKind[] = ['NerModel', 'NerDeployment', 'DriftPolicy'];
    expect(Object.keys(cm.data).sort()).toEqual(
      kinds.map((k) => `resource.customizations.health.nerops.io_${k}`).sort(),
    );
    for (const k of kinds)
      expect(cm.data[`resource.customizations.health.nerops.io_${k}`]).toBe(readFileSync(healthScriptPath(k), 'utf8'));
  });

  it("passes the operator's message through, whatever its characters", async () => {
    const message = 'Trinn 2/3: «kanarifugl» 50 % — "quoted" \\ back';
    const h = await argoHealth('NerDeployment', object({ phase: 'Progressing', message }));
    expect(h).toEqual({ status: 'Progressing', message });
  });
});
