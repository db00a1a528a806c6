import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { NerDeploymentStatus } from '../../api/nerdeployment.js';
import { RolloutMetrics } from './metrics.js';

describe('RolloutMetrics', () => {
  it('exports the canary weight and counts a rollback once per transition', async () => {
    const registry = new Registry();
    const m = new RolloutMetrics(registry);
    const status = (phase: string, canary: number) =>
      ({ phase, weights: { stable: 100 - canary, canary } }) as unknown as NerDeploymentStatus;
    m.observe('ward', 'ner', 'Healthy', status('Progressing', 25));
    m.observe('ward', 'ner', 'Progressing', status('RolledBack', 0));
    m.observe('ward', 'ner', 'RolledBack', status('RolledBack', 0));
    const text = await registry.metrics();
    expect(text).toContain('nerops_operator_canary_weight{namespace="ward",nerdeployment="ner"} 0');
    expect(text).toContain('nerops_operator_rollbacks_total{namespace="ward",nerdeployment="ner"} 1');
    m.forget('ward', 'ner');
    expect(await registry.metrics()).not.toContain('nerops_operator_canary_weight{');
  });
});
