/**
 * External scaling, pod overrides and custom analysis against the real components of the local cluster.
 *
 * The local cluster has no metrics API (no metrics-server, no custom/external metrics adapter), so no HPA can
 * compute a recommendation here: `kubectl scale` drives the `/scale` subresource, which is exactly the write
 * an HPA or KEDA makes. Custom analysis queries run as real PromQL against the cluster's Prometheus.
 *
 * Given a Ready NerModel and a NerDeployment with autoscaling.mode External,
 * When `kubectl scale` sets 3, Then the stable Deployment runs 3 and `/scale` reports the stable pods;
 * When it sets 9 (above replicas.max), Then the Deployment is clamped to max;
 * pod overrides: nodeSelector/tolerations reach the Deployment and the validation Job; a privileged or
 * selector-label override is refused by the API server;
 * and custom metrics: a passing, a failing, an empty (Inconclusive) and a refused query, placeholders filled.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { V1Deployment, V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinaries } from '../../../local-cluster/binaries.js';
import { createTestNamespace, eventually, useCluster } from '../../../local-cluster/testing.js';
import { builtin } from '../../../operator/runtime/resource.js';
import { PrometheusClient } from '../../../operator/prometheus/client.js';
import { measureCustomMetrics } from '../../../operator/controllers/nerdeployment/custom-analysis.js';
import { inFlightQuery, p95LatencyQuery } from '../../../operator/controllers/nerdeployment/autoscale.js';
import {
  Api,
  installCrds,
  nerDeployment,
  nerDeployments,
  nerModel,
  nerModels,
  startOperator,
  trainBundle,
  type NerDeployment,
  type NerModel,
  type TestOperator,
} from '../../../testing/operator-fixture.js';

const { info, kc, core } = useCluster();
const kubectl = findBinaries().kubectl as string;
let ns: string;
let api: Api;
let op: TestOperator;
const bundleRef = { bundleUri: '', bundleDigest: '' };

const run = promisify(execFile);
async function kubectlOut(...args: string[]): Promise<string> {
  const { stdout } = await run(kubectl, ['--kubeconfig', info.kubeconfigPath, '-n', ns, ...args]);
  return stdout;
}
/** `kubectl create --validate=strict` of one object; resolves to kubectl's error text, or '' when created. */
async function strictCreate(obj: object): Promise<string> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const p = spawn(kubectl, ['--kubeconfig', info.kubeconfigPath, '-n', ns, 'create', '--validate=strict', '-f', '-']);
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve(code === 0 ? '' : err));
    p.stdin.end(JSON.stringify(obj));
  });
}
const stableReplicas = async () => (await api.get<V1Deployment>(builtin.deployments, ns, 'ext-stable')).spec?.replicas;

beforeAll(async () => {
  const [bundle] = await Promise.all([trainBundle(), installCrds(kc)]);
  ns = await createTestNamespace(core, 'scale');
  api = new Api(kc);
  op = await startOperator(kc, ns);
  Object.assign(bundleRef, { bundleUri: bundle.uri, bundleDigest: bundle.digest });
  await api.create(nerModels, ns, nerModel('clinical-v1', bundle.uri, bundle.digest));
  await eventually(
    async () => expect((await api.get<NerModel>(nerModels, ns, 'clinical-v1')).status?.phase).toBe('Ready'),
    90_000,
    500,
  );
}, 180_000);

afterAll(async () => {
  await op?.stop();
  api?.close();
});

describe('the /scale subresource (autoscaling.mode External)', () => {
  it('Given mode External, When kubectl scale writes /scale, Then the stable Deployment follows within [min, max]', async () => {
    await api.create(
      nerDeployments,
      ns,
      nerDeployment('ext', 'clinical-v1', { replicas: { min: 1, max: 3 }, autoscaling: { mode: 'External' } }),
    );
    await eventually(async () => expect(await stableReplicas()).toBe(1), 30_000, 100);

    await kubectlOut('scale', 'nerdeployment/ext', '--replicas=3');
    await eventually(async () => expect(await stableReplicas()).toBe(3), 30_000, 100);
    const nd = await eventually(async () => {
      const nd = await api.get<NerDeployment>(nerDeployments, ns, 'ext');
      expect(nd.status?.replicas?.stable?.desired).toBe(3);
      return nd;
    });
    expect(nd.spec.replicas.desired).toBe(3);
    expect(nd.status?.conditions?.find((c) => c.type === 'ScalingActive')).toMatchObject({
      status: 'True',
      reason: 'ExternalScaler',
    });

    // What an HPA reads: the stable pods' count and selector, through the subresource itself.
    await eventually(async () => {
      const scale = JSON.parse(await kubectlOut('get', 'nerdeployment/ext', '--subresource=scale', '-o', 'json'));
      expect(scale).toMatchObject({
        kind: 'Scale',
        spec: { replicas: 3 },
        status: { replicas: 3, selector: 'nerops.io/deployment=ext,nerops.io/track=stable' },
      });
    }, 60_000);

    await kubectlOut('scale', 'nerdeployment/ext', '--replicas=9');
    await eventually(async () => {
      const nd = await api.get<NerDeployment>(nerDeployments, ns, 'ext');
      expect(nd.spec.replicas.desired).toBe(9);
      expect(nd.status?.conditions?.find((c) => c.type === 'ScalingActive')?.message).toContain('clamped');
    }, 30_000);
    expect(await stableReplicas()).toBe(3);

    await kubectlOut('scale', 'nerdeployment/ext', '--replicas=2');
    await eventually(async () => expect(await stableReplicas()).toBe(2), 30_000, 100);
  }, 180_000);
});

