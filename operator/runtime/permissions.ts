/**
 * API permissions as data: the type of the operator's permission table (operator/permissions.ts),
 * what a request to the API server needs (`requestAccess`, the API server's own RequestInfo rules), what
 * a controller's informers need (`informerAccess`), and RBAC rules grouped from a table (`rbacRules`, from
 * which scripts/gen-install.ts writes the chart's rules).
 *
 * Why a table: the chart's RBAC and the code drifted apart once (deletes, patches and HTTPRoutes the
 * NerDeployment controller sends were never granted). With one table, the chart is generated from it, the
 * tests check every request the controllers send against it, and the cluster test asks the API server
 * (`kubectl auth can-i`) for each row.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ControllerSpec } from './controller.js';
import type { HttpVerb, KubeClient } from './kube.js';
import type { ResourceType } from './resource.js';

/** Kubernetes authorization verbs the operator can need. */
export type ApiVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** Where a permission is granted. */
export type PermissionScope =
  /** Every namespace the operator reconciles: all (ClusterRole) or the watch namespace (Role). */
  | 'workload'
  /** The one namespace of the leader-election Lease (a Role there). */
  | 'leaderElection';

/** One row of the permission table: one verb on one resource (or subresource). */
export interface Permission {
  verb: ApiVerb;
  /** API group; '' for the core group. */
  group: string;
  /** Plural resource name, e.g. `deployments`. */
  resource: string;
  /** e.g. `status`, `finalizers`. */
  subresource?: string;
  scope: PermissionScope;
  /** Granted on the one object the operator names itself (the Lease, `--lease-name`), not on every object. */
  byName?: boolean;
  /** What needs it, in a few words (becomes the chart's comment). */
  why: string;
  /** The code that sends the request: a repository path, optionally `path#symbol`. */
  code: string;
  /**
   * Set when the operator sends no request with this verb: the API server checks it on the operator's
   * behalf (e.g. `update` on an owner's finalizers when a child's ownerReference sets blockOwnerDeletion,
   * under the OwnerReferencesPermissionEnforcement admission plugin). Says which check.
   */
  checkedBy?: string;
}

/** What one request needs: the attributes the API server's authorizer sees. */
export interface Access {
  verb: ApiVerb;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** `resource[/subresource][.group]`, as `kubectl auth can-i` and error messages write it. */
export function accessLabel(a: Pick<Access, 'group' | 'resource' | 'subresource'>): string {
  return `${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}`;
}

/** Subresources of a Namespace object (the API server does not read `namespaces/<name>/status` as a namespaced resource). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * The authorization attributes of one request, as the API server derives them from method and path
 * (k8s.io/apiserver RequestInfoFactory): GET of a collection is `list`, with `watch=true` (or a watch
 * stream) `watch`; DELETE of a collection is `deletecollection`. A server-side apply that created its
 * object (`created`, HTTP 201) was also authorized as `create`. Undefined for non-resource paths.
 */
export function requestAccess(
  method: HttpVerb | 'WATCH',
  path: string,
  options: { watch?: boolean; created?: boolean } = {},
): Access[] | undefined {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
    else namespace = undefined; // the Namespace object itself: resource `namespaces`, name = its name
  }
  const [resource, name, subresource] = rest;
  if (!resource) return undefined;
  const watch = method === 'WATCH' || options.watch === true;
  let verb: ApiVerb;
  switch (method) {
    case 'WATCH':
    case 'GET':
      verb = watch ? 'watch' : name === undefined ? 'list' : 'get';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name === undefined ? 'deletecollection' : 'delete';
      break;
  }
  const base = {
    group,
    resource,
    ...(subresource ? { subresource } : {}),
    ...(namespace ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
  };
  const out: Access[] = [{ verb, ...base }];
  if (method === 'PATCH' && options.created) out.push({ verb: 'create', ...base });
  return out;
}

/** The row of `table` that allows `access`, if any (scope and the Lease name are the chart's business). */
export function permits(table: readonly Permission[], access: Access): Permission | undefined {
  return table.find(
    (p) =>
      p.verb === access.verb &&
      p.group === access.group &&
      p.resource === access.resource &&
      (p.subresource ?? '') === (access.subresource ?? ''),
  );
}

/** Every resource a controller's informers list and watch: its primary, what it owns, what it watches. */
export function informedResources(
  spec: Pick<ControllerSpec<KubernetesObject>, 'resource' | 'owns' | 'watches'>,
): ResourceType[] {
  const out = [
    spec.resource,
    ...(spec.owns ?? []).map((o) => ('resource' in o ? o.resource : o)),
    ...(spec.watches ?? []).map((w) => w.resource),
  ];
  return out.filter((rt, i) => out.findIndex((o) => o.group === rt.group && o.plural === rt.plural) === i);
}

/** The `list` and `watch` an informer of each resource sends (operator/runtime/informer.ts). */
export function informerAccess(
  specs: ReadonlyArray<Pick<ControllerSpec<KubernetesObject>, 'resource' | 'owns' | 'watches'>>,
): Access[] {
  const out: Access[] = [];
  for (const spec of specs) {
    for (const rt of informedResources(spec)) {
      for (const verb of ['list', 'watch'] as const) {
        if (!out.some((a) => a.verb === verb && a.group === rt.group && a.resource === rt.plural))
          out.push({ verb, group: rt.group, resource: rt.plural });
      }
    }
  }
  return out;
}

/** Records the authorization attributes of every request a {@link KubeClient} sends. */
export class AccessRecorder {
  readonly accesses: Access[] = [];
  /** Requests whose path is not a resource path (none expected from the operator). */
  readonly unparsed: string[] = [];
  readonly #off: () => void;

