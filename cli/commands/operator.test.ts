import { describe, expect, it, vi } from 'vitest';
import { CliError } from '../command.js';
import operator from './operator.js';

describe('ner-ops operator flags', () => {
  it('--help prints the options and exits 0', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await operator(['--help'])).toBe(0);
      const text = String(log.mock.calls[0]?.[0]);
      for (const flag of ['--kubeconfig', '--namespace', '--prometheus-url', '--metrics-port', '--leader-elect', '--lease-name', '--lease-namespace', '--concurrency', '--controllers']) {
        expect(text).toContain(flag);
      }
    } finally {
      log.mockRestore();
    }
  });

  it.each([
    [['--unknown'], /unknown/i],
    [['--leader-elect', 'maybe'], /--leader-elect must be true or false/],
    [['--lease-duration-ms', '5000', '--renew-deadline-ms', '6000'], /retry-period-ms < --renew-deadline-ms < --lease-duration-ms/],
    [['--metrics-port', '70000'], /--metrics-port/],
    [['--concurrency', '0', '--kubeconfig', '/nonexistent'], /--concurrency must be an integer >= 1/],
    [['--prometheus-url', 'not a url'], /--prometheus-url is not a URL/],
    [['--kubeconfig', '/nonexistent/kubeconfig'], /cannot load kubeconfig/],
  ])('%j is refused with a clear message', async (argv, message) => {
    const err = await operator(argv).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(message);
  });
});
