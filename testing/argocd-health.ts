/**
 * Runs the chart's Argo CD health scripts (charts/nerops/argocd/*.lua) on an object with a real Lua 5.1
 * interpreter — the language version of Argo CD's gopher-lua — the way Argo CD does: the object as the
 * global `obj`, the script's returned table read for `status` and `message`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type ArgoHealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
export interface ArgoHealth {
  status: ArgoHealthStatus;
  message: string;
}

const SCRIPTS = {
  NerModel: 'nermodel.lua',
  NerDeployment: 'nerdeployment.lua',
  DriftPolicy: 'driftpolicy.lua',
} as const;
export type HealthKind = keyof typeof SCRIPTS;

export const healthScriptPath = (kind: HealthKind): string =>
  fileURLToPath(new URL(`../charts/nerops/argocd/${SCRIPTS[kind]}`, import.meta.url));

/** A JSON value as a Lua 5.1 table constructor (strings as decimal byte escapes: 5.1 has no \u). */
export function toLua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'nil';
  if (typeof v === 'string') {
    let out = '"';
    for (const byte of Buffer.from(v, 'utf8')) {
      const printable = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c;
      out += printable ? String.fromCharCode(byte) : `\\${String(byte).padStart(3, '0')}`;
    }
    return out + '"';
  }
  if (Array.isArray(v)) return `{${v.map(toLua).join(',')}}`;
  if (typeof v === 'object')
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `[${toLua(k)}]=${toLua(x)}`)
      .join(',')}}`;
  throw new Error(`no Lua form for a ${typeof v}`);
}

/** The health Argo CD would show for `obj` (a NerModel, NerDeployment or DriftPolicy as the API returns it). */
export async function argoHealth(kind: HealthKind, obj: unknown): Promise<ArgoHealth> {
  const program = [
    `obj = ${toLua(obj)}`,
    `local hs = dofile(${toLua(healthScriptPath(kind))})`,
    'io.write(tostring(hs.status), "\\n", tostring(hs.message or ""))',
  ].join('\n');
  const child = run('lua5.1', ['-'], { encoding: 'utf8', timeout: 10_000 });
  child.child.stdin?.end(program);
  const { stdout } = await child;
  const [status = '', ...message] = stdout.split('\n');
  return { status: status as ArgoHealthStatus, message: message.join('\n') };
}
