import { describe, expect, it } from 'vitest';
import { NotificationConfigError, parseNotificationConfig, wants } from './config.js';

const WHERE = 'ConfigMap ns/nerops-notifications receivers.yaml';
const ok = `
receivers:
  - name: ops
    type: webhook
    urlFrom: {secretKeyRef: {name: hooks, key: url}}
  - name: am
    type: alertmanager
    urlFrom: {secretKeyRef: {name: hooks, key: am}}
    tokenFrom: {secretKeyRef: {name: hooks, key: token}}
    reasons: [RolloutAborted, DriftCritical]
    kinds: [NerDeployment]
`;

describe('notification receivers', () => {
  it('parses receivers with defaults', () => {
    const c = parseNotificationConfig(ok, WHERE);
    expect(c.receivers.map((r) => [r.name, r.type, r.allowInsecureHttp])).toEqual([
      ['ops', 'webhook', false],
      ['am', 'alertmanager', false],
    ]);
  });

  it('filters by reason and kind; by default every notified reason of every kind', () => {
    const [ops, am] = parseNotificationConfig(ok, WHERE).receivers;
    expect(wants(ops!, 'DriftPolicy', 'RetrainingFailed')).toBe(true);
    expect(wants(ops!, 'NerDeployment', 'ScaledUp')).toBe(false);
    expect(wants(am!, 'NerDeployment', 'RolloutAborted')).toBe(true);
    expect(wants(am!, 'DriftPolicy', 'DriftCritical')).toBe(false);
    expect(wants(am!, 'NerDeployment', 'StepCompleted')).toBe(false);
  });

  it.each([
    ['receivers: [\n  {name: ops', /not valid YAML at line \d+, column \d+$/],
    [
      'receivers:\n  - {name: Ops, type: webhook, urlFrom: {secretKeyRef: {name: a, key: b}}}',
      /receivers\.0\.name: a DNS label/,
    ],
    ['receivers:\n  - {name: ops, type: slack, urlFrom: {secretKeyRef: {name: a, key: b}}}', /receivers\.0\.type/],
    ['receivers:\n  - {name: ops, type: webhook, url: "https://hooks.example/T0k3n"}', /receivers\.0/],
    [
      'receivers:\n  - {name: a, type: webhook, urlFrom: {secretKeyRef: {name: a, key: b}}}\n  - {name: a, type: webhook, urlFrom: {secretKeyRef: {name: a, key: b}}}',
      /the name a is used twice/,
    ],
  ])('refuses %j naming where, never echoing a value', (text, message) => {
    let err: unknown;
    try {
      parseNotificationConfig(text, WHERE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotificationConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.startsWith(WHERE)).toBe(true);
    expect((err as Error).message).not.toContain('T0k3n');
  });
});
