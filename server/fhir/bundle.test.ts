import { describe, expect, it } from 'vitest';
import { fhirSchemaErrors } from '../../testing/fhir-schema.js';
import {
  UNKNOWN_SUBJECT,
  toFhirBundle,
  type FhirAssertion,
  type FhirEntity,
  type FhirResource,
  type ModelIdentity,
} from './bundle.js';
import { CodeSystem, NeropsExtension } from './codes.js';
import { DEFAULT_FHIR_MAPPING, parseFhirMapping } from './mapping.js';
import { fhirMappingArg } from '../../contracts/serve.js';

const model: ModelIdentity = { name: 'behealthy', version: '1.2.0', digest: 'ab'.repeat(32) };
const now = new Date('2026-12-06T01:02:03.000Z');
const counter = () => {
  let i = 0;
  return () => `00000000-0000-4000-8000-${String(++i).padStart(12, '0')}`;
};
const affirmed: FhirAssertion = {
  negated: false,
  certainty: 'certain',
  temporality: 'current',
  experiencer: 'patient',
};

function entity(label: string, text: string, assertion?: Partial<FhirAssertion>): FhirEntity {
  return {
    label,
    start: 3,
    end: 3 + text.length,
    text,
    score: 0.9,
    ...(assertion ? { assertion: { ...affirmed, ...assertion } } : {}),
  };
}

function bundleOf(entities: FhirEntity[], mapping = DEFAULT_FHIR_MAPPING, subject?: { reference: string }) {
  return toFhirBundle([{ entities, subject }], model, { mapping, now, uuid: counter() });
}

type Entry = { fullUrl: string; resource: FhirResource };
const entries = (b: FhirResource) => (b.entry ?? []) as Entry[];
const resources = (b: FhirResource, type: string) => entries(b).filter((e) => e.resource.resourceType === type);
const code = (cc: unknown) => (cc as { coding: { system: string; code: string }[] } | undefined)?.coding[0];

