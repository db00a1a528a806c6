import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { NerDeployment } from '../../api/nerdeployment.js';
import type { NerModel } from '../../api/nermodel.js';
import { desiredDeployment, desiredPdb, desiredService } from './desired.js';
import { requestRateQuery } from './autoscale.js';
import { resolveModel, rolloutTarget } from './model-resolution.js';
import { planDeployment, type DeploymentObserved } from './plan.js';
import { nerDeployment, nerModel, readyStatus, trackDeployment } from '../../testing/builders.js';

const DIGEST = 'cd'.repeat(32);
const NOW = new Date('2025-01-01T00:00:00Z');

function nd(mod: (x: NerDeployment) => void = () => {}): NerDeployment {
  return nerDeployment(
    { metadata: { uid: 'nd-uid', generation: 3 }, spec: { model: 'clinical-v1' }, rollout: { failureLimit: 2 } },
    mod,
  );
}

function model(name: string, mod: (m: NerModel) => void = () => {}): NerModel {
  return nerModel(
    {
      name,
      metadata: { uid: `${name}-uid`, generation: 1, creationTimestamp: new Date('2025-01-01T00:00:00Z') },
      source: { uri: 'https://models.example/clinical/', digest: DIGEST },
      status: readyStatus(),
    },
    mod,
  );
}

function liveDeployment(replicas: number, ready: number, modelName = 'clinical-v1'): V1Deployment {
  return trackDeployment({ name: 'notes-stable', model: modelName, replicas, ready, generation: 2 });
}

