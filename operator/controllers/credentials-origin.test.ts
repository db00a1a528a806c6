import { describe, expect, it } from 'vitest';
import { ALLOWED_ORIGINS_ANNOTATION } from '../api/nermodel-constants.js';
import { checkSourceCredentials, originOf, parseAllowedOrigins, type SecretMetadata } from './credentials-origin.js';

const secret = (allowed?: string): SecretMetadata => ({
  name: 'store',
  annotations: allowed === undefined ? {} : { [ALLOWED_ORIGINS_ANNOTATION]: allowed },
});

describe('originOf', () => {
  it('normalizes scheme, host case and default ports; other schemes have no origin', () => {
    expect(originOf('https://Models.Example.ORG:443/a/b?x=1')).toBe('https://models.example.org');
    expect(originOf('HTTP://s3.internal:80/bucket/')).toBe('http://s3.internal');
    expect(originOf('https://s3.internal:9000/bucket/')).toBe('https://s3.internal:9000');
    expect(originOf('https://[::1]:8443/x')).toBe('https://[::1]:8443');
    expect(originOf('pvc://claim/path')).toBeUndefined();
    expect(originOf('file:///models/x')).toBeUndefined();
    expect(originOf('https://')).toBeUndefined();
  });
});

describe('parseAllowedOrigins', () => {
  it('takes comma or space separated origins, normalized, and sets aside what is not an origin', () => {
    expect(
      parseAllowedOrigins(
        'https://models.example.org, https://S3.internal:9000/\nhttp://legacy:8080 https://models.example.org:443',
      ),
    ).toEqual({
      origins: ['https://models.example.org', 'https://s3.internal:9000', 'http://legacy:8080'],
      invalid: [],
    });
    expect(
      parseAllowedOrigins('models.example.org *.example.org https://h/path https://u:p@h https://h?x ftp://h').origins,
    ).toEqual([]);
    expect(parseAllowedOrigins(undefined)).toEqual({ origins: [], invalid: [] });
  });
});

describe('checkSourceCredentials', () => {
  const uri = 'https://models.example.org/bundles/m1/';

  it('allows a Secret whose annotation lists the URI origin, in any normalized spelling', () => {
    expect(checkSourceCredentials({ uri, secret: secret('https://MODELS.example.org:443') })).toBeUndefined();
    expect(
      checkSourceCredentials({ uri, secret: secret('https://a.example, https://models.example.org') }),
    ).toBeUndefined();
  });

  it('refuses a Secret without the annotation, one listing other origins, and a missing one', () => {
    const none = checkSourceCredentials({ uri, secret: secret() });
    expect(none?.reason).toBe('CredentialsOriginRefused');
    expect(none?.message).toContain('Secret store does not allow its token to be sent to https://models.example.org');
    expect(none?.message).toContain(`no ${ALLOWED_ORIGINS_ANNOTATION} annotation`);
    const other = checkSourceCredentials({
      uri,
      secret: secret('https://models.example.org:8443, https://evil.example'),
    });
    expect(other?.reason).toBe('CredentialsOriginRefused');
    expect(other?.message).toContain('it allows only https://models.example.org:8443, https://evil.example');
    expect(checkSourceCredentials({ uri, secret: { name: 'store', missing: true } })?.reason).toBe(
      'CredentialsOriginRefused',
    );
  });

  it('refuses a token over plain http without the explicit opt-in, and then still wants the http origin listed', () => {
    const plain = 'http://s3.internal:9000/m1/';
    const listed = secret('http://s3.internal:9000');
    const insecure = checkSourceCredentials({ uri: plain, secret: listed });
    expect(insecure?.reason).toBe('InsecureCredentials');
    expect(insecure?.message).toContain('Secret store would be sent in clear to http://s3.internal:9000');
    expect(checkSourceCredentials({ uri: plain, secret: listed, allowInsecureHttp: true })).toBeUndefined();
    // The https origin of the same host does not consent to http.
    expect(
      checkSourceCredentials({ uri: plain, secret: secret('https://s3.internal:9000'), allowInsecureHttp: true })
        ?.reason,
    ).toBe('CredentialsOriginRefused');
  });

  it('has nothing to check without a Secret or for pvc:// and file:// sources (no token leaves the cluster)', () => {
    expect(checkSourceCredentials({ uri })).toBeUndefined();
    expect(checkSourceCredentials({ uri: 'pvc://models/m1', secret: secret() })).toBeUndefined();
    expect(checkSourceCredentials({ uri: 'http://s3.internal/m1/' })).toBeUndefined();
  });
});
