import type https from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadClusterAccess, parseStaticKubeconfig } from './kubeconfig.js';

const kubeconfig = (user: string, cluster = 'server: https://127.0.0.1:6443\n    certificate-authority-data: Q0E=') => `
apiVersion: v1
kind: Config
current-context: ctx
contexts:
- name: ctx
  context: {cluster: c, user: u}
clusters:
- name: c
  cluster:
    ${cluster}
users:
- name: u
  user:
    ${user}
`;

async function options(access: {
  applyToHTTPSOptions(o: https.RequestOptions): Promise<void>;
}): Promise<https.RequestOptions> {
  const o: https.RequestOptions = {};
  await access.applyToHTTPSOptions(o);
  return o;
}

describe('parseStaticKubeconfig', () => {
  it('reads server, CA data and a bearer token', async () => {
    const a = parseStaticKubeconfig(kubeconfig('token: abc'), '/k/config');
    expect(a?.getCurrentCluster()).toEqual({ server: 'https://127.0.0.1:6443' });
    const o = await options(a!);
    expect(o.ca?.toString()).toBe('CA');
    expect(o.headers).toEqual({ Authorization: 'Bearer abc' });
  });

  it('reads client certificate files relative to the kubeconfig and honours insecure-skip-tls-verify', async () => {
    const files: Record<string, string> = { '/k/tls/client.crt': 'CERT', '/k/tls/client.key': 'KEY' };
    const a = parseStaticKubeconfig(
      kubeconfig(
        'client-certificate: tls/client.crt\n    client-key: tls/client.key',
        'server: https://h:1\n    insecure-skip-tls-verify: true',
      ),
      '/k/config',
      (p) => Buffer.from(files[p] ?? `missing ${p}`),
    );
    const o = await options(a!);
    expect([o.cert?.toString(), o.key?.toString(), o.rejectUnauthorized, o.headers]).toEqual([
      'CERT',
      'KEY',
      false,
      undefined,
    ]);
  });

  it('re-reads a token file when it changes (rotating projected tokens)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    writeFileSync(join(dir, 'token'), 'one\n');
    const a = parseStaticKubeconfig(kubeconfig('tokenFile: token'), join(dir, 'config'))!;
    expect((await options(a)).headers).toEqual({ Authorization: 'Bearer one' });
    writeFileSync(join(dir, 'token'), 'two-rotated\n');
    expect((await options(a)).headers).toEqual({ Authorization: 'Bearer two-rotated' });
  });

  it('leaves exec plugins and auth providers to client-node', () => {
    expect(
      parseStaticKubeconfig(
        kubeconfig('exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}'),
        '/k/config',
      ),
    ).toBeUndefined();
    expect(parseStaticKubeconfig(kubeconfig('auth-provider: {name: oidc}'), '/k/config')).toBeUndefined();
  });

  it.each([
    ['a: [', /\/k\/config|end of the stream|unexpected/i],
    ['apiVersion: v1', '/k/config: no current-context'],
    ['current-context: nope\ncontexts: []', "/k/config: context 'nope' not found"],
  ])('refuses %j with the file name', (text, message) => {
    expect(() => parseStaticKubeconfig(text, '/k/config')).toThrow(message);
  });
});

describe('loadClusterAccess', () => {
  it('uses the in-cluster service account only when no kubeconfig is given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kc-'));
    writeFileSync(join(dir, 'config'), kubeconfig('token: t'));
    const fromFile = await loadClusterAccess(undefined, {
      KUBECONFIG: join(dir, 'config'),
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
    });
    expect(fromFile.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    await expect(loadClusterAccess(join(dir, 'absent'), {})).rejects.toThrow(
      `kubeconfig ${join(dir, 'absent')} does not exist`,
    );
  });
});
