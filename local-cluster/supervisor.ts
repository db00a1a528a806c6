/**
 * Starts and stops the cluster's processes so that none outlives the cluster:
 * - each process leads its own process group (detached), so a stop signals everything it forked;
 * - each group's id is in `<stateDir>/pids/<name>.pid` while it runs, so `cluster:down` (another
 *   process) can kill what a crashed harness left behind;
 * - a watchdog shell polls the harness pid and SIGKILLs every group in the pid directory when the
 *   harness dies without cleaning up (SIGKILL, OOM, a crashed test runner).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How a process ended: `code` is null when a signal killed it. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A process started by {@link Supervisor.start}. */
export interface ManagedProcess {
  name: string;
  pid: number;
  stopLast: boolean;
  logFile: string;
  child: ChildProcess;
  /** Resolves once the process has exited (never rejects). */
  exited: Promise<ExitInfo>;
  /** Undefined while running. */
  exitInfo?: ExitInfo;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Log file; defaults to `<stateDir>/logs/<name>.log`. stdout and stderr both go there. */
  logFile?: string;
  /** Stop this one only after all others in {@link Supervisor.stopAll} (etcd: the others depend on it). */
  stopLast?: boolean;
}

// A SIGKILLed harness whose parent never reaps it stays a zombie, and kill -0 succeeds on zombies:
// the loop reads the process state instead (empty once the process is gone).
const WATCHDOG = `
harness=$1 piddir=$2
state() { sed -n 's/^State:[[:space:]]*\\([A-Z]\\).*/\\1/p' "/proc/$harness/status" 2>/dev/null; }
while s=$(state) && [ -n "$s" ] && [ "$s" != Z ]; do sleep 0.5; done
for f in "$piddir"/*.pid; do
  # dash: a negative pid names a process group, and "--" is not understood.
  [ -f "$f" ] && kill -9 "-$(cat "$f")" 2>/dev/null
done
exit 0`;

/** True while `pid` exists and is not a zombie (a dead process nobody has reaped). */
export function isRunning(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return !/^State:\s*Z/m.test(status);
  } catch {
    return false;
  }
}

/** Sends `signal` to the process group `pgid`; false when it no longer exists. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills every process group recorded under `<stateDir>/pids`, for `cluster:down` and for crash
 * cleanup. Returns the names it signalled.
 */
export function killRecordedGroups(stateDir: string, signal: NodeJS.Signals = 'SIGKILL'): string[] {
  const dir = join(stateDir, 'pids');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.pid'));
  } catch {
    return [];
  }
  const killed: string[] = [];
  for (const f of files) {
    const pgid = Number(readFileSync(join(dir, f), 'utf8').trim());
    if (Number.isInteger(pgid) && pgid > 1 && killGroup(pgid, signal)) killed.push(f.replace(/\.pid$/, ''));
    if (signal === 'SIGKILL') rmSync(join(dir, f), { force: true });
  }
  return killed;
}

export class Supervisor {
  readonly #pidDir: string;
  readonly #logDir: string;
  readonly #procs: ManagedProcess[] = [];
  #watchdog: ChildProcess | undefined;

  constructor(readonly stateDir: string) {
    this.#pidDir = join(stateDir, 'pids');
    this.#logDir = join(stateDir, 'logs');
    mkdirSync(this.#pidDir, { recursive: true });
    mkdirSync(this.#logDir, { recursive: true });
  }

  /** Starts the watchdog that cleans up after this process if it dies; call once, before {@link start}. */
  armWatchdog(): void {
    if (this.#watchdog) return;
    this.#watchdog = spawn('sh', ['-c', WATCHDOG, 'nerops-watchdog', String(process.pid), this.#pidDir], {
      detached: true,
      stdio: 'ignore',
    });
    // The watchdog must not keep the harness's event loop alive.
    this.#watchdog.unref();
  }

  /** Starts `command` in its own process group with output to a log file. */
  start(name: string, command: string, args: string[], opts: StartOptions = {}): ManagedProcess {
    const logFile = opts.logFile ?? join(this.#logDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: opts.env ?? process.env,
        cwd: opts.cwd,
      });
    } finally {
      closeSync(fd);
    }
    const pidFile = join(this.#pidDir, `${name}.pid`);
    const proc: ManagedProcess = {
      name,
      stopLast: opts.stopLast ?? false,
      pid: child.pid ?? -1,
      logFile,
      child,
      exited: new Promise<ExitInfo>((resolve) => {
        const done = (info: ExitInfo): void => {
          if (proc.exitInfo) return;
          proc.exitInfo = info;
          // The group leader is gone; stray children of a crashed component die with it.
          if (proc.pid > 0) killGroup(proc.pid, 'SIGKILL');
          rmSync(pidFile, { force: true });
          resolve(info);
        };
        child.once('exit', (code, signal) => done({ code, signal }));
        child.once('error', () => done({ code: 127, signal: null }));
      }),
    };
    if (proc.pid > 0) writeFileSync(pidFile, `${proc.pid}\n`);
    this.#procs.push(proc);
    return proc;
  }

  /** SIGTERM to the group, then SIGKILL after `graceMs`; resolves when the leader has exited. */
  async stop(proc: ManagedProcess, graceMs = 5000): Promise<ExitInfo> {
    if (!proc.exitInfo && proc.pid > 0) {
      killGroup(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), graceMs);
      await proc.exited;
      clearTimeout(timer);
    }
    const idx = this.#procs.indexOf(proc);
    if (idx >= 0) this.#procs.splice(idx, 1);
    return proc.exited;
  }

  /** Stops everything in parallel, then the `stopLast` processes; a cluster is disposable, so speed wins over order. */
  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all(this.#procs.filter((p) => !p.stopLast).map((p) => this.stop(p, graceMs)));
    await Promise.all([...this.#procs].map((p) => this.stop(p, graceMs)));
    this.#watchdog?.kill('SIGKILL');
    this.#watchdog = undefined;
  }

  /** Synchronous last resort for signal and exit handlers: SIGKILL every group now. */
  killAllNow(): void {
    for (const proc of this.#procs) if (proc.pid > 0) killGroup(proc.pid, 'SIGKILL');
    killRecordedGroups(this.stateDir);
    this.#watchdog?.kill('SIGKILL');
  }
}
