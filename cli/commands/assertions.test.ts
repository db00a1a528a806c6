import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CliError } from '../command.js';
import assertions, { assertionRulesFromFlags } from './assertions.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'assertions-cli-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const code = await assertions(argv);
  return { code, out: log.mock.calls.map((c) => String(c[0])).join('\n') };
}

const HEADER = 'Report No.\tConcept\tSentence\tNegation\n';

describe('ner-ops assertions evaluate', () => {
  it('prints n, accuracy and the negated scores as JSON', async () => {
    const data = join(dir, 'gold.tsv');
    await writeFile(data, HEADER + '1\tfever\tDenies FEVER.\tNegated\n1\tcough\tProductive COUGH.\tAffirmed\n');
    const { code, out } = await run(['evaluate', '--data', data, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      language: 'en',
      n: 2,
      accuracy: 1,
      negated: { precision: 1, recall: 1, f1: 1 },
      skipped: [],
    });
  });

  it('prints a table by default and uses the Norwegian rules with --language nb', async () => {
    const data = join(dir, 'gull.tsv');
    await writeFile(data, HEADER + '1\tfeber\tIngen FEBER.\tNegated\n');
    const { out } = await run(['evaluate', '--data', data, '--language', 'nb']);
    expect(out).toMatch(/^n\s+1$/m);
    expect(out).toMatch(/^negated f1\s+1\.000$/m);
  });

  it('uses a rule file given with --rules', async () => {
    const data = join(dir, 'gold.tsv');
    const rules = join(dir, 'rules.yaml');
    await writeFile(data, HEADER + '1\tfever\tNil FEVER.\tNegated\n');
    await writeFile(rules, 'language: en\nrules:\n  - category: negation\n    direction: forward\n    terms: [nil]\n');
    expect(JSON.parse((await run(['evaluate', '--data', data, '--rules', rules, '--json'])).out).accuracy).toBe(1);
  });

  it.each([
    ['a malformed data line', HEADER + '1\tfever\n', [], /gold\.tsv:2: expected 4 tab-separated fields/],
    ['a bad rule file', HEADER, ['--rules', 'RULES'], /rules\.yaml:1: language: /],
    ['an unknown language', HEADER, ['--language', 'xx'], /--language must be one of en, nb/],
  ])('%s is a one-line error with its place', async (_name, content, extra, expected) => {
    const data = join(dir, 'gold.tsv');
    const rules = join(dir, 'rules.yaml');
    await writeFile(data, content);
    await writeFile(rules, 'languages: en\n');
    const argv = ['evaluate', '--data', data, ...extra.map((a) => (a === 'RULES' ? rules : a))];
    await expect(assertions(argv)).rejects.toThrow(CliError);
    await expect(assertions(argv)).rejects.toThrow(expected);
  });

  it('asks for a subcommand', async () => {
    await expect(assertions([])).rejects.toThrow(/expected a subcommand \(evaluate\)/);
  });
});

describe("the bundle writers' assertion flags", () => {
  it('give no rules, the shipped rules of a language, or a rule file', async () => {
    expect(assertionRulesFromFlags('train', {})).toBeUndefined();
    expect(assertionRulesFromFlags('train', { 'assertion-language': 'nb' })?.language).toBe('nb');
    const rules = join(dir, 'r.yaml');
    await writeFile(rules, 'language: nb\nextends: nb\nrules: []\n');
    expect(assertionRulesFromFlags('train', { 'assertion-rules': rules })?.rules.length).toBeGreaterThan(0);
  });

  it.each([
    [{ 'assertion-language': 'en', 'assertion-rules': 'x.yaml' }, /not both/],
    [{ 'assertion-language': 'fr' }, /--assertion-language must be one of en, nb/],
    [{ 'assertion-rules': '/nonexistent/rules.yaml' }, /^package: \/nonexistent\/rules\.yaml: \(file\): cannot read/],
  ])('refuse %o', (values, expected) => {
    expect(() => assertionRulesFromFlags('package', values)).toThrow(CliError);
    expect(() => assertionRulesFromFlags('package', values)).toThrow(expected);
  });
});
