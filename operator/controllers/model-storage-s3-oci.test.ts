import { describe, expect, it } from 'vitest';
import { MODEL_SOURCE_URI_PATTERN, OUTPUT_URI_PATTERN } from '../api/nermodel.js';
import { credentialsTargetUri, sourceAccess, withStorageDefaults } from './model-storage.js';

describe('sourceAccess for s3:// and oci:// sources', () => {
  it('passes S3 settings as env and the keys straight from the Secret, never a token mount', () => {
    const a = sourceAccess({
      uri: 's3://models/ner/v1',
      s3: { endpoint: 'https://s3.hospital.local:9000', region: 'eu-north-1', forcePathStyle: true },
      credentialsSecretRef: { name: 's3-keys' },
    });
    expect(a.uri).toBe('s3://models/ner/v1');
    expect(a.env).toEqual([
      { name: 'NEROPS_MODEL_S3_ENDPOINT', value: 'https://s3.hospital.local:9000' },
      { name: 'NEROPS_MODEL_S3_REGION', value: 'eu-north-1' },
      { name: 'NEROPS_MODEL_S3_FORCE_PATH_STYLE', value: 'true' },
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 's3-keys', key: 'accessKeyId' } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 's3-keys', key: 'secretAccessKey' } } },
    ]);
    expect(a.volumes).toEqual([]);
    expect(a.args).toEqual([]);
  });

  it('allows a plain-http S3 endpoint with credentials only with the source consent', () => {
    const base = {
      uri: 's3://models/ner',
      s3: { endpoint: 'http://s3.lab:9000' },
      credentialsSecretRef: { name: 'k' },
    };
    expect(sourceAccess(base).args).toEqual([]);
    expect(sourceAccess({ ...base, allowInsecureHttp: true }).args).toEqual(['--allow-insecure-http']);
  });

  it('mounts a dockerconfigjson Secret for oci:// and names it in NEROPS_MODEL_REGISTRY_AUTH_FILE', () => {
    const a = sourceAccess(
      { uri: `oci://mirror.local/ner/model:v1@sha256:${'a'.repeat(64)}`, credentialsSecretRef: { name: 'pull' } },
      'model',
    );
    expect(a.volumes).toEqual([
      {
        name: 'model-credentials',
        secret: { secretName: 'pull', items: [{ key: '.dockerconfigjson', path: 'config.json' }] },
      },
    ]);
    expect(a.mounts).toHaveLength(1);
    const authEnv = a.env.find((e) => e.name === 'NEROPS_MODEL_REGISTRY_AUTH_FILE');
    expect(authEnv?.value).toBe(`${a.mounts[0]?.mountPath}/config.json`);
    expect(a.args).toEqual([]);
  });

  it('sets plain http for a registry only when asked, and credentials over it only with consent', () => {
    const uri = `oci://mirror.local:5000/ner/model@sha256:${'a'.repeat(64)}`;
    const a = sourceAccess({ uri, plainHttp: true, credentialsSecretRef: { name: 'pull' }, allowInsecureHttp: true });
    expect(a.env).toContainEqual({ name: 'NEROPS_MODEL_OCI_PLAIN_HTTP', value: 'true' });
    expect(a.args).toEqual(['--allow-insecure-http']);
    expect(sourceAccess({ uri }).env).toEqual([]);
  });

  it('checks credentials against the S3 endpoint or the registry origin', () => {
    expect(credentialsTargetUri({ uri: 's3://b/k', s3: { endpoint: 'https://s3.local:9000' } })).toBe(
      'https://s3.local:9000',
    );
    expect(credentialsTargetUri({ uri: 's3://b/k' })).toBe('https://s3.amazonaws.com');
    expect(credentialsTargetUri({ uri: `oci://r.local:5000/a/b@sha256:${'a'.repeat(64)}` })).toBe(
      'https://r.local:5000/',
    );
    expect(credentialsTargetUri({ uri: `oci://r.local/a@sha256:${'a'.repeat(64)}`, plainHttp: true })).toBe(
      'http://r.local/',
    );
  });

  it('never gives the operator default http token to s3:// or oci:// sources', () => {
    const d = { credentialsSecret: 'default-token', credentialsOrigins: ['https://s3.local:9000'] };
    const source: Parameters<typeof withStorageDefaults>[0] = { uri: 's3://b/k' };
    expect(withStorageDefaults(source, d).credentialsSecretRef).toBeUndefined();
  });
});

describe('URI patterns', () => {
  const hex = 'e'.repeat(64);
  it('a NerModel source takes s3:// and a digest-pinned oci:// reference only', () => {
    const ok = new RegExp(MODEL_SOURCE_URI_PATTERN);
    expect(ok.test('s3://models/ner/v1')).toBe(true);
    expect(ok.test('s3://models/ner/v1.tar.gz')).toBe(true);
    expect(ok.test(`oci://mirror.local:5000/models/ner:1.4.0@sha256:${hex}`)).toBe(true);
    expect(ok.test(`oci://mirror.local/models/ner@sha256:${hex}`)).toBe(true);
    expect(ok.test('oci://mirror.local/models/ner:1.4.0')).toBe(false);
    expect(ok.test('s3://A_bad_bucket/x')).toBe(false);
    expect(ok.test('gs://bucket/x')).toBe(false);
  });

  it('a retraining output takes an s3:// prefix and an oci:// repository without digest', () => {
    const ok = new RegExp(OUTPUT_URI_PATTERN);
    expect(ok.test('s3://models/retrained')).toBe(true);
    expect(ok.test('oci://mirror.local/models/retrained')).toBe(true);
    expect(ok.test(`oci://mirror.local/models/ner@sha256:${hex}`)).toBe(false);
    expect(ok.test('pvc://claim/out')).toBe(true);
  });
});

describe('operator S3 defaults', () => {
  it('fill the s3 settings an s3:// source leaves unset, and the origin the Secret is checked against', () => {
    const d = { s3: { endpoint: 'https://s3.hospital.local:9000', forcePathStyle: true, region: 'eu-north-1' } };
    const source: Parameters<typeof withStorageDefaults>[0] = { uri: 's3://models/ner', s3: { region: 'us-east-1' } };
    const out = withStorageDefaults(source, d);
    expect(out.s3).toEqual({ endpoint: 'https://s3.hospital.local:9000', forcePathStyle: true, region: 'us-east-1' });
    expect(credentialsTargetUri(out)).toBe('https://s3.hospital.local:9000');
    const http: Parameters<typeof withStorageDefaults>[0] = { uri: 'https://models.local/ner/' };
    expect(withStorageDefaults(http, d).s3).toBeUndefined();
  });
});
