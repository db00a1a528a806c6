/**
 * Local paths for the storage locations every process reads and writes (datasets, model outputs, the
 * feedback store): `file://…` and plain paths as they are; `pvc://claim/path` under the root where the pod
 * mounts its claims (`$NEROPS_PVC_ROOT/claim/path`, the way the DriftPolicy Job mounts them). One home, so
 * the retraining Job and `ner-ops serve --feedback-store` resolve the same URI to the same directory.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PVC_ROOT_ENV } from '../contracts/retraining-job.js';

/** Where pvc claims are mounted when {@link PVC_ROOT_ENV} is unset (the default Job's mount path). */
export const DEFAULT_PVC_ROOT = '/mnt/nerops/pvc/claims';

/** The pvc mount root of this process: `$NEROPS_PVC_ROOT`, else {@link DEFAULT_PVC_ROOT}. */
export function pvcRootFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const v = env[PVC_ROOT_ENV];
  return v !== undefined && v !== '' ? v : DEFAULT_PVC_ROOT;
}

/** A local path for `file://`, `pvc://claim/path` (under `pvcRoot`) or a plain path; undefined for other schemes. */
export function localPath(uri: string, pvcRoot: string): string | undefined {
  if (/^file:\/\//i.test(uri)) return fileURLToPath(uri);
  const pvc = /^pvc:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (pvc) {
    const rest = pvc[2] as string;
    // A claim path must stay inside its claim.
    if (rest.split('/').includes('..')) return undefined;
    return join(pvcRoot, pvc[1] as string, rest);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return undefined;
  return uri;
}
