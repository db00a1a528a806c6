/**
 * `ner-ops serve` as a child process on a free loopback port, for the benches that measure a server
 * from outside (its own process, its own RSS): resolved once `/readyz` answers, with a stop that waits
 * for the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVE_COMMAND, ServeFlag, flagArg } from '../contracts/serve.js';
import { freePorts } from '../local-cluster/ports.js';

const here = dirname(fileURLToPath(import.meta.url));
const isTs = import.meta.url.endsWith('.ts');
/** The CLI next to this module: the sources under tsx, dist/ when built. */
const cli = join(here, '..', 'cli', `ner-ops.${isTs ? 'ts' : 'js'}`);

export interface ServeChild {
  proc: ChildProcess;
  url: string;
  /** SIGTERM, then the exit code once the process is gone. */
  stop(): Promise<number | null>;
}

export interface ServeChildOptions {
  /** `--log-level` (default `warn`: the benches print their own numbers). */
  logLevel?: string;
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

/** Start `ner-ops serve --model <modelDir> <extra…>` on 127.0.0.1 and wait until it is ready. */
export async function startServeChild(
  modelDir: string,
  extra: readonly string[] = [],
  opts: ServeChildOptions = {},
): Promise<ServeChild> {
  const [port] = (await freePorts(1)) as [number];
  const proc = spawn(
    process.execPath,
    [
      ...process.execArgv,
      cli,
      SERVE_COMMAND,
      flagArg(ServeFlag.model),
      modelDir,
      flagArg(ServeFlag.host),
      '127.0.0.1',
      flagArg(ServeFlag.port),
      String(port),
      flagArg(ServeFlag.logLevel),
      opts.logLevel ?? 'warn',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], ...(opts.env ? { env: opts.env } : {}) },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<number | null>((resolve) => {
      if (proc.exitCode !== null) return resolve(proc.exitCode);
      proc.once('exit', (code) => resolve(code));
      proc.kill('SIGTERM');
    });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`ner-ops serve exited with ${proc.exitCode}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { proc, url, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error('ner-ops serve did not become ready');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
