import { mkdtempSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearerToken, parseTokenHashes, sha256Hex, tokenMatches, TokenFile } from './auth.js';

describe('auth', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer   abc  ', 'abc'],
    ['Basic abc', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('bearerToken(%j) = %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it('parses digests with comments and the sha256: prefix, and refuses malformed lines', () => {
    const h = sha256Hex('s3cret');
    expect(parseTokenHashes(`# ops team\n${h}\n\nsha256:${sha256Hex('other')}  # ci\n`)).toHaveLength(2);
    expect(() => parseTokenHashes('not-a-hash\n')).toThrow(/line 1/);
  });

  it('matches only tokens whose sha256 is listed', () => {
    const hashes = parseTokenHashes(`${sha256Hex('a')}\n${sha256Hex('b')}\n`);
    expect(tokenMatches('a', hashes)).toBe(true);
    expect(tokenMatches('b', hashes)).toBe(true);
    expect(tokenMatches('c', hashes)).toBe(false);
    expect(tokenMatches('', hashes)).toBe(false);
  });

  it('reloads the file when it changes (secret rotation)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nerops-auth-'));
    const path = join(dir, 'tokens');
    writeFileSync(path, `${sha256Hex('old')}\n`);
    let now = 0;
    const f = new TokenFile(path, 1000, () => now);
    expect(f.verify('Bearer old')).toBe(true);
    writeFileSync(path, `${sha256Hex('new')}\n`);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect(f.verify('Bearer new')).toBe(false); // not rechecked yet
    now = 2000;
    expect(f.verify('Bearer new')).toBe(true);
    expect(f.verify('Bearer old')).toBe(false);
  });

  it('refuses an empty token file at startup', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nerops-auth-'));
    const path = join(dir, 'tokens');
    writeFileSync(path, '# nothing\n');
    expect(() => new TokenFile(path)).toThrow(/no token hashes/);
  });
});
