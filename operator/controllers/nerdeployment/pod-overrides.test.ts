import { describe, expect, it } from 'vitest';
import { NerDeploymentSpecSchema, type NerDeployment } from '../../api/nerdeployment.js';
import { nerDeployment, nerModel, readyStatus } from '../../testing/builders.js';
import { desiredDeployment } from './desired.js';
import { desiredValidationJob } from '../nermodel/desired.js';

const model = nerModel({ name: 'clinical-v1', status: readyStatus() });
const base = (mod: (x: NerDeployment) => void = () => {}) =>
  nerDeployment({ metadata: { uid: 'nd-uid' }, spec: { model: 'clinical-v1' } }, mod);
const deploy = (nd: NerDeployment, track: 'stable' | 'canary' = 'stable') =>
  desiredDeployment({ nd, model, replicas: 2, image: 'nerops:test', track });

describe('spec.podTemplate on the serving Deployment', () => {
  const nd = base((x) => {
    x.spec.podTemplate = {
      metadata: { labels: { team: 'nlp', 'cost-center': 'c42' }, annotations: { 'example.org/owner': 'nlp' } },
      nodeSelector: { pool: 'inference' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ner', effect: 'NoSchedule' }],
      priorityClassName: 'clinical-high',
      imagePullSecrets: [{ name: 'registry-creds' }],
      envFrom: [{ configMapRef: { name: 'ner-extra' } }, { secretRef: { name: 'ner-secret-env' }, prefix: 'X_' }],
    };
  });

  it('places both tracks: nodeSelector, tolerations, priority, pull Secrets, envFrom on the server only', () => {
    for (const track of ['stable', 'canary'] as const) {
      const pod = deploy(nd, track).spec?.template;
      expect(pod?.spec).toMatchObject({
        nodeSelector: { pool: 'inference' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ner', effect: 'NoSchedule' }],
        priorityClassName: 'clinical-high',
        imagePullSecrets: [{ name: 'registry-creds' }],
      });
      const server = pod?.spec?.containers.find((c) => c.name === 'server');
      expect(server?.envFrom).toEqual([
        { configMapRef: { name: 'ner-extra' } },
        { secretRef: { name: 'ner-secret-env' }, prefix: 'X_' },
      ]);
      expect(pod?.spec?.initContainers?.[0]?.envFrom).toBeUndefined();
      expect(pod?.metadata?.labels).toMatchObject({ team: 'nlp', 'nerops.io/track': track });
      expect(pod?.metadata?.annotations).toMatchObject({ 'example.org/owner': 'nlp', 'prometheus.io/scrape': 'true' });
    }
  });

  it('keeps the pod restricted and the selector untouched', () => {
    const plain = deploy(base());
    const d = deploy(nd);
    expect(d.spec?.selector).toEqual(plain.spec?.selector);
    expect(d.spec?.template.spec?.securityContext).toEqual(plain.spec?.template.spec?.securityContext);
    expect(d.spec?.template.spec?.containers[0]?.securityContext).toEqual(
      plain.spec?.template.spec?.containers[0]?.securityContext,
    );
  });

  it('passes affinity and topologySpreadConstraints through as written', () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
        },
      },
    };
    const spread = [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway' }];
    const d = deploy(base((x) => (x.spec.podTemplate = { affinity, topologySpreadConstraints: spread })));
    expect(d.spec?.template.spec?.affinity).toEqual(affinity);
    expect(d.spec?.template.spec?.topologySpreadConstraints).toEqual(spread);
  });

  it('the NerModel validation Job takes spec.validation.podTemplate the same way', () => {
    const m = nerModel({ name: 'clinical-v1', metadata: { uid: 'm-uid' } }, (x) => {
      x.spec.validation = {
        podTemplate: { nodeSelector: { pool: 'batch' }, tolerations: [{ key: 'batch', operator: 'Exists' }] },
      };
    });
    const plain = desiredValidationJob(nerModel({ name: 'clinical-v1', metadata: { uid: 'm-uid' } }), {
      image: 'i',
      attempt: 0,
    });
    const pod = desiredValidationJob(m, { image: 'i', attempt: 0 }).spec?.template;
    expect(pod?.spec?.nodeSelector).toEqual({ pool: 'batch' });
    expect(pod?.spec?.tolerations).toEqual([{ key: 'batch', operator: 'Exists' }]);
    expect(pod?.spec?.securityContext).toEqual(plain.spec?.template.spec?.securityContext);
    expect(pod?.metadata?.labels).toEqual(plain.spec?.template.metadata?.labels);
  });

  it('without podTemplate the Deployment is unchanged', () => {
    expect(deploy(base()).spec?.template.spec?.nodeSelector).toBeUndefined();
  });

  it('the schema refuses operator keys, privileged fields and a ConfigMap-and-Secret envFrom', () => {
    const spec = (podTemplate: unknown) => NerDeploymentSpecSchema.safeParse({ model: 'm', podTemplate });
    expect(spec({ metadata: { labels: { 'nerops.io/track': 'canary' } } }).success).toBe(false);
    expect(spec({ metadata: { annotations: { 'app.kubernetes.io/name': 'x' } } }).success).toBe(false);
    expect(spec({ envFrom: [{ configMapRef: { name: 'a' }, secretRef: { name: 'b' } }] }).success).toBe(false);
    // Unknown (security-relevant) fields are not part of the override: zod strips them, the API server prunes them.
    const parsed = spec({ nodeSelector: { a: 'b' }, securityContext: { privileged: true }, hostNetwork: true });
    expect(parsed.success && parsed.data.podTemplate).toEqual({ nodeSelector: { a: 'b' } });
  });
});
