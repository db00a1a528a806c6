import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CRD_DEFINITIONS, DriftPolicySchema, NerDeploymentSchema, NerModelSchema } from '../operator/api/index.js';
import { invalidCases, loadSamples, type Obj } from '../testing/crds-catalogue.js';
import { crdFileName, generateCrds, repoRoot, toStructural, type JsonSchema } from './gen-crds.js';

const root = repoRoot();
const generated = generateCrds(root);
const FULL_SCHEMAS: Record<string, z.ZodType<{ spec: unknown }>> = {
  NerModel: NerModelSchema,
  NerDeployment: NerDeploymentSchema,
  DriftPolicy: DriftPolicySchema,
};

function committedSchema(kind: string): JsonSchema {
  const def = CRD_DEFINITIONS.find((d) => d.names.kind === kind);
  if (!def) throw new Error(kind);
  const crd = yaml.load(readFileSync(join(root, 'crds', crdFileName(def)), 'utf8')) as {
    spec: { versions: { schema: { openAPIV3Schema: JsonSchema } }[] };
  };
  const v = crd.spec.versions[0];
  if (!v) throw new Error('no version');
  return v.schema.openAPIV3Schema;
}

/** Structural defaulting as the API server does it: missing fields with a default get it, recursively. */
function applyDefaults(value: unknown, schema: JsonSchema): unknown {
  if (Array.isArray(value)) {
    return schema.items ? value.map((v) => applyDefaults(v, schema.items as JsonSchema)) : value;
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, child] of Object.entries(props)) {
    if (out[name] === undefined && child.default !== undefined) out[name] = structuredClone(child.default);
    if (out[name] !== undefined) out[name] = applyDefaults(out[name], child);
  }
  if (typeof schema.additionalProperties === 'object') {
    for (const k of Object.keys(out))
      if (!(k in props)) out[k] = applyDefaults(out[k], schema.additionalProperties as JsonSchema);
  }
  return out;
}

describe('gen-crds', () => {
  it.each([...generated.keys()])('committed crds/%s is what the generator produces (run npm run gen:crds)', (file) => {
    expect(readFileSync(join(root, 'crds', file), 'utf8')).toBe(generated.get(file));
  });

  it('generates one CRD per kind', () => {
    expect([...generated.keys()].sort()).toEqual([
      'driftpolicies.nerops.io.yaml',
      'nerdeployments.nerops.io.yaml',
      'nermodels.nerops.io.yaml',
    ]);
  });

  it.each(CRD_DEFINITIONS.map((d) => [d.names.kind] as const))(
    '%s: every spec and status field has a description',
    (kind) => {
      const missing: string[] = [];
      const walk = (n: JsonSchema, path: string): void => {
        if (!n.description) missing.push(path);
        for (const [k, v] of Object.entries((n.properties ?? {}) as Record<string, JsonSchema>))
          walk(v, `${path}.${k}`);
        if (n.items)
          for (const [k, v] of Object.entries(((n.items as JsonSchema).properties ?? {}) as Record<string, JsonSchema>))
            walk(v, `${path}[].${k}`);
      };
      const top = committedSchema(kind).properties as Record<string, JsonSchema>;
      walk(top.spec as JsonSchema, 'spec');
      walk(top.status as JsonSchema, 'status');
      expect(missing).toEqual([]);
    },
  );

  it.each(CRD_DEFINITIONS.map((d) => [d.names.kind] as const))(
    '%s: the status subresource and printer columns are declared',
    (kind) => {
      const def = CRD_DEFINITIONS.find((d) => d.names.kind === kind);
      const crd = yaml.load(generated.get(crdFileName(def!)) ?? '') as {
        spec: { versions: Record<string, unknown>[]; names: Record<string, unknown> };
      };
      const v = crd.spec.versions[0]!;
      expect(v.subresources).toEqual(
        kind === 'NerDeployment'
          ? {
              status: {},
              scale: {
                specReplicasPath: '.spec.replicas.desired',
                statusReplicasPath: '.status.scale.replicas',
                labelSelectorPath: '.status.scale.selector',
              },
            }
          : { status: {} },
      );
      expect((v.additionalPrinterColumns as unknown[]).length).toBeGreaterThan(2);
      expect(crd.spec.names.categories).toEqual(['ner']);
    },
  );

  it('NerDeployment printer columns are STABLE, CANARY, WEIGHT, STEP, PHASE, READY, RPS', () => {
    const def = CRD_DEFINITIONS.find((d) => d.names.kind === 'NerDeployment')!;
    expect(def.printerColumns.map((c) => c.name.toUpperCase())).toEqual([
      'STABLE',
      'CANARY',
      'WEIGHT',
      'STEP',
      'PHASE',
      'READY',
      'RPS',
      'AGE',
    ]);
  });
});

