/**
 * The assertion stage and FHIR output of the inference server, against real trained bundles on loopback: one
 * without rules (answers exactly as before), one carrying its own rule file (pinned in the manifest, format
 * version 2). Entities carry assertions in English and Norwegian (Content-Language), FHIR Bundles pass the
 * official R4 schema, the v2 tensors line up with the entities, the metrics count them, and no note or entity
 * text reaches logs, metrics or error bodies.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSERTION_LABEL_VALUES, ServerMetric } from '../contracts/metrics.js';
import { MANIFEST_FILE, type Manifest } from '../contracts/bundle-manifest.js';
import {
  assertionBundleParts,
  defaultAssertionRules,
  type Assertion,
  type AssertionRules,
} from '../engine/assertions/index.js';
import { writeBundle } from '../engine/bundle/bundle.js';
import { loadEngine } from '../engine/bundle/load.js';
import type { Entity, NerEngine } from '../engine/types.js';
import { AssertionStage } from './assertions.js';
import { startServer, type RunningServer } from './main.js';
import { NeropsExtension } from './fhir/codes.js';
import { fhirSchemaErrors } from '../testing/fhir-schema.js';
import { captureLogger, metricValue, postJson, trainSmallBundle, type TrainedBundle } from '../testing/fixtures.js';

/** Sentences in the synthetic notes' style (so the small model finds their entities), with triggers around them. */
const EN = [
  "No evidence of asthma on today's exam.",
  'Family history of asthma in the mother.',
  'Patient with a history of COPD presents for follow-up.',
  'Started metformin 500 mg b.i.d. for type 2 diabetes.',
];
const NB = ['Ingen tegn til asthma ved undersøkelsen.', 'Mor hadde COPD.', 'Startet metformin for type 2 diabetes.'];

let plainBundle: TrainedBundle;
let rulesDir: string;
let rulesDigest: string;
let engine: NerEngine;
let withRules: RunningServer;
let plain: RunningServer;
let withRulesLogs: string[];

/** The hospital's own rules: the shipped English ones plus one local negation term, "nil". */
function hospitalRules(): AssertionRules {
  const en = defaultAssertionRules('en');
  return {
    ...en,
    rules: [...en.rules, { category: 'negation', direction: 'forward', terms: ['nil'] }],
  };
}

/** A copy of `dir` carrying `rules` as its assertion rule file; returns the new bundle's digest. */
async function addRules(dir: string, out: string, rules: AssertionRules): Promise<string> {
  const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
  const files: Record<string, Uint8Array | string> = {};
  for (const name of Object.keys(manifest.files)) files[name] = await readFile(join(dir, name));
  const parts = assertionBundleParts(rules);
  const { files: _pinned, ...rest } = manifest;
  return writeBundle(
    out,
    { ...rest, formatVersion: parts.formatVersion, assertions: parts.assertions },
    { ...files, ...parts.files },
  );
}

beforeAll(async () => {
  plainBundle = await trainSmallBundle({ seed: 7 });
  rulesDir = await mkdtemp(join(tmpdir(), 'nerops-rules-bundle-'));
  await cp(plainBundle.dir, rulesDir, { recursive: true });
  rulesDigest = await addRules(plainBundle.dir, rulesDir, hospitalRules());
  engine = await loadEngine(plainBundle.dir);
  const cap = captureLogger('trace');
  withRulesLogs = cap.lines;
  [withRules, plain] = await Promise.all([
    startServer({ model: rulesDir, modelDigest: rulesDigest, host: '127.0.0.1', port: 0, logger: cap.logger }),
    startServer({ model: plainBundle.dir, host: '127.0.0.1', port: 0, logger: captureLogger().logger }),
  ]);
  await Promise.all([withRules.app.ready, plain.app.ready]);
});

afterAll(async () => {
  await Promise.all([withRules?.shutdown('test done'), plain?.shutdown('test done')]);
  await engine?.close();
  await plainBundle?.remove();
  if (rulesDir) await rm(rulesDir, { recursive: true, force: true });
});

/** What the stage itself says about `texts` in `language`, with the bundle's own rules. */
async function expected(texts: readonly string[], language: string): Promise<Entity[][]> {
  const stage = AssertionStage.forModel(hospitalRules())!;
  const results = await engine.extractBatch(texts);
  return results.map((r, i) => stage.tag(language, texts[i]!, r.entities));
}

