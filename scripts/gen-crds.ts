/**
 * Generates crds/*.yaml from the zod schemas in operator/api (the single source of truth).
 *
 *   npm run gen:crds            # writes crds/<plural>.nerops.io.yaml
 *   npm run gen:crds -- --check # exits 1 when the committed YAML differs
 *
 * Steps per kind: `z.toJSONSchema` (input side, so defaults are emitted and defaulted fields are
 * optional) → a Kubernetes structural OpenAPI v3 schema (JSON Schema 2020-12 idioms rewritten or
 * dropped, Kubernetes extensions kept) → descriptions from the JSDoc of the zod object literals
 * (read with the TypeScript compiler API) → the CRD with status subresource and printer columns.
 */
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import yaml from 'js-yaml';
import { z } from 'zod';
import { CRD_DEFINITIONS, type CrdDefinition } from '../operator/api/crd.js';
import { GROUP, VERSION } from '../operator/api/group.js';

/** An OpenAPI v3 schema node (loosely typed: it is JSON). */
export type JsonSchema = { [key: string]: unknown };

/** Repository root, found from this file whether run from source (tsx) or dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'nerops') return dir;
    } catch {
      // not here; go up
    }
    dir = dirname(dir);
  }
  throw new Error('gen-crds: repository root (package.json of nerops) not found');
}

// -----------------------------------------------------------------------------------------------
// JSON Schema (zod) → Kubernetes structural schema
// -----------------------------------------------------------------------------------------------

const SAFE_INT = Number.MAX_SAFE_INTEGER;

/**
 * Rewrites one zod JSON Schema node (and its children) into the OpenAPI v3 subset Kubernetes accepts
 * for structural schemas. Throws on constructs that have no structural equivalent, so a new zod
 * feature cannot silently produce a schema the API server would reject or interpret differently.
 */
export function toStructural(node: JsonSchema, path = ''): JsonSchema {
  const out: JsonSchema = {};
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$schema':
      case 'propertyNames': // map keys are always strings in Kubernetes
        break;
      case 'type':
        if (intOrString) break; // int-or-string nodes must not declare a type
        if (typeof value !== 'string')
          throw new Error(`gen-crds: ${path || '<root>'}: union type ${JSON.stringify(value)} is not structural`);
        out.type = value;
        break;
      case 'anyOf':
      case 'oneOf':
        if (intOrString) {
          // Kubernetes' one allowed union: anyOf integer|string, with value checks of the string
          // member (e.g. the quantity pattern) lifted to the node.
          const str = (value as JsonSchema[]).find((m) => m.type === 'string');
          if (str?.pattern !== undefined) out.pattern = str.pattern;
          if (str?.maxLength !== undefined) out.maxLength = str.maxLength;
          out.anyOf = [{ type: 'integer' }, { type: 'string' }];
          break;
        }
        throw new Error(`gen-crds: ${path || '<root>'}: ${key} is not supported (use a CEL rule)`);
      case 'minimum':
      case 'maximum':
        // zod's z.int() adds ±MAX_SAFE_INTEGER bounds; they mean "no bound".
        if (Math.abs(value as number) !== SAFE_INT) out[key] = value;
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        // JSON Schema 2020-12: numeric exclusive bound; OpenAPI v3.0: boolean flag + minimum/maximum.
        const bound = key === 'exclusiveMinimum' ? 'minimum' : 'maximum';
        out[bound] = value;
        out[key] = true;
        break;
      }
      case 'properties': {
        const props: JsonSchema = {};
        for (const [name, child] of Object.entries(value as Record<string, JsonSchema>)) {
          props[name] = toStructural(child, `${path}.${name}`);
        }
        out.properties = props;
        break;
      }
      case 'items':
        out.items = toStructural(value as JsonSchema, `${path}[]`);
        break;
      case 'additionalProperties':
        if (value === false) break; // closed objects: Kubernetes prunes unknown fields anyway
        if (preserve) break; // free-form object
        if (typeof value === 'object' && value !== null && Object.keys(value).length === 0) {
          throw new Error(`gen-crds: ${path}: untyped map values (use preserveUnknown())`);
        }
        out.additionalProperties = toStructural(value as JsonSchema, `${path}{}`);
        break;
      case 'required':
        if ((value as string[]).length > 0) out.required = value;
        break;
      case 'description':
      case 'default':
      case 'enum':
      case 'format':
      case 'pattern':
      case 'minLength':
      case 'maxLength':
      case 'minItems':
      case 'maxItems':
      case 'minProperties':
      case 'maxProperties':
      case 'x-kubernetes-validations':
      case 'x-kubernetes-list-type':
      case 'x-kubernetes-list-map-keys':
      case 'x-kubernetes-int-or-string':
      case 'x-kubernetes-preserve-unknown-fields':
        out[key] = value;
        break;
      case 'const':
        out.enum = [value];
        break;
      default:
        throw new Error(`gen-crds: ${path || '<root>'}: unsupported JSON Schema keyword ${key}`);
    }
  }
  if (out.type === undefined && !intOrString && !preserve) {
    throw new Error(`gen-crds: ${path || '<root>'}: every node of a structural schema needs a type`);
  }
  return out;
}

