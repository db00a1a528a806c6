import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubeApiError, type KubeClient } from '../operator/runtime/kube.js';
import { ServiceEndpoints } from './service-endpoints.js';

const pod = (ip: string, track: string): V1Pod => ({
  metadata: { name: `p-${ip}`, labels: { 'nerops.io/deployment': 'ner', 'nerops.io/track': track } },
  status: { podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
});
const pods = [pod('127.1.1.1', 'stable'), pod('127.1.1.2', 'canary')];

/**
 * The API server's answers are scripted here on purpose: what is under test is how the endpoint list
 * reacts to a Service GET that fails, which a real API server cannot be made to do on cue.
 */
function kubeAnswering(serviceAnswer: () => V1Service | Error): KubeClient {
  return {
    request: async ({ path, query }: { path: string; query?: Record<string, string> }) => {
      if (path.includes('/services/')) {
        const a = serviceAnswer();
        if (a instanceof Error) throw a;
        return a;
      }
      const wanted = (query?.labelSelector ?? '').split(',').map((kv) => kv.split('='));
      return { items: pods.filter((p) => wanted.every(([k, v]) => p.metadata?.labels?.[k as string] === v)) };
    },
  } as unknown as KubeClient;
}

const stableOnly: V1Service = { spec: { selector: { 'nerops.io/deployment': 'ner', 'nerops.io/track': 'stable' } } };
const tracks = (e: ServiceEndpoints) => e.targets().map((t) => t.track);

describe('ServiceEndpoints', () => {
  it('keeps the last endpoints when the Service GET fails, instead of widening to the fallback selector', async () => {
    let answer: V1Service | Error = stableOnly;
    const e = new ServiceEndpoints(
      kubeAnswering(() => answer),
      { namespace: 'ns', service: 'ner', fallbackSelector: { 'nerops.io/deployment': 'ner' } },
    );
    await e.refresh();
    expect(tracks(e)).toEqual(['stable']);
    answer = new KubeApiError('GET services/ner: timeout', 0);
    await e.refresh();
    expect(tracks(e)).toEqual(['stable']);
    answer = new KubeApiError('GET services/ner: 503', 503);
    await e.refresh();
    expect(tracks(e)).toEqual(['stable']);
  });

  it('uses the fallback selector only while the Service does not exist', async () => {
    const e = new ServiceEndpoints(
      kubeAnswering(() => new KubeApiError('services "ner" not found', 404, 'NotFound')),
      {
        namespace: 'ns',
        service: 'ner',
        fallbackSelector: { 'nerops.io/deployment': 'ner' },
      },
    );
    await e.refresh();
    expect(tracks(e)).toEqual(['stable', 'canary']);
  });

  it('runs one refresh at a time', async () => {
    let calls = 0;
    const e = new ServiceEndpoints(
      kubeAnswering(() => {
        calls++;
        return stableOnly;
      }),
      { namespace: 'ns', service: 'ner' },
    );
    await Promise.all([e.refresh(), e.refresh(), e.refresh()]);
    expect(calls).toBe(1);
    await e.refresh();
    expect(calls).toBe(2);
  });
});
