/**
 * Rule files: per-language trigger lists as YAML, validated into {@link AssertionRules}. The rule content is
 * data a hospital can replace (a file without `extends`) or extend (`extends: en`: the shipped rules of that
 * language, minus the terms listed under `remove`, with this file's rules added; a term this file defines
 * replaces the inherited definition of the same term). docs/assertions.md documents the format.
 *
 * Errors name the file, the line and the field (`rules[3].direction`), never the text at that place.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { z } from 'zod';
import { issueWhere } from '../json-problems.js';
import { termKey } from './tokenize.js';
import {
  DIRECTIONS,
  SCOPE_CATEGORIES,
  TRIGGER_CATEGORIES,
  type AssertionRule,
  type AssertionRules,
  type ScopeCategory,
} from './types.js';

/** The languages whose rules ship with the engine (engine/assertions/rules/<language>.yaml). */
export const SHIPPED_LANGUAGES = ['en', 'nb'] as const;
export type ShippedLanguage = (typeof SHIPPED_LANGUAGES)[number];

/** A rule file that cannot be used: where it is wrong, never what it says. */
export class AssertionRulesError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${field}: ${problem}`);
    this.name = 'AssertionRulesError';
  }
}

const languageTag = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a language tag such as en or nb');
const term = z
  .string()
  .max(200)
  .refine((t) => termKey(t) !== '', 'must contain a word or a punctuation mark');

const ruleSchema = z
  .object({
    category: z.enum(TRIGGER_CATEGORIES),
    direction: z.enum(DIRECTIONS).optional(),
    window: z.number().int().min(1).max(1000).optional(),
    ends: z.array(z.enum(SCOPE_CATEGORIES)).min(1).optional(),
    terms: z.array(term).min(1),
  })
  .strict()
  .superRefine((r, ctx) => {
    const scoped = (SCOPE_CATEGORIES as readonly string[]).includes(r.category);
    if (scoped && r.direction === undefined)
      ctx.addIssue({ code: 'custom', path: ['direction'], message: `is required for category ${r.category}` });
    if (!scoped && r.direction !== undefined)
      ctx.addIssue({ code: 'custom', path: ['direction'], message: `is only for scope categories` });
    if (!scoped && r.window !== undefined)
      ctx.addIssue({ code: 'custom', path: ['window'], message: `is only for scope categories` });
    if (r.category !== 'closing' && r.ends !== undefined)
      ctx.addIssue({ code: 'custom', path: ['ends'], message: 'is only for category closing' });
  });

const fileSchema = z
  .object({
    language: languageTag,
    extends: z.enum(SHIPPED_LANGUAGES).optional(),
    remove: z.array(term).optional(),
    abbreviations: z
      .array(z.string().regex(/^[\p{L}\p{N}.]{1,20}$/u, 'must be a word (letters, digits, dots)'))
      .optional(),
    rules: z.array(ruleSchema),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.remove !== undefined && f.extends === undefined)
      ctx.addIssue({ code: 'custom', path: ['remove'], message: 'needs extends (there is nothing to remove from)' });
  });

type RuleFile = z.infer<typeof fileSchema>;

export interface ParseOptions {
  /** Refuse `extends`: the file must say everything itself (a rule file pinned in a model bundle). */
  selfContained?: boolean;
}

/** Parse and validate a rule file's text; `fileName` is only for messages. */
export function parseAssertionRules(text: string, fileName: string, options: ParseOptions = {}): AssertionRules {
  const lines = new WeakMap<object, NodeLines>();
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.CORE_SCHEMA, listener: lineRecorder(lines) });
  } catch (err) {
    const { mark, reason } = err as { mark?: { line?: number }; reason?: string };
    // js-yaml's message quotes the text around the fault: only its position and reason are reported.
    throw new AssertionRulesError(
      fileName,
      mark?.line === undefined ? undefined : mark.line + 1,
      '(root)',
      `not valid YAML (${reason ?? 'syntax error'})`,
    );
  }
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    throw new AssertionRulesError(
      fileName,
      lineOf(doc, path, lines),
      issueWhere(fileSchema, issue),
      issue?.message ?? 'invalid',
    );
  }
  const file = parsed.data;
  const at = (path: (string | number)[]) => lineOf(doc, path, lines);
  if (options.selfContained && file.extends !== undefined)
    throw new AssertionRulesError(
      fileName,
      at(['extends']),
      'extends',
      'is not allowed here: the file must be self-contained',
    );
  checkDuplicates(file, fileName, at);
  return file.extends === undefined
    ? ownRules(file)
    : extendRules(file, defaultAssertionRules(file.extends), fileName, at);
}

/** Read and parse a rule file. */
export function loadAssertionRules(path: string): AssertionRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AssertionRulesError(
      path,
      undefined,
      '(file)',
      `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseAssertionRules(text, path);
}

/**
 * The shipped rules for a language tag such as a request's `Content-Language` (`en-GB`, `nb-NO`, `no`), or
 * undefined when none ship for it. Norwegian without a written standard (`no`) reads as bokmål, the standard
 * most notes are written in; nynorsk (`nn`) has no rules of its own yet.
 */
export function shippedLanguageFor(tag: string): ShippedLanguage | undefined {
  const primary = tag.trim().split(/[-_]/)[0]!.toLowerCase();
  if (primary === 'no') return 'nb';
  return (SHIPPED_LANGUAGES as readonly string[]).includes(primary) ? (primary as ShippedLanguage) : undefined;
}

const shipped = new Map<ShippedLanguage, AssertionRules>();