describe('zod schemas and CRD YAML agree', () => {
  const samples = loadSamples(root);

  it.each(samples.map((s) => [`${s.kind} ${String(s.metadata.name)}`, s] as const))(
    'sample %s: zod accepts it and the YAML defaults equal the zod defaults',
    (_name, sample) => {
      const parsed = FULL_SCHEMAS[sample.kind]!.parse(sample);
      const specSchema = (committedSchema(sample.kind).properties as Record<string, JsonSchema>).spec as JsonSchema;
      expect(applyDefaults(sample.spec, specSchema)).toEqual(parsed.spec);
    },
  );

  it.each([
    ['NerDeployment', { model: 'm' }],
    [
      'NerDeployment',
      { modelSelector: { family: 'f' }, autoscaling: { targetRequestsPerSecond: 5 }, shadow: { percent: 5 } },
    ],
    ['DriftPolicy', { targetRef: { name: 'd' }, retraining: { datasetUri: 'file:///d', outputUri: 'file:///o' } }],
  ] as const)('minimal %s %j: the YAML defaults equal the zod defaults', (kind, spec) => {
    const obj: Obj = {
      apiVersion: 'nerops.io/v1alpha1',
      kind,
      metadata: { name: 'x' },
      spec: structuredClone(spec) as Record<string, unknown>,
    };
    const specSchema = (committedSchema(kind).properties as Record<string, JsonSchema>).spec as JsonSchema;
    expect(applyDefaults(obj.spec, specSchema)).toEqual(FULL_SCHEMAS[kind]!.parse(obj).spec);
  });

  const cases = invalidCases(samples).filter((c) => c.zod !== false);
  it.each(cases.map((c) => [c.name, c] as const))('zod refuses what the API server refuses: %s', (_name, c) => {
    const result = FULL_SCHEMAS[c.object.kind]!.safeParse({ ...c.object, metadata: { name: 'x' } });
    expect(result.success).toBe(false);
    // The first issue is on the field the API server names (or inside it).
    const field = c.expect[0]!.replace(/\[(\d+)\]/g, '.$1');
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths.some((p) => p.startsWith(field) || field.startsWith(p) || field === 'spec')).toBe(true);
  });
});

describe('toStructural', () => {
  it('drops zod safe-integer bounds and rewrites exclusive bounds to OpenAPI v3.0', () => {
    expect(
      toStructural({ type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }),
    ).toEqual({ type: 'integer' });
    expect(toStructural({ type: 'number', exclusiveMinimum: 0 })).toEqual({
      type: 'number',
      minimum: 0,
      exclusiveMinimum: true,
    });
  });

  it('refuses what has no structural equivalent', () => {
    expect(() => toStructural({ anyOf: [{ type: 'string' }, { type: 'boolean' }] })).toThrow(/anyOf/);
    expect(() => toStructural({ type: ['string', 'null'] })).toThrow(/union/);
    expect(() => toStructural({ type: 'object', additionalProperties: {} })).toThrow(/untyped/);
    expect(() => toStructural({ type: 'string', not: {} })).toThrow(/not/);
  });

  it('turns an int-or-string union into the Kubernetes form with the string pattern', () => {
    expect(
      toStructural({
        'x-kubernetes-int-or-string': true,
        anyOf: [{ type: 'string', pattern: '^a$' }, { type: 'integer' }],
      }),
    ).toEqual({ 'x-kubernetes-int-or-string': true, pattern: '^a$', anyOf: [{ type: 'integer' }, { type: 'string' }] });
  });
});