describe('desired children', () => {
  const d = desiredDeployment({ nd: nd(), model: model('clinical-v1'), replicas: 2, image: 'nerops:test' });

  it('Deployment: labels, selector, owner, replicas, probes, restricted security', () => {
    expect(d.metadata).toEqual({
      name: 'notes-stable',
      namespace: 'ns',
      labels: {
        'app.kubernetes.io/managed-by': 'nerops',
        'nerops.io/deployment': 'notes',
        'nerops.io/track': 'stable',
        'nerops.io/model': 'clinical-v1',
        'app.kubernetes.io/name': 'nerops-server',
        'app.kubernetes.io/instance': 'notes',
      },
      ownerReferences: [
        {
          apiVersion: 'nerops.io/v1alpha1',
          kind: 'NerDeployment',
          name: 'notes',
          uid: 'nd-uid',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(d.spec?.replicas).toBe(2);
    expect(d.spec?.selector).toEqual({ matchLabels: { 'nerops.io/deployment': 'notes', 'nerops.io/track': 'stable' } });
    const pod = d.spec?.template.spec;
    expect(pod?.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
    }
  });

  it('init container fetches into the emptyDir; the server reads it, binds the pod IP, carries metric labels', () => {
    const pod = d.spec?.template.spec;
    expect(pod?.initContainers?.[0]?.args).toEqual([
      'fetch-model',
      'https://models.example/clinical/',
      '--digest',
      DIGEST,
      '--to',
      '/models/bundle',
    ]);
    const s = pod?.containers[0];
    expect(s?.command).toEqual(['ner-ops']);
    expect(s?.args).toEqual([
      'serve',
      '--model',
      '/models/bundle',
      '--model-digest',
      DIGEST,
      '--host',
      '$(POD_IP)',
      '--port',
      '8080',
      '--metrics-port',
      '9090',
      '--shutdown-delay-ms',
      '3000',
      '--audit-log',
      'stdout',
    ]);
    expect(s?.env).toEqual([
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'NEROPS_DEPLOYMENT', value: 'notes' },
      { name: 'NEROPS_MODEL_NAME', value: 'clinical-v1' },
      { name: 'NEROPS_MODEL_VERSION', value: '1.0.0' },
      { name: 'NEROPS_TRACK', value: 'stable' },
      { name: 'TMPDIR', value: '/var/run/nerops/tmp' },
    ]);
    expect(s?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(s?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(pod?.volumes?.map((v) => v.name)).toEqual(['model', 'tmp']);
  });

  it('metrics on a port of their own: container port `metrics`, --metrics-port, and the scrape annotation point at it', () => {
    const s = d.spec?.template.spec?.containers[0];
    expect(s?.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
    expect(d.spec?.template.metadata?.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9090',
      'prometheus.io/path': '/metrics',
    });
    // Non-default ports follow the spec everywhere; the Service exposes only the API.
    const x = nd((n) => (n.spec.server = { port: 8443, metricsPort: 9443 }));
    for (const track of ['stable', 'canary'] as const) {
      const t = desiredDeployment({ nd: x, model: model('clinical-v1'), replicas: 1, image: 'i', track }).spec
        ?.template;
      const c = t?.spec?.containers[0];
      expect(c?.ports?.map((p) => [p.name, p.containerPort])).toEqual([
        ['http', 8443],
        ['metrics', 9443],
      ]);
      const args = c?.args ?? [];
      expect(args[args.indexOf('--port') + 1]).toBe('8443');
      expect(args[args.indexOf('--metrics-port') + 1]).toBe('9443');
      expect(t?.metadata?.annotations?.['prometheus.io/port']).toBe('9443');
    }
    expect(desiredService(x).spec?.ports).toEqual([{ name: 'http', port: 8443, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('tuning, resources and auth become flags and mounts', () => {
    const x = nd((n) => {
      n.spec.server = { port: 9000, metricsPort: 9100, maxBatchSize: 16, threads: 2 };
      n.spec.resources = { requests: { cpu: 1 }, limits: { memory: '2Gi' } };
      n.spec.auth = { tokenHashesSecretRef: { name: 'tokens' } };
    });
    const s = desiredDeployment({ nd: x, model: model('clinical-v1'), replicas: 1, image: 'i' }).spec?.template.spec
      ?.containers[0];
    expect(s?.args?.slice(8)).toEqual([
      '9000',
      '--metrics-port',
      '9100',
      '--shutdown-delay-ms',
      '3000',
      '--max-batch-size',
      '16',
      '--threads',
      '2',
      '--auth-token-file',
      '/etc/nerops/auth/token-hashes',
      '--audit-log',
      'stdout',
    ]);
    expect(s?.resources).toEqual({ requests: { cpu: '1' }, limits: { memory: '2Gi' } });
  });

  it('spec.feedback mounts the store claim read-write, names the writer after the pod, and scopes its tokens', () => {
    const x = nd((n) => {
      n.spec.feedback = {
        storeUri: 'pvc://datasets/feedback/notes',
        maxBytes: 1_000_000,
        segmentBytes: 100_000,
        tokenHashesSecretRef: { name: 'feedback-tokens' },
      };
    });
    const pod = desiredDeployment({ nd: x, model: model('clinical-v1'), replicas: 2, image: 'i' }).spec?.template.spec;
    const server = pod?.containers[0];
    expect(pod?.volumes).toEqual(
      expect.arrayContaining([
        { name: 'feedback-store', persistentVolumeClaim: { claimName: 'datasets' } },
        {
          name: 'feedback-auth',
          secret: { secretName: 'feedback-tokens', items: [{ key: 'token-hashes', path: 'token-hashes' }] },
        },
      ]),
    );
    expect(server?.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'feedback-store', mountPath: '/mnt/nerops/pvc/claims/datasets' },
        { name: 'feedback-auth', mountPath: '/etc/nerops/feedback-auth', readOnly: true },
      ]),
    );
    expect(server?.env).toEqual(
      expect.arrayContaining([
        { name: 'NEROPS_PVC_ROOT', value: '/mnt/nerops/pvc/claims' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ]),
    );
    expect(server?.args?.slice(-8)).toEqual([
      '--feedback-store',
      'pvc://datasets/feedback/notes',
      '--feedback-max-bytes',
      '1000000',
      '--feedback-segment-bytes',
      '100000',
      '--feedback-token-file',
      '/etc/nerops/feedback-auth/token-hashes',
    ]);
    // Without spec.feedback nothing of it appears.
    const plain = desiredDeployment({ nd: nd(), model: model('clinical-v1'), replicas: 1, image: 'i' }).spec?.template
      .spec;
    expect(JSON.stringify(plain)).not.toMatch(/feedback|"POD_NAME"/);
  });

  it('a feedback store on the claim the model is fetched from shares its volume: one claim, one volume', () => {
    const m = model('clinical-v1');
    m.spec.source = { ...m.spec.source, uri: 'pvc://models/clinical/1.0.0' };
    const x = nd((n) => (n.spec.feedback = { storeUri: 'pvc://models/feedback/notes' }));
    const pod = desiredDeployment({ nd: x, model: m, replicas: 1, image: 'i' }).spec?.template.spec;
    const claims = (pod?.volumes ?? []).filter((v) => v.persistentVolumeClaim?.claimName === 'models');
    expect(claims).toEqual([{ name: 'model-pvc', persistentVolumeClaim: { claimName: 'models', readOnly: false } }]);
    expect(pod?.initContainers?.[0]?.volumeMounts).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'model-pvc', readOnly: true })]),
    );
    expect(pod?.containers[0]?.volumeMounts).toEqual(
      expect.arrayContaining([{ name: 'model-pvc', mountPath: '/mnt/nerops/pvc/claims/models' }]),
    );
  });

  it("the NerModel's fetch limits go to fetch-model; maxRequestTokens to serve; the default memory limit is 512Mi", () => {
    const m = model('clinical-v1');
    m.spec.source = { ...m.spec.source, maxBytes: 1_000_000, fetchDeadlineSeconds: 60 };
    const x = nd((n) => (n.spec.server = { port: 8080, metricsPort: 9090, maxRequestTokens: 50_000 }));
    const pod = desiredDeployment({ nd: x, model: m, replicas: 1, image: 'i' }).spec?.template.spec;
    expect(pod?.initContainers?.[0]?.args?.slice(-4)).toEqual([
      '--max-bundle-bytes',
      '1000000',
      '--fetch-deadline-ms',
      '60000',
    ]);
    const server = pod?.containers[0];
    expect(server?.args).toEqual(expect.arrayContaining(['--max-request-tokens', '50000']));
    expect(server?.resources?.limits).toEqual({ memory: '512Mi' });
  });

  it('Service and PDB', () => {
    expect(desiredService(nd()).spec).toEqual({
      type: 'ClusterIP',
      selector: { 'nerops.io/deployment': 'notes' },
      ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }],
    });
    expect(desiredPdb(nd()).spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { 'nerops.io/deployment': 'notes', 'nerops.io/track': 'stable' } },
    });
  });

  it('is deterministic', () => {
    expect(desiredDeployment({ nd: nd(), model: model('clinical-v1'), replicas: 2, image: 'nerops:test' })).toEqual(d);
  });

  describe('operator storage defaults in fetch-model', () => {
    const storage = {
      credentialsSecret: 'store-token',
      caConfigMap: 'store-ca',
      uri: 'pvc://models/nerops',
      credentialsOrigins: ['https://models.example'],
    };
    const pod = (m: NerModel) =>
      desiredDeployment({ nd: nd(), model: m, replicas: 1, image: 'i', storage }).spec?.template.spec;

    it('an https source without refs: default Secret and CA mounted in the init container only, flags passed', () => {
      const p = pod(model('clinical-v1'));
      const fetch = p?.initContainers?.[0];
      expect(fetch?.args).toEqual([
        'fetch-model',
        'https://models.example/clinical/',
        '--digest',
        DIGEST,
        '--to',
        '/models/bundle',
        '--token-file',
        '/var/run/secrets/nerops/model/model/token',
        '--ca-file',
        '/etc/nerops/model-ca/model/ca.crt',
      ]);
      expect(p?.volumes?.slice(2)).toEqual([
        { name: 'model-credentials', secret: { secretName: 'store-token', items: [{ key: 'token', path: 'token' }] } },
        { name: 'model-ca', configMap: { name: 'store-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      ]);
      expect(fetch?.volumeMounts?.map((m) => m.name)).toEqual(['model', 'tmp', 'model-credentials', 'model-ca']);
      expect(p?.containers[0]?.volumeMounts?.map((m) => m.name)).toEqual(['model', 'tmp']);
    });

    it('own refs win; pvc:// and file:// sources get no defaults', () => {
      const own = pod(
        model(
          'clinical-v1',
          (m) =>
            (m.spec.source = {
              ...m.spec.source,
              credentialsSecretRef: { name: 'mine' },
              caBundleConfigMapRef: { name: 'my-ca', key: 'root.pem' },
            }),
        ),
      );
      expect(own?.volumes?.slice(2)).toEqual([
        { name: 'model-credentials', secret: { secretName: 'mine', items: [{ key: 'token', path: 'token' }] } },
        { name: 'model-ca', configMap: { name: 'my-ca', items: [{ key: 'root.pem', path: 'ca.crt' }] } },
      ]);
      for (const uri of ['pvc://models/clinical/v1', 'file:///models/clinical']) {
        const p = pod(model('clinical-v1', (m) => (m.spec.source = { uri, digest: DIGEST })));
        expect(p?.volumes?.some((v) => v.secret || v.configMap)).toBe(false);
        expect(p?.initContainers?.[0]?.args?.join(' ')).not.toMatch(/--token-file|--ca-file/);
      }
    });

    it('planDeployment passes them to the Deployment it applies', () => {
      const p = planDeployment({
        nd: nd(),
        models: [model('clinical-v1')],
        deployment: undefined,
        now: NOW,
        image: 'i',
        history: [],
        storage,
      });
      const dep = p.apply.find((o) => o.kind === 'Deployment') as V1Deployment;
      expect(dep.spec?.template.spec?.initContainers?.[0]?.args).toContain('--token-file');
      const without = planDeployment({
        nd: nd(),
        models: [model('clinical-v1')],
        deployment: undefined,
        now: NOW,
        image: 'i',
        history: [],
      });
      expect(
        (without.apply.find((o) => o.kind === 'Deployment') as V1Deployment).spec?.template.spec?.initContainers?.[0]
          ?.args,
      ).not.toContain('--token-file');
    });
  });
});

describe('resolveModel', () => {
  const sel = nd((n) => {
    delete n.spec.model;
    n.spec.modelSelector = { family: 'clinical' };
    n.spec.gates = { minF1: 0.8 };
  });
  it.each([
    ['pinned and Ready', nd(), [model('clinical-v1')], 'clinical-v1', 'ModelResolved'],
    ['pinned, missing', nd(), [], undefined, 'ModelNotFound'],
    [
      'pinned, not Ready',
      nd(),
      [model('clinical-v1', (m) => (m.status = { phase: 'Validating' }))],
      undefined,
      'ModelNotReady',
    ],
    [
      'family: newest passing the gates',
      sel,
      [
        model('a', (m) => (m.metadata.creationTimestamp = new Date('2025-01-01T00:00:00Z'))),
        model('b', (m) => (m.metadata.creationTimestamp = new Date('2025-01-02T00:00:00Z'))),
        model('c', (m) => {
          m.metadata.creationTimestamp = new Date('2025-01-03T00:00:00Z');
          m.status = { phase: 'Ready', metrics: { micro: { precision: 0.5, recall: 0.5, f1: 0.5 } } };
        }),
        model('d', (m) => {
          m.metadata.creationTimestamp = new Date('2025-01-04T00:00:00Z');
          m.status = { phase: 'Rejected' };
        }),
      ],
      'b',
      'ModelResolved',
    ],
    [
      'pinned, being deleted, not served yet',
      nd(),
      [model('clinical-v1', (m) => (m.metadata.deletionTimestamp = new Date('2025-01-05T00:00:00Z')))],
      undefined,
      'ModelNotReady',
    ],
    [
      'pinned, being deleted, served already (its in-use finalizer holds it)',
      nd((n) => (n.status = { stableModel: 'clinical-v1' })),
      [model('clinical-v1', (m) => (m.metadata.deletionTimestamp = new Date('2025-01-05T00:00:00Z')))],
      'clinical-v1',
      'ModelResolved',
    ],
    [
      'family: the newest is being deleted, so the next one',
      sel,
      [
        model('a', (m) => (m.metadata.creationTimestamp = new Date('2025-01-01T00:00:00Z'))),
        model('b', (m) => {
          m.metadata.creationTimestamp = new Date('2025-01-02T00:00:00Z');
          m.metadata.deletionTimestamp = new Date('2025-01-05T00:00:00Z');
        }),
      ],
      'a',
      'ModelResolved',
    ],
    [
      'family: nothing passes',
      sel,
      [
        model(
          'c',
          (m) => (m.status = { phase: 'Ready', metrics: { micro: { precision: 0.5, recall: 0.5, f1: 0.5 } } }),
        ),
      ],
      undefined,
      'NoMatchingModel',
    ],
  ] as const)('%s', (_n, x, models, name, reason) => {
    const r = resolveModel(x, models);
    expect(r.model?.metadata.name).toBe(name);
    expect(r.reason).toBe(reason);
  });
});

describe('rolloutTarget', () => {
  const deleting = (name: string) =>
    model(name, (m) => (m.metadata.deletionTimestamp = new Date('2025-01-05T00:00:00Z')));
  it('never a model being deleted that is not served yet: by selector or pin', () => {
    const sel = nd((n) => {
      delete n.spec.model;
      n.spec.modelSelector = { family: 'clinical' };
    });
    const older = model('a', (m) => (m.metadata.creationTimestamp = new Date('2025-01-01T00:00:00Z')));
    const newer = model('b', (m) => {
      m.metadata.creationTimestamp = new Date('2025-01-02T00:00:00Z');
      m.metadata.deletionTimestamp = new Date('2025-01-05T00:00:00Z');
    });
    expect(rolloutTarget(sel, [older, newer])?.metadata.name).toBe('a');
    expect(rolloutTarget(nd(), [deleting('clinical-v1')])).toBeUndefined();
    const canary = nd((n) => (n.status = { stableModel: 'x', canaryModel: 'clinical-v1' }));
    expect(rolloutTarget(canary, [deleting('clinical-v1')])?.metadata.name).toBe('clinical-v1');
  });
});

describe('planDeployment', () => {
  function obs(o: Partial<DeploymentObserved> = {}): DeploymentObserved {
    return {
      nd: nd(),
      models: [model('clinical-v1')],
      deployment: undefined,
      now: NOW,
      image: 'nerops:test',
      history: [],
      ...o,
    };
  }

  it('first reconcile: applies Deployment, Service, PDB at min replicas; Progressing; ModelDeployed event', () => {
    const p = planDeployment(obs());
    expect(p.apply.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      'Deployment/notes-stable',
      'Service/notes',
      'PodDisruptionBudget/notes',
    ]);
    expect((p.apply[0] as V1Deployment).spec?.replicas).toBe(1);
    expect(p.status).toMatchObject({
      phase: 'Progressing',
      stableModel: 'clinical-v1',
      replicas: { desired: 1, ready: 0 },
      serviceName: 'notes',
      observedGeneration: 3,
    });
    expect(p.events.map((e) => e.reason)).toEqual(['ModelDeployed']);
    expect(p.requeueAfterMs).toBeUndefined();
  });

  it('rolled out: Healthy; planning again from the written status changes nothing and emits nothing', () => {
    const first = planDeployment(obs({ deployment: liveDeployment(1, 1) }));
    expect(first.status.phase).toBe('Healthy');
    const again = planDeployment(obs({ nd: nd((x) => (x.status = first.status)), deployment: liveDeployment(1, 1) }));
    expect(again.status).toEqual(first.status);
    expect(again.events).toEqual([]);
    expect(again.apply).toEqual(first.apply);
  });

  it('model gone: keeps serving the last model, Degraded, applies the same children', () => {
    const first = planDeployment(obs({ deployment: liveDeployment(1, 1) }));
    const x = nd((n) => {
      n.spec.model = 'clinical-v2';
      n.status = first.status;
    });
    const p = planDeployment(obs({ nd: x, deployment: liveDeployment(1, 1) }));
    expect(p.apply[0]?.metadata?.labels?.['nerops.io/model']).toBe('clinical-v1');
    expect(p.status.phase).toBe('Degraded');
    expect(p.status.conditions?.find((c) => c.type === 'ModelResolved')).toMatchObject({
      status: 'False',
      reason: 'ModelNotFound',
    });
  });

  it('a hand edit of the Deployment replicas is reverted, not adopted', () => {
    const first = planDeployment(obs({ deployment: liveDeployment(1, 1) }));
    const p = planDeployment(obs({ nd: nd((x) => (x.status = first.status)), deployment: liveDeployment(3, 1) }));
    expect((p.apply[0] as V1Deployment).spec?.replicas).toBe(1);
    expect(p.status.phase).toBe('Progressing');
  });

  it('no model at all: applies nothing', () => {
    const p = planDeployment(obs({ models: [] }));
    expect(p.apply).toEqual([]);
    expect(p.status).toMatchObject({ phase: 'Degraded', replicas: { desired: 0, ready: 0 } });
  });

  describe('autoscaling', () => {
    const auto = nd(
      (n) =>
        (n.spec.autoscaling = {
          mode: 'Operator',
          targetRequestsPerSecond: 10,
          tolerance: 0.1,
          scaleUpMaxStep: 4,
          scaleDownStabilizationSeconds: 300,
          rateWindowSeconds: 30,
          onMetricsUnavailable: 'Hold',
        }),
    );

    it('scales up with the rate, records it, emits Scaled, requeues for the next measurement', () => {
      const p = planDeployment(
        obs({ nd: auto, deployment: liveDeployment(1, 1), measurement: { ok: true, rate: 31.234 } }),
      );
      expect((p.apply[0] as V1Deployment).spec?.replicas).toBe(4);
      expect(p.status).toMatchObject({
        observedRequestRate: 31.23,
        lastScaleTime: '2025-01-01T00:00:00Z',
        replicas: { desired: 4, ready: 1 },
      });
      expect(p.status.conditions?.find((c) => c.type === 'MetricsAvailable')).toMatchObject({
        status: 'True',
        reason: 'MetricsQueried',
      });
      expect(p.status.conditions?.find((c) => c.type === 'ScalingActive')).toMatchObject({
        status: 'True',
        reason: 'ScaledUp',
      });
      expect(p.events.map((e) => [e.reason, e.note])).toContainEqual([
        'Scaled',
        'scaling up 1 → 4: 31.2 req/s for a target of 10.0/replica',
      ]);
      expect(p.requeueAfterMs).toBe(10_000);
    });

    it('Prometheus down: holds the replicas, MetricsAvailable=False with the reason, one Warning', () => {
      const m = {
        ok: false as const,
        reason: 'PrometheusUnreachable',
        message: 'Prometheus at http://p is unreachable: ECONNREFUSED',
      };
      const p = planDeployment(obs({ nd: auto, deployment: liveDeployment(4, 4), measurement: m }));
      expect((p.apply[0] as V1Deployment).spec?.replicas).toBe(4);
      expect(p.status.conditions?.find((c) => c.type === 'MetricsAvailable')).toMatchObject({
        status: 'False',
        reason: 'PrometheusUnreachable',
      });
      expect(p.events.map((e) => e.reason)).toEqual(['MetricsUnavailable', 'ModelDeployed']);
      const again = planDeployment(
        obs({
          nd: nd((x) => Object.assign(x, auto, { status: p.status })),
          deployment: liveDeployment(4, 4),
          measurement: m,
        }),
      );
      expect(again.events).toEqual([]);
    });

    it('mode External: the /scale spec value sets the stable track (clamped), nothing is measured, status.scale reports it', () => {
      const ext = nd((n) => {
        n.spec.replicas = { min: 1, max: 5, desired: 3 };
        n.spec.autoscaling = { ...auto.spec.autoscaling!, mode: 'External' };
      });
      const p = planDeployment(obs({ nd: ext, deployment: liveDeployment(1, 1) }));
      expect((p.apply[0] as V1Deployment).spec?.replicas).toBe(3);
      expect(p.status.scale).toEqual({ replicas: 1, selector: 'nerops.io/deployment=notes,nerops.io/track=stable' });
      expect(p.status.conditions?.find((c) => c.type === 'ScalingActive')).toMatchObject({
        status: 'True',
        reason: 'ExternalScaler',
      });
      expect(p.status.conditions?.find((c) => c.type === 'MetricsAvailable')).toBeUndefined();
      expect(p.events.map((e) => e.reason)).toContain('Scaled');
      expect(p.requeueAfterMs).toBeUndefined();
      const over = nd((n) =>
        Object.assign(n, ext, { spec: { ...ext.spec, replicas: { min: 1, max: 5, desired: 40 } } }),
      );
      expect(
        (planDeployment(obs({ nd: over, deployment: liveDeployment(3, 3) })).apply[0] as V1Deployment).spec?.replicas,
      ).toBe(5);
    });
  });

  it('PromQL sums the rate over the pods of the stable track', () => {
    expect(requestRateQuery(nd(), 60)).toBe(
      'sum(rate(nerops_requests_total{namespace="ns",deployment="notes",track="stable"}[60s]))',
    );
  });
});

describe('audit log flags', () => {
  it('stdout by default, the HMAC key Secret mounted when named, nothing when off', () => {
    const args = (x: NerDeployment) =>
      desiredDeployment({ nd: x, model: model('clinical-v1'), replicas: 1, image: 'i' }).spec?.template.spec;
    const keyed = args(
      nd((n) => {
        n.spec.server.auditKeySecretRef = { name: 'audit' };
      }),
    );
    expect(keyed?.containers[0]?.args).toEqual(
      expect.arrayContaining(['--audit-log', 'stdout', '--audit-hmac-key-file', '/etc/nerops/audit/key']),
    );
    expect(keyed?.volumes).toContainEqual({
      name: 'audit-key',
      secret: { secretName: 'audit', items: [{ key: 'key', path: 'key' }] },
    });
    const off = args(
      nd((n) => {
        n.spec.server.auditLog = 'off';
      }),
    );
    expect(off?.containers[0]?.args?.join(' ')).not.toContain('--audit');
  });
});
