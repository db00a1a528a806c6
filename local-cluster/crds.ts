/**
 * CustomResourceDefinitions into a cluster, for tests, benches and anything else that runs the operator
 * without the chart: server-side apply as raw JSON, then wait until each is Established and served.
 * Raw, because client-node's typed clients serialize through model classes that silently drop
 * `x-kubernetes-validations`, `enum` and `default` from plain YAML.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { KubeClient } from '../operator/runtime/kube.js';
import { repoRoot } from './paths.js';
import { waitFor } from './wait.js';

/** A CRD manifest as plain JSON (YAML loaded, or an object literal in a test). */
export type CrdManifest = KubernetesObject & Record<string, unknown>;

/** The project's CRDs, as generated into crds/. */
export function projectCrds(): CrdManifest[] {
  return readdirSync(join(repoRoot, 'crds'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => yaml.load(readFileSync(join(repoRoot, 'crds', f), 'utf8')) as CrdManifest);
}

interface CrdStatus {
  spec?: { group?: string; names?: { plural?: string }; versions?: Array<{ name: string; served?: boolean }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** Applies `crds` (default: the project's) and resolves once every one is Established and its API answers. */
export async function applyCrds(
  kc: KubeConfig,
  crds: CrdManifest[] = projectCrds(),
  fieldManager = 'nerops-test',
): Promise<void> {
  const kube = new KubeClient(kc);
  const path = (crd: CrdManifest) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata?.name}`;
  try {
    for (const crd of crds) {
      await kube.request({
        method: 'PATCH',
        path: path(crd),
        query: { fieldManager, force: true },
        body: crd,
        contentType: 'application/apply-patch+yaml',
      });
    }
    for (const crd of crds) {
      await waitFor(
        `CRD ${crd.metadata?.name} Established`,
        async () => {
          const got = await kube.request<CrdStatus>({ method: 'GET', path: path(crd) });
          return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      // Established can precede the first successful list by a moment.
      const spec = (crd as CrdStatus).spec;
      const version = spec?.versions?.find((v) => v.served !== false)?.name;
      await waitFor(
        `CRD ${crd.metadata?.name} served`,
        () =>
          kube
            .request({
              method: 'GET',
              path: `/apis/${spec?.group}/${version}/${spec?.names?.plural}`,
              query: { limit: 1 },
            })
            .then(() => true),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    }
  } finally {
    kube.close();
  }
}
