/**
 * Entities (with their assertions) as a FHIR R4 `Bundle` of type `collection`: one clinical resource per
 * entity whose label the mapping knows, a `Device` standing for the model, and one `Provenance` naming the
 * model, version and bundle digest that targets every clinical resource. Pure: the clock and the UUIDs come in.
 *
 * Rules an EHR relies on (docs/assertions.md, "HTTP and FHIR output"):
 * - Condition.verificationStatus: `refuted` when negated, `provisional` when uncertain or hypothetical,
 *   `confirmed` otherwise; `unconfirmed` when the model has no assertion stage (nothing was checked).
 * - Condition.clinicalStatus: `inactive` when historical, `active` when current; absent when refuted,
 *   hypothetical or unasserted (R4 requires it only for problem-list items, con-3, and we set no category:
 *   a mention in a note is neither a problem-list item nor an encounter diagnosis until a person says so).
 * - Procedure.status / MedicationStatement.status carry the same meaning in those resources' own value sets
 *   (`not-done` / `not-taken` when negated, `completed` when historical, `preparation` / `intended` when
 *   hypothetical, `unknown` when uncertain or unasserted).
 * - A relative's condition is a FamilyMemberHistory (relationship v3 `FAMMEMB`: the stage does not say which
 *   relative) or left out, per the mapping; a negated one is left out (R4 has no element saying a relative
 *   did *not* have a condition, and a plain extension must not change meaning).
 * - `code` is `{ text }` only: no code is ever invented.
 */
import { randomUUID } from 'node:crypto';
import type { Assertion } from '../../engine/assertions/index.js';
import type { Entity } from '../../engine/types.js';
import { CodeSystem, DATA_ABSENT_REASON_EXTENSION, MODEL_DIGEST_SYSTEM, NeropsExtension } from './codes.js';
import { targetOf, type FhirMapping } from './mapping.js';

/** The assertion stage's attributes of one entity. */
export type FhirAssertion = Assertion;

/** A JSON FHIR resource (the shape is checked against the official R4 schema in the tests). */
export type FhirResource = { resourceType: string } & Record<string, unknown>;

/** A FHIR Reference to the patient the text is about: a literal reference or a business identifier (one of them). */
export interface SubjectReference {
  reference?: string | undefined;
  identifier?: { system: string; value: string } | undefined;
}

/** An entity as the FHIR mapping reads it: the engine's entity, with its assertion when the model has the stage. */
export type FhirEntity = Entity;

/** One document's entities, with its id (when the request had ids) and the patient it is about. */
export interface FhirDocument {
  id?: string | undefined;
  entities: readonly FhirEntity[];
  subject?: SubjectReference | undefined;
}

export interface ModelIdentity {
  name: string;
  version: string;
  /** sha256 (hex) of the bundle manifest. */
  digest: string;
}

export interface BundleOptions {
  mapping: FhirMapping;
  /** Bundle.timestamp and Provenance.recorded. */
  now: Date;
  /** fullUrl ids (tests inject a counter); default random UUIDs. */
  uuid?: () => string;
}

/**
 * The patient when the caller did not name one: Condition.subject (and the others) are required, and a made-up
 * identifier would be worse than none. HL7's data-absent-reason extension says "unknown" in a way every R4
 * parser understands; an EHR refuses to file it until the caller sends `subject`, which is the point.
 */
export const UNKNOWN_SUBJECT = Object.freeze({
  extension: [{ url: DATA_ABSENT_REASON_EXTENSION, valueCode: 'unknown' }],
});

const concept = (system: string, code: string) => ({ coding: [{ system, code }] });

/** The mention extension: label, offsets, text, score and document id. */
function mentionExtension(e: FhirEntity, documentId: string | undefined) {
  return {
    url: NeropsExtension.mention,
    extension: [
      { url: 'label', valueString: e.label },
      { url: 'start', valueInteger: e.start },
      { url: 'end', valueInteger: e.end },
      { url: 'text', valueString: e.text },
      { url: 'score', valueDecimal: Math.round(e.score * 1e6) / 1e6 },
      ...(documentId !== undefined ? [{ url: 'document', valueString: documentId }] : []),
    ],
  };
}

function assertionExtension(a: FhirAssertion) {
  return {
    url: NeropsExtension.assertion,
    extension: [
      { url: 'negated', valueBoolean: a.negated },
      { url: 'certainty', valueCode: a.certainty },
      { url: 'temporality', valueCode: a.temporality },
      { url: 'experiencer', valueCode: a.experiencer },
    ],
  };
}

function extensions(e: FhirEntity, documentId: string | undefined) {
  return [mentionExtension(e, documentId), ...(e.assertion ? [assertionExtension(e.assertion)] : [])];
}

/** Condition.verificationStatus code for an assertion (see the module comment). */
export function verificationStatusOf(a: FhirAssertion | undefined): string {
  if (!a) return 'unconfirmed';
  if (a.negated) return 'refuted';
  if (a.certainty !== 'certain') return 'provisional';
  return 'confirmed';
}

