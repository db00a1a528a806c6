/**
 * The chart's and the kustomize install's CRDs are byte-for-byte copies of crds/ (the rendered
 * manifests are compared with `helm template` in test/integration/k8s/install.test.ts, where helm is).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { repoRoot } from '../test/cluster/paths.js';
import { sourceCrds } from './gen-install.js';

describe('install artefacts copy crds/', () => {
  const crds = sourceCrds();

  it.each(['charts/nerops/crds', 'manifests/crds'])('%s equals crds/ (run npm run gen:install)', (dir) => {
    expect(readdirSync(join(repoRoot, dir)).sort()).toEqual([...crds.keys()]);
    for (const [name, text] of crds) expect(readFileSync(join(repoRoot, dir, name), 'utf8'), `${dir}/${name}`).toBe(text);
  });

  it('kustomization lists the namespace, every CRD and the rendered install', () => {
    const k = yaml.load(readFileSync(join(repoRoot, 'manifests', 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(k.resources).toEqual(['namespace.yaml', ...[...crds.keys()].map((n) => `crds/${n}`), 'nerops.yaml']);
    for (const r of k.resources) expect(existsSync(join(repoRoot, 'manifests', r)), r).toBe(true);
  });
});
