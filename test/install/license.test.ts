/** The LICENSE file is the licence package.json declares (the image and npm consumers read the latter). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);

describe('LICENSE', () => {
  it("holds the full text of package.json's licence", () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { license: string };
    const text = readFileSync(new URL('LICENSE', root), 'utf8');
    expect(pkg.license).toBe('Apache-2.0');
    expect(text).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(text).toContain('END OF TERMS AND CONDITIONS');
  });
});