  constructor(kube: Pick<KubeClient, 'onRequest'>) {
    this.#off = kube.onRequest((verb, path, statusCode) => {
      // 201 from a PATCH: a server-side apply created the object, which was authorized as `create` too.
      const a = requestAccess(verb, path, { created: verb === 'PATCH' && statusCode === 201 });
      if (a) this.accesses.push(...a);
      else this.unparsed.push(`${verb} ${path}`);
    });
  }

  /** Recorded accesses no row of `table` allows, each once, as `verb resource[/sub][.group]`. */
  notIn(table: readonly Permission[]): string[] {
    const missing = this.accesses.filter((a) => !permits(table, a)).map((a) => `${a.verb} ${accessLabel(a)}`);
    return [...new Set([...missing, ...this.unparsed])];
  }

  stop(): void {
    this.#off();
  }
}

/** One RBAC rule grouped from table rows, with the rows it came from (for comments). */
export interface GroupedRule {
  group: string;
  /** `resource` or `resource/subresource`. */
  resource: string;
  byName: boolean;
  verbs: Array<{ verb: ApiVerb; rows: Permission[] }>;
}

/** Order of verbs in generated rules: reads, then writes. */
const VERB_ORDER: readonly ApiVerb[] = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
];

/**
 * The rows of one scope as RBAC rules: one rule per (group, resource or subresource, by name), verbs in
 * {@link VERB_ORDER}, rules in table order of their first row.
 */
export function rbacRules(table: readonly Permission[], scope: PermissionScope): GroupedRule[] {
  const rules: GroupedRule[] = [];
  for (const p of table) {
    if (p.scope !== scope) continue;
    const resource = p.subresource ? `${p.resource}/${p.subresource}` : p.resource;
    const byName = p.byName === true;
    let rule = rules.find((r) => r.group === p.group && r.resource === resource && r.byName === byName);
    if (!rule) rules.push((rule = { group: p.group, resource, byName, verbs: [] }));
    const v = rule.verbs.find((x) => x.verb === p.verb);
    if (v) v.rows.push(p);
    else rule.verbs.push({ verb: p.verb, rows: [p] });
  }
  for (const r of rules) r.verbs.sort((a, b) => VERB_ORDER.indexOf(a.verb) - VERB_ORDER.indexOf(b.verb));
  return rules;
}
