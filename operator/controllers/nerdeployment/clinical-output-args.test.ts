import { describe, expect, it } from 'vitest';
import { NerModelSpecSchema } from '../../api/nermodel.js';
import { driftPolicy, nerDeployment, nerModel } from '../../testing/builders.js';
import { desiredRetrainedModel } from '../driftpolicy/desired.js';
import { clinicalOutputArgs, desiredDeployment } from './desired.js';

describe("a NerModel's assertion language and FHIR output reach its servers' flags", () => {
  const withFhir = nerModel({
    spec: {
      assertions: { language: 'nb' },
      fhir: {
        mapping: [
          { label: 'TREATMENT', resource: 'MedicationStatement' },
          { label: 'GENE', resource: 'omit' },
        ],
        familyHistory: 'omit',
      },
    },
  });

  it('passes the language, the mapping and the family-history choice as serve flags', () => {
    expect(clinicalOutputArgs(withFhir)).toEqual([
      '--assertion-language',
      'nb',
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
    const args = d.spec?.template.spec?.containers[0]?.args ?? [];
    const at = args.indexOf(clinicalOutputArgs(withFhir)[0]!);
    expect(args.slice(at, at + 6)).toEqual(clinicalOutputArgs(withFhir));
  });

  it('adds nothing for a model without these settings, and each setting alone', () => {
    expect(clinicalOutputArgs(nerModel())).toEqual([]);
    expect(clinicalOutputArgs(nerModel({ spec: { assertions: { language: 'en' } } }))).toEqual([
      '--assertion-language',
      'en',
    ]);
    expect(clinicalOutputArgs(nerModel({ spec: { fhir: { familyHistory: 'omit' } } }))).toEqual([
      '--fhir-family-history',
      'omit',
    ]);
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
    // Only the shipped languages: a server asked for one always starts (a bundle's own language is its default).
    expect(NerModelSpecSchema.safeParse({ ...nerModel().spec, assertions: { language: 'sv' } }).success).toBe(false);
    expect(spec({ mapping: [{ label: 'DISEASE', resource: 'Condition' }], familyHistory: 'omit' })).toBe(true);
  });

  it("a retrained model keeps its base model's assertion language and FHIR output", () => {
    const m = desiredRetrainedModel(
      driftPolicy(),
      withFhir,
      { runId: 'r1', jobName: 'drift-r1' },
      { resultVersion: 1, outcome: 'Succeeded', bundleUri: 'file:///out/r1', digest: 'b'.repeat(64) },
    );
    expect(m.spec.fhir).toEqual(withFhir.spec.fhir);
    expect(m.spec.assertions).toEqual({ language: 'nb' });
  });
});
