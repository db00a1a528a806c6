/** docs/crd-reference.md is what `npm run gen:docs` generates from crds/, and it covers every field. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../local-cluster/paths.js';
import { OUTPUT, renderReference } from './gen-docs.js';

describe('docs/crd-reference.md', () => {
  const text = renderReference();

  it('is up to date (run npm run gen:docs)', () => {
    expect(readFileSync(join(repoRoot, OUTPUT), 'utf8')).toBe(text);
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
