/**
 * Static checks of the Dockerfile and of the scripts that build it (building the image takes minutes
 * and a Docker engine, so the unit project reads text; the image itself is exercised by the real
 * profile): multi-stage, a Debian (glibc) Node 20 base, production-only dependencies with the CUDA
 * download skipped, a guard against npm's silent half-installs, the extra CA of a TLS-inspecting proxy
 * only in the npm stages, no npm in the final stage, a non-root numeric user equal to the UID the
 * operator puts in every pod's securityContext, and the ner-ops entrypoint.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NONROOT_UID } from '../../operator/controllers/pod-templates.js';
import { repoRoot } from '../../local-cluster/paths.js';

const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
/** Instructions with continuation lines joined and comments dropped. */
const instructions = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages: string[][] = [];
/** Instructions before the first FROM (global ARGs, usable only in FROM lines). */
const preamble: string[] = [];
for (const line of instructions) {
  if (/^FROM\s/i.test(line)) stages.push([line]);
  else (stages.at(-1) ?? preamble).push(line);
}
const final = stages.at(-1) ?? [];
const stageName = (stage: string[]) => /\sAS\s+(\S+)$/i.exec(stage[0] ?? '')?.[1];
/** The npm ci wrapper (extra CA, completeness check) as the Dockerfile runs it. */
const npmCiScript = readFileSync(join(repoRoot, 'scripts/npm-ci-checked.sh'), 'utf8');
const npmCiRun = /^RUN sh (\S+\/npm-ci-checked\.sh)/;
/** RUNs of the wrapper: the only instructions that talk to the npm registry. */
const npmCiRuns = instructions.filter((l) => npmCiRun.test(l));
const npmStages = stages.filter((st) => st.some((l) => npmCiRun.test(l)));
/** The build arg carrying the extra CA, as scripts/build-image.sh passes it. */
const buildImage = readFileSync(join(repoRoot, 'scripts/build-image.sh'), 'utf8');
const caArg = /--build-arg "([A-Z_]+)=\$\(cat /.exec(buildImage)?.[1] ?? '(missing in build-image.sh)';

