import { describe, expect, it } from 'vitest';
import { responseFormat } from './negotiate.js';

describe('responseFormat', () => {
  it.each([
    [undefined, 'json'],
    ['', 'json'],
    ['*/*', 'json'],
    ['application/json', 'json'],
    ['application/*', 'json'],
    ['text/html', 'json'],
    ['application/fhir+json', 'fhir'],
    ['application/fhir+json; fhirVersion=4.0', 'fhir'],
    ['Application/FHIR+JSON', 'fhir'],
    ['application/json+fhir', 'fhir'],
    ['application/fhir+json, application/json', 'fhir'],
    ['application/json, application/fhir+json', 'fhir'],
    ['application/json;q=0.9, application/fhir+json', 'fhir'],
    ['application/json, application/fhir+json;q=0.5', 'json'],
    ['application/fhir+json;q=0.5, */*', 'json'],
    ['application/fhir+json;q=0.5, */*;q=0.1', 'fhir'],
    ['application/fhir+json;q=0', 'json'],
  ])('Accept %s → %s', (accept, format) => {
    expect(responseFormat(accept)).toBe(format);
  });
});
