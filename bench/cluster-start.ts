/**
 * Start time of the full cluster profile with cached binaries (issue 4's goal: under 15 s).
 *
 *   npm run build && node dist/bench/cluster-start.js [runs=3] [profile=full]
 *
 * Prints each run's time from startCluster() to ready, and the median. Binaries must be built
 * already (scripts/build-cluster-binaries.sh): this measures start-up, not the Go build.
 */
import { findBinaries, BINARIES } from '../local-cluster/binaries.js';
import { startCluster, type ClusterProfile } from '../local-cluster/cluster.js';

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const profile = (process.argv[3] ?? 'full') as ClusterProfile;
  const missing = BINARIES.filter((b) => !findBinaries()[b]);
  if (missing.length)
    throw new Error(`binaries missing (${missing.join(', ')}); run scripts/build-cluster-binaries.sh first`);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cluster = await startCluster({ profile });
    times.push(cluster.startMs);
    console.log(`run ${i + 1}/${runs}: ${profile} profile ready in ${(cluster.startMs / 1000).toFixed(2)} s`);
    await cluster.stop();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(
    `${profile} profile start, cached binaries: median ${(median / 1000).toFixed(2)} s over ${runs} runs (min ${(sorted[0]! / 1000).toFixed(2)} s, max ${(sorted.at(-1)! / 1000).toFixed(2)} s); goal < 15 s`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