const documents = (texts: readonly string[]) => texts.map((text, i) => ({ id: `n${i + 1}`, text }));
type Results = { results: { id: string; entities: Entity[] }[] };

describe('a model without assertion rules', () => {
  it('answers exactly as before: no assertion, Content-Language ignored, one v2 output, no assertion series', async () => {
    const r = await postJson(`${plain.url}/v1/extract`, { text: EN[0] }, { 'content-language': 'fr' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-language')).toBeNull();
    const entities = (r.json as { entities: Entity[] }).entities;
    expect(entities).toEqual((await engine.extract(EN[0]!)).entities);
    for (const e of entities) expect(e).not.toHaveProperty('assertion');
    const v2 = await postJson(`${plain.url}/v2/models/test-ner/infer`, {
      inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: [EN[0]] }],
    });
    expect((v2.json as { outputs: { name: string }[] }).outputs.map((o) => o.name)).toEqual(['entities']);
    const meta = (await (await fetch(`${plain.url}/v2/models/test-ner`)).json()) as { outputs: unknown[] };
    expect(meta.outputs).toHaveLength(1);
    const metrics = await (await fetch(`${plain.url}/metrics`)).text();
    expect(metricValue(metrics, ServerMetric.entityAssertions)).toBeUndefined();
  });
});

