/**
 * `npm run cluster:up` / `npm run cluster:down`: a full-profile cluster in the background.
 *
 *   node dist/local-cluster/cli.js up [--profile full|real]
 *                                         start (or report) the cluster, print kubeconfig and Prometheus URL
 *   node dist/local-cluster/cli.js down    stop it and every process it started
 *   node dist/local-cluster/cli.js daemon  (internal) the background process that owns the cluster
 *
 * State lives in $NEROPS_CLUSTER_DIR (default <repo>/.cache/cluster): kubeconfig, cluster.json,
 * logs/, pids/, and daemon.pid for the owner process.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBinaries } from './binaries.js';
import { startCluster, type ClusterInfo, type ClusterProfile } from './cluster.js';
import { repoRoot } from './paths.js';
import { sweepRealNode } from './real-node.js';
import { isRunning, killRecordedGroups } from './supervisor.js';
import { logTail } from './wait.js';

const stateDir = process.env.NEROPS_CLUSTER_DIR ?? join(repoRoot, '.cache', 'cluster');
const pidFile = join(stateDir, 'daemon.pid');
const infoFile = join(stateDir, 'cluster.json');
const failedFile = join(stateDir, 'failed');
const daemonLog = join(stateDir, 'daemon.log');

const alive = isRunning;

function daemonPid(): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 1 && alive(pid) ? pid : undefined;
}

function printInfo(info: ClusterInfo): void {
  console.log(`cluster ready (${info.profile} profile, started in ${(info.startMs / 1000).toFixed(1)} s)`);
  console.log(`  kubeconfig:  ${info.kubeconfigPath}`);
  console.log(`  prometheus:  ${info.prometheusUrl ?? '(none)'}`);
  console.log(`  apiserver:   ${info.apiserverUrl}`);
  console.log(
    `  nodes:       ${[...info.kwokNodeNames, info.processNodeName, info.realNodeName].filter(Boolean).join(', ')}`,
  );
  console.log(`  logs:        ${info.logDir}`);
  console.log(`\n  export KUBECONFIG=${info.kubeconfigPath}\n  npm run cluster:down   # stops everything`);
}

/** `--profile full|real` (default full). */
function profileArg(args: string[]): ClusterProfile {
  const i = args.indexOf('--profile');
  const value = i >= 0 ? args[i + 1] : (process.env.NEROPS_CLUSTER_PROFILE ?? 'full');
  if (value !== 'full' && value !== 'real')
    throw new Error(`cluster:up: --profile must be full or real, not ${String(value)}`);
  return value;
}

async function up(): Promise<number> {
  const profile = profileArg(process.argv.slice(3));
  if (daemonPid() && existsSync(infoFile)) {
    printInfo(JSON.parse(readFileSync(infoFile, 'utf8')) as ClusterInfo);
    return 0;
  }
  // Leftovers of a crashed run: kill its processes before reusing the directory.
  killRecordedGroups(stateDir);
  await sweepRealNode(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  // Build missing binaries in the foreground, where the progress is visible.
  await ensureBinaries((l) => process.stderr.write(l));
  const out = openSync(daemonLog, 'a');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'daemon'], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, NEROPS_CLUSTER_DIR: stateDir, NEROPS_CLUSTER_PROFILE: profile },
  });
  child.unref();
  // The real profile's first start saves the images for its node: give it longer.
  const deadline = Date.now() + (profile === 'real' ? 600_000 : 120_000);
  while (Date.now() < deadline) {
    if (existsSync(infoFile)) {
      printInfo(JSON.parse(readFileSync(infoFile, 'utf8')) as ClusterInfo);
      return 0;
    }
    if (existsSync(failedFile) || child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`cluster:up failed; ${daemonLog}:\n${logTail(daemonLog, 40)}`);
  await down();
  return 1;
}

async function daemon(): Promise<number> {
  writeFileSync(pidFile, `${process.pid}\n`);
  const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`);
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  try {
    cluster = await startCluster({ profile: profileArg([]), stateDir, log });
  } catch (err) {
    console.error(err);
    writeFileSync(failedFile, String(err));
    return 1;
  }
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, () => resolve());
  });
  log('stopping');
  await cluster.stop();
  rmSync(infoFile, { force: true });
  rmSync(pidFile, { force: true });
  return 0;
}

async function down(): Promise<number> {
  const pid = daemonPid();
  if (pid) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  // Whatever the daemon did not stop (it crashed, or hung) dies here.
  const leftovers = killRecordedGroups(stateDir);
  if (leftovers.length) console.log(`killed leftover processes: ${leftovers.join(', ')}`);
  const swept = await sweepRealNode(stateDir);
  if (swept.length) console.log(`removed what the real node left: ${swept.join(', ')}`);
  rmSync(infoFile, { force: true });
  rmSync(pidFile, { force: true });
  console.log(pid ? 'cluster stopped' : 'no cluster was running');
  return 0;
}

const commands: Record<string, () => Promise<number>> = { up, down, daemon };
const cmd = commands[process.argv[2] ?? ''];
if (!cmd) {
  console.error('usage: cli.js up|down');
  process.exitCode = 2;
} else {
  cmd().then(
    // Exit explicitly: the daemon's watches and timers would otherwise keep it alive after stop().
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
