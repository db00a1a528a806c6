/**
 * Which FHIR R4 resource an entity becomes: a label → resource mapping (the model's vocabulary decides, not
 * the code), plus what happens to a disease the text attributes to someone other than the patient. Parsed
 * from the `--fhir-mapping` serve flag (`DISEASE=Condition,TREATMENT=MedicationStatement`) and
 * `--fhir-family-history`; messages name the flag and the rule, never request text.
 */

import {
  FHIR_FAMILY_HISTORY_TARGETS as FAMILY_HISTORY_TARGETS,
  FHIR_RESOURCE_TARGETS as FHIR_TARGETS,
  type FhirFamilyHistoryTarget as FamilyHistoryTarget,
  type FhirResourceTarget as FhirTarget,
} from '../../contracts/serve.js';

export { FAMILY_HISTORY_TARGETS, FHIR_TARGETS, type FamilyHistoryTarget, type FhirTarget };

export interface FhirMapping {
  /** Resource per entity label, keyed by the label in upper case (labels match case-insensitively). */
  resources: Readonly<Record<string, FhirTarget>>;
  /** A relative's condition: a FamilyMemberHistory, or left out. */
  familyHistory: FamilyHistoryTarget;
}

/**
 * The labels of the corpora and models the project ships or trains on: BeHealthy (DISEASE, TREATMENT),
 * NCBI-disease (Disease), BC5CDR (Chemical, Disease) and the synthetic notes (DISEASE, TREATMENT). A
 * TREATMENT may be a drug or a procedure; Procedure is the default, MedicationStatement one flag away.
 * Labels not listed here are left out of the Bundle.
 */
export const DEFAULT_FHIR_MAPPING: FhirMapping = Object.freeze({
  resources: Object.freeze({
    DISEASE: 'Condition',
    PROBLEM: 'Condition',
    TREATMENT: 'Procedure',
    PROCEDURE: 'Procedure',
    CHEMICAL: 'MedicationStatement',
    DRUG: 'MedicationStatement',
    MEDICATION: 'MedicationStatement',
  }),
  familyHistory: 'FamilyMemberHistory',
});

/** The resource an entity label maps to (case-insensitive); labels the mapping does not know are left out. */
export function targetOf(mapping: FhirMapping, label: string): FhirTarget {
  return mapping.resources[label.toUpperCase()] ?? 'omit';
}

const LABEL = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/**
 * `LABEL=Resource[,LABEL=Resource…]` over the default mapping: listed labels are replaced, others keep their
 * default. Throws an Error whose message names `flag` and the rule.
 */
export function parseFhirMapping(
  spec: string | undefined,
  familyHistory: string | undefined,
  flag = 'fhir-mapping',
  familyFlag = 'fhir-family-history',
): FhirMapping {
  const resources: Record<string, FhirTarget> = { ...DEFAULT_FHIR_MAPPING.resources };
  for (const part of (spec ?? '').split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const [label = '', target = '', ...rest] = part.split('=').map((s) => s.trim());
    if (rest.length > 0 || !LABEL.test(label))
      throw new Error(`--${flag}: each entry must be LABEL=Resource with a label of letters, digits, _ . -`);
    if (!(FHIR_TARGETS as readonly string[]).includes(target))
      throw new Error(`--${flag}: the resource of ${label} must be one of ${FHIR_TARGETS.join(', ')}`);
    resources[label.toUpperCase()] = target as FhirTarget;
  }
  const family = familyHistory ?? DEFAULT_FHIR_MAPPING.familyHistory;
  if (!(FAMILY_HISTORY_TARGETS as readonly string[]).includes(family))
    throw new Error(`--${familyFlag} must be one of ${FAMILY_HISTORY_TARGETS.join(', ')}`);
  return { resources, familyHistory: family as FamilyHistoryTarget };
}
