/**
 * Vitest global setup of the `cluster` and `real` projects: one cluster for all of the project's test
 * files, of the full profile, or of the real profile for the project named `real`.
 * Test files read it with `inject('cluster')` (see testing.ts); the cluster stops after the run.
 */
import type { TestProject } from 'vitest/node';
import { describe as describeCluster, startCluster, type ClusterInfo } from './cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The cluster started for this test run (local-cluster/global-setup.ts). */
    cluster: ClusterInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = process.env.NEROPS_CLUSTER_VERBOSE ? (l: string) => process.stderr.write(`${l}\n`) : undefined;
  const profile = project.name === 'real' ? 'real' : 'full';
  const cluster = await startCluster({ profile, ...(log ? { log } : {}) });
  process.stderr.write(
    `local-cluster: ${profile} profile ready in ${(cluster.startMs / 1000).toFixed(1)} s (state: ${cluster.stateDir})\n`,
  );
  project.provide('cluster', describeCluster(cluster));
  return async () => {
    await cluster.stop();
  };
}
