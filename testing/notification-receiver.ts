/**
 * A webhook receiver on loopback for notification tests, and the namespace objects that point the
 * operator at it (the `nerops-notifications` ConfigMap and the Secret with its URL).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Api } from './operator-fixture.js';
import { builtin } from '../operator/runtime/resource.js';
import type { Notification } from '../operator/notifications/payload.js';

export interface NotificationReceiver {
  url: string;
  received: Notification[];
  close(): Promise<void>;
}

export async function startNotificationReceiver(): Promise<NotificationReceiver> {
  const received: Notification[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(raw) as Notification);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/nerops`,
    received,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Sends every notified reason of the namespace to `url` (a generic webhook receiver named `test`). */
export async function configureNotifications(api: Api, namespace: string, url: string): Promise<void> {
  await api.create(builtin.secrets, namespace, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'nerops-hooks' },
    stringData: { url },
  } as never);
  await api.create(builtin.configMaps, namespace, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'nerops-notifications' },
    data: {
      'receivers.yaml':
        'receivers:\n  - name: test\n    type: webhook\n    urlFrom: {secretKeyRef: {name: nerops-hooks, key: url}}\n',
    },
  } as never);
}