describe('/v1/extract with the assertion stage', () => {
  it("tags English notes with the bundle's own rules by default, and says the language", async () => {
    const r = await postJson(`${withRules.url}/v1/extract`, { documents: documents(EN) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-language')).toBe('en');
    const got = (r.json as Results).results.map((d) => d.entities);
    expect(got).toEqual(await expected(EN, 'en'));
    const all = got.flat();
    for (const e of all)
      expect(Object.keys(e.assertion!).sort()).toEqual(['certainty', 'experiencer', 'negated', 'temporality']);
    // The clinical meaning reaches the client: the ruled-out finding and the mother's disease are marked.
    expect(got[0]!.some((e) => e.assertion!.negated)).toBe(true);
    expect(got[1]!.some((e) => e.assertion!.experiencer === 'other')).toBe(true);
    expect(got[2]!.some((e) => e.assertion!.temporality === 'historical')).toBe(true);
    expect(got[3]!.every((e) => !e.assertion!.negated && e.assertion!.certainty === 'certain')).toBe(true);
  });

  it("uses the hospital's own trigger, which the shipped rules do not have", async () => {
    const text = 'Nil asthma. Started metformin for diabetes.';
    const own = await postJson(`${withRules.url}/v1/extract`, { text });
    const entities = (own.json as { entities: Entity[] }).entities;
    expect(entities).toEqual((await expected([text], 'en'))[0]);
    const asthma = entities.find((e) => e.text === 'asthma');
    expect(asthma?.assertion?.negated).toBe(true);
    const shipped = AssertionStage.forModel(undefined, 'en')!.tag('en', text, [asthma!]);
    expect(shipped[0]!.assertion!.negated).toBe(false);
  });

  it.each(['nb', 'no', 'nb-NO', 'NO'])('Content-Language: %s selects the Norwegian rules', async (header) => {
    const r = await postJson(
      `${withRules.url}/v1/extract`,
      { documents: documents(NB) },
      { 'content-language': header },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('content-language')).toBe('nb');
    const got = (r.json as Results).results.map((d) => d.entities);
    expect(got).toEqual(await expected(NB, 'nb'));
    expect(got[0]!.some((e) => e.assertion!.negated)).toBe(true);
    expect(got[1]!.some((e) => e.assertion!.experiencer === 'other')).toBe(true);
  });

  it('refuses a language without rules with a 400 naming the header, never its value', async () => {
    for (const header of ['fr', 'sv-SE, da', 'Kvistnes-Aabel']) {
      const r = await postJson(`${withRules.url}/v1/extract`, { text: EN[0] }, { 'content-language': header });
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toBe('application/problem+json');
      expect((r.json as { detail: string }).detail).toBe(
        'Content-Language: unsupported language; assertion rules exist for en, nb',
      );
      expect(r.text).not.toContain(header);
    }
  });
});

type Entry = { fullUrl: string; resource: { resourceType: string } & Record<string, unknown> };
const entriesOf = (json: unknown) => ((json as { entry?: Entry[] }).entry ?? []) as Entry[];
const coding = (cc: unknown) => (cc as { coding: { code: string }[] } | undefined)?.coding[0]?.code;

describe('FHIR output (Accept: application/fhir+json)', () => {
  it('returns a schema-valid R4 Bundle whose resources carry the assertions and the model in a Provenance', async () => {
    const r = await postJson(
      `${withRules.url}/v1/extract`,
      { documents: documents(EN), subject: { reference: 'Patient/p-17' } },
      { accept: 'application/fhir+json' },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/fhir+json; fhirVersion=4.0; charset=utf-8');
    expect(fhirSchemaErrors(r.json)).toEqual([]);
    expect(r.json).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    const entries = entriesOf(r.json);
    const perDoc = await expected(EN, 'en');
    const ents = perDoc.flatMap((d, i) => d.map((e) => ({ ...e, document: `n${i + 1}` })));
    const clinical = entries.filter((e) => !['Device', 'Provenance'].includes(e.resource.resourceType));
    // Every mapped entity is one resource, except a relative's negated disease or treatment (left out).
    const kept = ents.filter(
      (e) => e.assertion!.experiencer === 'patient' || (e.label === 'DISEASE' && !e.assertion!.negated),
    );
    expect(clinical).toHaveLength(kept.length);
    for (const c of clinical) {
      const res = c.resource;
      type Part = { url: string; valueString?: string; valueInteger?: number };
      const mention = (res.extension as { url: string; extension: Part[] }[]).find(
        (x) => x.url === NeropsExtension.mention,
      )!;
      const part = (url: string) => mention.extension.find((x) => x.url === url)!;
      const e = kept.find(
        (k) => k.document === part('document').valueString && k.start === part('start').valueInteger,
      )!;
      expect(e.text).toBe(part('text').valueString);
      if (e.assertion!.experiencer === 'other') expect(res.resourceType).toBe('FamilyMemberHistory');
      else if (e.label === 'DISEASE') {
        expect(res.resourceType).toBe('Condition');
        const a = e.assertion as Assertion;
        const want = a.negated ? 'refuted' : a.certainty === 'certain' ? 'confirmed' : 'provisional';
        expect(coding(res.verificationStatus)).toBe(want);
        expect(res.subject).toEqual({ reference: 'Patient/p-17' });
        expect(res.code).toEqual({ text: e.text });
      } else expect(res.resourceType).toBe('Procedure');
    }
    expect(clinical.some((c) => coding(c.resource.verificationStatus) === 'refuted')).toBe(true);
    const provenance = entries.find((e) => e.resource.resourceType === 'Provenance')!.resource;
    expect(provenance.target).toEqual(clinical.map((c) => ({ reference: c.fullUrl })));
    const device = entries.find((e) => e.resource.resourceType === 'Device')!.resource;
    expect(device.identifier).toEqual([{ system: expect.any(String), value: `sha256:${rulesDigest}` }]);
  });

  it('also for one text, in Norwegian: a negated finding is a refuted Condition', async () => {
    const r = await postJson(
      `${withRules.url}/v1/extract`,
      { text: NB[0] },
      { accept: 'application/fhir+json', 'content-language': 'nb' },
    );
    expect(r.status).toBe(200);
    expect(fhirSchemaErrors(r.json)).toEqual([]);
    expect(r.headers.get('content-language')).toBe('nb');
    const condition = entriesOf(r.json).find((e) => e.resource.resourceType === 'Condition')!.resource;
    expect(coding(condition.verificationStatus)).toBe('refuted');
    expect(condition.clinicalStatus).toBeUndefined();
  });

  it('keeps JSON for */*, application/json and unknown types; a model without rules gives unconfirmed Conditions', async () => {
    for (const accept of ['*/*', 'application/json', 'text/html']) {
      const r = await postJson(`${withRules.url}/v1/extract`, { text: EN[0] }, { accept });
      expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    }
    const r = await postJson(`${plain.url}/v1/extract`, { text: EN[3] }, { accept: 'application/fhir+json' });
    expect(fhirSchemaErrors(r.json)).toEqual([]);
    const conditions = entriesOf(r.json).filter((e) => e.resource.resourceType === 'Condition');
    for (const c of conditions) expect(coding(c.resource.verificationStatus)).toBe('unconfirmed');
  });

  it('refuses a malformed subject naming the field, never its value', async () => {
    const r = await postJson(
      `${withRules.url}/v1/extract`,
      { text: EN[0], subject: { reference: 'Patient/Kvistnes Aabel' } },
      { accept: 'application/fhir+json' },
    );
    expect(r.status).toBe(400);
    expect((r.json as { detail: string }).detail).toMatch(/^subject\.reference: reference must be Patient\/<id>/);
    expect(r.text).not.toContain('Kvistnes');
  });
});

describe('Open Inference Protocol v2', () => {
  it('adds one assertion tensor per attribute, one element per entity in document order', async () => {
    const r = await postJson(
      `${withRules.url}/v2/models/test-ner/infer`,
      { inputs: [{ name: 'text', shape: [EN.length], datatype: 'BYTES', data: EN }] },
      { 'content-language': 'en' },
    );
    expect(r.status).toBe(200);
    const outputs = (r.json as { outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[] })
      .outputs;
    const ents = (await expected(EN, 'en')).flat();
    expect(outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ['entities', 'BYTES', [EN.length]],
      ['assertion_negated', 'BOOL', [ents.length]],
      ['assertion_certainty', 'BYTES', [ents.length]],
      ['assertion_temporality', 'BYTES', [ents.length]],
      ['assertion_experiencer', 'BYTES', [ents.length]],
    ]);
    const byName = Object.fromEntries(outputs.map((o) => [o.name, o.data]));
    expect(byName.assertion_negated).toEqual(ents.map((e) => e.assertion!.negated));
    expect(byName.assertion_certainty).toEqual(ents.map((e) => e.assertion!.certainty));
    expect(byName.assertion_temporality).toEqual(ents.map((e) => e.assertion!.temporality));
    expect(byName.assertion_experiencer).toEqual(ents.map((e) => e.assertion!.experiencer));
    expect((byName.entities as string[]).flatMap((s) => JSON.parse(s) as Entity[])).toEqual(ents);
  });

  it('returns only the outputs asked for, lists them in metadata, and refuses unknown ones', async () => {
    const only = await postJson(`${withRules.url}/v2/models/test-ner/infer`, {
      inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: [EN[0]] }],
      outputs: [{ name: 'assertion_negated' }],
    });
    expect((only.json as { outputs: { name: string }[] }).outputs.map((o) => o.name)).toEqual(['assertion_negated']);
    const meta = (await (await fetch(`${withRules.url}/v2/models/test-ner`)).json()) as {
      outputs: { name: string }[];
      parameters: { assertion_languages: string[] };
    };
    expect(meta.outputs.map((o) => o.name)).toEqual([
      'entities',
      'assertion_negated',
      'assertion_certainty',
      'assertion_temporality',
      'assertion_experiencer',
    ]);
    expect(meta.parameters.assertion_languages).toEqual(['en', 'nb']);
    const bad = await postJson(`${withRules.url}/v2/models/test-ner/infer`, {
      inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: [EN[0]] }],
      outputs: [{ name: 'assertion_mood' }],
    });
    expect(bad.status).toBe(400);
    expect(bad.text).not.toContain('assertion_mood');
  });
});