/** The shipped rules of a language (engine/assertions/rules/<language>.yaml), parsed once. */
export function defaultAssertionRules(language: ShippedLanguage): AssertionRules {
  let rules = shipped.get(language);
  if (!rules) {
    if (!(SHIPPED_LANGUAGES as readonly string[]).includes(language))
      throw new Error(
        `no shipped assertion rules for language ${String(language)} (shipped: ${SHIPPED_LANGUAGES.join(', ')})`,
      );
    const url = new URL(`./rules/${language}.yaml`, import.meta.url);
    rules = parseAssertionRules(readFileSync(url, 'utf8'), `${language}.yaml`);
    shipped.set(language, rules);
  }
  return rules;
}

/** The rule set as a self-contained rule file (no `extends`), e.g. to pin it in a model bundle. */
export function serializeAssertionRules(rules: AssertionRules): string {
  const file: RuleFile = {
    language: rules.language,
    ...(rules.abbreviations.length > 0 ? { abbreviations: rules.abbreviations } : {}),
    rules: rules.rules.map((r) => ({
      category: r.category,
      ...(isScoped(r.category) ? { direction: r.direction } : {}),
      ...(r.window !== undefined ? { window: r.window } : {}),
      ...(r.ends !== undefined ? { ends: r.ends } : {}),
      terms: r.terms,
    })),
  };
  return yaml.dump(file, { lineWidth: 120, noRefs: true });
}

const isScoped = (c: string): c is ScopeCategory => (SCOPE_CATEGORIES as readonly string[]).includes(c);

function toRule(r: RuleFile['rules'][number]): AssertionRule {
  return {
    category: r.category,
    // pseudo and closing have no scope: their direction is never read.
    direction: r.direction ?? 'forward',
    window: r.window,
    ends: r.ends,
    terms: r.terms,
  };
}

function ownRules(file: RuleFile): AssertionRules {
  return {
    language: file.language,
    rules: file.rules.map(toRule),
    abbreviations: (file.abbreviations ?? []).map((a) => a.toLowerCase()),
  };
}

/** The base rules minus `remove` and minus every term this file redefines, then this file's rules. */
function extendRules(
  file: RuleFile,
  base: AssertionRules,
  fileName: string,
  at: (path: (string | number)[]) => number | undefined,
): AssertionRules {
  const inherited = new Set(base.rules.flatMap((r) => r.terms.map(termKey)));
  const dropped = new Set<string>();
  (file.remove ?? []).forEach((t, i) => {
    const key = termKey(t);
    if (!inherited.has(key))
      throw new AssertionRulesError(
        fileName,
        at(['remove', i]),
        `remove[${i}]`,
        `no rule of ${file.extends} has this term`,
      );
    dropped.add(key);
  });
  for (const r of file.rules) for (const t of r.terms) dropped.add(termKey(t));
  const kept = base.rules
    .map((r) => ({ ...r, terms: r.terms.filter((t) => !dropped.has(termKey(t))) }))
    .filter((r) => r.terms.length > 0);
  const abbreviations = new Set([...base.abbreviations, ...(file.abbreviations ?? []).map((a) => a.toLowerCase())]);
  return { language: file.language, rules: [...kept, ...file.rules.map(toRule)], abbreviations: [...abbreviations] };
}

/** A term may be defined once per file: two definitions would make its meaning depend on their order. */
function checkDuplicates(
  file: RuleFile,
  fileName: string,
  at: (path: (string | number)[]) => number | undefined,
): void {
  const seen = new Map<string, string>();
  file.rules.forEach((r, i) =>
    r.terms.forEach((t, j) => {
      const key = termKey(t);
      const where = `rules[${i}].terms[${j}]`;
      const first = seen.get(key);
      if (first !== undefined)
        throw new AssertionRulesError(fileName, at(['rules', i, 'terms', j]), where, `the same term as ${first}`);
      seen.set(key, where);
    }),
  );
}

/** Lines (0-based) of a YAML collection and of its children (for a mapping: key, value, key, value, ...). */
interface NodeLines {
  line: number;
  children: number[];
}

/** A js-yaml listener recording where each collection and each of its children starts. */
function lineRecorder(
  lines: WeakMap<object, NodeLines>,
): (type: 'open' | 'close', state: { line: number; result: unknown }) => void {
  const stack: NodeLines[] = [];
  return (type, state) => {
    if (type === 'open') {
      stack.push({ line: state.line, children: [] });
      return;
    }
    const node = stack.pop();
    if (!node) return;
    const result = state.result;
    if (result !== null && typeof result === 'object' && !lines.has(result)) lines.set(result, node);
    stack.at(-1)?.children.push(node.line);
  };
}

/** The 1-based line of the value at `path`, or of the nearest collection above it the file has. */
function lineOf(doc: unknown, path: readonly PropertyKey[], lines: WeakMap<object, NodeLines>): number | undefined {
  let node: unknown = doc;
  let line: number | undefined = node !== null && typeof node === 'object' ? lines.get(node)?.line : undefined;
  for (const key of path) {
    if (node === null || typeof node !== 'object') break;
    const info = lines.get(node);
    let child: number | undefined;
    if (Array.isArray(node) && typeof key === 'number') child = info?.children[key];
    else if (typeof key === 'string') {
      const i = Object.keys(node).indexOf(key);
      child = i < 0 ? undefined : (info?.children[2 * i + 1] ?? info?.children[2 * i]);
    }
    if (child === undefined) break;
    line = child;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return line === undefined ? undefined : line + 1;
}
