/**
 * The container images an install pulls, one per line, for mirroring into an air-gapped registry: every
 * `image` of every pod template the chart renders (the operator, the helm test pod) and every image the
 * operator is told to run (`NEROPS_IMAGE`: inference servers, validation and retraining Jobs). The chart
 * is rendered with your values, so a `image.registry` / `image.digest` override is what is printed.
 *
 *   npm run images                                   # the chart's defaults
 *   npm run images -- --values my-values.yaml        # any `helm template` flags pass through
 *
 * Images a DriftPolicy's own `spec.retraining.template` names are the tenant's, not the chart's: list them
 * yourself (the operator's `--allowed-registries` decides which may run).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import yaml from 'js-yaml';
import { repoRoot } from '../local-cluster/paths.js';
import { helmBinary, NAMESPACE, RELEASE, renderKubeVersion } from './gen-install.js';

/** Env vars whose value is an image the operator runs. */
const IMAGE_ENV = new Set(['NEROPS_IMAGE']);

/** Every image named in rendered manifests (containers, init containers, image env vars), sorted, once each. */
export function imagesOf(manifests: string): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    // A container: a name and an image string.
    if (typeof o.image === 'string' && typeof o.name === 'string') found.add(o.image);
    if (typeof o.name === 'string' && IMAGE_ENV.has(o.name) && typeof o.value === 'string' && o.value)
      found.add(o.value);
    Object.values(o).forEach(walk);
  };
  for (const doc of yaml.loadAll(manifests)) walk(doc);
  return [...found].sort();
}

function main(argv: string[]): number {
  const out = execFileSync(
    helmBinary(),
    [
      'template',
      RELEASE,
      join(repoRoot, 'charts', 'nerops'),
      '--namespace',
      NAMESPACE,
      '--kube-version',
      renderKubeVersion(),
      ...argv,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  for (const image of imagesOf(out)) console.log(image);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main(process.argv.slice(2));
