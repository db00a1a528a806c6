/**
 * A self-signed certificate for 127.0.0.1, for tests that serve HTTPS on loopback and pass the
 * certificate as the client's only trusted CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes `key.pem` and `cert.pem` (P-256, one day) into `dir` and returns their paths. */
export async function loopbackCertificate(dir: string): Promise<{ key: string; cert: string }> {
  await mkdir(dir, { recursive: true });
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}
