/**
 * Vitest global setup of the `cluster` and `real` projects: one cluster for all of the project's test
 * files, of the full profile, or of the real profile for the project named `real`. The `real` project
 * runs on the local real node, or on kind with NEROPS_CLUSTER_PROVIDER=kind (scripts/e2e-kind.sh):
 * the same scenario files on either provider.
 * Test files read it with `inject('cluster')` (see testing.ts); the cluster stops after the run.
 */
import type { TestProject } from 'vitest/node';
import { describe as describeCluster, startCluster, type ClusterInfo } from './cluster.js';
import { kindOptionsFromEnv, startKindCluster, type ScenarioCluster } from './kind.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The cluster started for this test run (local-cluster/global-setup.ts). */
    cluster: ClusterInfo;
  }
}

async function start(project: TestProject, log: ((l: string) => void) | undefined): Promise<ScenarioCluster> {
  const provider = process.env.NEROPS_CLUSTER_PROVIDER ?? 'local';
  if (provider !== 'local' && provider !== 'kind') {
    throw new Error(`NEROPS_CLUSTER_PROVIDER must be local or kind, not ${provider}`);
  }
  if (provider === 'kind') {
    if (project.name !== 'real') throw new Error(`the kind provider runs the real project, not ${project.name}`);
    return startKindCluster({ ...kindOptionsFromEnv(process.env), ...(log ? { log } : {}) });
  }
  const cluster = await startCluster({ profile: project.name === 'real' ? 'real' : 'full', ...(log ? { log } : {}) });
  return { info: describeCluster(cluster), stop: () => cluster.stop() };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = process.env.NEROPS_CLUSTER_VERBOSE ? (l: string) => process.stderr.write(`${l}\n`) : undefined;
  const cluster = await start(project, log);
  const { info } = cluster;
  process.stderr.write(
    `local-cluster: ${info.provider} ${info.profile} cluster ready in ${(info.startMs / 1000).toFixed(1)} s (state: ${info.stateDir})\n`,
  );
  project.provide('cluster', info);
  return () => cluster.stop();
}