/** The structural schema of one zod schema (input side: defaults emitted, defaulted fields optional). */
export function structuralSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw', reused: 'inline' }) as JsonSchema;
  return toStructural(json);
}

// -----------------------------------------------------------------------------------------------
// JSDoc → description
// -----------------------------------------------------------------------------------------------

/** Descriptions found in the source for one schema node and its children. */
export interface DocNode {
  description?: string;
  properties?: Map<string, DocNode>;
  items?: DocNode;
  values?: DocNode;
}

/** Methods that return a schema of the same shape (descriptions pass through them). */
const PASS_THROUGH = new Set([
  'optional',
  'default',
  'prefault',
  'refine',
  'superRefine',
  'check',
  'meta',
  'describe',
  'min',
  'max',
  'gt',
  'lt',
  'regex',
  'length',
  'nonempty',
  'readonly',
  'catch',
]);
/** Helpers from operator/api/shared-schemas.ts whose first argument is the schema. */
const HELPERS = new Set(['withCel', 'withDefaults', 'listMap', 'listSet', 'preserveUnknown']);

function jsDocText(node: ts.Node): string | undefined {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const last = docs[docs.length - 1];
  if (!last) return undefined;
  const text = ts.getTextOfJSDocComment(last.comment);
  if (!text) return undefined;
  return text
    .replace(/\{@link\s+([^}|\s]+)(?:\s*\|\s*([^}]+))?\s*\}/g, (_m, a: string, b?: string) => b ?? a)
    .replace(/\s+/g, ' ')
    .trim();
}

/** Reads JSDoc descriptions of the zod schemas declared in the given source files. */
export class DocIndex {
  readonly #decls = new Map<string, { init: ts.Expression; doc: string | undefined }>();
  readonly #resolving = new Set<string>();

  constructor(files: readonly string[]) {
    for (const file of files) {
      const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
      for (const stmt of sf.statements) {
        if (!ts.isVariableStatement(stmt)) continue;
        for (const decl of stmt.declarationList.declarations) {
          if (ts.isIdentifier(decl.name) && decl.initializer) {
            // Names are resolved across files (schemas import each other), so they must be unique.
            if (this.#decls.has(decl.name.text)) {
              throw new Error(`gen-crds: ${decl.name.text} is declared twice in operator/api; names must be unique`);
            }
            this.#decls.set(decl.name.text, { init: decl.initializer, doc: jsDocText(decl) });
          }
        }
      }
    }
  }

  /** Descriptions for the schema declared as `const <name> = ...`. */
  forDeclaration(name: string): DocNode {
    const decl = this.#decls.get(name);
    if (!decl) throw new Error(`gen-crds: no declaration ${name} found for descriptions`);
    return { ...this.forExpression(decl.init), ...(decl.doc ? { description: decl.doc } : {}) };
  }

