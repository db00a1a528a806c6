import { describe, expect, it } from 'vitest';
import type { NerModel } from '../../api/nermodel.js';
import { desiredValidationJob, validationJobName } from './desired.js';
import { planModel, retryDelayMs, type ModelObserved } from './plan.js';
import { encodeValidationResult, type ValidationResult } from '../../../contracts/validation-result.js';
import { nerModel, taskJob } from '../../testing/builders.js';

const DIGEST = 'ab'.repeat(32);
const NOW = new Date('2025-01-01T00:00:00Z');

function model(mod: (m: NerModel) => void = () => {}): NerModel {
  return nerModel(
    {
      metadata: { uid: 'uid-1', generation: 1 },
      spec: { entityTypes: ['DISEASE', 'TREATMENT'] },
      source: { uri: 'file:///models/clinical', digest: DIGEST },
    },
    mod,
  );
}

const ready: ValidationResult = {
  resultVersion: 1,
  outcome: 'Ready',
  reason: 'Validated',
  message: 'bundle ok',
  digest: DIGEST,
  sizeBytes: 12345,
  entityTypes: ['DISEASE', 'TREATMENT'],
  metrics: { source: 'bundle', micro: { precision: 0.9, recall: 0.8, f1: 0.85, support: 10 } },
  profile: {
    documents: 3,
    tokens: 30,
    entities: 4,
    labelDistribution: { DISEASE: 0.5, TREATMENT: 0.5 },
    confidence: { bounds: [0.5, 1], counts: [1, 3, 0] },
    documentLength: { bounds: [10], counts: [3, 0] },
    unknownTokenRate: 0.1,
  },
};

function obs(o: Partial<ModelObserved> = {}): ModelObserved {
  return { model: model(), jobs: [], now: NOW, image: 'nerops:test', ...o };
}

