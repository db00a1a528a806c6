import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isRoutedService, resolveServiceHost, serviceEndpoints, targetPortOf } from './service-routing.js';

describe('resolveServiceHost', () => {
  const hosts = { 'notes-canary.prod': '127.9.9.2', 'api.dev': '127.9.9.3' };

  it('resolves the cluster-DNS forms of a Service name', () => {
    for (const name of [
      'notes-canary.prod.svc',
      'notes-canary.prod.svc.cluster.local',
      'notes-canary.prod',
      'NOTES-CANARY.prod.svc.',
      'notes-canary.prod.svc.cluster.local.',
    ]) {
      expect(resolveServiceHost(name, 'other', hosts), name).toBe('127.9.9.2');
    }
  });

  it('resolves a bare name in the pod namespace only', () => {
    expect(resolveServiceHost('notes-canary', 'prod', hosts)).toBe('127.9.9.2');
    expect(resolveServiceHost('notes-canary', 'dev', hosts)).toBeUndefined();
    expect(resolveServiceHost('notes-canary', undefined, hosts)).toBeUndefined();
  });

  it('leaves unknown names, other domains and addresses to ordinary DNS', () => {
    for (const name of [
      'example.com',
      'notes-canary.prod.svc.example.org',
      'notes-canary.prod.cluster.local',
      'a.notes-canary.prod.svc',
      '127.0.0.1',
      '::1',
      'localhost',
      '',
    ]) {
      expect(resolveServiceHost(name, 'prod', hosts), name).toBeUndefined();
    }
  });
});

const pod = (
  name: string,
  o: {
    ns?: string;
    labels?: Record<string, string>;
    ip?: string;
    ready?: boolean;
    deleting?: boolean;
    ports?: Array<{ name?: string; containerPort: number }>;
  } = {},
): V1Pod => ({
  metadata: {
    name,
    namespace: o.ns ?? 'ns',
    labels: o.labels ?? { app: 'ner', track: 'stable' },
    ...(o.deleting ? { deletionTimestamp: new Date() } : {}),
  },
  spec: { containers: [{ name: 'server', ports: o.ports ?? [{ name: 'http', containerPort: 8080 }] }] },
  status: {
    ...(o.ip === '' ? {} : { podIP: o.ip ?? `127.1.1.${name.length}` }),
    conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
  },
});
const service = (spec: V1Service['spec']): V1Service => ({
  metadata: { name: 's', namespace: 'ns', uid: 'u1' },
  spec: { selector: { app: 'ner' }, ports: [{ port: 80, targetPort: 'http' }], ...spec },
});

describe('serviceEndpoints', () => {
  it('forwards to serving pods of the namespace whose labels match, by pod name', () => {
    const pods = [
      pod('b', { ip: '127.1.1.3' }),
      pod('a', { ip: '127.1.1.2' }),
      pod('unready', { ready: false }),
      pod('terminating', { deleting: true }),
      pod('no-ip', { ip: '' }),
      pod('other-ns', { ns: 'x' }),
      pod('other-app', { labels: { app: 'web' } }),
    ];
    expect(serviceEndpoints(service({}), pods)).toEqual([
      {
        port: 80,
        endpoints: [
          { address: '127.1.1.2', port: 8080 },
          { address: '127.1.1.3', port: 8080 },
        ],
      },
    ]);
    expect(serviceEndpoints(service({ selector: { app: 'ner', track: 'canary' } }), pods)).toEqual([
      { port: 80, endpoints: [] },
    ]);
  });

  it('resolves targetPort by number, numeric string, container port name or the service port', () => {
    const p = pod('a', {
      ports: [
        { name: 'http', containerPort: 8080 },
        { name: 'metrics', containerPort: 9090 },
      ],
    });
    expect(targetPortOf({ port: 80, targetPort: 'metrics' }, p)).toBe(9090);
    expect(targetPortOf({ port: 80, targetPort: 8081 }, p)).toBe(8081);
    expect(targetPortOf({ port: 80, targetPort: '8082' }, p)).toBe(8082);
    expect(targetPortOf({ port: 80 }, p)).toBe(80);
    expect(targetPortOf({ port: 80, targetPort: 'grpc' }, p)).toBeUndefined();
    // A pod without the named port is no endpoint of that port.
    expect(
      serviceEndpoints(
        service({
          ports: [
            { port: 80, targetPort: 'grpc' },
            { port: 81, targetPort: 'http' },
          ],
        }),
        [p],
      ),
    ).toEqual([
      { port: 80, endpoints: [] },
      { port: 81, endpoints: [{ address: '127.1.1.1', port: 8080 }] },
    ]);
  });

  it('routes ClusterIP Services with a selector only, TCP ports only', () => {
    expect(isRoutedService(service({}))).toBe(true);
    expect(isRoutedService(service({ type: 'NodePort' }))).toBe(false);
    expect(isRoutedService(service({ clusterIP: 'None' }))).toBe(false);
    expect(isRoutedService(service({ selector: {} }))).toBe(false);
    expect(serviceEndpoints(service({ ports: [{ port: 53, protocol: 'UDP' }] }), [pod('a')])).toEqual([]);
  });
});
