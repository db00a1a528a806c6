/**
 * The version `ner-ops --version` prints: the nerops package.json's, found by walking up from this file
 * (dist/cli/ in the image and an npm install, cli/ when tests run the sources).
 */
import { readFileSync } from 'node:fs';

export function packageVersion(from: URL = new URL('.', import.meta.url)): string {
  for (let dir = from, depth = 0; depth < 4; depth++, dir = new URL('..', dir)) {
    let pkg: { name?: unknown; version?: unknown };
    try {
      pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as typeof pkg;
    } catch {
      continue;
    }
    if (pkg.name === 'nerops' && typeof pkg.version === 'string') return pkg.version;
  }
  throw new Error('the nerops package.json was not found above the CLI');
}
