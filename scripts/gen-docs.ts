/**
 * Generates docs/crd-reference.md from the CRD schemas in crds/ (themselves generated from the zod
 * schemas by `npm run gen:crds`), so the reference cannot drift from what the API server enforces.
 *
 *   npm run gen:docs            # writes docs/crd-reference.md
 *   npm run gen:docs -- --check # exits 1 when the committed file differs
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import yaml from 'js-yaml';
import { repoRoot } from '../local-cluster/paths.js';

type Schema = { [key: string]: unknown } & {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
  anyOf?: Schema[];
};

interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames?: string[]; categories?: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: Schema };
      additionalPrinterColumns?: Array<{
        name: string;
        type: string;
        jsonPath: string;
        priority?: number;
        description?: string;
      }>;
      subresources?: Record<string, unknown>;
    }>;
  };
}

export const OUTPUT = join('docs', 'crd-reference.md');

/** Markdown-safe table cell: one line, pipes escaped. */
function cell(s: string): string {
  return s
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|')
    .trim();
}

function code(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
  return `\`${s.length > 80 ? `${s.slice(0, 77)}…` : s}\``;
}

function typeOf(s: Schema): string {
  if (s['x-kubernetes-int-or-string']) return 'int or string';
  if (s.anyOf) return s.anyOf.map(typeOf).join(' or ');
  if (s.type === 'array') return `${s.items ? typeOf(s.items) : 'any'}[]`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties)
    return `map[string]${typeOf(s.additionalProperties)}`;
  if (s.type === 'object' && s['x-kubernetes-preserve-unknown-fields'] && !s.properties) return 'object (free-form)';
  return s.type ?? 'any';
}

function constraints(s: Schema): string[] {
  const out: string[] = [];
  if (Array.isArray(s.enum)) out.push(`one of ${s.enum.map((e) => code(e)).join(', ')}`);
  if (s.minimum !== undefined) out.push(`${s.exclusiveMinimum === true ? '>' : '≥'} ${String(s.minimum)}`);
  if (typeof s.exclusiveMinimum === 'number') out.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) out.push(`${s.exclusiveMaximum === true ? '<' : '≤'} ${String(s.maximum)}`);
  if (typeof s.exclusiveMaximum === 'number') out.push(`< ${s.exclusiveMaximum}`);
  if (s.minLength !== undefined) out.push(`length ≥ ${String(s.minLength)}`);
  if (s.maxLength !== undefined) out.push(`length ≤ ${String(s.maxLength)}`);
  if (s.minItems !== undefined) out.push(`items ≥ ${String(s.minItems)}`);
  if (s.maxItems !== undefined) out.push(`items ≤ ${String(s.maxItems)}`);
  if (s.pattern !== undefined) out.push(`pattern ${code(s.pattern)}`);
  if (s.format !== undefined) out.push(`format ${String(s.format)}`);
  if (s['x-kubernetes-list-type'])
    out.push(
      `list type ${String(s['x-kubernetes-list-type'])}${s['x-kubernetes-list-map-keys'] ? ` (keys ${(s['x-kubernetes-list-map-keys'] as string[]).join(', ')})` : ''}`,
    );
  const rules = (s['x-kubernetes-validations'] as Array<{ rule: string; message?: string }> | undefined) ?? [];
  for (const r of rules) out.push(r.message ? `rule: ${r.message}` : `rule ${code(r.rule)}`);
  return out;
}

/** One row per field, depth first; `path` uses `[]` for array items and `{}` for map values. */
function rows(s: Schema, path: string, required: boolean, out: string[]): void {
  if (path) {
    const def = s.default !== undefined ? code(s.default) : '';
    out.push(
      `| \`${path}\` | ${cell(typeOf(s))} | ${required ? 'yes' : ''} | ${def} | ${cell(constraints(s).join('; '))} | ${cell(s.description ?? '')} |`,
    );
  }
  const req = new Set(s.required ?? []);
  for (const [name, child] of Object.entries(s.properties ?? {}))
    rows(child, path ? `${path}.${name}` : name, req.has(name), out);
  if (s.items && (s.items.properties || s.items.items)) {
    const req2 = new Set(s.items.required ?? []);
    for (const [name, child] of Object.entries(s.items.properties ?? {}))
      rows(child, `${path}[].${name}`, req2.has(name), out);
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object' && s.additionalProperties.properties) {
    const req3 = new Set(s.additionalProperties.required ?? []);
    for (const [name, child] of Object.entries(s.additionalProperties.properties))
      rows(child, `${path}{}.${name}`, req3.has(name), out);
  }
}

