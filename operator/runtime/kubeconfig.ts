/**
 * Loading cluster access for the operator process without @kubernetes/client-node.
 *
 * Why: client-node's KubeConfig module imports the library's whole generated API, which costs the
 * operator 60–70 MB of RSS (measured by bench/operator.ts: 163 MB with 500 NerDeployments against a
 * 150 MB goal) for what the runtime's own REST client needs — a server URL, TLS material and a bearer
 * token. This loader covers the in-cluster service account and static kubeconfigs (token, token file,
 * client certificate, CA, insecure-skip-tls-verify); anything else (exec plugins, auth providers, basic
 * auth, several kubeconfig files) falls back to client-node, loaded only then.
 */
import { readFileSync, existsSync, statSync } from 'node:fs';
import type https from 'node:https';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, delimiter } from 'node:path';
import yaml from 'js-yaml';

/** What the runtime's KubeClient needs; client-node's KubeConfig satisfies it too. */
export interface ClusterAccess {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Static credentials. The token file is re-read when it changes (projected tokens rotate). */
export class StaticClusterAccess implements ClusterAccess {
  readonly #server: string;
  readonly #tls: Pick<https.RequestOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>;
  readonly #token: string | undefined;
  readonly #tokenFile: string | undefined;
  #cachedToken: { mtimeMs: number; value: string } | undefined;

  constructor(o: {
    server: string;
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    insecure?: boolean;
    token?: string;
    tokenFile?: string;
  }) {
    this.#server = o.server;
    this.#tls = {
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.cert ? { cert: o.cert } : {}),
      ...(o.key ? { key: o.key } : {}),
      ...(o.insecure ? { rejectUnauthorized: false } : {}),
    };
    this.#token = o.token;
    this.#tokenFile = o.tokenFile;
  }

  getCurrentCluster(): { server: string } {
    return { server: this.#server };
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    Object.assign(opts, this.#tls);
    const token = this.#currentToken();
    if (token) opts.headers = { ...(opts.headers ?? {}), Authorization: `Bearer ${token}` };
  }

  #currentToken(): string | undefined {
    if (!this.#tokenFile) return this.#token;
    const mtimeMs = statSync(this.#tokenFile).mtimeMs;
    if (this.#cachedToken?.mtimeMs !== mtimeMs)
      this.#cachedToken = { mtimeMs, value: readFileSync(this.#tokenFile, 'utf8').trim() };
    return this.#cachedToken.value;
  }
}

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}
type Obj = Record<string, unknown>;

function str(o: Obj | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The static parts of a kubeconfig file, or undefined when it needs client-node (exec plugins, auth
 * providers, basic auth). Throws with the file name on a malformed file or a missing context.
 */
export function parseStaticKubeconfig(
  text: string,
  file: string,
  readFile: (path: string) => Buffer = (p) => readFileSync(p),
): StaticClusterAccess | undefined {
  const doc = yaml.load(text) as Obj | undefined;
  if (!doc || typeof doc !== 'object') throw new Error(`${file}: not a kubeconfig (expected a YAML mapping)`);
  const byName = <T>(list: unknown, what: string, name: string | undefined): T => {
    const entry = (Array.isArray(list) ? (list as Named<T>[]) : []).find((e) => e?.name === name);
    if (!entry) throw new Error(`${file}: ${what} '${name ?? ''}' not found`);
    return ((entry as Obj)[what] ?? {}) as T;
  };
  const contextName = str(doc, 'current-context');
  if (!contextName) throw new Error(`${file}: no current-context`);
  const context = byName<Obj>(doc.contexts, 'context', contextName);
  const cluster = byName<Obj>(doc.clusters, 'cluster', str(context, 'cluster'));
  const user = str(context, 'user') ? byName<Obj>(doc.users, 'user', str(context, 'user')) : {};
  if (user.exec || user['auth-provider'] || user.username || user.password) return undefined;
  const server = str(cluster, 'server');
  if (!server) throw new Error(`${file}: cluster '${str(context, 'cluster')}' has no server`);
  const base = dirname(file);
  const material = (dataKey: string, fileKey: string, from: Obj): Buffer | undefined => {
    const data = str(from, dataKey);
    if (data) return Buffer.from(data, 'base64');
    const path = str(from, fileKey);
    return path ? readFile(isAbsolute(path) ? path : join(base, path)) : undefined;
  };
  const tokenFile = str(user, 'tokenFile');
  return new StaticClusterAccess({
    server,
    ca: material('certificate-authority-data', 'certificate-authority', cluster),
    cert: material('client-certificate-data', 'client-certificate', user),
    key: material('client-key-data', 'client-key', user),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    token: str(user, 'token'),
    ...(tokenFile ? { tokenFile: isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile) } : {}),
  });
}

/**
 * Cluster access the way kubectl finds it: an explicit path, else $KUBECONFIG, else the in-cluster
 * service account (when KUBERNETES_SERVICE_HOST is set), else ~/.kube/config.
 */
export async function loadClusterAccess(
  path: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ClusterAccess> {
  const files = path ? [path] : (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (files.length === 0 && env.KUBERNETES_SERVICE_HOST) {
    const host = env.KUBERNETES_SERVICE_HOST.includes(':')
      ? `[${env.KUBERNETES_SERVICE_HOST}]`
      : env.KUBERNETES_SERVICE_HOST;
    return new StaticClusterAccess({
      server: `https://${host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`,
      ca: readFileSync(join(SERVICE_ACCOUNT_DIR, 'ca.crt')),
      tokenFile: join(SERVICE_ACCOUNT_DIR, 'token'),
    });
  }
  if (files.length === 0) files.push(join(homedir(), '.kube', 'config'));
  if (files.length === 1) {
    const file = files[0] as string;
    if (!existsSync(file)) throw new Error(`kubeconfig ${file} does not exist`);
    const light = parseStaticKubeconfig(readFileSync(file, 'utf8'), file);
    if (light) return light;
  }
  // Merged kubeconfigs and credential plugins: client-node knows them all.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
