import { describe, expect, it } from 'vitest';
import type { V1Deployment, V1EnvVar } from '@kubernetes/client-node';
import { nerDeployment, nerModel, readyStatus } from '../../testing/builders.js';
import { planDeployment } from './plan.js';

const model = nerModel({
  name: 'clinical-v1',
  metadata: { uid: 'm-uid', generation: 1, creationTimestamp: new Date('2025-01-01T00:00:00Z') },
  source: { uri: 'https://models.example/clinical/', digest: 'cd'.repeat(32) },
  status: readyStatus(),
});
const nd = nerDeployment({ metadata: { uid: 'nd-uid', generation: 1 }, spec: { model: 'clinical-v1' } });

function serverEnv(otlpTracesUrl?: string): V1EnvVar[] {
  const plan = planDeployment({
    nd,
    models: [model],
    deployment: undefined,
    now: new Date('2025-01-01T00:00:00Z'),
    image: 'nerops:test',
    history: [],
    ...(otlpTracesUrl ? { otlpTracesUrl } : {}),
  });
  const d = plan.apply.find((o) => o.kind === 'Deployment') as V1Deployment;
  return d.spec?.template.spec?.containers[0]?.env ?? [];
}

describe('the inference pods trace where the operator does', () => {
  it('get OTEL_EXPORTER_OTLP_TRACES_ENDPOINT when the operator has an endpoint', () => {
    expect(serverEnv('http://collector:4318/v1/traces')).toContainEqual({
      name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      value: 'http://collector:4318/v1/traces',
    });
  });

  it('get no tracing variable otherwise', () => {
    expect(serverEnv().some((e) => e.name.startsWith('OTEL_'))).toBe(false);
  });
});