describe('validation Job', () => {
  it('is deterministic, owned, restricted, never retried by the Job controller', () => {
    const j = desiredValidationJob(model(), { image: 'nerops:test', attempt: 0 });
    expect(j).toEqual(desiredValidationJob(model(), { image: 'nerops:test', attempt: 0 }));
    expect(j.metadata).toEqual({
      name: `clinical-v1-val-${DIGEST.slice(0, 10)}`,
      namespace: 'ns',
      labels: { 'app.kubernetes.io/managed-by': 'nerops', 'nerops.io/validates': 'clinical-v1' },
      ownerReferences: [
        {
          apiVersion: 'nerops.io/v1alpha1',
          kind: 'NerModel',
          name: 'clinical-v1',
          uid: 'uid-1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(j.spec).toMatchObject({ backoffLimit: 0, ttlSecondsAfterFinished: 86400 });
    const pod = j.spec?.template.spec;
    expect(pod?.restartPolicy).toBe('Never');
    expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const c = pod?.containers[0];
    expect(c?.command).toEqual(['ner-ops']);
    expect(c?.args).toEqual(['validate', 'file:///models/clinical', '--digest', DIGEST]);
    expect(c?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c?.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it('mounts pvc sources, credentials and CA, and passes the dataset', () => {
    const m = model((x) => {
      x.spec.source = {
        uri: 'pvc://models/clinical/v1',
        digest: DIGEST,
        credentialsSecretRef: { name: 'creds' },
        caBundleConfigMapRef: { name: 'ca', key: 'bundle.pem' },
      };
      x.spec.evaluation = { datasetUri: 'https://data.example/dev.conll' };
    });
    const c = desiredValidationJob(m, { image: 'i', attempt: 2 }).spec?.template.spec?.containers[0];
    expect(c?.args).toEqual([
      'validate',
      '/mnt/nerops/pvc/model/clinical/v1',
      '--digest',
      DIGEST,
      '--token-file',
      '/var/run/secrets/nerops/model/model/token',
      '--ca-file',
      '/etc/nerops/model-ca/model/ca.crt',
      '--dataset',
      'https://data.example/dev.conll',
    ]);
    expect(validationJobName(m, 2)).toBe(`clinical-v1-val-${DIGEST.slice(0, 10)}-2`);
  });

  it('passes the source fetch limits to validate', () => {
    const m = model((x) => (x.spec.source = { ...x.spec.source, maxBytes: 4096, fetchDeadlineSeconds: 5 }));
    const args = desiredValidationJob(m, { image: 'i', attempt: 0 }).spec?.template.spec?.containers[0]?.args;
    expect(args?.slice(-4)).toEqual(['--max-bundle-bytes', '4096', '--fetch-deadline-ms', '5000']);
  });

  describe('operator storage defaults (--default-model-credentials-secret, --default-model-ca-configmap)', () => {
    const storage = {
      credentialsSecret: 'store-token',
      caConfigMap: 'store-ca',
      credentialsOrigins: ['https://models.example', 'http://models.internal'],
    };
    const withSource = (uri: string, extra: Partial<NerModel['spec']['source']> = {}) =>
      model((x) => {
        x.spec.source = { uri, digest: DIGEST, ...extra };
      });
    const pod = (m: NerModel) => desiredValidationJob(m, { image: 'i', attempt: 0, storage }).spec?.template.spec;

    it('an https source without refs gets the default Secret (key token) and ConfigMap (key ca.crt)', () => {
      const p = pod(withSource('https://models.example/clinical/v1/'));
      expect(p?.containers[0]?.args).toEqual([
        'validate',
        'https://models.example/clinical/v1/',
        '--digest',
        DIGEST,
        '--token-file',
        '/var/run/secrets/nerops/model/model/token',
        '--ca-file',
        '/etc/nerops/model-ca/model/ca.crt',
      ]);
      expect(p?.volumes).toEqual(
        expect.arrayContaining([
          {
            name: 'model-credentials',
            secret: { secretName: 'store-token', items: [{ key: 'token', path: 'token' }] },
          },
          { name: 'model-ca', configMap: { name: 'store-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ]),
      );
      expect(p?.containers[0]?.volumeMounts?.map((m) => m.name)).toEqual(
        expect.arrayContaining(['model-credentials', 'model-ca']),
      );
    });

    it('an http source of the store gets the credentials only with allowInsecureHttp, and no CA', () => {
      const p = pod(withSource('http://models.internal/clinical.tar', { allowInsecureHttp: true }));
      expect(p?.containers[0]?.args).toEqual([
        'validate',
        'http://models.internal/clinical.tar',
        '--digest',
        DIGEST,
        '--token-file',
        '/var/run/secrets/nerops/model/model/token',
        '--allow-insecure-http',
      ]);
      expect(p?.volumes?.map((v) => v.name)).toEqual(['model-credentials', 'tmp']);
      const clear = pod(withSource('http://models.internal/clinical.tar'));
      expect(clear?.containers[0]?.args?.join(' '), 'never in clear without the opt-in').not.toMatch(/--token-file/);
      expect(clear?.volumes?.map((v) => v.name)).toEqual(['tmp']);
    });

    it('the default token goes only to the store origins: another origin is fetched anonymously', () => {
      for (const uri of [
        'https://elsewhere.example/clinical/v1/',
        'https://models.example:8443/clinical/v1/',
        'https://models.example.evil.org/v1/',
      ]) {
        const p = pod(withSource(uri));
        expect(p?.containers[0]?.args?.join(' '), uri).not.toMatch(/--token-file/);
        expect(
          p?.volumes?.some((v) => v.secret),
          uri,
        ).toBe(false);
      }
      const noOrigins = desiredValidationJob(withSource('https://models.example/v1/'), {
        image: 'i',
        attempt: 0,
        storage: { credentialsSecret: 'store-token' },
      }).spec?.template.spec;
      expect(
        noOrigins?.volumes?.some((v) => v.secret),
        'no origins configured: sent nowhere',
      ).toBe(false);
    });

    it.each(['file:///models/clinical', 'pvc://models/clinical/v1'])('%s: no defaults', (uri) => {
      const p = pod(withSource(uri));
      expect(p?.containers[0]?.args?.join(' ')).not.toMatch(/--token-file|--ca-file/);
      expect(p?.volumes?.some((v) => v.secret || v.configMap)).toBe(false);
    });

    it("the model's own refs win, each on its own", () => {
      const own = pod(
        withSource('https://models.example/v1/', { credentialsSecretRef: { name: 'mine', key: 'bearer' } }),
      );
      expect(own?.volumes).toEqual(
        expect.arrayContaining([
          { name: 'model-credentials', secret: { secretName: 'mine', items: [{ key: 'bearer', path: 'token' }] } },
          { name: 'model-ca', configMap: { name: 'store-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ]),
      );
      const ownCa = pod(withSource('https://models.example/v1/', { caBundleConfigMapRef: { name: 'my-ca' } }));
      expect(ownCa?.volumes?.find((v) => v.name === 'model-ca')?.configMap?.name).toBe('my-ca');
      expect(ownCa?.volumes?.find((v) => v.name === 'model-credentials')?.secret?.secretName).toBe('store-token');
    });

    it('without defaults nothing changes; planModel passes them through', () => {
      const m = withSource('https://models.example/v1/');
      expect(desiredValidationJob(m, { image: 'i', attempt: 0, storage: {} })).toEqual(
        desiredValidationJob(m, { image: 'i', attempt: 0 }),
      );
      expect(
        desiredValidationJob(m, { image: 'i', attempt: 0 }).spec?.template.spec?.volumes?.map((v) => v.name),
      ).toEqual(['tmp']);
      const planned = planModel(obs({ model: m, storage })).createJob;
      expect(planned).toEqual(desiredValidationJob(m, { image: 'nerops:test', attempt: 0, storage }));
    });
  });

  it('names stay within 63 characters', () => {
    const long = model((x) => (x.metadata.name = 'a'.repeat(80)));
    expect(validationJobName(long, 12).length).toBeLessThanOrEqual(63);
  });
});

describe('planModel', () => {
  it('creates the Job and reports Validating with one event', () => {
    const p = planModel(obs());
    expect(p.createJob?.metadata?.name).toBe(`clinical-v1-val-${DIGEST.slice(0, 10)}`);
    expect(p.status.phase).toBe('Validating');
    expect(p.events.map((e) => e.reason)).toEqual(['ValidationStarted']);
    expect(p.status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'ValidationPending'],
      ['Progressing', 'True', 'ValidationPending'],
      ['Degraded', 'False', 'AsExpected'],
      ['Validated', 'Unknown', 'ValidationPending'],
    ]);
  });

  it('waits while the Job runs, without creating another', () => {
    const name = validationJobName(model(), 0);
    const p = planModel(obs({ jobs: [taskJob(name)] }));
    expect(p.createJob).toBeUndefined();
    expect(p).toMatchObject({
      status: { phase: 'Validating', message: `validation Job ${name} is running` },
      events: [],
    });
  });

  it('records a Ready result: digest, size, metrics, baseline, entity types', () => {
    const name = validationJobName(model(), 0);
    const p = planModel(
      obs({ jobs: [taskJob(name, 'Complete')], terminated: { exitCode: 0, message: encodeValidationResult(ready) } }),
    );
    expect(p.status).toMatchObject({
      phase: 'Ready',
      verifiedDigest: DIGEST,
      sizeBytes: 12345,
      entityTypes: ['DISEASE', 'TREATMENT'],
      metrics: { source: 'bundle', micro: { f1: 0.85 } },
      baseline: { profileVersion: 1, documents: 3, unknownTokenRate: 0.1 },
      validatedAt: '2025-01-01T00:00:00Z',
    });
    expect(p.events.map((e) => e.reason)).toEqual(['ModelReady']);
    expect(p.requeueAfterMs).toBeUndefined();
    // Terminal: the next reconcile changes nothing.
    const again = planModel(obs({ model: model((m) => (m.status = p.status)), jobs: [] }));
    expect(again).toEqual({ status: p.status, events: [] });
  });

  it.each([
    [
      'wrong digest',
      {
        exitCode: 3,
        message: encodeValidationResult({
          resultVersion: 1,
          outcome: 'Rejected',
          reason: 'DigestMismatch',
          message: 'digest mismatch: expected …',
        }),
      },
      'Rejected',
      'DigestMismatch',
    ],
    [
      'corrupt ONNX',
      {
        exitCode: 3,
        message: encodeValidationResult({
          resultVersion: 1,
          outcome: 'Rejected',
          reason: 'CorruptModel',
          message: 'does not load',
        }),
      },
      'Rejected',
      'InvalidArtifact',
    ],
    [
      'unreachable',
      {
        exitCode: 4,
        message: encodeValidationResult({
          resultVersion: 1,
          outcome: 'Failed',
          reason: 'SourceUnreachable',
          message: 'cannot download',
        }),
      },
      'Failed',
      'FetchFailed',
    ],
    [
      'no message, exit 3',
      { exitCode: 3, message: 'some log\nner-ops validate: Rejected: boom' },
      'Rejected',
      'InvalidArtifact',
    ],
    ['no message, exit 137', { exitCode: 137 }, 'Failed', 'ValidationJobFailed'],
    [
      'entity types differ',
      { exitCode: 0, message: encodeValidationResult({ ...ready, entityTypes: ['DISEASE'] }) },
      'Rejected',
      'EntityTypesMismatch',
    ],
  ] as const)('classifies %s', (_n, terminated, phase, reason) => {
    const name = validationJobName(model(), 0);
    const p = planModel(obs({ jobs: [taskJob(name, terminated.exitCode === 0 ? 'Complete' : 'Failed')], terminated }));
    expect(p.status.phase).toBe(phase);
    expect(p.status.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason });
  });

  it('rejects below spec.evaluation.minMetrics', () => {
    const m = model((x) => (x.spec.evaluation = { datasetUri: 'file:///d.conll', minMetrics: { recall: 0.9 } }));
    const res = encodeValidationResult({ ...ready, metrics: { ...ready.metrics!, source: 'evaluation' } });
    const p = planModel(
      obs({
        model: m,
        jobs: [taskJob(validationJobName(m, 0), 'Complete')],
        terminated: { exitCode: 0, message: res },
      }),
    );
    expect(p.status).toMatchObject({
      phase: 'Rejected',
      message: 'micro recall 0.8 is below spec.evaluation.minMetrics.recall 0.9',
    });
  });

  it('retries a Failed validation with a new Job only after the back-off (no hot loop)', () => {
    const first = validationJobName(model(), 0);
    const failed = planModel(obs({ jobs: [taskJob(first, 'Failed')], terminated: { exitCode: 4 } }));
    expect(failed.status).toMatchObject({ phase: 'Failed', failedAttempts: 1 });
    expect(failed.requeueAfterMs).toBe(30_000);
    const m = model((x) => (x.status = failed.status));
    // 10 s later: nothing to do but wait the remaining 20 s.
    const early = planModel(obs({ model: m, jobs: [taskJob(first, 'Failed')], now: new Date(NOW.getTime() + 10_000) }));
    expect(early).toEqual({ status: failed.status, events: [], requeueAfterMs: 20_000 });
    // After the back-off: a second Job with its own name.
    const retry = planModel(obs({ model: m, jobs: [taskJob(first, 'Failed')], now: new Date(NOW.getTime() + 30_000) }));
    expect(retry.createJob?.metadata?.name).toBe(validationJobName(model(), 1));
    expect([1, 2, 3, 8, 20].map(retryDelayMs)).toEqual([30_000, 60_000, 120_000, 3_600_000, 3_600_000]);
  });
});

describe("credentials: the Secret's allowed origins and plain http", () => {
  const source = (uri: string, extra: Partial<NerModel['spec']['source']> = {}) =>
    model((m) => (m.spec.source = { uri, digest: DIGEST, credentialsSecretRef: { name: 'store' }, ...extra }));
  const allowing = (origins: string) => ({
    name: 'store',
    annotations: { 'nerops.io/allowed-origins': origins },
  });

  it('a Secret that allows the origin: the Job is created as before', () => {
    const m = source('https://models.example.org/m1/');
    const p = planModel(obs({ model: m, credentialsSecret: allowing('https://models.example.org') }));
    expect(p.createJob?.metadata?.name).toBe(validationJobName(m, 0));
  });

  it.each([
    [
      'a Secret without the annotation',
      'https://models.example.org/m1/',
      { name: 'store', annotations: {} },
      {},
      'CredentialsOriginRefused',
    ],
    [
      'a Secret listing another origin',
      'https://evil.example/m1/',
      allowing('https://models.example.org'),
      {},
      'CredentialsOriginRefused',
    ],
    [
      'a missing Secret',
      'https://models.example.org/m1/',
      { name: 'store', missing: true as const },
      {},
      'CredentialsOriginRefused',
    ],
    [
      'http without allowInsecureHttp',
      'http://s3.internal/m1/',
      allowing('http://s3.internal'),
      {},
      'InsecureCredentials',
    ],
  ])(
    '%s: no Job, Pending with Ready=False/Degraded=True and the reason, one Warning Event',
    (_n, uri, secret, extra, reason) => {
      const m = source(uri, extra);
      const p = planModel(obs({ model: m, credentialsSecret: secret }));
      expect(p.createJob).toBeUndefined();
      expect(p.status.phase).toBe('Pending');
      const ready = p.status.conditions?.find((c) => c.type === 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason });
      expect(p.status.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason });
      expect(ready?.message).toContain('store');
      expect(p.events).toEqual([{ type: 'Warning', reason, note: ready?.message }]);
      expect(p.requeueAfterMs, 'looked at again: the Secret is not watched').toBeGreaterThan(0);
    },
  );

  it('http with allowInsecureHttp and the http origin listed: the Job passes --allow-insecure-http', () => {
    const m = source('http://s3.internal/m1/', { allowInsecureHttp: true });
    const p = planModel(obs({ model: m, credentialsSecret: allowing('http://s3.internal') }));
    expect(p.createJob?.spec?.template.spec?.containers[0]?.args).toContain('--allow-insecure-http');
  });
});