describe('pod overrides (spec.podTemplate)', () => {
  it('Given nodeSelector and tolerations, Then the Deployment carries them; a privileged or selector-label override is refused', async () => {
    const placed = nerDeployment('placed', 'clinical-v1', {
      podTemplate: {
        nodeSelector: { 'nerops.io/pool': 'none-yet' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ner', effect: 'NoSchedule' }],
        metadata: { labels: { team: 'nlp' } },
      },
    });
    expect(await strictCreate(placed)).toBe('');
    const dep = await eventually(() => api.get<V1Deployment>(builtin.deployments, ns, 'placed-stable'), 30_000, 100);
    expect(dep.spec?.template.spec?.nodeSelector).toEqual({ 'nerops.io/pool': 'none-yet' });
    expect(dep.spec?.template.spec?.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'ner', effect: 'NoSchedule' },
    ]);
    expect(dep.spec?.template.metadata?.labels).toMatchObject({ team: 'nlp', 'nerops.io/track': 'stable' });

    // securityContext is no part of the override: strict validation refuses the unknown field.
    const privileged = await strictCreate(
      nerDeployment('priv', 'clinical-v1', { podTemplate: { securityContext: { privileged: true } } }),
    );
    expect(privileged).toMatch(/unknown field "spec.podTemplate.securityContext"/);
    // The operator's selector labels cannot be overridden (CEL in the CRD).
    const hijack = await strictCreate(
      nerDeployment('hijack', 'clinical-v1', {
        podTemplate: { metadata: { labels: { 'nerops.io/track': 'canary' } } },
      }),
    );
    expect(hijack).toContain('must not set nerops.io/ or app.kubernetes.io/ keys');
  }, 60_000);

  it('Given spec.validation.podTemplate on a NerModel, Then its validation Job carries the placement', async () => {
    const { bundleUri, bundleDigest } = bundleRef;
    await api.create(
      nerModels,
      ns,
      nerModel('placed-model', bundleUri, bundleDigest, (m) => {
        m.spec.validation = {
          podTemplate: { nodeSelector: { pool: 'batch' }, tolerations: [{ key: 'batch', operator: 'Exists' }] },
        };
      }),
    );
    const jobName = await eventually(async () => {
      const name = (await api.get<NerModel>(nerModels, ns, 'placed-model')).status?.validationJob;
      expect(name).toBeTruthy();
      return name as string;
    }, 30_000);
    const job = await api.get<V1Job>(builtin.jobs, ns, jobName);
    expect(job.spec?.template.spec?.nodeSelector).toEqual({ pool: 'batch' });
    expect(job.spec?.template.spec?.tolerations).toEqual([{ key: 'batch', operator: 'Exists' }]);
  }, 60_000);
});

describe('custom analysis metrics against the real Prometheus', () => {
  it('Given PromQL with placeholders, Then each metric is Pass, Fail or Inconclusive from the real answer', async () => {
    const prometheus = new PrometheusClient({ url: info.prometheusUrl ?? 'http://127.0.0.1:9', timeoutMs: 5000 });
    const nd = {
      metadata: { name: 'ext', namespace: ns },
      spec: {
        rollout: {
          analysis: {
            metrics: [
              // Real server series of the `ext` pods above: found only when the placeholders are filled in.
              {
                name: 'placeholders',
                query: 'count(nerops_ready{namespace="{{namespace}}",deployment="{{deployment}}",model="{{model}}"})',
                successCondition: 'result >= 1',
              },
              { name: 'failing', query: 'vector(0.2)', successCondition: 'result < 0.05' },
              {
                name: 'two-samples',
                query: 'sort(label_replace(vector(1), "i", "a", "", "") or label_replace(vector(2), "i", "b", "", ""))',
                successCondition: 'result[0] == 1 && result[1] == 2',
              },
              {
                name: 'no-data',
                query:
                  'sum(rate(nerops_requests_total{namespace="{{namespace}}",deployment="{{deployment}}",track="{{track}}"}[1m]))',
                successCondition: 'result < 0.05',
              },
              { name: 'refused', query: 'sum(rate(', successCondition: 'result < 0.05' },
              { name: 'nan', query: 'vector(0) / vector(0)', failureCondition: 'result > 1' },
            ],
          },
        },
      },
    } as unknown as NerDeployment;
    // Prometheus scrapes the pods every few seconds: wait for their series, then judge all metrics at once.
    const results = await eventually(
      async () => {
        const r = await measureCustomMetrics(prometheus, nd, 'clinical-v1');
        expect(r[0]?.outcome).toBe('Pass');
        return r;
      },
      60_000,
      1000,
    );
    expect(results.map((r) => [r.name, r.outcome])).toEqual([
      ['placeholders', 'Pass'],
      ['failing', 'Fail'],
      ['two-samples', 'Pass'],
      ['no-data', 'Inconclusive'],
      ['refused', 'Inconclusive'],
      ['nan', 'Inconclusive'],
    ]);
    expect(results[0]?.value).toBeGreaterThanOrEqual(1);
    // The same query for a model that does not serve here finds nothing: Inconclusive, never a pass.
    const other = await measureCustomMetrics(prometheus, nd, 'clinical-v9');
    expect(other[0]?.outcome).toBe('Inconclusive');
    // The autoscaler's concurrency and latency queries are valid PromQL over the real server series: the idle
    // `ext` pods report 0 in flight; their p95 without traffic is no data.
    expect((await prometheus.query(inFlightQuery(nd))).value).toBe(0);
    expect((await prometheus.query(p95LatencyQuery(nd, 60))).value).toBeUndefined();
  }, 90_000);
});
