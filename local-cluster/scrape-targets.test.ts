import { describe, expect, it } from 'vitest';
import { sanitizeLabelName, scrapeTargets } from './scrape-targets.js';

describe('scrapeTargets', () => {
  const pod = (annotations: Record<string, string> = {}) => ({
    metadata: { name: 'p', namespace: 'ns', labels: { app: 'ner', 'nerops.dev/model': 'm1' }, annotations },
    spec: {
      containers: [
        {
          name: 'server',
          image: 'nerops:dev',
          ports: [{ containerPort: 8080 }, { containerPort: 9090, protocol: 'UDP' }],
        },
      ],
    },
  });

  it('targets each TCP container port with the pod labels', () => {
    expect(scrapeTargets([{ pod: pod(), podIp: '127.0.0.3', running: true }])).toEqual([
      {
        targets: ['127.0.0.3:8080'],
        labels: { app: 'ner', nerops_dev_model: 'm1', namespace: 'ns', pod: 'p', container: 'server' },
      },
    ]);
  });

  it('prefers the prometheus.io/port and path annotations', () => {
    expect(
      scrapeTargets([
        { pod: pod({ 'prometheus.io/port': '9100', 'prometheus.io/path': '/m' }), podIp: '127.0.0.3', running: true },
      ]),
    ).toEqual([
      {
        targets: ['127.0.0.3:9100'],
        labels: { app: 'ner', nerops_dev_model: 'm1', namespace: 'ns', pod: 'p', __metrics_path__: '/m' },
      },
    ]);
  });

  it('skips pods that are not running or opt out', () => {
    expect(
      scrapeTargets([
        { pod: pod(), podIp: '127.0.0.3', running: false },
        { pod: pod({ 'prometheus.io/scrape': 'false' }), podIp: '127.0.0.4', running: true },
      ]),
    ).toEqual([]);
  });

  it('sanitises label names', () => {
    expect(sanitizeLabelName('app.kubernetes.io/name')).toBe('app_kubernetes_io_name');
    expect(sanitizeLabelName('1x')).toBe('_1x');
  });
});
