/**
 * The URIs of the FHIR R4 output: HL7's code systems (each code we write is one HL7 defines for that element,
 * never a clinical code: `code` is always `{ text }` until a terminology the hospital supplies says otherwise),
 * and the project's own extensions under https://nerops.io/fhir/. Receivers match on these strings, so they
 * are a wire format: add, never rename.
 */

/** HL7 code systems (R4, terminology.hl7.org). */
export const CodeSystem = {
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerStatus: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  provenanceParticipantType: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
  dataOperation: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
  roleCode: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
  dataAbsentReason: 'http://terminology.hl7.org/CodeSystem/data-absent-reason',
} as const;

/** HL7's core extension for a required element whose value is not known (here: the patient, when unnamed). */
export const DATA_ABSENT_REASON_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';

const NEROPS_FHIR = 'https://nerops.io/fhir';

/** The project's extensions (complex extensions; their parts are listed beside each). */
export const NeropsExtension = {
  /** Where the entity was found: `label` (string), `start`, `end` (integer, UTF-16 offsets), `text` (string), `score` (decimal), `document` (string, the request's document id). */
  mention: `${NEROPS_FHIR}/StructureDefinition/nlp-mention`,
  /** The assertion stage's attributes: `negated` (boolean), `certainty`, `temporality`, `experiencer` (code). */
  assertion: `${NEROPS_FHIR}/StructureDefinition/nlp-assertion`,
} as const;

/** Identifier system of a model bundle's digest (`sha256:<hex>`), on the Device that stands for the model. */
export const MODEL_DIGEST_SYSTEM = `${NEROPS_FHIR}/sid/model-bundle-digest`;
