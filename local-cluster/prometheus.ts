/**
 * Prometheus (Debian's `prometheus` binary, run by the harness, never as a system service) scraping
 * the pods on the process node through a file_sd target list that the process node keeps current
 * (see scrape-targets.ts for why and for the port rules).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { FileSdGroup } from './scrape-targets.js';
import type { ManagedProcess, Supervisor } from './supervisor.js';
import { waitFor } from './wait.js';

/** Scrape and evaluation interval: short, so tests see fresh samples within seconds. */
export const SCRAPE_INTERVAL = '1s';

export function prometheusConfig(targetsFile: string): string {
  const config = {
    global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: SCRAPE_INTERVAL, scrape_timeout: SCRAPE_INTERVAL },
    scrape_configs: [{ job_name: 'pods', file_sd_configs: [{ files: [targetsFile], refresh_interval: '5s' }] }],
  };
  // JSON is valid YAML.
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Replaces the target list atomically (write + rename), so Prometheus never reads half a file. */
export async function writeTargets(targetsFile: string, groups: FileSdGroup[]): Promise<void> {
  const tmp = `${targetsFile}.tmp`;
  await writeFile(tmp, `${JSON.stringify(groups, null, 2)}\n`);
  await rename(tmp, targetsFile);
}

/** `$NEROPS_PROMETHEUS_BIN`, else `prometheus` on PATH; throws with the install command when absent. */
export function prometheusBinary(): string {
  const override = process.env.NEROPS_PROMETHEUS_BIN;
  if (override) return override;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'prometheus');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    'prometheus not found on PATH: apt-get install -y --no-install-recommends prometheus (or set NEROPS_PROMETHEUS_BIN)',
  );
}

/** `host`: where it listens (127.0.0.1 by default; the real profile's node IP, so pods reach it). */
export async function startPrometheus(opts: {
  sup: Supervisor;
  dir: string;
  port: number;
  targetsFile: string;
  host?: string;
}): Promise<{ proc: ManagedProcess; url: string }> {
  const dir = join(opts.dir, 'prometheus');
  await mkdir(join(dir, 'data'), { recursive: true });
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, prometheusConfig(opts.targetsFile));
  const host = opts.host ?? '127.0.0.1';
  const url = `http://${host}:${opts.port}`;
  const proc = opts.sup.start('prometheus', prometheusBinary(), [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=${host}:${opts.port}`,
    '--storage.tsdb.retention.time=1d',
    '--log.level=warn',
  ]);
  await waitFor('prometheus', async () => (await fetch(`${url}/-/ready`)).ok, {
    timeoutMs: 30_000,
    intervalMs: 200,
    proc,
  });
  return { proc, url };
}