  /** Descriptions for a schema expression. */
  forExpression(expr: ts.Expression): DocNode {
    if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr)) return this.forExpression(expr.expression);
    if (ts.isIdentifier(expr)) {
      if (!this.#decls.has(expr.text) || this.#resolving.has(expr.text)) return {};
      this.#resolving.add(expr.text);
      try {
        return this.forDeclaration(expr.text);
      } finally {
        this.#resolving.delete(expr.text);
      }
    }
    if (!ts.isCallExpression(expr)) return {};
    const callee = expr.expression;
    const [first, second] = expr.arguments;
    if (ts.isIdentifier(callee)) return HELPERS.has(callee.text) && first ? this.forExpression(first) : {};
    if (!ts.isPropertyAccessExpression(callee)) return {};
    const method = callee.name.text;
    if (ts.isIdentifier(callee.expression) && callee.expression.text === 'z') {
      if ((method === 'object' || method === 'looseObject' || method === 'strictObject') && first) {
        return { properties: this.#objectLiteral(first) };
      }
      if (method === 'array' && first) return { items: this.forExpression(first) };
      if (method === 'record' && second) return { values: this.forExpression(second) };
      return {};
    }
    const base = this.forExpression(callee.expression);
    if (method === 'extend' && first) {
      return { ...base, properties: new Map([...(base.properties ?? []), ...this.#objectLiteral(first)]) };
    }
    return PASS_THROUGH.has(method) ? base : {};
  }

  #objectLiteral(arg: ts.Expression): Map<string, DocNode> {
    const props = new Map<string, DocNode>();
    if (!ts.isObjectLiteralExpression(arg)) return props;
    for (const p of arg.properties) {
      if (!ts.isPropertyAssignment(p) || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) continue;
      const child = this.forExpression(p.initializer);
      const doc = jsDocText(p);
      props.set(p.name.text, doc ? { ...child, description: doc } : child);
    }
    return props;
  }
}

/** Sets `description` on the schema nodes that have one in `doc` (mutates and returns `schema`). */
export function applyDocs(schema: JsonSchema, doc: DocNode | undefined): JsonSchema {
  if (!doc) return schema;
  if (doc.description) schema.description = doc.description;
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props) for (const [name, child] of Object.entries(props)) applyDocs(child, doc.properties?.get(name));
  if (schema.items) applyDocs(schema.items as JsonSchema, doc.items);
  if (typeof schema.additionalProperties === 'object') applyDocs(schema.additionalProperties as JsonSchema, doc.values);
  return schema;
}

/** Puts `description` first in every node, so the YAML reads top-down. */
function orderKeys(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  if (schema.description !== undefined) out.description = schema.description;
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'description') continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(v as Record<string, JsonSchema>).map(([n, c]) => [n, orderKeys(c)]),
      );
    } else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) {
      out[k] = orderKeys(v as JsonSchema);
    } else {
      out[k] = v;
    }
  }
  return out;
}

// -----------------------------------------------------------------------------------------------
// CRDs
// -----------------------------------------------------------------------------------------------

/** Name of the schema constant declared in `def.sourceFile` for the spec or status. */
function declName(def: CrdDefinition, part: 'Spec' | 'Status'): string {
  return `${def.names.kind}${part}Schema`;
}

/** The CustomResourceDefinition object of one kind. */
export function buildCrd(def: CrdDefinition, docs: DocIndex): JsonSchema {
  const spec = applyDocs(structuralSchema(def.spec), docs.forDeclaration(declName(def, 'Spec')));
  const status = applyDocs(structuralSchema(def.status), docs.forDeclaration(declName(def, 'Status')));
  const openAPIV3Schema = orderKeys({
    description: def.description,
    type: 'object',
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object.',
        type: 'string',
      },
      kind: {
        description: 'Kind is a string value representing the REST resource this object represents.',
        type: 'string',
      },
      metadata: { type: 'object' },
      spec,
      status,
    },
    required: ['spec'],
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.names.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'nerops', 'app.kubernetes.io/part-of': 'nerops' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: def.names.kind,
        listKind: def.names.listKind,
        plural: def.names.plural,
        singular: def.names.singular,
        shortNames: [...def.names.shortNames],
        categories: [...def.names.categories],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {}, ...(def.scale ? { scale: { ...def.scale } } : {}) },
          additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}

const HEADER = '# Generated by scripts/gen-crds.ts from operator/api (npm run gen:crds). Do not edit.\n';

/** File name (under crds/) of a kind's CRD. */
export function crdFileName(def: CrdDefinition): string {
  return `${def.names.plural}.${GROUP}.yaml`;
}

/** All CRDs as `{ fileName: yamlText }`, deterministic. */
export function generateCrds(root = repoRoot()): Map<string, string> {
  const docs = new DocIndex(
    readdirSync(join(root, 'operator/api'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .sort()
      .map((f) => join(root, 'operator/api', f)),
  );
  const files = new Map<string, string>();
  for (const def of CRD_DEFINITIONS) {
    const text = yaml.dump(buildCrd(def, docs), { lineWidth: -1, noRefs: true, sortKeys: false, quotingType: '"' });
    files.set(crdFileName(def), HEADER + text);
  }
  return files;
}

function main(argv: readonly string[]): number {
  const root = repoRoot();
  const dir = join(root, 'crds');
  const files = generateCrds(root);
  if (argv.includes('--check')) {
    let stale = 0;
    for (const [name, text] of files) {
      let current = '';
      try {
        current = readFileSync(join(dir, name), 'utf8');
      } catch {
        // missing counts as stale
      }
      if (current !== text) {
        console.error(`crds/${name} is out of date: run npm run gen:crds`);
        stale++;
      }
    }
    return stale === 0 ? 0 : 1;
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) {
    writeFileSync(join(dir, name), text);
    console.log(`wrote crds/${name}`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