describe('Dockerfile', () => {
  it('is multi-stage on a glibc Node 20 base', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(instructions.filter((l) => /^(FROM|ARG)/.test(l)).join('\n')).not.toMatch(/alpine/);
  });

  it('builds with npm ci + npm run build and installs production dependencies without the CUDA download', () => {
    const all = instructions.join('\n');
    expect(npmCiScript).toMatch(/^npm ci --no-audit --no-fund "\$@"/m);
    expect(npmCiRuns.map((r) => /npm-ci-checked\.sh( --omit=dev)?/.exec(r)?.[1] ?? '').sort()).toEqual([
      '',
      ' --omit=dev',
    ]);
    // The wrapper is copied to where the stage runs it.
    for (const st of npmStages) {
      const where = npmCiRun.exec(st.find((l) => npmCiRun.test(l)) ?? '')?.[1] ?? '';
      expect(st).toContain(`COPY scripts/npm-ci-checked.sh ${where.slice(0, where.lastIndexOf('/') + 1)}`);
    }
    expect(all).toMatch(/RUN npm run build/);
    expect(all).toMatch(/COPY package\.json package-lock\.json \.npmrc \.\//);
    expect(readFileSync(join(repoRoot, '.npmrc'), 'utf8')).toMatch(/^onnxruntime-node-install-cuda=skip$/m);
    // npm >= 11.16 reads package.json's allowScripts; the base image's npm 10 reads onnxruntime's own switch.
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { allowScripts?: object };
    expect(pkg.allowScripts).toMatchObject({ 'onnxruntime-node': false });
    for (const st of npmStages) expect(st).toContain('ENV ONNXRUNTIME_NODE_INSTALL=skip');
  });

  it('final stage: only node, compiled JS and production node_modules; no npm, no caches', () => {
    const f = final.join('\n');
    expect(f).not.toMatch(/\bnpm (ci|install)\b/);
    expect(f).toMatch(/rm -rf .*\/usr\/local\/bin\/npm/);
    expect(f).toMatch(/COPY --from=deps \/app\/node_modules/);
    expect(f).not.toMatch(/COPY --from=build \/src\/node_modules/);
    expect(f).toMatch(/import\('onnxruntime-node'\)/);
  });

  it('has no `# syntax=` directive: the classic builder must not need a frontend image', () => {
    expect(text).not.toMatch(/^#\s*syntax\s*=/im);
  });

  it('fails the build when npm ci leaves a partial node_modules (npm 10 can exit 0 after failing)', () => {
    // npm ls --all with npm ci's own options (--omit), only after npm ci exited 0; else exit 1.
    expect(npmCiScript).toMatch(/^set -eu$/m);
    const ci = npmCiScript.indexOf('npm ci --no-audit');
    expect(npmCiScript.indexOf('npm ls --all "$@"', ci)).toBeGreaterThan(ci);
    expect(npmCiScript).toMatch(/if \[ "\$rc" -eq 0 \] && npm ls --all "\$@"[^;]*; then\n\s+[^\n]*\n\s+exit 0\nfi/);
    expect(npmCiScript.trimEnd().split('\n').at(-1)).toBe('exit 1');
    // The full install also proves the compiler's bin link (written last) is there.
    const fullInstall = npmCiRuns.find((r) => !r.includes('--omit=dev')) ?? '';
    expect(fullInstall).toMatch(/&& test -x node_modules\/\.bin\/tsc/);
    // The deps stage still proves the onnxruntime CPU library is there.
    expect(npmCiRuns.find((r) => r.includes('--omit=dev'))).toMatch(
      /test -e "node_modules\/onnxruntime-node\/bin\/.*libonnxruntime\.so\.1"/,
    );
  });

  it('takes the extra CA as a build arg in the npm stages only; the runtime stage never sees it', () => {
    expect(npmStages.map(stageName).sort()).toEqual(['build', 'deps']);
    for (const st of npmStages) expect(st, stageName(st)).toContain(`ARG ${caArg}=""`);
    // The wrapper writes it for NODE_EXTRA_CA_CERTS and removes it before the layer ends.
    const file = new RegExp(`printf '%s\\\\n' "\\$${caArg}" >"\\$(\\w+)"`).exec(npmCiScript)?.[1] ?? '(none)';
    expect(npmCiScript).toMatch(new RegExp(`export NODE_EXTRA_CA_CERTS="\\$${file}"`));
    expect(npmCiScript).toMatch(new RegExp(`^rm -f "\\$${file}"$`, 'm'));
    // Nothing about the CA, or the wrapper, in the preamble (global ARGs) or any other stage.
    for (const st of [preamble, ...stages.filter((s2) => !npmStages.includes(s2))]) {
      expect(st.join('\n')).not.toMatch(new RegExp(`${caArg}|NODE_EXTRA_CA_CERTS|npm-ci-checked|nerops-build`));
    }
    expect(stageName(final)).toBe('runtime');
    expect(npmStages).not.toContain(final);
  });

  it('scripts/build-image.sh builds with the classic builder on the base it picks', () => {
    expect(buildImage).toMatch(/^DOCKER_BUILDKIT=0 "\$docker" build /m);
    const baseArg = /^ARG (\w+)=node:20-bookworm-slim$/m.exec(text)?.[1];
    expect(buildImage).toContain(`--build-arg "${baseArg}=$base"`);
    // The local base it falls back to is the one build-base-image.sh makes.
    const localBase = /^local_base=(\S+)$/m.exec(buildImage)?.[1];
    const baseScript = readFileSync(join(repoRoot, 'scripts/build-base-image.sh'), 'utf8');
    expect(baseScript).toContain(`\${NEROPS_BASE_IMAGE_NAME:-${localBase}}`);
    expect(buildImage).toContain('-t "$repo:dev"');
  });

  it(`runs as the non-root numeric user ${NONROOT_UID} with the ner-ops entrypoint`, () => {
    const users = final.filter((l) => /^USER\s/i.test(l));
    expect(users.at(-1)).toBe(`USER ${NONROOT_UID}:${NONROOT_UID}`);
    expect(final.find((l) => l.startsWith('ENTRYPOINT'))).toBe('ENTRYPOINT ["node", "/app/dist/cli/ner-ops.js"]');
    // Pods the operator creates use `command: ["ner-ops", ...]`.
    expect(final.join('\n')).toMatch(/ln -s \/app\/dist\/cli\/ner-ops\.js \/usr\/local\/bin\/ner-ops/);
  });

  it('puts kubectl-ner on PATH, the npm bin of the same name, executable', () => {
    const text = final.join('\n');
    expect(text).toMatch(/ln -s \/app\/dist\/cli\/kubectl-ner\.js \/usr\/local\/bin\/kubectl-ner/);
    expect(text).toMatch(/chmod 0755[^\n]*\/app\/dist\/cli\/kubectl-ner\.js/);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['kubectl-ner']).toBe('dist/cli/kubectl-ner.js');
  });

  it('.dockerignore keeps node_modules, dist and local state out of the context', () => {
    const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', '.git', '.cache']) expect(ignore).toContain(p);
  });
});
