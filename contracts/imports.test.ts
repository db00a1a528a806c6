/**
 * The dependency rules around contracts/: contracts import nothing of the repository but each other, and the
 * processes meet through contracts/ instead of importing each other's internals.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  return readdirSync(join(repo, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(repo, join(e.parentPath, e.name)));
}

/** Repository paths (e.g. `server/metrics.ts`) of the relative imports of `file`. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(repo, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specs.map((s) => relative(repo, resolve(repo, dirname(file), s)).replace(/\.js$/, '.ts'));
}

/** `file -> target` for every import of a file under `from` that lands in one of `into`. */
function crossings(from: string, into: readonly string[], allowed: (file: string, target: string) => boolean) {
  return sources(from).flatMap((f) =>
    importsOf(f)
      .filter((t) => into.some((d) => t.startsWith(`${d}/`)) && !allowed(f, t))
      .map((t) => `${f} -> ${t}`),
  );
}

const none = () => false;
/** Imports that wait for bundle fetching and seededRandom to move to engine/ (issue 20, another part). */
const pendingEngineMoves = (f: string, t: string) =>
  t === 'server/model-source.ts' || (f === 'server/fuzz.integration.test.ts' && t === 'trainer/crf-sgd.ts');

describe('import directions', () => {
  it('contracts import only other contracts', () => {
    const outside = sources('contracts').flatMap((f) =>
      importsOf(f)
        .filter((t) => !t.startsWith('contracts/'))
        .map((t) => `${f} -> ${t}`),
    );
    expect(outside).toEqual([]);
  });

  it('the server imports neither the trainer, the CLI nor the operator', () => {
    // A test that runs a CLI command end to end belongs in test/integration/.
    const cliTests = (f: string, t: string) => f === 'server/model-source.test.ts' && t.startsWith('cli/');
    expect(
      crossings('server', ['trainer', 'cli', 'operator'], (f, t) => pendingEngineMoves(f, t) || cliTests(f, t)),
    ).toEqual([]);
  });

  it('the operator imports neither the server, the trainer nor the CLI', () => {
    expect(crossings('operator', ['server', 'trainer', 'cli'], none)).toEqual([]);
  });

  it('the trainer imports neither the operator nor the server', () => {
    expect(crossings('trainer', ['operator', 'server'], pendingEngineMoves)).toEqual([]);
  });

  it('the CLI reaches into the operator only through its entrypoint and kubeconfig loader', () => {
    const entry = (_f: string, t: string) => t === 'operator/main.ts' || t === 'operator/runtime/kubeconfig.ts';
    // Until operator/main.ts offers the controller list and the logger itself (the operator's part of issue 20).
    const pendingEntrypoint = (_f: string, t: string) =>
      t === 'operator/controllers/index.ts' || t === 'operator/runtime/logger.ts';
    expect(crossings('cli', ['operator'], (f, t) => entry(f, t) || pendingEntrypoint(f, t))).toEqual([]);
  });
});
