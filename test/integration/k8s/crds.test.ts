/**
 * The generated CRDs against the real API server (vitest project `cluster`):
 * Given the CRDs in crds/ applied and Established,
 * then every sample in manifests/samples is accepted (with the defaults the zod schemas declare),
 * every object of the invalid catalogue is refused with a message naming the field,
 * NerModel spec updates are refused (immutable), and discovery lists the kinds under category `ner`
 * with their short names.
 */
import { join } from 'node:path';
import { ApiextensionsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyCrds, projectCrds } from '../../../local-cluster/crds.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
import {
  ALL_KINDS,
  CATEGORY,
  DriftPolicySchema,
  FIELD_MANAGER,
  GROUP,
  NerDeploymentSchema,
  NerModelSchema,
  VERSION,
} from '../../../operator/api/index.js';
import { invalidCases, invalidUpdates, loadSamples, type Obj } from '../../../testing/crds-catalogue.js';

const root = join(import.meta.dirname, '../../..');
const samples = loadSamples(root);
const FULL_SCHEMAS = {
  NerModel: NerModelSchema,
  NerDeployment: NerDeploymentSchema,
  DriftPolicy: DriftPolicySchema,
} as const;

function pluralOf(kind: string): string {
  const names = ALL_KINDS.find((k) => k.kind === kind);
  if (!names) throw new Error(`unknown kind ${kind}`);
  return names.plural;
}

/** The API server's `Status.message` of a refused request, with its HTTP code. */
function refusal(err: unknown): { code: number; message: string } {
  const e = err as { code?: number; body?: unknown };
  if (typeof e.code !== 'number') throw err;
  let message = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
  try {
    const parsed = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string };
    if (parsed?.message) message = parsed.message;
  } catch {
    // not JSON: keep the raw body
  }
  return { code: e.code, message };
}

describe('CRDs on the real API server', () => {
  const { kc } = useCluster();
  const { core } = useCluster();
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  let ns = '';

  async function create(obj: Obj, name: string, strict = false): Promise<Obj> {
    return (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: pluralOf(obj.kind),
      body: { ...obj, metadata: { ...obj.metadata, name, namespace: ns } },
      ...(strict ? { fieldValidation: 'Strict' } : {}),
    })) as Obj;
  }

  beforeAll(async () => {
    const crds = projectCrds();
    expect(crds.map((c) => c.metadata?.name).sort()).toEqual(ALL_KINDS.map((k) => `${k.plural}.${GROUP}`).sort());
    await applyCrds(kc, crds, FIELD_MANAGER);
    for (const crd of crds) {
      await eventually(async () => {
        const got = await ext.readCustomResourceDefinition({ name: crd.metadata?.name ?? '' });
        const established = got.status?.conditions?.find((c) => c.type === 'Established');
        expect(established?.status).toBe('True');
        // The stored schema is the generated one (CEL rules included), not a lossy copy.
        const stored = JSON.stringify(got.spec.versions[0]?.schema?.openAPIV3Schema);
        expect(stored).toContain('"rule":');
        expect(stored).toContain('"pattern":');
      });
    }
    ns = await createTestNamespace(core, 'crds');
    // The first requests after Established can still race the discovery/storage set-up.
    await eventually(() =>
      custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: 'nermodels' }),
    );
  });

  it.each(samples.map((s) => [`${s.kind} ${String(s.metadata.name)}`, s] as const))(
    'accepts sample %s, defaulted exactly as the zod schema defaults it',
    async (_name, sample) => {
      const created = await create(sample, String(sample.metadata.name));
      const parsed = FULL_SCHEMAS[sample.kind as keyof typeof FULL_SCHEMAS].parse(sample);
      expect(created.spec).toEqual(parsed.spec);
    },
  );

  it('accepts minimal objects and fills in the same defaults as zod', async () => {
    const minimal: Obj[] = [
      {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'NerDeployment',
        metadata: {},
        spec: { model: 'some-model' },
      },
      {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'DriftPolicy',
        metadata: {},
        spec: {
          targetRef: { name: 'x' },
          retraining: { datasetUri: 'file:///data/train.conll', outputUri: 'file:///out' },
        },
      },
    ];
    for (const [i, obj] of minimal.entries()) {
      const created = await create(obj, `minimal-${i}`);
      expect(created.spec).toEqual(FULL_SCHEMAS[obj.kind as keyof typeof FULL_SCHEMAS].parse(obj).spec);
    }
  });

  const cases = invalidCases(samples);
  it('has a catalogue of at least 30 invalid objects', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map((c, i) => [c.name, c, i] as const))('refuses %s', async (_name, c, i) => {
    const err = await create(c.object, `invalid-${i}`, c.strict).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'the API server accepted the object').toBeDefined();
    const { code, message } = refusal(err);
    // Schema and CEL violations are 422 Invalid; strict field validation answers 400 BadRequest.
    expect(code).toBe(c.strict ? 400 : 422);
    for (const fragment of c.expect) expect(message).toContain(fragment);
  });

  it.each(invalidUpdates(samples).map((c, i) => [c.name, c, i] as const))(
    'refuses the update: %s',
    async (_name, c, i) => {
      const created = await create(c.object, `immutable-${i}`);
      const changed = structuredClone(created);
      c.update(changed);
      const err = await custom
        .replaceNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: pluralOf(c.object.kind),
          name: `immutable-${i}`,
          body: changed,
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, 'the API server accepted the update').toBeDefined();
      const { code, message } = refusal(err);
      expect(code).toBe(422);
      for (const fragment of c.expect) expect(message).toContain(fragment);
    },
  );

  it('writes status through the status subresource without bumping generation', async () => {
    const model = samples.find((o) => o.kind === 'NerModel');
    if (!model) throw new Error('no NerModel sample');
    const created = await create(model, 'with-status');
    const status = {
      observedGeneration: 1,
      phase: 'Ready',
      verifiedDigest: (created.spec as { source: { digest: string } }).source.digest,
      metrics: { micro: { precision: 0.8, recall: 0.7, f1: 0.75 } },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          observedGeneration: 1,
          lastTransitionTime: '2025-01-01T00:00:00Z',
          reason: 'ValidationSucceeded',
          message: 'ok',
        },
      ],
    };
    expect(NerModelSchema.shape.status.parse(status)).toEqual(status);
    const updated = (await custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: 'nermodels',
      name: 'with-status',
      body: { ...created, status },
    })) as Obj & { status?: unknown };
    expect(updated.status).toEqual(status);
    expect(updated.metadata.generation).toBe(created.metadata.generation);
  });

  it('publishes the kinds under category ner with their short names (kubectl get ner)', async () => {
    const list = await custom.getAPIResources({ group: GROUP, version: VERSION });
    const inCategory = list.resources.filter((r) => r.categories?.includes(CATEGORY) && !r.name.includes('/'));
    expect(inCategory.map((r) => r.kind).sort()).toEqual(ALL_KINDS.map((k) => k.kind).sort());
    for (const names of ALL_KINDS) {
      const r = list.resources.find((x) => x.name === names.plural);
      expect(r?.namespaced).toBe(true);
      expect(r?.shortNames?.slice().sort()).toEqual([...names.shortNames].sort());
      expect(list.resources.some((x) => x.name === `${names.plural}/status`)).toBe(true);
    }
  });
});
