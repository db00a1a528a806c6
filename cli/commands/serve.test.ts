import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServeEnv, ServeEnvFallback, ServeFlag } from '../../contracts/serve.js';
import serve from './serve.js';

afterEach(() => vi.restoreAllMocks());

describe('ner-ops serve --help', () => {
  it('documents every flag and environment variable of the serve contract', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await serve(['--help'])).toBe(0);
    const help = log.mock.calls.map((c) => String(c[0])).join('\n');
    for (const flag of Object.values(ServeFlag)) expect(help).toMatch(new RegExp(`--${flag}\\b(?!-)`));
    // LOG_LEVEL, the generic fallback of NEROPS_LOG_LEVEL, is not mentioned in the help.
    for (const name of [...Object.values(ServeEnv), ServeEnvFallback.port, ServeEnvFallback.namespace])
      expect(help).toMatch(new RegExp(`\\b${name}\\b`));
  });
});
