/**
 * Locates the control-plane binaries local-cluster runs, and builds missing ones with
 * scripts/build-cluster-binaries.sh (the single place that knows how to build them).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/**
 * Every binary the harness may start. kubectl and helm are for humans, the README and tests; kubelet,
 * kube-proxy, coredns and pause (the pod sandbox) run the real profile's node.
 */
export const BINARIES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kwok',
  'helm',
  'kubelet',
  'kube-proxy',
  'coredns',
  'pause',
] as const;
export type BinaryName = (typeof BINARIES)[number];

/** Pinned versions, parsed from local-cluster/versions.env (also sourced by the build script). */
export function pinnedVersions(): Record<string, string> {
  const text = readFileSync(join(repoRoot, 'local-cluster', 'versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** `$NEROPS_CACHE`, else `~/.cache/nerops`: where tooling keeps what it builds or converts, outside the repository. */
export function cacheRoot(): string {
  return process.env.NEROPS_CACHE ?? join(homedir(), '.cache', 'nerops');
}

/** `<cacheRoot>/k8s-<version>`: where builds land. */
export function cacheBinDir(): string {
  const version = pinnedVersions().KUBERNETES_VERSION;
  if (!version) throw new Error('local-cluster/versions.env has no KUBERNETES_VERSION');
  return join(cacheRoot(), `k8s-${version}`);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of each binary that exists: `$KUBEBUILDER_ASSETS` wins over the cache, as the build script assumes. */
export function findBinaries(): Partial<Record<BinaryName, string>> {
  const dirs = [process.env.KUBEBUILDER_ASSETS, cacheBinDir()].filter((d): d is string => !!d);
  const found: Partial<Record<BinaryName, string>> = {};
  for (const name of BINARIES) {
    const dir = dirs.find((d) => executable(join(d, name)));
    if (dir) found[name] = join(dir, name);
  }
  return found;
}

/**
 * Returns the path of every binary, building missing ones first. Under `CI=true` a missing binary is
 * an error instead: `.ci/run` builds them before the tests, so a gap there is a CI bug to see loudly,
 * not a 30-minute surprise inside a test hook.
 */
export async function ensureBinaries(
  log: (line: string) => void = (l) => process.stderr.write(l),
): Promise<Record<BinaryName, string>> {
  let found = findBinaries();
  let missing = BINARIES.filter((b) => !found[b]);
  if (missing.length && process.env.CI === 'true') {
    throw new Error(
      `local-cluster: missing binaries ${missing.join(', ')} in ${cacheBinDir()}` +
        `${process.env.KUBEBUILDER_ASSETS ? ` or ${process.env.KUBEBUILDER_ASSETS}` : ''}; ` +
        'CI must run scripts/build-cluster-binaries.sh first (see .ci/run)',
    );
  }
  if (missing.length) {
    log(`local-cluster: building missing binaries (${missing.join(', ')}); a cold build takes a long time\n`);
    await runBuildScript(log);
    found = findBinaries();
    missing = BINARIES.filter((b) => !found[b]);
    if (missing.length)
      throw new Error(`local-cluster: build finished but ${missing.join(', ')} still missing in ${cacheBinDir()}`);
  }
  return found as Record<BinaryName, string>;
}

function runBuildScript(log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot, 'scripts', 'build-cluster-binaries.sh')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (b: Buffer) => log(b.toString()));
    child.stderr.on('data', (b: Buffer) => log(b.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`build-cluster-binaries.sh exited with ${code}`)),
    );
  });
}
