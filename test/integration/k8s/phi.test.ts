/**
 * No patient text in Kubernetes (docs/security.md, "PHI"): real validation Jobs evaluate datasets whose label
 * column carries a made-up name and MRN, and the text must reach no NerModel status or condition, no Event
 * and no pod log, while the status still says which file and line are wrong.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtin } from '../../../operator/runtime/resource.js';
import { createTestNamespace, eventually, processNodePodLogs, useCluster } from '../../../local-cluster/testing.js';
import {
  Api,
  installCrds,
  nerModel,
  nerModels,
  startOperator,
  trainBundle,
  type NerModel,
  type TestOperator,
} from '../../../testing/operator-fixture.js';

const MARKER = 'Zyxwvut Qqqmarker MRN-4471-9920';
const LEAK = /Zyxwvut|Qqqmarker|4471-9920/i;
const good = 'Patient\tO\nhas\tO\ndiabetes\tB-DISEASE\n\n';

const { info, kc, core } = useCluster();
let ns: string;
let api: Api;
let op: TestOperator;
let bundle: Awaited<ReturnType<typeof trainBundle>>;
let work: string;

beforeAll(async () => {
  [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  work = await mkdtemp(join(tmpdir(), 'nerops-phi-k8s-'));
  ns = await createTestNamespace(core, 'phi');
  api = new Api(kc);
  op = await startOperator(kc, ns);
}, 180_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * Everything the cluster holds about one NerModel: its status and conditions, its Events, its Jobs' status
 * and its Job pods' logs. The process node writes container logs under the cluster's state directory
 * (`pods/<ns>_<pod>_<uid prefix>/<container>/log`, local-cluster/process-node.ts); its kubelet log endpoint is not
 * reachable by name from the API server here.
 */
async function everythingAbout(name: string): Promise<string> {
  const model = await api.get<NerModel>(nerModels, ns, name);
  const events = await api.events(ns, name);
  const jobs = await api.list<V1Job>(builtin.jobs, ns, `nerops.io/validates=${name}`);
  expect(jobs.length).toBeGreaterThan(0);
  const logs: string[] = [];
  for (const job of jobs) logs.push(...(await processNodePodLogs(info, core, ns, `job-name=${job.metadata?.name}`)));
  expect(logs.length).toBeGreaterThan(0);
  return [
    JSON.stringify(model.status),
    JSON.stringify(events),
    JSON.stringify(jobs.map((j) => j.status)),
    ...logs,
  ].join('\n');
}

describe('PHI through a validation Job', () => {
  it('Given a dataset whose label column holds a name, Then the model fails naming file, line and column, and the name is nowhere', async () => {
    const dataset = join(work, 'label-text.conll');
    await writeFile(dataset, `${good}Patient\t${MARKER}\n\n`);
    await api.create(
      nerModels,
      ns,
      nerModel('label-text', bundle.uri, bundle.digest, (m) => {
        m.spec.evaluation = { datasetUri: pathToFileURL(dataset).href };
      }),
    );
    const m = await eventually(
      async () => {
        const m = await api.get<NerModel>(nerModels, ns, 'label-text');
        expect(m.status?.phase).toBe('Failed');
        return m;
      },
      120_000,
      500,
    );
    expect(m.status?.message).toMatch(/label-text\.conll:5, column 2 \(label\)/);
    expect(await everythingAbout('label-text')).not.toMatch(LEAK);
  }, 150_000);

  it('Given a dataset with a name as an entity type, Then the model is scored on its own types and the name is nowhere', async () => {
    const dataset = join(work, 'foreign-type.conll');
    await writeFile(dataset, `${good.repeat(3)}Patient\tB-${MARKER.replace(/ /g, '_')}\n\n`);
    await api.create(
      nerModels,
      ns,
      nerModel('foreign-type', bundle.uri, bundle.digest, (m) => {
        m.spec.evaluation = { datasetUri: pathToFileURL(dataset).href };
      }),
    );
    const m = await eventually(
      async () => {
        const m = await api.get<NerModel>(nerModels, ns, 'foreign-type');
        expect(m.status?.phase).toBe('Ready');
        return m;
      },
      120_000,
      500,
    );
    expect(m.status?.metrics?.source).toBe('evaluation');
    expect(await everythingAbout('foreign-type')).not.toMatch(LEAK);
  }, 150_000);
});
