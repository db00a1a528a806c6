/** Repository-relative locations, resolved the same way from local-cluster/*.ts and dist/local-cluster/*.js. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(start: string): string {
  // Walk up to the package.json that owns local-cluster: works from sources and from dist/.
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'local-cluster', 'versions.env'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the repository root above ${start}`);
  }
}

/** Absolute path of the repository root. */
export const repoRoot = findRepoRoot(resolve(dirname(fileURLToPath(import.meta.url))));

/** The built CLI that `ner-ops ...` container commands map to (`npm run build` produces it). */
export const nerOpsCli = join(repoRoot, 'dist', 'cli', 'ner-ops.js');
/** The built DNS preload (service-dns-preload.ts) that process-node pods load so Service names resolve. */
export const serviceDnsPreload = join(repoRoot, 'dist', 'local-cluster', 'service-dns-preload.js');
