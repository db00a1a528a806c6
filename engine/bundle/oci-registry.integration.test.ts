/**
 * The Bearer token flow of the registry client, against a small local registry front that answers like a
 * token-auth registry (the distribution registry's token auth needs a separate token service, so the
 * model-storage integration test covers Basic auth against the real registry and this one the token flow).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from './oci-registry.js';

const manifest = Buffer.from('{"schemaVersion":2}');
const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
const basic = Buffer.from('robot:s3cret').toString('base64');
const seen: { path: string; authorization?: string | undefined }[] = [];
let server: Server;
let host: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      if (req.headers.authorization !== `Basic ${basic}`) return void res.writeHead(401).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ token: `tok-${url.searchParams.get('scope')}` }));
    }
    if (req.headers.authorization !== 'Bearer tok-repository:clinical/ner:pull') {
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry",scope="repository:clinical/ner:pull"`,
      });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    res.end(manifest);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe('RegistryClient Bearer token flow', () => {
  it('answers the challenge with a token fetched from the realm with the docker config credentials', async () => {
    seen.length = 0;
    const client = new RegistryClient(
      { registry: host, repository: 'clinical/ner' },
      {
        dockerConfig: { auths: { [host]: { auth: basic } } },
        plainHttp: true,
        allowInsecureHttp: true,
        timeoutMs: 5000,
      },
      'pull',
    );
    expect(await client.getManifest(digest, ['application/vnd.oci.image.manifest.v1+json'])).toEqual(manifest);
    expect(seen.map((s) => [s.path.split('?')[0], s.authorization?.split(' ')[0]])).toEqual([
      [`/v2/clinical/ner/manifests/${digest}`, undefined],
      ['/token', 'Basic'],
      [`/v2/clinical/ner/manifests/${digest}`, 'Bearer'],
    ]);
    expect(new URL(seen[1]?.path ?? '', 'http://x').searchParams.get('service')).toBe('test-registry');
  });

  it('refuses to send credentials over plain http without consent, before any request', () => {
    seen.length = 0;
    expect(
      () =>
        new RegistryClient(
          { registry: host, repository: 'clinical/ner' },
          { dockerConfig: { auths: { [host]: { auth: basic } } }, plainHttp: true, timeoutMs: 5000 },
          'pull',
        ),
    ).toThrow(/refused to send registry credentials over plain http/);
    expect(seen).toEqual([]);
  });

  it('without credentials an anonymous token is asked for (public repositories), and a refusal is reported', async () => {
    const client = new RegistryClient(
      { registry: host, repository: 'clinical/ner' },
      { plainHttp: true, timeoutMs: 5000 },
      'pull',
    );
    await expect(client.getManifest(digest, [])).rejects.toThrow(/the token service .* answered HTTP 401/);
  });
});
