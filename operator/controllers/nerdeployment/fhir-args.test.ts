import { describe, expect, it } from 'vitest';
import { NerModelSpecSchema } from '../../api/nermodel.js';
import { driftPolicy, nerDeployment, nerModel } from '../../testing/builders.js';
import { desiredRetrainedModel } from '../driftpolicy/desired.js';
import { desiredDeployment, fhirArgs } from './desired.js';

describe("a NerModel's FHIR output reaches its servers' flags", () => {
  const withFhir = nerModel({
    spec: {
      fhir: {
        mapping: [
          { label: 'TREATMENT', resource: 'MedicationStatement' },
          { label: 'GENE', resource: 'omit' },
        ],
        familyHistory: 'omit',
      },
    },
  });

  it('passes the mapping and the family-history choice as serve flags', () => {
    expect(fhirArgs(withFhir)).toEqual([
      '--fhir-mapping',
      'TREATMENT=MedicationStatement,GENE=omit',
      '--fhir-family-history',
      'omit',
    ]);
    const d = desiredDeployment({
      nd: nerDeployment({ metadata: { uid: 'uid-nd' } }),
      model: withFhir,
      replicas: 1,
      image: 'nerops:test',
    });
    expect(d.spec?.template.spec?.containers[0]?.args?.slice(-4)).toEqual(fhirArgs(withFhir));
  });

  it('adds nothing for a model without fhir settings', () => {
    expect(fhirArgs(nerModel())).toEqual([]);
  });

  it('refuses unknown resources and duplicate labels', () => {
    const spec = (fhir: unknown) => NerModelSpecSchema.safeParse({ ...nerModel().spec, fhir }).success;
    expect(spec({ mapping: [{ label: 'DISEASE', resource: 'Observation' }] })).toBe(false);
    expect(
      spec({
        mapping: [
          { label: 'DISEASE', resource: 'Condition' },
          { label: 'DISEASE', resource: 'omit' },
        ],
      }),
    ).toBe(false);
    expect(spec({ familyHistory: 'Condition' })).toBe(false);
    expect(spec({ mapping: [{ label: 'DISEASE', resource: 'Condition' }], familyHistory: 'omit' })).toBe(true);
  });

  it("a retrained model keeps its base model's FHIR output", () => {
    const m = desiredRetrainedModel(
      driftPolicy(),
      withFhir,
      { runId: 'r1', jobName: 'drift-r1' },
      { resultVersion: 1, outcome: 'Succeeded', bundleUri: 'file:///out/r1', digest: 'b'.repeat(64) },
    );
    expect(m.spec.fhir).toEqual(withFhir.spec.fhir);
  });
});
