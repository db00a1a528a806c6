/**
 * Pure mapping from a container spec to a local command line and environment, for process nodes.
 *
 * - `ner-ops ...` (the project image's entrypoint; also used when `command` is empty) runs
 *   `node <repo>/dist/cli/ner-ops.js ...`, so `npm run build` must have run.
 * - `node ...` runs as-is with the harness's Node binary (handy for test fixtures).
 * - Anything else is refused: a process node runs the project's code, not arbitrary images.
 */
import type { V1Container, V1EnvVar } from '@kubernetes/client-node';

export interface LocalCommand {
  command: string;
  args: string[];
}

/** Expands `$(VAR)` references the way the kubelet does; `$$(VAR)` stays literal, unknown ones stay as written. */
export function expandVars(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? env[name]! : match;
  });
}

/** A container path that a process node maps to a local one (a volume mount or the termination log). */
export interface PathMapping {
  /** Path inside the container, e.g. `/models` or `/dev/termination-log`. */
  containerPath: string;
  /** Local path standing in for it. */
  hostPath: string;
}

/**
 * Rewrites container paths in `value` to their local stand-ins: a process has no mount namespace, so
 * `--to /models/bundle` must become `--to <pod dir>/volumes/models/bundle`. A path matches a mapping
 * when it equals the container path or continues it with `/`; it may follow `=` (`--model=/models`).
 * The longest container path wins, so nested mounts work.
 */
export function mapContainerPaths(value: string, mappings: readonly PathMapping[]): string {
  const sorted = [...mappings].sort((a, b) => b.containerPath.length - a.containerPath.length);
  const rewrite = (path: string): string => {
    for (const m of sorted) {
      const base = m.containerPath.replace(/\/+$/, '') || '/';
      if (path === base) return m.hostPath;
      if (path.startsWith(base === '/' ? '/' : `${base}/`))
        return m.hostPath + path.slice(base === '/' ? 0 : base.length);
    }
    return path;
  };
  if (value.startsWith('/')) return rewrite(value);
  const eq = value.indexOf('=');
  if (eq > 0 && value[eq + 1] === '/') return value.slice(0, eq + 1) + rewrite(value.slice(eq + 1));
  if (value.startsWith('file:///')) return 'file://' + rewrite(value.slice('file://'.length));
  return value;
}

/**
 * The command line for `container`, or an error message if a process node cannot run it.
 * `env` is the container's final environment, used for `$(VAR)` expansion in command and args;
 * `mappings` rewrite container paths (volume mounts, the termination log) to local ones.
 */
export function localCommand(
  container: V1Container,
  env: Record<string, string>,
  paths: { nodeBin: string; nerOpsCli: string },
  mappings: readonly PathMapping[] = [],
): LocalCommand | { error: string } {
  // The image's entrypoint is `ner-ops`: an empty command means "ner-ops <args>".
  const argv = [...(container.command?.length ? container.command : ['ner-ops']), ...(container.args ?? [])].map((a) =>
    mapContainerPaths(expandVars(a, env), mappings),
  );
  const [head, ...rest] = argv;
  const base = head?.split('/').pop();
  if (base === 'ner-ops' || base === 'ner-ops.js') return { command: paths.nodeBin, args: [paths.nerOpsCli, ...rest] };
  if (base === 'node') return { command: paths.nodeBin, args: rest };
  return { error: `process nodes run 'ner-ops ...' or 'node ...' commands only, got '${head ?? ''}'` };
}

/** Resolves a `valueFrom` the process node cannot look up itself (ConfigMap/Secret keys); undefined if absent. */
export type RefResolver = (ref: NonNullable<V1EnvVar['valueFrom']>) => Promise<string | undefined>;

/**
 * Builds the container's environment: the `base` variables, then `envFrom`, then `env` in order
 * (later entries win, `$(VAR)` refers to earlier ones), like the kubelet.
 */
export async function containerEnv(
  container: V1Container,
  base: Record<string, string>,
  fieldRef: (path: string) => string | undefined,
  resolveRef: RefResolver,
  resolveEnvFrom: (source: NonNullable<V1Container['envFrom']>[number]) => Promise<Record<string, string>>,
): Promise<Record<string, string>> {
  const env: Record<string, string> = { ...base };
  for (const source of container.envFrom ?? []) {
    for (const [k, v] of Object.entries(await resolveEnvFrom(source))) env[`${source.prefix ?? ''}${k}`] = v;
  }
  for (const e of container.env ?? []) {
    let value: string | undefined;
    if (e.value !== undefined) value = expandVars(e.value, env);
    else if (e.valueFrom?.fieldRef) value = fieldRef(e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.resourceFieldRef) value = '0';
    else if (e.valueFrom) value = await resolveRef(e.valueFrom);
    else value = '';
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}
