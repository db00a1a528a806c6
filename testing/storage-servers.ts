/**
 * Real storage servers for the model-storage tests, started on 127.0.0.1 random ports: versitygw (an S3
 * gateway over a directory, SigV4 authentication) and the CNCF distribution registry (OCI). Both are built
 * by scripts/build-storage-servers.sh; absent binaries fail loudly with the command that builds them.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

const cacheRoot = process.env.NEROPS_CACHE ?? join(homedir(), '.cache', 'nerops');
export const VERSITYGW_BIN = join(cacheRoot, 'build', 'versitygw-v1.8.0', 'versitygw');
export const REGISTRY_BIN = join(cacheRoot, 'build', 'registry-v3.1.2', 'registry');

function requireBinary(path: string): void {
  if (!existsSync(path))
    throw new Error(`${path} is missing: build it with \`bash scripts/build-storage-servers.sh\` (a few minutes)`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Wait until `proc`'s output matches `ready`; returns everything it printed so far. */
function waitFor(proc: ChildProcess, ready: RegExp, what: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const on = (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    proc.stdout?.on('data', on);
    proc.stderr?.on('data', on);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${out}`));
    });
  });
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 (S3) or 127.0.0.1:41234 (registry host). */
  address: string;
  root: string;
  stop(): Promise<void>;
}

async function stopper(proc: ChildProcess, root: string): Promise<void> {
  proc.removeAllListeners('exit');
  if (proc.exitCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  await rm(root, { recursive: true, force: true });
}

export async function startVersitygw(accessKey: string, secretKey: string): Promise<RunningServer> {
  requireBinary(VERSITYGW_BIN);
  const root = await mkdtemp(join(tmpdir(), 'nerops-s3-'));
  const data = join(root, 'data');
  await mkdir(data);
  const port = await freePort();
  const proc = spawn(
    VERSITYGW_BIN,
    ['--access', accessKey, '--secret', secretKey, '--port', `127.0.0.1:${port}`, 'posix', data],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const started = waitFor(proc, /./, 'versitygw');
  await started.catch(async (err: unknown) => {
    await stopper(proc, root);
    throw err;
  });
  // It prints its banner before it listens: poll the port.
  const address = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(address).then(
      () => true,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { address, root, stop: () => stopper(proc, root) };
}

export interface RunningRegistry extends RunningServer {
  /** TLS registries: the CA (self-signed cert) to trust. */
  caFile?: string;
  /** htpasswd registries: the provisioned user's password. */
  user?: string;
  password?: string;
}

/**
 * The distribution registry with filesystem storage. `secure`: TLS with a fresh self-signed certificate for
 * 127.0.0.1, and htpasswd auth (the registry provisions user `docker` with a random password and logs it).
 */
export async function startRegistry(secure: boolean): Promise<RunningRegistry> {
  requireBinary(REGISTRY_BIN);
  const root = await mkdtemp(join(tmpdir(), 'nerops-registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log: {level: info, formatter: json}',
    `storage: {filesystem: {rootdirectory: ${join(root, 'data')}}}`,
  ];
  let caFile: string | undefined;
  if (secure) {
    caFile = join(root, 'cert.pem');
    const key = join(root, 'key.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', caFile, '-days', '1'].concat([
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ]),
      { stdio: 'ignore' },
    );
    lines.push(`http: {addr: 127.0.0.1:${port}, tls: {certificate: ${caFile}, key: ${key}}}`);
    lines.push(`auth: {htpasswd: {realm: nerops-test, path: ${join(root, 'htpasswd')}}}`);
  } else {
    lines.push(`http: {addr: 127.0.0.1:${port}}`);
  }
  const config = join(root, 'config.yml');
  await writeFile(config, lines.join('\n') + '\n');
  const proc = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = await waitFor(proc, /listening on/, 'registry').catch(async (err: unknown) => {
    await stopper(proc, root);
    throw err;
  });
  const server: RunningRegistry = { address: `127.0.0.1:${port}`, root, stop: () => stopper(proc, root) };
  if (caFile) server.caFile = caFile;
  if (secure) {
    const m = /"password":"([^"]+)"/.exec(out);
    if (!m) throw new Error(`the registry did not log its provisioned password:\n${out}`);
    server.user = 'docker';
    server.password = m[1] as string;
  }
  return server;
}