describe('metrics', () => {
  it('count every entity once per attribute, by label and value', async () => {
    const scrape = async () => (await fetch(`${withRules.url}/metrics`)).text();
    const before = await scrape();
    // Pre-created zero series: rate() works from the first scrape.
    expect(
      metricValue(before, ServerMetric.entityAssertions, {
        label: 'DISEASE',
        attribute: 'certainty',
        value: 'hypothetical',
      }),
    ).toBeGreaterThanOrEqual(0);
    await postJson(`${withRules.url}/v1/extract`, { documents: documents(EN) });
    const after = await scrape();
    const ents = (await expected(EN, 'en')).flat();
    for (const [attribute, values] of Object.entries(ASSERTION_LABEL_VALUES))
      for (const value of values)
        for (const label of ['DISEASE', 'TREATMENT']) {
          const sel = { label, attribute, value };
          const delta =
            (metricValue(after, ServerMetric.entityAssertions, sel) ?? 0) -
            (metricValue(before, ServerMetric.entityAssertions, sel) ?? 0);
          const want = ents.filter(
            (e) => e.label === label && String(e.assertion![attribute as keyof Assertion]) === value,
          ).length;
          expect(delta, `${label} ${attribute}=${value}`).toBe(want);
        }
  });
});

describe('shadow traffic', () => {
  it("mirrors the request's assertion language, so the shadow counts with the same rules", async () => {
    const shadow = await startServer({
      model: plainBundle.dir,
      host: '127.0.0.1',
      port: 0,
      logger: captureLogger().logger,
      assertionLanguage: 'en',
    });
    const primary = await startServer({
      model: rulesDir,
      host: '127.0.0.1',
      port: 0,
      logger: captureLogger().logger,
      shadow: { url: shadow.url, percent: 100, maxConcurrent: 4, timeoutMs: 5000 },
    });
    try {
      await Promise.all([shadow.app.ready, primary.app.ready]);
      const r = await postJson(`${primary.url}/v1/extract`, { text: NB[0] }, { 'content-language': 'nb' });
      expect((r.json as { entities: Entity[] }).entities.some((e) => e.assertion!.negated)).toBe(true);
      // The shadow request starts after the response is sent: wait until the primary has counted it.
      const deadline = Date.now() + 10_000;
      const mirrored = async () =>
        metricValue(await (await fetch(`${primary.url}/metrics`)).text(), ServerMetric.shadowRequests, {
          outcome: 'ok',
        }) === 1;
      while (!(await mirrored())) {
        if (Date.now() > deadline) throw new Error('the shadow request was not answered in time');
        await new Promise((res) => setTimeout(res, 25));
      }
      const metrics = await (await fetch(`${shadow.url}/metrics`)).text();
      // "Ingen" negates only under the Norwegian rules; the shadow's default is English.
      const negated = { label: 'DISEASE', attribute: 'negated', value: 'true' };
      expect(metricValue(metrics, ServerMetric.entityAssertions, negated)).toBe(1);
    } finally {
      await Promise.all([primary.shutdown('test done'), shadow.shutdown('test done')]);
    }
  });
});

