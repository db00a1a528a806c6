/**
 * The Dockerfile cannot be built here (no Docker engine), so its invariants are checked as text:
 * multi-stage, a Debian (glibc) Node 20 base, production-only dependencies with the CUDA download
 * skipped, no npm in the final stage, a non-root numeric user equal to the UID the operator puts in
 * every pod's securityContext, and the ner-ops entrypoint.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NONROOT_UID } from '../../operator/src/controllers/common.js';
import { repoRoot } from '../cluster/paths.js';

const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
/** Instructions with continuation lines joined and comments dropped. */
const instructions = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages: string[][] = [];
for (const line of instructions) {
  if (/^FROM\s/i.test(line)) stages.push([line]);
  else stages.at(-1)?.push(line);
}
const final = stages.at(-1) ?? [];

describe('Dockerfile', () => {
  it('is multi-stage on a glibc Node 20 base', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(instructions.filter((l) => /^(FROM|ARG)/.test(l)).join('\n')).not.toMatch(/alpine/);
  });

  it('builds with npm ci + npm run build and installs production dependencies with .npmrc', () => {
    const all = instructions.join('\n');
    expect(all).toMatch(/RUN npm ci\b/);
    expect(all).toMatch(/RUN npm run build/);
    expect(all).toMatch(/npm ci --omit=dev/);
    expect(all).toMatch(/COPY package\.json package-lock\.json \.npmrc/);
    expect(readFileSync(join(repoRoot, '.npmrc'), 'utf8')).toMatch(/^onnxruntime-node-install-cuda=skip$/m);
  });

  it('final stage: only node, compiled JS and production node_modules; no npm, no caches', () => {
    const f = final.join('\n');
    expect(f).not.toMatch(/\bnpm (ci|install)\b/);
    expect(f).toMatch(/rm -rf .*\/usr\/local\/bin\/npm/);
    expect(f).toMatch(/COPY --from=deps \/app\/node_modules/);
    expect(f).not.toMatch(/COPY --from=build \/src\/node_modules/);
    expect(f).toMatch(/import\('onnxruntime-node'\)/);
  });

  it(`runs as the non-root numeric user ${NONROOT_UID} with the ner-ops entrypoint`, () => {
    const users = final.filter((l) => /^USER\s/i.test(l));
    expect(users.at(-1)).toBe(`USER ${NONROOT_UID}:${NONROOT_UID}`);
    expect(final.find((l) => l.startsWith('ENTRYPOINT'))).toBe('ENTRYPOINT ["node", "/app/dist/cli/ner-ops.js"]');
    // Pods the operator creates use `command: ["ner-ops", ...]`.
    expect(final.join('\n')).toMatch(/ln -s \/app\/dist\/cli\/ner-ops\.js \/usr\/local\/bin\/ner-ops/);
  });

  it('.dockerignore keeps node_modules, dist and local state out of the context', () => {
    const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', '.git', '.cache']) expect(ignore).toContain(p);
    expect(ignore).not.toContain('.npmrc');
  });
});
