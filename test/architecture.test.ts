/**
 * The house's layering, checked over every TypeScript file's relative imports (tests included: a test
 * that imports the trainer ties its folder to it as surely as code does).
 *
 *   contracts ← engine ← trainer, server, loadgen ← cli (the `ner-ops` entrypoint)
 *   contracts ← operator ← cli (through operator/main.ts and the kubeconfig loader only)
 *   testing/ (shared fixtures), local-cluster/ (the harness), bench/, scripts/ and test/ sit on top.
 *
 * Nothing outside test/ imports from test/, and there is no import circle anywhere.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && !f.startsWith('dist/'));

/** Repository-relative .ts files a file imports (relative specifiers only; packages are not ours). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => relative(root, resolve(root, dirname(file), s)).replace(/\.js$/, '.ts'));
}
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const folder = (f: string) => f.split('/')[0]!;
const isTest = (f: string) => f.endsWith('.test.ts');

/** What each folder's code may import besides itself; tests may also import the shared fixtures in testing/. */
const MAY_IMPORT: Record<string, (target: string) => boolean> = {
  contracts: () => false,
  engine: (t) => folder(t) === 'contracts',
  trainer: (t) => ['contracts', 'engine'].includes(folder(t)),
  server: (t) => ['contracts', 'engine'].includes(folder(t)),
  loadgen: (t) => ['contracts', 'engine'].includes(folder(t)),
  operator: (t) => folder(t) === 'contracts',
  cli: (t) =>
    ['contracts', 'engine', 'trainer', 'server', 'loadgen'].includes(folder(t)) ||
    t === 'operator/main.ts' ||
    t === 'operator/runtime/kubeconfig.ts',
};

function crossings(): string[] {
  const out: string[] = [];
  for (const [f, targets] of graph) {
    const rule = MAY_IMPORT[folder(f)];
    if (!rule) continue;
    for (const t of targets) {
      if (folder(t) === folder(f) || rule(t) || (isTest(f) && folder(t) === 'testing')) continue;
      out.push(`${f} -> ${t}`);
    }
  }
  return out;
}

/** Every import circle, each as the files around it. */
function circles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (state.get(t) === 'open') found.push(stack.slice(stack.indexOf(t)));
      else if (!state.has(t) && graph.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return found;
}

describe('the import graph', () => {
  it('runs one way: every folder imports only the layers below it', () => {
    expect(crossings()).toEqual([]);
  });

  it('has nothing outside test/ importing from test/', () => {
    const intoTest = [...graph].flatMap(([f, ts]) =>
      folder(f) === 'test' ? [] : ts.filter((t) => folder(t) === 'test').map((t) => `${f} -> ${t}`),
    );
    expect(intoTest).toEqual([]);
  });

  it('has no import circles', () => {
    expect(circles()).toEqual([]);
  });

  it('resolves every relative import to a file that exists', () => {
    const missing = [...graph].flatMap(([f, ts]) => ts.filter((t) => !graph.has(t)).map((t) => `${f} -> ${t}`));
    expect(missing).toEqual([]);
  });
});