describe('PHI', () => {
  it('no note text, entity text or trigger reaches the logs, the metrics or an error body', async () => {
    const NAME = 'Brightwater-Nakashima';
    const TRIGGER = 'nil';
    const SENTENCE = `${NAME} reports ${TRIGGER} asthma; family history of COPD in the mother at Oddvarheim.`;
    const bodies: string[] = [];
    const post = async (body: unknown, headers: Record<string, string> = {}) => {
      const r = await postJson(`${withRules.url}/v1/extract`, body, { 'x-request-id': 'phi-assert', ...headers });
      bodies.push(r.text);
      return r;
    };
    const ok = await post({ text: SENTENCE });
    expect(ok.status).toBe(200);
    const entityTexts = (ok.json as { entities: Entity[] }).entities.map((e) => e.text);
    expect(entityTexts.length).toBeGreaterThan(0);
    expect((await post({ text: SENTENCE }, { accept: 'application/fhir+json' })).status).toBe(200);
    expect((await post({ text: SENTENCE }, { 'content-language': 'nb' })).status).toBe(200);
    const errors = [
      await post({ text: SENTENCE }, { 'content-language': NAME }),
      await post({ text: SENTENCE, subject: { reference: `Patient/${NAME} x` } }, { accept: 'application/fhir+json' }),
      await post({ text: SENTENCE, subject: { identifier: { system: NAME, value: NAME } } }),
      await post({ documents: [{ id: 'a', text: SENTENCE, subject: { [NAME]: 1 } }] }),
    ];
    expect(errors.map((e) => e.status)).toEqual([400, 400, 400, 400]);
    const errorBodies = errors.map((e) => e.text).join('\n');
    const logs = withRulesLogs.join('\n');
    const metrics = await (await fetch(`${withRules.url}/metrics`)).text();
    expect(logs).toContain('phi-assert');
    for (const needle of [SENTENCE, NAME, 'Brightwater', 'Nakashima', 'Oddvarheim', ...entityTexts]) {
      expect(logs.includes(needle), `log mentions ${needle}`).toBe(false);
      expect(metrics.includes(needle), `metrics mention ${needle}`).toBe(false);
      expect(errorBodies.includes(needle), `an error body mentions ${needle}`).toBe(false);
    }
    // The trigger word is too common to search for in free text: no label or log field carries a trigger.
    expect(metrics).not.toMatch(/trigger/i);
    expect(logs).not.toMatch(/"trigger/i);
    expect(bodies.length).toBe(7);
  });
});
