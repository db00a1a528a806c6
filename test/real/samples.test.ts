/**
 * Every sample in manifests/samples/ applied with `kubectl apply -f` in a namespace of the real node,
 * with the chart-installed operator, and working: what the samples name (the claims `models` and
 * `datasets` with the files at their paths, the clients' token-hash Secret, the dataset ConfigMap) is
 * created the way a user would.
 *
 * The NerModel sample is applied with only its digest replaced: the sample's digest is a placeholder,
 * and a digest names one bundle's exact bytes, so no bundle trained here can match it as-is.
 *
 * Then the NerModel is validated to Ready against the sample's held-out dataset and minimum metrics, the
 * NerDeployment serves it on its two replicas (behind the sample's auth and gates), and the DriftPolicy
 * targets it and reports its state.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftPolicy } from '../../operator/api/driftpolicy.js';
import { driftPolicies } from '../../operator/api/resources.js';
import { generateNotes, writeConll } from '../../trainer/synthetic.js';
import { trainBundle } from '../../trainer/train.js';
import { repoRoot } from '../../local-cluster/paths.js';
import { createTestNamespace, eventually, useCluster } from '../../local-cluster/testing.js';
import { Api, nerDeployments, nerModels, type NerDeployment, type NerModel } from '../../testing/operator-fixture.js';
import { installOperator, kubectl, uninstallOperator } from '../../local-cluster/chart-install.js';
import { claimWithLoader, putOnClaim } from '../../local-cluster/workloads.js';

const { info, kc, core } = useCluster();
const release = 'nerops-samples';
const samples = join(repoRoot, 'manifests', 'samples');
let operatorNs: string;
let ns: string;
let api: Api;
let dir: string;
let digest: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-real-samples-'));
  operatorNs = await createTestNamespace(core, 'nerops-samples');
  ns = await createTestNamespace(core, 'samples');
  api = new Api(kc);
  await Promise.all([
    writeConll(join(dir, 'train.conll'), generateNotes({ count: 300, seed: 7 })),
    writeConll(join(dir, 'dev.conll'), generateNotes({ count: 400, seed: 1007 })),
  ]);
  const [models, datasets, bundle] = await Promise.all([
    claimWithLoader(info, core, ns, 'models'),
    claimWithLoader(info, core, ns, 'datasets'),
    trainBundle({
      corpus: { trainFile: join(dir, 'train.conll'), devFile: join(dir, 'dev.conll') },
      members: { seed: 7, epochs: 3 },
      export: { outDir: join(dir, 'bundle'), name: 'clinical-ner', version: '1.2.0' },
    }),
    installOperator(info, { release, namespace: operatorNs, scope: 'cluster', replicas: 1 }),
  ]);
  digest = bundle.digest;
  await putOnClaim(info, ns, models, bundle.outDir, 'clinical-ner/1.2.0');
  await putOnClaim(info, ns, datasets, join(dir, 'dev.conll'), 'clinical-ner/dev.conll');
  await putOnClaim(info, ns, datasets, join(dir, 'train.conll'), 'clinical-ner/train.conll');
  // What the samples refer to: the clients' token hashes and the dataset version ConfigMap.
  const token = createHash('sha256').update('sample-client-token').digest('hex');
  await core.createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name: 'clinical-ner-clients' },
      stringData: { 'token-hashes': `${createHash('sha256').update(token).digest('hex')}\n` },
    },
  });
  await core.createNamespacedConfigMap({
    namespace: ns,
    body: { metadata: { name: 'clinical-ner-dataset' }, data: { version: '1' } },
  });
}, 600_000);

afterAll(async () => {
  await uninstallOperator(info, core, release, operatorNs, [ns]);
  api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('manifests/samples on the real node', () => {
  it('the NerModel, NerDeployment and DriftPolicy samples, applied with kubectl, work', async () => {
    const model = await readFile(join(samples, 'nermodel.yaml'), 'utf8');
    const placeholder = /digest: ([0-9a-f]{64})/.exec(model)?.[1];
    expect(placeholder).toBeDefined();
    const modelFile = join(dir, 'nermodel.yaml');
    await writeFile(modelFile, model.replace(placeholder!, digest.replace(/^sha256:/, '')));
    await kubectl(info, '-n', ns, 'apply', '-f', modelFile);
    await kubectl(info, '-n', ns, 'apply', '-f', join(samples, 'nerdeployment.yaml'));
    await kubectl(info, '-n', ns, 'apply', '-f', join(samples, 'driftpolicy.yaml'));

    await eventually(
      async () => expect((await api.get<NerModel>(nerModels, ns, 'clinical-ner-1-2-0')).status?.phase).toBe('Ready'),
      240_000,
      1000,
    );
    await eventually(
      async () =>
        expect((await api.get<NerDeployment>(nerDeployments, ns, 'clinical-ner')).status).toMatchObject({
          phase: 'Healthy',
          stableModel: 'clinical-ner-1-2-0',
          replicas: { ready: 2 },
        }),
      240_000,
      1000,
    );
    const policy = await eventually(
      async () => {
        const p = await api.get<DriftPolicy>(driftPolicies, ns, 'clinical-ner-drift');
        expect(p.status?.state).toBeDefined();
        return p;
      },
      120_000,
      1000,
    );
    // No traffic yet: too few samples to judge, but Prometheus answered (not MetricsUnavailable).
    expect(['Healthy', 'InsufficientData']).toContain(policy.status?.state);
    console.log(
      `real samples: NerModel Ready, NerDeployment Healthy on 2 replicas, DriftPolicy ${policy.status?.state}`,
    );
  });
});
