/**
 * scripts/e2e-kind.sh needs Docker and never runs on the project's CI machines; this keeps what it applies
 * honest there: the script parses, and every nerops object it would apply (printed by E2E_PRINT=1) is valid
 * against the API schemas, with the scenario's knobs where the scenario needs them.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { load, loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { DriftPolicySchema } from '../operator/api/driftpolicy.js';
import { NerDeploymentSchema } from '../operator/api/nerdeployment.js';
import { NerModelSchema } from '../operator/api/nermodel.js';

const script = fileURLToPath(new URL('./e2e-kind.sh', import.meta.url));

interface Doc {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

function printed(): Doc[] {
  const out = execFileSync('bash', [script], {
    env: { ...process.env, E2E_PRINT: '1', APP_NS: 'nerops-e2e' },
    encoding: 'utf8',
  });
  return (loadAll(out) as (Doc | null)[]).filter((d): d is Doc => d !== null);
}

describe('scripts/e2e-kind.sh', () => {
  it('parses (bash -n)', () => {
    execFileSync('bash', ['-n', script]);
  });

  it('prints valid NerModels, NerDeployment and DriftPolicy for the canary and drift scenarios', () => {
    const docs = printed();
    const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
    expect(byKind('NerModel').map((d) => NerModelSchema.parse(d).spec.family)).toEqual([
      'clinical-ner',
      'clinical-ner',
    ]);
    const [nd] = byKind('NerDeployment').map((d) => NerDeploymentSchema.parse(d));
    expect(nd?.spec.modelSelector?.family).toBe('clinical-ner');
    expect(nd?.spec.rollout.analysisIntervalSeconds).toBeLessThanOrEqual(15);
    const [policy] = byKind('DriftPolicy').map((d) => DriftPolicySchema.parse(d));
    expect(policy?.spec).toMatchObject({
      targetRef: { name: nd?.metadata.name },
      consecutiveBreaches: 2,
      onWarning: 'Retrain',
    });
    // Dataset and output on the claim every pod of the scenario mounts.
    expect(policy?.spec.retraining.datasetUri).toMatch(/^pvc:\/\/nerops-store\//);
    expect(policy?.spec.retraining.outputUri).toMatch(/^pvc:\/\/nerops-store\//);
    expect(byKind('PersistentVolumeClaim').map((d) => d.metadata.name)).toEqual(['nerops-store']);
    // The traffic pods run `ner-ops traffic` against the NerDeployment's Service, in and out of distribution.
    const traffic = byKind('Pod').filter((d) => d.metadata.name.startsWith('traffic-'));
    expect(traffic.map((d) => d.metadata.name)).toEqual(['traffic-base', 'traffic-shifted']);
    // Prometheus scrapes the servers of the scenario's namespace.
    const prom = load(
      byKind('ConfigMap').find((d) => d.metadata.name === 'prometheus')?.data?.['prometheus.yml'] ?? '',
    ) as { scrape_configs: { kubernetes_sd_configs: { namespaces: { names: string[] } }[] }[] };
    expect(prom.scrape_configs[0]?.kubernetes_sd_configs[0]?.namespaces.names).toEqual(['nerops-e2e']);
  });
});