/** Condition.clinicalStatus code, or undefined when the element is left out (see the module comment). */
export function clinicalStatusOf(a: FhirAssertion | undefined): string | undefined {
  if (!a || a.negated || a.certainty === 'hypothetical') return undefined;
  return a.temporality === 'historical' ? 'inactive' : 'active';
}

/** Procedure.status (event-status) for an assertion. */
export function procedureStatusOf(a: FhirAssertion | undefined): string {
  if (!a) return 'unknown';
  if (a.negated) return 'not-done';
  if (a.temporality === 'historical') return 'completed';
  if (a.certainty === 'hypothetical') return 'preparation';
  return 'unknown';
}

/** MedicationStatement.status for an assertion. */
export function medicationStatusOf(a: FhirAssertion | undefined): string {
  if (!a) return 'unknown';
  if (a.negated) return 'not-taken';
  if (a.temporality === 'historical') return 'completed';
  if (a.certainty === 'hypothetical') return 'intended';
  if (a.certainty === 'uncertain') return 'unknown';
  return 'active';
}

/** The clinical resource of one entity, or undefined when the mapping leaves it out. */
export function resourceOf(
  e: FhirEntity,
  documentId: string | undefined,
  subject: object,
  mapping: FhirMapping,
): FhirResource | undefined {
  const target = targetOf(mapping, e.label);
  if (target === 'omit') return undefined;
  const a = e.assertion;
  const code = { text: e.text };
  const extension = extensions(e, documentId);
  if (a?.experiencer === 'other') {
    // Only a condition has a place in a relative's history; a relative's treatment is not the patient's record.
    if (target !== 'Condition' || mapping.familyHistory === 'omit' || a.negated) return undefined;
    const note = a.certainty === 'certain' ? [] : [{ text: `mentioned as ${a.certainty} in the note` }];
    return {
      resourceType: 'FamilyMemberHistory',
      extension,
      status: 'partial',
      patient: subject,
      relationship: {
        coding: [{ system: CodeSystem.roleCode, code: 'FAMMEMB', display: 'family member' }],
      },
      condition: [{ code, note: [{ text: 'extracted from a clinical note by a NER model' }, ...note] }],
    };
  }
  switch (target) {
    case 'Condition': {
      const clinical = clinicalStatusOf(a);
      return {
        resourceType: 'Condition',
        extension,
        ...(clinical ? { clinicalStatus: concept(CodeSystem.conditionClinical, clinical) } : {}),
        verificationStatus: concept(CodeSystem.conditionVerStatus, verificationStatusOf(a)),
        code,
        subject,
      };
    }
    case 'Procedure':
      return { resourceType: 'Procedure', extension, status: procedureStatusOf(a), code, subject };
    case 'MedicationStatement':
      return {
        resourceType: 'MedicationStatement',
        extension,
        status: medicationStatusOf(a),
        medicationCodeableConcept: code,
        subject,
      };
  }
}

/** FHIR instants are to the second or finer, with a zone. */
function instant(d: Date): string {
  return d.toISOString();
}

/** The Bundle for `documents` (see the module comment). */
export function toFhirBundle(
  documents: readonly FhirDocument[],
  model: ModelIdentity,
  options: BundleOptions,
): FhirResource {
  const uuid = options.uuid ?? randomUUID;
  const clinical: { fullUrl: string; resource: FhirResource }[] = [];
  for (const doc of documents) {
    const subject = doc.subject ?? UNKNOWN_SUBJECT;
    for (const e of doc.entities) {
      const resource = resourceOf(e, doc.id, subject, options.mapping);
      if (resource) clinical.push({ fullUrl: `urn:uuid:${uuid()}`, resource });
    }
  }
  const bundle: FhirResource = { resourceType: 'Bundle', type: 'collection', timestamp: instant(options.now) };
  // Provenance.target is 1..*: with nothing to attribute, the Bundle is empty rather than a dangling Provenance.
  if (clinical.length === 0) return bundle;
  const deviceUrl = `urn:uuid:${uuid()}`;
  const device: FhirResource = {
    resourceType: 'Device',
    identifier: [{ system: MODEL_DIGEST_SYSTEM, value: `sha256:${model.digest}` }],
    deviceName: [{ name: model.name, type: 'model-name' }],
    version: [{ value: model.version }],
  };
  const provenance: FhirResource = {
    resourceType: 'Provenance',
    target: clinical.map((c) => ({ reference: c.fullUrl })),
    recorded: instant(options.now),
    activity: concept(CodeSystem.dataOperation, 'CREATE'),
    agent: [
      {
        type: concept(CodeSystem.provenanceParticipantType, 'author'),
        who: { reference: deviceUrl, display: `${model.name} ${model.version} (sha256:${model.digest})` },
      },
    ],
  };
  bundle.entry = [
    ...clinical,
    { fullUrl: deviceUrl, resource: device },
    { fullUrl: `urn:uuid:${uuid()}`, resource: provenance },
  ];
  return bundle;
}
