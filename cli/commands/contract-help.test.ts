/**
 * The commands the operator runs document every flag and variable of their contract (contracts/) in --help,
 * so the help text, written out for readability, cannot fall behind the contract.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Command } from '../command.js';
import { ModelSourceEnv } from '../../contracts/model-source-env.js';
import { ServeEnv, ServeEnvFallback, ServeFlag } from '../../contracts/serve.js';
import { DeleteBundlesFlag, FetchModelFlag, RetrainFlag, ValidateFlag } from '../../contracts/task-commands.js';
import { PVC_ROOT_ENV } from '../../contracts/retraining-job.js';
import deleteBundles from './delete-bundles.js';
import { RetrainingEnv } from '../../contracts/retraining-job.js';
import fetchModel from './fetch-model.js';
import retrain from './retrain.js';
import serve from './serve.js';
import validate from './validate.js';

afterEach(() => vi.restoreAllMocks());

async function helpOf(command: Command): Promise<string> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  expect(await command(['--help'])).toBe(0);
  return log.mock.calls.map((c) => String(c[0])).join('\n');
}

const flag = (name: string) => new RegExp(`--${name}\\b(?!-)`);
const variable = (name: string) => new RegExp(`\\b${name}\\b`);

describe('--help covers the contract', () => {
  it('serve', async () => {
    const help = await helpOf(serve);
    for (const f of Object.values(ServeFlag)) expect(help).toMatch(flag(f));
    // LOG_LEVEL, the generic fallback of NEROPS_LOG_LEVEL, is not mentioned in the help.
    for (const name of [...Object.values(ServeEnv), ServeEnvFallback.port, ServeEnvFallback.namespace])
      expect(help).toMatch(variable(name));
  });

  it('fetch-model', async () => {
    const help = await helpOf(fetchModel);
    for (const f of Object.values(FetchModelFlag)) expect(help).toMatch(flag(f));
    for (const name of [
      ModelSourceEnv.digest,
      ModelSourceEnv.tokenFile,
      ModelSourceEnv.caFile,
      ModelSourceEnv.allowInsecureHttp,
      ModelSourceEnv.maxBytes,
      ModelSourceEnv.fetchDeadlineMs,
    ])
      expect(help).toMatch(variable(name));
  });

  it('validate', async () => {
    const help = await helpOf(validate);
    for (const f of Object.values(ValidateFlag)) expect(help).toMatch(flag(f));
    for (const name of [ModelSourceEnv.maxBytes, ModelSourceEnv.fetchDeadlineMs]) expect(help).toMatch(variable(name));
  });

  it('retrain', async () => {
    const help = await helpOf(retrain);
    for (const f of Object.values(RetrainFlag)) expect(help).toMatch(flag(f));
    for (const name of Object.values(RetrainingEnv)) expect(help).toMatch(variable(name));
    for (const name of [ModelSourceEnv.maxBytes, ModelSourceEnv.fetchDeadlineMs, ModelSourceEnv.allowInsecureHttp])
      expect(help).toMatch(variable(name));
  });

  it('delete-bundles', async () => {
    const help = await helpOf(deleteBundles);
    for (const f of Object.values(DeleteBundlesFlag)) expect(help).toMatch(flag(f));
    expect(help).toMatch(variable(PVC_ROOT_ENV));
  });
});
