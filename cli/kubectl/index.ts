/**
 * The `kubectl ner` command set (installed as `kubectl-ner`, so kubectl finds it as a plugin). Parses the
 * flags kubectl users expect, connects with their kubeconfig and RBAC, runs one subcommand, and turns API
 * errors into one line naming the missing permission or object (errors.ts, with the exit codes).
 */
import { CliError, parseCommandArgs } from '../command.js';
import { ApiError, NerClient, type ConnectionFlags } from './client.js';
import { EXIT, explainApiError } from './errors.js';
import { get, kindOf } from './get.js';
import { parseTimeout, status } from './status.js';
import { ACTIONS, rolloutAction } from './actions.js';
import { approve } from './approve.js';
import { history } from './history.js';

export const USAGE = `usage: kubectl ner <command> [NAME] [flags]

commands:
  get [models|deployments|policies] [NAME] [-w]   tables of nerops objects (-w: watch)
  status NAME [--timeout 10m]                      wait for a NerDeployment: exit 0 Healthy/promoted,
                                                   1 Degraded or RolledBack, 2 timeout
  promote|abort|pause|resume|retry NAME            control a NerDeployment's rollout
  approve NAME [--comment TEXT] [--step N]         approve the waiting step (NerDeployment) or the
                                                   parked retraining (DriftPolicy), in your own name
  history NAME                                     rollouts (with approvers) and model lineage

flags: --kubeconfig FILE, --context NAME, -n/--namespace NS, --as USER, --as-group GROUP
exit codes: 0 ok, 1 error, 2 usage, 3 forbidden, 4 not found (status: 0/1/2 as above)`;

const OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  as: { type: 'string' },
  'as-group': { type: 'string', multiple: true },
  watch: { type: 'boolean', short: 'w' },
  timeout: { type: 'string' },
  comment: { type: 'string' },
  step: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function need(name: string | undefined, command: string): string {
  if (!name) throw new CliError(`${command}: NAME is required\n\n${USAGE}`);
  return name;
}

/** Run one `kubectl ner` invocation; resolves to the exit code. */
export async function runKubectlNer(
  argv: string[],
  out: (line: string) => void = (l) => console.log(l),
  makeClient: (f: ConnectionFlags) => NerClient = (f) => new NerClient(f),
): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE);
    return command ? EXIT.ok : EXIT.usage;
  }
  const { values: v, positionals: pos } = parseCommandArgs(`kubectl ner ${command}`, rest, OPTIONS, true);
  if (v.help) {
    out(USAGE);
    return EXIT.ok;
  }
  const flags: ConnectionFlags = {
    ...(v.kubeconfig ? { kubeconfig: v.kubeconfig } : {}),
    ...(v.context ? { context: v.context } : {}),
    ...(v.namespace ? { namespace: v.namespace } : {}),
    ...(v.as ? { as: v.as } : {}),
    ...(v['as-group'] ? { asGroups: v['as-group'] } : {}),
  };
  const step = v.step === undefined ? undefined : Number(v.step);
  if (step !== undefined && (!Number.isInteger(step) || step < 1))
    throw new CliError(`--step must be a step number >= 1, got '${v.step}'`);
  let client: NerClient | undefined;
  try {
    client = makeClient(flags);
    switch (command) {
      case 'get': {
        const kind = kindOf(pos[0]);
        if (!kind) throw new CliError(`get: unknown kind '${pos[0]}' (models, deployments or policies)`);
        await get(client, kind, pos[1], v.watch === true, out);
        return EXIT.ok;
      }
      case 'status':
        return await status(client, need(pos[0], command), parseTimeout(v.timeout ?? '10m'), out);
      case 'approve':
        await approve(
          client,
          need(pos[0], command),
          { ...(v.comment !== undefined ? { comment: v.comment } : {}), ...(step ? { step } : {}) },
          out,
        );
        return EXIT.ok;
      case 'history':
        await history(client, need(pos[0], command), out);
        return EXIT.ok;
      default:
        if (ACTIONS[command]) {
          await rolloutAction(client, command, need(pos[0], command), out);
          return EXIT.ok;
        }
        throw new CliError(`unknown command '${command}'\n\n${USAGE}`);
    }
  } catch (e) {
    if (e instanceof ApiError) {
      const { message, exitCode } = explainApiError(e, {
        namespace: client?.namespace ?? flags.namespace ?? 'default',
        ...(pos[0] ? { what: `${command === 'get' ? (pos[1] ?? '') : pos[0]}` } : {}),
        approving: command === 'approve',
      });
      throw new CliError(message, exitCode);
    }
    throw e;
  }
}
