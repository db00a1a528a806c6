/**
 * The ML side's layering, checked over the source's import lines: engine/ imports nothing from the
 * processes built on it (trainer/, server/, operator/, cli/), and neither engine/ nor trainer/ has an
 * import circle. Tests count too: a test that imports the trainer would tie the engine to it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Repository-relative .ts files a source file imports (relative specifiers only). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
  return specs.map((s) => relative(root, resolve(root, dirname(file), s)).replace(/\.js$/, '.ts'));
}

/** Every import circle among the given files, each as the list of files around it. */
function circles(files: readonly string[]): string[][] {
  const inSet = new Set(files);
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => inSet.has(t))]));
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 'open') found.push(stack.slice(stack.indexOf(t)));
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return found;
}

describe('the ML import graph', () => {
  it('engine/ imports nothing from trainer/, server/, operator/ or cli/', () => {
    const backwards = sources('engine').flatMap((f) =>
      importsOf(f)
        .filter((t) => /^(trainer|server|operator|cli)\//.test(t))
        .map((t) => `${f} -> ${t}`),
    );
    expect(backwards).toEqual([]);
  });

  it('has no import circles in engine/ and trainer/', () => {
    expect(circles([...sources('engine'), ...sources('trainer')])).toEqual([]);
  });
});
