import { describe, expect, it, vi } from 'vitest';
import { CliError } from '../command.js';
import operator from './operator.js';

describe('ner-ops operator flags', () => {
  it('--help prints the options and exits 0', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await operator(['--help'])).toBe(0);
      const text = String(log.mock.calls[0]?.[0]);
      for (const flag of [
        '--kubeconfig',
        '--namespace',
        '--prometheus-url',
        '--metrics-port',
        '--leader-elect',
        '--lease-name',
        '--lease-namespace',
        '--concurrency',
        '--controllers',
        '--default-model-uri',
        '--default-model-credentials-secret',
        '--default-model-ca-configmap',
        '--default-model-credentials-origins',
      ]) {
        expect(text).toContain(flag);
      }
    } finally {
      log.mockRestore();
    }
  });

  it.each([
    [['--unknown'], /unknown/i],
    [['--leader-elect', 'maybe'], /--leader-elect must be true or false/],
    [
      ['--lease-duration-ms', '5000', '--renew-deadline-ms', '6000'],
      /retry-period-ms < --renew-deadline-ms < --lease-duration-ms/,
    ],
    [['--metrics-port', '70000'], /--metrics-port/],
    [['--concurrency', '0', '--kubeconfig', '/nonexistent'], /--concurrency must be an integer >= 1/],
    [['--prometheus-url', 'not a url'], /--prometheus-url is not a URL/],
    [['--kubeconfig', '/nonexistent/kubeconfig'], /cannot load kubeconfig/],
    [
      ['--default-model-uri', 'https://models.example/nerops'],
      /--default-model-uri must be pvc:\/\/<claim>\[\/<path>\] or file:\/\/<path> \(retraining Jobs write their bundles there and cannot write to an http\(s\) store\), got 'https:\/\/models.example\/nerops'/,
    ],
    [['--default-model-uri', 'http://store/x'], /cannot write to an http\(s\) store/],
    [['--default-model-uri', 's3://bucket/x'], /only pvc:\/\/ and file:\/\/ locations are writable/],
    [['--default-model-uri', 'pvc://Models/x'], /claim must be a lower-case DNS label/],
    [['--default-model-credentials-secret', 'Model_Token'], /--default-model-credentials-secret must be a Secret name/],
    [['--default-model-ca-configmap', 'ca bundle'], /--default-model-ca-configmap must be a ConfigMap name/],
    [
      ['--default-model-credentials-origins', 'https://models.example, models.example/path'],
      /--default-model-credentials-origins takes origins like https:\/\/models.example.org\[:port\], got 'models.example\/path'/,
    ],
    // Valid storage flags pass the flag checks (the missing kubeconfig is the next error).
    [
      [
        '--default-model-uri',
        'pvc://models/nerops/',
        '--default-model-credentials-secret',
        'store-token',
        '--default-model-ca-configmap',
        'store-ca',
        '--default-model-credentials-origins',
        'https://models.example.org,https://s3.internal:9000',
        '--kubeconfig',
        '/nonexistent',
      ],
      /cannot load kubeconfig/,
    ],
    [['--default-model-uri', 'file:///srv/models', '--kubeconfig', '/nonexistent'], /cannot load kubeconfig/],
  ])('%j is refused with a clear message', async (argv, message) => {
    const err = await operator(argv).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(message);
  });

  it('reads the storage defaults from NEROPS_DEFAULT_MODEL_* (the Helm chart sets them) and checks them the same way', async () => {
    try {
      vi.stubEnv('NEROPS_DEFAULT_MODEL_URI', 'https://models.example/nerops');
      await expect(operator(['--kubeconfig', '/nonexistent'])).rejects.toThrow(
        /--default-model-uri must be pvc:\/\/<claim>/,
      );
      vi.stubEnv('NEROPS_DEFAULT_MODEL_URI', 'pvc://models/nerops');
      vi.stubEnv('NEROPS_DEFAULT_MODEL_CA_CONFIGMAP', 'Bad_Name');
      await expect(operator(['--kubeconfig', '/nonexistent'])).rejects.toThrow(
        /--default-model-ca-configmap must be a ConfigMap name/,
      );
      // A flag wins over the environment.
      await expect(
        operator(['--kubeconfig', '/nonexistent', '--default-model-ca-configmap', 'store-ca']),
      ).rejects.toThrow(/cannot load kubeconfig/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
