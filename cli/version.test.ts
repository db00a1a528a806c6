import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { packageVersion } from './version.js';

const expected = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

describe('ner-ops --version', () => {
  it("is the package's version, found from the sources and from the compiled tree's layout", () => {
    expect(packageVersion()).toBe(expected);
    expect(packageVersion(new URL('../dist/cli/', import.meta.url))).toBe(expected);
  });

  it('prints it and exits 0 (as -V and version too)', () => {
    const cli = new URL('./ner-ops.ts', import.meta.url).pathname;
    for (const arg of ['--version', '-V', 'version'])
      expect(execFileSync(process.execPath, ['--import', 'tsx', cli, arg], { encoding: 'utf8' }).trim()).toBe(expected);
  });
});