function section(crd: Crd): string {
  const { names, group, scope } = crd.spec;
  const out: string[] = [];
  for (const v of crd.spec.versions) {
    const root = v.schema.openAPIV3Schema;
    out.push(`## ${names.kind}`, '');
    if (root.description) out.push(root.description, '');
    out.push(
      `- API: \`${group}/${v.name}\`, ${scope.toLowerCase()}${v.storage ? ', storage version' : ''}`,
      `- Resource: \`${names.plural}\`; short names: ${(names.shortNames ?? []).map((n) => `\`${n}\``).join(', ') || 'none'}; categories: ${(names.categories ?? []).map((n) => `\`${n}\``).join(', ') || 'none'}`,
      `- Subresources: ${Object.keys(v.subresources ?? {}).join(', ') || 'none'}`,
      '',
    );
    const cols = v.additionalPrinterColumns ?? [];
    if (cols.length) {
      out.push('`kubectl get` columns:', '', '| Column | Type | JSONPath | Wide only |', '|---|---|---|---|');
      for (const c of cols) out.push(`| ${c.name} | ${c.type} | \`${c.jsonPath}\` | ${c.priority ? 'yes' : ''} |`);
      out.push('');
    }
    const topRules = constraints({ ...root, description: undefined } as Schema);
    for (const part of ['spec', 'status'] as const) {
      const s = root.properties?.[part];
      if (!s) continue;
      out.push(`### ${names.kind} \`.${part}\``, '');
      if (s.description) out.push(cell(s.description), '');
      const partRules = constraints(s);
      if (partRules.length) out.push(`Object-level validation: ${cell(partRules.join('; '))}`, '');
      out.push('| Field | Type | Required | Default | Validation | Description |', '|---|---|---|---|---|---|');
      const req = new Set(s.required ?? []);
      const lines: string[] = [];
      for (const [name, child] of Object.entries(s.properties ?? {})) rows(child, name, req.has(name), lines);
      out.push(...lines, '');
    }
    if (topRules.length) out.push(`Object-level validation: ${cell(topRules.join('; '))}`, '');
  }
  return out.join('\n');
}

/** The reference document for every CRD in crds/. */
export function renderReference(root = repoRoot): string {
  const dir = join(root, 'crds');
  const crds = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => yaml.load(readFileSync(join(dir, f), 'utf8')) as Crd);
  const order = ['NerModel', 'NerDeployment', 'DriftPolicy'];
  const rank = (c: Crd) => (order.includes(c.spec.names.kind) ? order.indexOf(c.spec.names.kind) : order.length);
  crds.sort((a, b) => rank(a) - rank(b));
  const head = [
    '<!-- Generated by scripts/gen-docs.ts (npm run gen:docs) from crds/*.yaml. Do not edit. -->',
    '# CRD reference',
    '',
    'Every field the API server accepts, with its type, default, and the validation the API server',
    'enforces (OpenAPI and CEL rules): a spec that breaks a rule is refused at `kubectl apply`, never',
    'discovered later by the operator. Paths use `[]` for list items and `{}` for map values.',
    '',
    ...crds.map((c) => `- [${c.spec.names.kind}](#${c.spec.names.kind.toLowerCase()})`),
    '',
  ];
  return `${[...head, ...crds.map(section)]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function main(): number {
  const text = renderReference();
  const path = join(repoRoot, OUTPUT);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // missing: out of date
    }
    if (current !== text) {
      console.error(`out of date: ${OUTPUT} (run: npm run gen:docs)`);
      return 1;
    }
    return 0;
  }
  writeFileSync(path, text);
  console.log(`wrote ${OUTPUT}`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main();