describe('toFhirBundle', () => {
  it('maps each assertion to the Condition verification and clinical status, and validates against the R4 schema', () => {
    const b = bundleOf([
      entity('DISEASE', 'chest pain', { negated: true }),
      entity('DISEASE', 'pneumonia', { certainty: 'uncertain' }),
      entity('DISEASE', 'sepsis', { certainty: 'hypothetical' }),
      entity('DISEASE', 'myocardial infarction', { temporality: 'historical' }),
      entity('DISEASE', 'asthma', {}),
      entity('DISEASE', 'gout'),
    ]);
    expect(fhirSchemaErrors(b)).toEqual([]);
    expect(b).toMatchObject({ resourceType: 'Bundle', type: 'collection', timestamp: '2026-12-06T01:02:03.000Z' });
    const conditions = resources(b, 'Condition').map((e) => e.resource);
    expect(
      conditions.map((c) => [
        (c.code as { text: string }).text,
        code(c.verificationStatus)?.code,
        code(c.clinicalStatus)?.code,
      ]),
    ).toEqual([
      ['chest pain', 'refuted', undefined],
      ['pneumonia', 'provisional', 'active'],
      ['sepsis', 'provisional', undefined],
      ['myocardial infarction', 'confirmed', 'inactive'],
      ['asthma', 'confirmed', 'active'],
      ['gout', 'unconfirmed', undefined],
    ]);
    for (const c of conditions) {
      expect(code(c.verificationStatus)?.system).toBe(CodeSystem.conditionVerStatus);
      if (c.clinicalStatus) expect(code(c.clinicalStatus)?.system).toBe(CodeSystem.conditionClinical);
      // Never an invented code: text only.
      expect(Object.keys(c.code as object)).toEqual(['text']);
      // con-3 applies to problem-list items only: we set no category.
      expect(c.category).toBeUndefined();
      expect(c.subject).toEqual(UNKNOWN_SUBJECT);
    }
  });

  it('records the mention (label, offsets, text, score, document) and the assertion in extensions', () => {
    const b = toFhirBundle([{ id: 'note-1', entities: [entity('DISEASE', 'fever', { negated: true })] }], model, {
      mapping: DEFAULT_FHIR_MAPPING,
      now,
      uuid: counter(),
    });
    const c = resources(b, 'Condition')[0]!.resource;
    expect(c.extension).toEqual([
      {
        url: NeropsExtension.mention,
        extension: [
          { url: 'label', valueString: 'DISEASE' },
          { url: 'start', valueInteger: 3 },
          { url: 'end', valueInteger: 8 },
          { url: 'text', valueString: 'fever' },
          { url: 'score', valueDecimal: 0.9 },
          { url: 'document', valueString: 'note-1' },
        ],
      },
      {
        url: NeropsExtension.assertion,
        extension: [
          { url: 'negated', valueBoolean: true },
          { url: 'certainty', valueCode: 'certain' },
          { url: 'temporality', valueCode: 'current' },
          { url: 'experiencer', valueCode: 'patient' },
        ],
      },
    ]);
    expect(fhirSchemaErrors(b)).toEqual([]);
  });

  it('names the model, version and digest in a Provenance that targets every clinical resource', () => {
    const b = bundleOf([entity('DISEASE', 'asthma', {}), entity('TREATMENT', 'inhaler', {})], DEFAULT_FHIR_MAPPING, {
      reference: 'Patient/123',
    });
    expect(fhirSchemaErrors(b)).toEqual([]);
    const all = entries(b);
    expect(all.map((e) => e.resource.resourceType)).toEqual(['Condition', 'Procedure', 'Device', 'Provenance']);
    for (const e of all) expect(e.fullUrl).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const device = resources(b, 'Device')[0]!;
    expect(device.resource).toMatchObject({
      identifier: [{ value: `sha256:${model.digest}` }],
      deviceName: [{ name: 'behealthy', type: 'model-name' }],
      version: [{ value: '1.2.0' }],
    });
    const prov = resources(b, 'Provenance')[0]!.resource;
    expect(prov.target).toEqual(all.slice(0, 2).map((e) => ({ reference: e.fullUrl })));
    expect(prov.recorded).toBe('2026-12-06T01:02:03.000Z');
    expect(prov.agent).toEqual([
      {
        type: { coding: [{ system: CodeSystem.provenanceParticipantType, code: 'author' }] },
        who: { reference: device.fullUrl, display: `behealthy 1.2.0 (sha256:${model.digest})` },
      },
    ]);
    expect(resources(b, 'Condition')[0]!.resource.subject).toEqual({ reference: 'Patient/123' });
  });

  it.each([
    ['negated', { negated: true }, 'not-done', 'not-taken'],
    ['historical', { temporality: 'historical' }, 'completed', 'completed'],
    ['hypothetical', { certainty: 'hypothetical' }, 'preparation', 'intended'],
    ['uncertain', { certainty: 'uncertain' }, 'unknown', 'unknown'],
    ['affirmed', {}, 'unknown', 'active'],
    ['unasserted', undefined, 'unknown', 'unknown'],
  ] as const)('gives a %s treatment its Procedure or MedicationStatement status', (_n, a, procedure, medication) => {
    const asProcedure = bundleOf([entity('TREATMENT', 'chemotherapy', a)]);
    expect(resources(asProcedure, 'Procedure')[0]!.resource.status).toBe(procedure);
    expect(fhirSchemaErrors(asProcedure)).toEqual([]);
    const asMedication = bundleOf(
      [entity('TREATMENT', 'metformin', a)],
      parseFhirMapping('TREATMENT=MedicationStatement', undefined),
    );
    const m = resources(asMedication, 'MedicationStatement')[0]!.resource;
    expect(m.status).toBe(medication);
    expect(m.medicationCodeableConcept).toEqual({ text: 'metformin' });
    expect(fhirSchemaErrors(asMedication)).toEqual([]);
  });

  it("makes a relative's disease a FamilyMemberHistory, leaves out a negated one and a relative's treatment", () => {
    const b = bundleOf([
      entity('DISEASE', 'breast cancer', { experiencer: 'other' }),
      entity('DISEASE', 'diabetes', { experiencer: 'other', negated: true }),
      entity('TREATMENT', 'mastectomy', { experiencer: 'other' }),
    ]);
    expect(fhirSchemaErrors(b)).toEqual([]);
    expect(entries(b).map((e) => e.resource.resourceType)).toEqual(['FamilyMemberHistory', 'Device', 'Provenance']);
    const fmh = resources(b, 'FamilyMemberHistory')[0]!.resource;
    expect(fmh).toMatchObject({
      status: 'partial',
      patient: UNKNOWN_SUBJECT,
      relationship: { coding: [{ system: CodeSystem.roleCode, code: 'FAMMEMB' }] },
      condition: [{ code: { text: 'breast cancer' } }],
    });
    expect((fmh.condition as { note: unknown[] }[])[0]!.note.length).toBeGreaterThan(0);
    const omitted = bundleOf([entity('DISEASE', 'breast cancer', { experiencer: 'other' })], {
      ...DEFAULT_FHIR_MAPPING,
      familyHistory: 'omit',
    });
    expect(omitted.entry).toBeUndefined();
  });

  it('leaves out labels the mapping does not know or omits, matching labels case-insensitively', () => {
    const b = bundleOf(
      [entity('Disease', 'colitis', {}), entity('GENE', 'BRCA1', {}), entity('TREATMENT', 'surgery', {})],
      parseFhirMapping('treatment=omit', undefined),
    );
    expect(entries(b).map((e) => e.resource.resourceType)).toEqual(['Condition', 'Device', 'Provenance']);
    expect(fhirSchemaErrors(b)).toEqual([]);
  });

  it('answers no entities with an empty collection Bundle (a Provenance needs a target)', () => {
    const b = bundleOf([]);
    expect(b).toEqual({ resourceType: 'Bundle', type: 'collection', timestamp: '2026-12-06T01:02:03.000Z' });
    expect(fhirSchemaErrors(b)).toEqual([]);
  });

  it('is checked by a real schema: broken resources fail it', () => {
    const good = bundleOf([entity('DISEASE', 'asthma', {})]);
    expect(fhirSchemaErrors(good)).toEqual([]);
    const broken = structuredClone(good) as unknown as { entry: Entry[] };
    delete broken.entry[0]!.resource.subject; // Condition.subject is 1..1
    expect(fhirSchemaErrors(broken)).not.toEqual([]);
    const badType = structuredClone(good);
    badType.type = 'pile';
    expect(fhirSchemaErrors(badType)).not.toEqual([]);
    const unknownElement = structuredClone(good) as unknown as { entry: Entry[] };
    unknownElement.entry[0]!.resource.clinicalState = 'active'; // no such element
    expect(fhirSchemaErrors(unknownElement)).not.toEqual([]);
    const badInstant = structuredClone(good) as unknown as { entry: Entry[] };
    badInstant.entry[2]!.resource.recorded = 'yesterday'; // Provenance.recorded is an instant
    expect(fhirSchemaErrors(badInstant)).not.toEqual([]);
    const badCode = structuredClone(good) as unknown as { entry: Entry[] };
    badCode.entry[0]!.resource.extension = [{ url: 'x', valueCode: 'two  spaces' }]; // not a FHIR code
    expect(fhirSchemaErrors(badCode)).not.toEqual([]);
  });
});

