import { describe, expect, it } from 'vitest';
import { controllerConfig } from './config.js';

describe('controllerConfig: what tenants may run', () => {
  it('defaults to the strictest policy: only the default ServiceAccount, only the operator image repository', () => {
    expect(controllerConfig({}, {}).tenant).toEqual({ allowedServiceAccounts: [], allowedImageRegistries: [] });
  });

  it('reads the flags (list text or lists), else the environment; a flag wins', () => {
    const env = { NEROPS_ALLOWED_SERVICE_ACCOUNTS: 'a,b', NEROPS_ALLOWED_IMAGE_REGISTRIES: 'ghcr.io/acme' };
    expect(controllerConfig({}, env).tenant).toEqual({
      allowedServiceAccounts: ['a', 'b'],
      allowedImageRegistries: ['ghcr.io/acme'],
    });
    expect(
      controllerConfig(
        { tenant: { allowedServiceAccounts: 'trainer', allowedImageRegistries: ['registry.local:5000'] } },
        env,
      ).tenant,
    ).toEqual({ allowedServiceAccounts: ['trainer'], allowedImageRegistries: ['registry.local:5000'] });
  });

  it('a malformed entry stops the operator with a message naming the flag', () => {
    expect(() => controllerConfig({ tenant: { allowedImageRegistries: 'ghcr.io/acme/ner:1' } }, {})).toThrow(
      /^--allowed-image-registries: 'ghcr.io\/acme\/ner:1' is not a registry or repository prefix/,
    );
    expect(() => controllerConfig({}, { NEROPS_ALLOWED_SERVICE_ACCOUNTS: 'Admin' })).toThrow(
      /^--allowed-service-accounts: 'Admin' is not a ServiceAccount name/,
    );
  });
});
