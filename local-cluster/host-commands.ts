/** Running host tools (ip, iptables, ctr, umount) from the harness, with their stderr in the error. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Runs `cmd args`; rejects with the command line and its stderr when it fails. */
export async function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  try {
    const env = opts.env ? { ...process.env, ...opts.env } : process.env;
    const { stdout } = await execFileAsync(cmd, args, {
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
      env,
    });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`${cmd} ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, { cause: err });
  }
}

/** Like {@link run}, but a failure is only returned (teardown goes on whatever one step says). */
export async function tryRun(cmd: string, args: string[], timeoutMs = 30_000): Promise<boolean> {
  try {
    await execFileAsync(cmd, args, { timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}
