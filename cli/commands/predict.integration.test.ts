/** `ner-ops predict` on a real trained bundle: assertions in the JSON, and `--format fhir` as a schema-valid Bundle. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Entity } from '../../engine/types.js';
import { fhirSchemaErrors } from '../../testing/fhir-schema.js';
import { trainSmallBundle, type TrainedBundle } from '../../testing/fixtures.js';
import predict from './predict.js';

let bundle: TrainedBundle;
beforeAll(async () => {
  bundle = await trainSmallBundle({ seed: 7 });
});
afterAll(async () => bundle?.remove());
afterEach(() => vi.restoreAllMocks());

async function run(args: string[]): Promise<unknown> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  expect(await predict(['--model', bundle.dir, ...args])).toBe(0);
  return JSON.parse(log.mock.calls.map((c) => String(c[0])).join('\n'));
}

const NEGATED = "No evidence of asthma on today's exam.";

describe('ner-ops predict', () => {
  it('prints entities without assertions for a model without rules, as before', async () => {
    const out = (await run([NEGATED])) as { entities: Entity[] };
    expect(out.entities.length).toBeGreaterThan(0);
    for (const e of out.entities) expect(e).not.toHaveProperty('assertion');
  });

  it('prints each entity with its assertion when a language is given', async () => {
    const out = (await run(['--language', 'en', NEGATED])) as { entities: Entity[] };
    expect(out.entities.find((e) => e.text === 'asthma')?.assertion).toEqual({
      negated: true,
      certainty: 'certain',
      temporality: 'current',
      experiencer: 'patient',
    });
  });

  it('prints a FHIR R4 Bundle with --format fhir', async () => {
    const out = await run([
      '--language',
      'en',
      '--format',
      'fhir',
      '--subject',
      'Patient/42',
      NEGATED,
      'Started metformin.',
    ]);
    expect(fhirSchemaErrors(out)).toEqual([]);
    const entry = (out as { entry: { resource: Record<string, unknown> }[] }).entry;
    const condition = entry.find((e) => e.resource.resourceType === 'Condition')!.resource;
    expect(condition).toMatchObject({
      code: { text: 'asthma' },
      subject: { reference: 'Patient/42' },
      verificationStatus: { coding: [{ code: 'refuted' }] },
    });
    expect(entry.map((e) => e.resource.resourceType)).toContain('Provenance');
  });

  it.each([
    [['--format', 'xml'], /--format must be json or fhir/],
    [['--language', 'fr'], /--language: unsupported language; assertion rules exist for en, nb/],
    [['--subject', 'Bob Smith'], /--subject must be Patient\/<id>/],
    [['--fhir-mapping', 'DISEASE=Observation'], /--fhir-mapping/],
  ])('refuses %j', async (args, message) => {
    await expect(predict(['--model', bundle.dir, ...args, 'x'])).rejects.toThrow(message);
  });
});
