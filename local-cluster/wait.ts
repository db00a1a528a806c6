/** Polling helpers for start-up: wait until a component answers, and fail with its log tail if it died. */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { ManagedProcess } from './supervisor.js';

/** The last `lines` lines of a log file, for error messages. */
export function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `check` every `intervalMs` until it returns true. Throws with the log tail of `proc` if the
 * process exits first, or after `timeoutMs`.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; proc?: ManagedProcess },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.proc?.exitInfo) {
      throw new Error(
        `${what}: ${opts.proc.name} exited (${JSON.stringify(opts.proc.exitInfo)}); log ${opts.proc.logFile}:\n${logTail(opts.proc.logFile)}`,
      );
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: not ready after ${opts.timeoutMs} ms${opts.proc ? `; log ${opts.proc.logFile}:\n${logTail(opts.proc.logFile)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

/** TLS material for {@link httpsOk}. */
export interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** For components whose serving cert is self-signed (controller-manager, scheduler). */
  insecure?: boolean;
}

/** True when GET `url` answers 200. */
export function httpsOk(url: string, tls: TlsOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: 'GET', ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
