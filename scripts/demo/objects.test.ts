import { describe, expect, it } from 'vitest';
import { DriftPolicySpecSchema } from '../../operator/api/driftpolicy.js';
import { NerDeploymentSpecSchema } from '../../operator/api/nerdeployment.js';
import { NerModelSpecSchema } from '../../operator/api/nermodel.js';
import { DEMO_FEEDBACK, driftPolicy, nerDeployment, nerModel } from './objects.js';

describe("the demo's objects", () => {
  it('serve the models with the English assertion rules when asked, and pass the NerModel schema', () => {
    const m = nerModel('m', '1.0.0', 'pvc://models/m', 'a'.repeat(64), { assertionLanguage: 'en' });
    expect(NerModelSpecSchema.parse(m.spec).assertions).toEqual({ language: 'en' });
    expect(nerModel('m', '1.0.0', 'pvc://models/m', 'a'.repeat(64)).spec).not.toHaveProperty('assertions');
  });

  it('give the NerDeployment a feedback store when asked', () => {
    const spec = NerDeploymentSpecSchema.parse(nerDeployment({ feedbackStoreUri: 'pvc://feedback/x' }).spec);
    expect(spec.feedback?.storeUri).toBe('pvc://feedback/x');
    expect(nerDeployment().spec).not.toHaveProperty('feedback');
  });

  it('watch the live F1 of the corrections and retrain on Critical too (an F1 of 0 is always Critical)', () => {
    const spec = DriftPolicySpecSchema.parse(driftPolicy('pvc://r/dataset', 'pvc://r/runs').spec);
    expect(spec.signals.find((s) => s.type === 'groundTruthF1')).toMatchObject({
      warning: DEMO_FEEDBACK.warning,
      critical: 0,
      window: DEMO_FEEDBACK.window,
      minSamples: DEMO_FEEDBACK.minSamples,
    });
    expect(spec.onCritical).toBe('Retrain');
  });
});
