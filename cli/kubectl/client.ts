/**
 * The thin I/O edge of `kubectl ner`: the user's kubeconfig (KUBECONFIG / --kubeconfig, --context,
 * --namespace) through @kubernetes/client-node, so exec plugins and every auth kubectl knows work too, and
 * the few requests the subcommands make. Errors from the API server become {@link ApiError}s that
 * errors.ts turns into messages naming the missing permission or the missing object.
 */
import https from 'node:https';
import http from 'node:http';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { API_VERSION, DRIFT_POLICY, NER_DEPLOYMENT, NER_MODEL, type KindNames } from '../../contracts/api-group.js';

/** Flags every subcommand takes, as kubectl spells them. */
export interface ConnectionFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  /** Impersonate this user (`--as`), as kubectl does; the approver then is this user. */
  as?: string;
  asGroups?: string[];
}

/** A non-2xx answer of the API server, with its Status body when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly status: { message?: string; reason?: string; details?: { name?: string; kind?: string; group?: string } },
    readonly request: { method: string; path: string },
  ) {
    super(status.message ?? `HTTP ${statusCode}`);
    this.name = 'ApiError';
  }
}

/** The three kinds the plugin works with, by the words users type. */
export const KINDS: Record<'models' | 'deployments' | 'policies', KindNames> = {
  models: NER_MODEL,
  deployments: NER_DEPLOYMENT,
  policies: DRIFT_POLICY,
};

export class NerClient {
  readonly #kc: KubeConfig;
  readonly namespace: string;
  readonly #flags: ConnectionFlags;

  constructor(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env) {
    const kc = new KubeConfig();
    if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
    else if (env.KUBECONFIG || !env.KUBERNETES_SERVICE_HOST) kc.loadFromDefault();
    else kc.loadFromCluster();
    if (flags.context) kc.setCurrentContext(flags.context);
    this.#kc = kc;
    this.#flags = flags;
    this.namespace = flags.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  }

  /** Path of a nerops object (or of the collection when `name` is undefined). */
  path(kind: KindNames, name?: string, namespace = this.namespace): string {
    return `/apis/${API_VERSION}/namespaces/${namespace}/${kind.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const server = this.#kc.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(path, server);
    const opts: https.RequestOptions = { method, headers: { Accept: 'application/json' } };
    await this.#kc.applyToHTTPSOptions(opts);
    const headers = opts.headers as Record<string, string | string[]>;
    if (this.#flags.as) headers['Impersonate-User'] = this.#flags.as;
    if (this.#flags.asGroups?.length) headers['Impersonate-Group'] = this.#flags.asGroups;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) headers['Content-Type'] = contentType;
    const lib = url.protocol === 'https:' ? https : http;
    const { statusCode, text } = await new Promise<{ statusCode: number; text: string }>((resolve, reject) => {
      const req = lib.request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
    if (statusCode < 200 || statusCode >= 300)
      throw new ApiError(statusCode, parsed as ApiError['status'], { method, path });
    return parsed as T;
  }

  get<T>(kind: KindNames, name: string): Promise<T> {
    return this.request<T>('GET', this.path(kind, name));
  }

  async list<T>(kind: KindNames): Promise<T[]> {
    return (await this.request<{ items: T[] }>('GET', this.path(kind))).items ?? [];
  }

  /** JSON merge patch of an object's annotations (null removes one). */
  patchAnnotations(kind: KindNames, name: string, annotations: Record<string, string | null>): Promise<unknown> {
    return this.request('PATCH', this.path(kind, name), { metadata: { annotations } }, 'application/merge-patch+json');
  }

  /** Who the API server says we are (SelfSubjectReview, GA since 1.28): the name an approval must carry. */
  async whoAmI(): Promise<string> {
    if (this.#flags.as) return this.#flags.as;
    const r = await this.request<{ status?: { userInfo?: { username?: string } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    );
    const name = r.status?.userInfo?.username;
    if (!name) throw new Error('the API server did not say who you are (SelfSubjectReview)');
    return name;
  }

  /**
   * Watch a collection (or one object by name) until `signal` aborts; `onEvent` gets every ADDED/MODIFIED/
   * DELETED object. Resolves when the watch ends (the server closes watches after a while: callers rewatch).
   */
  async watch<T>(kind: KindNames, name: string | undefined, onEvent: (type: string, obj: T) => void): Promise<void> {
    if (this.#flags.as) throw new Error('--watch with --as is not supported');
    const w = new Watch(this.#kc);
    await new Promise<void>((resolve, reject) => {
      w.watch(
        this.path(kind),
        name ? { fieldSelector: `metadata.name=${name}` } : {},
        (type, obj) => onEvent(type, obj as T),
        (err) => (err ? reject(err as Error) : resolve()),
      ).catch(reject);
    });
  }
}
