/**
 * docs/crd-reference.md and charts/nerops/README.md are what `npm run gen:docs` generates (from crds/, and
 * from the chart's Chart.yaml, values.schema.json and values.yaml), and they cover everything.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../local-cluster/paths.js';
import { CHART_README, chartValues, generatedDocs, OUTPUT, renderChartReadme, renderReference } from './gen-docs.js';

describe('generated documents', () => {
  it.each([...generatedDocs()])('%s is up to date (run npm run gen:docs)', (path, text) => {
    expect(readFileSync(join(repoRoot, path), 'utf8')).toBe(text);
  });
});

describe('docs/crd-reference.md', () => {
  const text = renderReference();

  it('is the reference', () => {
    expect(OUTPUT).toBe(join('docs', 'crd-reference.md'));
  });

  it('documents each kind, spec and status, with defaults and CEL rule messages', () => {
    for (const kind of ['NerModel', 'NerDeployment', 'DriftPolicy']) {
      expect(text).toContain(`## ${kind}\n`);
      expect(text).toContain(`### ${kind} \`.spec\``);
    }
    expect(text).toContain('`source.digest`');
    expect(text).toContain('`rollout.steps[].weight`');
    expect(text).toMatch(/rule: spec is immutable/);
  });
});

describe('charts/nerops/README.md', () => {
  const values = chartValues();
  const text = renderChartReadme();

  it('is the chart README', () => {
    expect(CHART_README).toBe(join('charts', 'nerops', 'README.md'));
  });

  it('every value of values.schema.json has a description (write one when adding a value)', () => {
    expect(values.filter((v) => !v.schema.description?.trim()).map((v) => v.key)).toEqual([]);
  });

  it('has a row per value with its default from values.yaml, and the kubeVersion', () => {
    for (const v of values) expect(text).toContain(`| \`${v.key}\` |`);
    expect(text).toContain('| `rbac.aggregatedRoles` | boolean | `true` |');
    expect(text).toContain('| `replicaCount` | integer | `2` |');
    expect(text).toMatch(/Kubernetes >=1\.\d+/);
  });
});