describe('parseFhirMapping', () => {
  it('overrides the defaults entry by entry', () => {
    const m = parseFhirMapping(' treatment = MedicationStatement , GENE=Condition ', 'omit');
    expect(m.resources).toMatchObject({ TREATMENT: 'MedicationStatement', GENE: 'Condition', DISEASE: 'Condition' });
    expect(m.familyHistory).toBe('omit');
    expect(parseFhirMapping(undefined, undefined)).toEqual(DEFAULT_FHIR_MAPPING);
  });

  it.each([
    ['DISEASE', /the resource of DISEASE must be one of/],
    ['DISEASE=Observation', /must be one of Condition, Procedure, MedicationStatement, omit/],
    ['A=B=C', /LABEL=Resource/],
    ['1X=Condition', /LABEL=Resource/],
  ])('refuses %s naming the flag', (spec, message) => {
    expect(() => parseFhirMapping(spec, undefined)).toThrow(message);
    expect(() => parseFhirMapping(spec, undefined)).toThrow(/--fhir-mapping/);
  });

  it('reads back what the operator writes (contracts fhirMappingArg)', () => {
    const arg = fhirMappingArg([
      { label: 'TREATMENT', resource: 'MedicationStatement' },
      { label: 'Gene', resource: 'omit' },
    ]);
    expect(parseFhirMapping(arg, 'omit')).toEqual({
      resources: { ...DEFAULT_FHIR_MAPPING.resources, TREATMENT: 'MedicationStatement', GENE: 'omit' },
      familyHistory: 'omit',
    });
  });

  it('refuses an unknown family-history target', () => {
    expect(() => parseFhirMapping(undefined, 'Condition')).toThrow(/--fhir-family-history/);
  });
});
