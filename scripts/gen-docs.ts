/**
 * Generates docs/crd-reference.md from the CRD schemas in crds/ (themselves generated from the zod
 * schemas by `npm run gen:crds`), so the reference cannot drift from what the API server enforces; and
 * the chart's README (charts/nerops/README.md) from Chart.yaml, the descriptions in values.schema.json
 * (every value has one) and the defaults in values.yaml, so it cannot drift from what the chart accepts.
 *
 *   npm run gen:docs            # writes both
 *   npm run gen:docs -- --check # exits 1 when a committed file differs
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

// ---------------------------------------------------------------------------------------------------
// The chart's README.

export const CHART_README = join('charts', 'nerops', 'README.md');

/** A value of the chart: its dotted key, its schema node, its default in values.yaml. */
export interface ChartValue {
  key: string;
  schema: Schema;
  default: unknown;
}

/**
 * The chart's values as documented: the leaves of values.schema.json (an object with `properties` is a
 * group, anything else a value), in the schema's order.
 */
export function chartValues(root = repoRoot): ChartValue[] {
  const dir = join(root, 'charts', 'nerops');
  const schema = JSON.parse(readFileSync(join(dir, 'values.schema.json'), 'utf8')) as Schema;
  const defaults = yaml.load(readFileSync(join(dir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const out: ChartValue[] = [];
  const walk = (node: Schema, path: string[], value: unknown): void => {
    if (node.properties && node.type === 'object') {
      for (const [k, child] of Object.entries(node.properties))
        walk(child, [...path, k], (value as Record<string, unknown> | undefined)?.[k]);
      return;
    }
    out.push({ key: path.join('.'), schema: node, default: value });
  };
  walk(schema, [], defaults);
  return out;
}

function valueType(s: Schema): string {
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((e) => JSON.stringify(e)).join(' \\| ');
  if (Array.isArray(s.type)) return (s.type as string[]).join(' \\| ');
  return s.type ?? (s.anyOf ? s.anyOf.map((a) => a.type ?? '').join(' \\| ') : '');
}

/** `<claim>` would be an HTML tag in Markdown. */
const html = (s: string) => s.replaceAll('<', '&lt;').replaceAll('>', '&gt;');

function defaultCell(v: unknown): string {
  if (v === undefined) return '';
  const text = JSON.stringify(v);
  return text.length > 60 ? '(see values.yaml)' : `\`${cell(text)}\``;
}

/** charts/nerops/README.md. */
export function renderChartReadme(root = repoRoot): string {
  const dir = join(root, 'charts', 'nerops');
  const chart = yaml.load(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as {
    name: string;
    version: string;
    appVersion: string;
    kubeVersion?: string;
    description: string;
  };
  const rows = chartValues(root).map(
    (v) =>
      `| \`${v.key}\` | ${valueType(v.schema)} | ${defaultCell(v.default)} | ${html(cell(v.schema.description ?? ''))} |`,
  );
  return `${[
    `# ${chart.name} Helm chart`,
    '',
    '<!-- Generated by scripts/gen-docs.ts (npm run gen:docs) from Chart.yaml, values.schema.json and values.yaml. Do not edit. -->',
    '',
    `${chart.description}.`,
    '',
    `Chart ${chart.version}, app ${chart.appVersion}, Kubernetes ${chart.kubeVersion ?? 'any'}.`,
    '',
    '```sh',
    'helm install nerops charts/nerops --namespace nerops-system --create-namespace \\',
    '  --set prometheus.url=http://prometheus-operated.monitoring.svc:9090',
    'helm test nerops --namespace nerops-system   # the operator leads, the CRDs are served',
    'npm run images -- --values my-values.yaml    # the images to mirror for an air-gapped install',
    '```',
    '',
    'Installing, upgrading and operating: [docs/operations.md](../../docs/operations.md). What the operator',
    'and the user roles may do: [docs/security.md](../../docs/security.md). The custom resources:',
    '[docs/crd-reference.md](../../docs/crd-reference.md).',
    '',
    '## Values',
    '',
    'Every value is checked by `values.schema.json` at install time; the descriptions below are that',
    "schema's. Defaults are those of `values.yaml`.",
    '',
    '| Key | Type | Default | Description |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n')}\n`;
}

/** Every generated document (repository-relative path → content). */
export function generatedDocs(root = repoRoot): Map<string, string> {
  return new Map([
    [OUTPUT, renderReference(root)],
    [CHART_README, renderChartReadme(root)],
  ]);
}

function main(): number {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [rel, text] of generatedDocs()) {
    const path = join(repoRoot, rel);
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        // missing: out of date
      }
      if (current !== text) {
        console.error(`out of date: ${rel} (run: npm run gen:docs)`);
        stale++;
      }
      continue;
    }
    writeFileSync(path, text);
    console.log(`wrote ${rel}`);
  }
  return stale ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main();
