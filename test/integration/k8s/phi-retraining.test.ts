/**
 * No patient text in Kubernetes from a retraining Job (docs/security.md, "PHI"): a DriftPolicy's manual
 * trigger runs a real `ner-ops retrain` on datasets whose label column carries a made-up name and MRN; the
 * run fails, and the text reaches no DriftPolicy status, condition or history, no Event, no Job status and no
 * pod log, while the status still names the file and line.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KubernetesObject, V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftPolicy } from '../../../operator/api/driftpolicy.js';
import { driftPolicies } from '../../../operator/api/resources.js';
import { builtin } from '../../../operator/runtime/resource.js';
import { createTestNamespace, eventually, processNodePodLogs, useCluster } from '../../../local-cluster/testing.js';
import {
  Api,
  installCrds,
  givenRetrainingTarget,
  startRetrainingOperator,
  trainBundle,
  type TestOperator,
} from '../../../testing/operator-fixture.js';

const MARKER = 'Zyxwvut Qqqmarker MRN-4471-9920';
const LEAK = /Zyxwvut|Qqqmarker|4471-9920/i;
const good = 'Patient\tO\nhas\tO\ndiabetes\tB-DISEASE\n\nAspirin\tB-TREATMENT\ngiven\tO\n\n';

const { info, kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator | undefined;
let bundle: Awaited<ReturnType<typeof trainBundle>>;
let dir: string;

function policy(name: string, dataset: string): KubernetesObject & { spec: Record<string, unknown> } {
  return {
    apiVersion: 'nerops.io/v1alpha1',
    kind: 'DriftPolicy',
    metadata: { name, annotations: { 'nerops.io/retrain': 'now' } },
    spec: {
      targetRef: { name: 'ner' },
      interval: '5s',
      window: '5m',
      minSamples: 10,
      retraining: {
        datasetUri: pathToFileURL(join(dir, dataset)).href,
        outputUri: pathToFileURL(join(dir, 'runs')).href,
      },
    },
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nerops-phi-retrain-'));
  [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  await writeFile(join(dir, 'label-text.conll'), `${good.repeat(5)}Patient\t${MARKER}\n\n`);
  await writeFile(join(dir, 'foreign-type.conll'), `${good.repeat(5)}Patient\tB-${MARKER.replace(/ /g, '_')}\n\n`);
  ns = await createTestNamespace(core, 'phi-retrain');
  api = new Api(kc);
  op = await startRetrainingOperator(kc, ns);
  await givenRetrainingTarget(api, ns, bundle);
}, 240_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
  await bundle?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A DriftPolicy's status, its Events, its Jobs' status and its Job pods' logs (see k8s/phi.test.ts). */
async function everythingAbout(name: string): Promise<string> {
  const policy = await api.get<DriftPolicy>(driftPolicies, ns, name);
  const events = await api.events(ns, name);
  const jobs = await api.list<V1Job>(builtin.jobs, ns, `nerops.io/drift-policy=${name}`);
  expect(jobs.length).toBeGreaterThan(0);
  const logs: string[] = [];
  for (const job of jobs) logs.push(...(await processNodePodLogs(info, core, ns, `job-name=${job.metadata?.name}`)));
  expect(logs.length).toBeGreaterThan(0);
  return [
    JSON.stringify(policy.status),
    JSON.stringify(events),
    JSON.stringify(jobs.map((j) => j.status)),
    ...logs,
  ].join('\n');
}

describe('PHI through a retraining Job', () => {
  it.each([
    ['label-text', /label-text\.conll:36, column 2 \(label\)/],
    ['foreign-type', /foreign-type\.conll:36, column 2 \(label\)/],
  ])(
    'Given a dataset %s carrying a name, Then the run fails naming file and line, and the name is nowhere',
    async (name, where) => {
      await api.create(driftPolicies, ns, policy(name, `${name}.conll`));
      const p = await eventually(
        async () => {
          const p = await api.get<DriftPolicy>(driftPolicies, ns, name);
          expect(p.status?.history?.[0]?.outcome, p.status?.history?.[0]?.message).toBe('Failed');
          return p;
        },
        180_000,
        500,
      );
      expect(p.status?.history?.[0]?.message).toMatch(where);
      expect(await everythingAbout(name)).not.toMatch(LEAK);
    },
    240_000,
  );
});
