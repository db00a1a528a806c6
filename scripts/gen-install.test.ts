/**
 * The chart's and the kustomize install's CRDs are byte-for-byte copies of crds/, and the chart's RBAC
 * rules and docs/security.md's table are generated from the permission table (the rendered manifests are
 * compared with `helm template` in test/integration/k8s/install.test.ts, where helm is).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { repoRoot } from '../local-cluster/paths.js';
import { permissionFiles, sourceCrds } from './gen-install.js';
import { RBAC_TEMPLATE } from './gen-rbac.js';
import { OPERATOR_PERMISSIONS } from '../operator/permissions.js';

describe('install artefacts copy crds/', () => {
  const crds = sourceCrds();

  it.each(['charts/nerops/crds', 'manifests/crds'])('%s equals crds/ (run npm run gen:install)', (dir) => {
    expect(readdirSync(join(repoRoot, dir)).sort()).toEqual([...crds.keys()]);
    for (const [name, text] of crds)
      expect(readFileSync(join(repoRoot, dir, name), 'utf8'), `${dir}/${name}`).toBe(text);
  });

  it('kustomization lists the namespace, every CRD and the rendered install', () => {
    const k = yaml.load(readFileSync(join(repoRoot, 'manifests', 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    expect(k.resources).toEqual(['namespace.yaml', ...[...crds.keys()].map((n) => `crds/${n}`), 'nerops.yaml']);
    for (const r of k.resources) expect(existsSync(join(repoRoot, 'manifests', r)), r).toBe(true);
  });
});

describe('RBAC from operator/permissions.ts', () => {
  it.each([...permissionFiles()])('%s is what npm run gen:install writes from the table', (path, text) => {
    expect(readFileSync(join(repoRoot, path), 'utf8')).toBe(text);
  });

  /** The YAML a named template of _rbac-rules.tpl renders to (its one template expression filled in). */
  function rules(
    name: string,
  ): Array<{ apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }> {
    const tpl = readFileSync(join(repoRoot, RBAC_TEMPLATE), 'utf8');
    const body = tpl.split(`{{- define "${name}" -}}\n`)[1]?.split('{{- end }}')[0] ?? '';
    return yaml.load(body.replace('{{ .Values.leaderElection.leaseName | quote }}', '"the-lease"')) as ReturnType<
      typeof rules
    >;
  }

  it.each([
    ['nerops.workloadRules', 'workload'],
    ['nerops.leaderElectionRules', 'leaderElection'],
  ] as const)('%s grants exactly the rows of scope %s', (name, scope) => {
    const granted = rules(name).flatMap((r) =>
      r.verbs.flatMap((v) =>
        r.apiGroups.flatMap((g) =>
          r.resources.map((res) => `${v} ${g}/${res}${r.resourceNames ? ` ${r.resourceNames.join(',')}` : ''}`),
        ),
      ),
    );
    const rows = OPERATOR_PERMISSIONS.filter((p) => p.scope === scope).map(
      (p) =>
        `${p.verb} ${p.group}/${p.resource}${p.subresource ? `/${p.subresource}` : ''}${p.byName ? ' the-lease' : ''}`,
    );
    expect(granted.sort()).toEqual(rows.sort());
  });
});
