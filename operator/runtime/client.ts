/**
 * The write side reconcilers use: server-side apply that skips unchanged objects, status written through
 * the `/status` subresource only when it changed, Events (events.k8s.io/v1) de-duplicated, ownerReferences.
 */
import { randomBytes } from 'node:crypto';
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isApplied } from './apply.js';
import { ChildConflictError, childOwnership } from './ownership.js';
import { systemClock, type Clock } from './clock.js';
import { statusEqual, type Condition } from './conditions.js';
import { isNotFound, type KubeClient } from './kube.js';
import { apiVersionOf, builtin, resourceLabel, resourcePath, type ResourceType } from './resource.js';
import { endApplySpan, startApplySpan } from './tracing.js';

/** Our server-side apply field manager. */
export const FIELD_MANAGER = 'nerops';
/** `reportingController` of our Events. */
export const REPORTING_CONTROLLER = 'nerops.io/operator';

const APPLY_PATCH = 'application/apply-patch+yaml';

/** What a write helper did. */
export interface WriteResult<T> {
  /** The object as the server returned it, or the unchanged live object when the write was skipped. */
  object: T;
  /** False when the write was skipped because nothing would change. */
  changed: boolean;
}

export interface ApplyOptions {
  /**
   * The live object to compare against: the informer cache's copy. When null or undefined (the cache does
   * not have it) the object is read from the server first (one GET): the caches hold only labelled objects,
   * so their "absent" does not prove that no object of that name exists (see ownership.ts).
   */
  current?: KubernetesObject | null;
  /** Take over fields another manager owns (default true: our children are ours; hand edits are reverted). */
  force?: boolean;
}

/** One child for {@link ClusterClient.applyAll}. */
export interface ChildApply {
  rt: ResourceType;
  desired: KubernetesObject;
  /** The informer cache's copy, if it has one (see {@link ApplyOptions.current}). */
  current?: KubernetesObject | null | undefined;
}

/** A child whose ownership was checked: `live` is undefined when it does not exist. */
export interface CheckedChild {
  rt: ResourceType;
  desired: KubernetesObject;
  live: KubernetesObject | undefined;
}

/** An Event to record about an object (events.k8s.io/v1). */
export interface EventSpec {
  type: 'Normal' | 'Warning';
  /** CamelCase reason constant. */
  reason: string;
  /** Short human message, e.g. "Step 2/4 completed". */
  note: string;
  /** What was done (events.k8s.io `action`); defaults to the reason. */
  action?: string;
  /** Optional second object the event is about (e.g. the NerModel a deployment switched to). */
  related?: KubernetesObject;
}

/** Counters a {@link ClusterClient} reports (wired to Prometheus by the manager). */
export interface ClientObserver {
  write?(kind: string, op: 'apply' | 'status' | 'delete' | 'create' | 'event'): void;
  skipped?(kind: string, op: 'apply' | 'status'): void;
  /** After an Event was recorded (not after a deduplicated or failed one): notifications hang off this. */
  recorded?(regarding: KubernetesObject, spec: EventSpec): void;
}

export interface ClusterClientOptions {
  fieldManager?: string;
  /** `reportingInstance` of Events (the pod name). */
  identity?: string;
  clock?: Clock;
  logger?: Logger;
  observer?: ClientObserver;
  /** An identical Event for the same object is not repeated within this window (default 10 min). */
  eventDedupeMs?: number;
}

export class ClusterClient {
  readonly kube: KubeClient;
  readonly fieldManager: string;
  readonly #identity: string;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #observer: ClientObserver;
  readonly #dedupeMs: number;
  /** uid/reason → last note and when it was recorded. */
  readonly #recent = new Map<string, { note: string; at: number }>();
  /**
   * Our last write per object: the resourceVersion it replaced and the object the server returned. Until
   * the informer delivers the new version, a reconcile still sees the replaced one in the cache; comparing
   * against what we wrote instead avoids a second, redundant write in that window.
   */
  readonly #written = new Map<string, { fromRv: string; object: KubernetesObject }>();

  constructor(kube: KubeClient, options: ClusterClientOptions = {}) {
    this.kube = kube;
    this.fieldManager = options.fieldManager ?? FIELD_MANAGER;
    this.#identity = options.identity ?? 'nerops-operator';
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger;
    this.#observer = options.observer ?? {};
    this.#dedupeMs = options.eventDedupeMs ?? 10 * 60_000;
  }

  /** Reads one object; undefined when it does not exist. */
  async get<T extends KubernetesObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      const obj = await this.kube.request<T>({ method: 'GET', path: resourcePath(rt, namespace, name) });
      return obj;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * The metadata of one object (PartialObjectMetadata: no data, no spec), undefined when it does not exist.
   * For Secrets: the operator reads their annotations and never receives their values.
   */
  async getMetadata(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<KubernetesObject | undefined> {
    try {
      return await this.kube.request<KubernetesObject>({
        method: 'GET',
        path: resourcePath(rt, namespace, name),
        accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Lists objects (all pages) of one namespace (or all), optionally by label selector. */
  async list<T extends KubernetesObject>(rt: ResourceType, namespace?: string, labelSelector?: string): Promise<T[]> {
    const out: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.kube.request<{ items: T[]; metadata?: { continue?: string } }>({
        method: 'GET',
        path: resourcePath(rt, namespace),
        query: { limit: 500, continue: cont, labelSelector },
      });
      for (const item of page.items) {
        item.apiVersion ??= apiVersionOf(rt);
        item.kind ??= rt.kind;
        out.push(item);
      }
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return out;
  }

  /**
   * Server-side apply of `desired` (which must carry apiVersion, kind, metadata.name and, for namespaced
   * kinds, metadata.namespace) with our field manager. Skipped — no request at all — when the live object
   * already has every field we set and we own nothing we no longer set (see apply.ts). Refused with
   * {@link ChildConflictError}, before any write, when an object of that name exists and is not ours
   * (ownership.ts).
   */
  async apply<T extends KubernetesObject>(
    rt: ResourceType,
    desired: T,
    options: ApplyOptions = {},
  ): Promise<WriteResult<T>> {
    const [checked] = await this.checkOwnership([{ rt, desired, current: options.current }]);
    return this.#applyChecked(rt, desired, (checked as CheckedChild).live, options);
  }

  /**
   * Applies several children of one primary, all or nothing as far as ownership goes: every child is
   * checked ({@link checkOwnership}) before the first write, so a conflict on the last one leaves the others
   * uncreated too.
   */
  async applyAll(
    children: readonly ChildApply[],
    options: Pick<ApplyOptions, 'force'> = {},
  ): Promise<WriteResult<KubernetesObject>[]> {
    const checked = await this.checkOwnership(children);
    const out: WriteResult<KubernetesObject>[] = [];
    for (const c of checked) out.push(await this.#applyChecked(c.rt, c.desired, c.live, options));
    return out;
  }

  /**
   * The live object of each child (the given cache copy, else one GET) and whether it is ours to write
   * (ownership.ts). Throws {@link ChildConflictError} for the first child that exists and is not ours; no
   * write has happened then.
   */
  async checkOwnership(children: readonly ChildApply[]): Promise<CheckedChild[]> {
    const out: CheckedChild[] = [];
    for (const { rt, desired, current } of children) {
      const name = desired.metadata?.name;
      if (!name) throw new Error(`apply ${rt.kind}: metadata.name is required`);
      const namespace = rt.namespaced ? desired.metadata?.namespace : undefined;
      if (rt.namespaced && !namespace) throw new Error(`apply ${rt.kind} ${name}: metadata.namespace is required`);
      const live = this.#freshest(writeId(rt, namespace, name), current ?? (await this.get(rt, namespace, name)));
      if (childOwnership(desired, live) === 'foreign') {
        this.#log?.warn({ resource: resourceLabel(rt), namespace, name }, 'child exists and is not ours; not applied');
        throw new ChildConflictError(desired.kind ?? rt.kind, namespace, name);
      }
      out.push({ rt, desired, live });
    }
    return out;
  }

  async #applyChecked<T extends KubernetesObject>(
    rt: ResourceType,
    desired: T,
    live: KubernetesObject | undefined,
    options: Pick<ApplyOptions, 'force'>,
  ): Promise<WriteResult<T>> {
    const span = startApplySpan(
      rt.kind,
      rt.namespaced ? desired.metadata?.namespace : undefined,
      desired.metadata?.name,
    );
    return endApplySpan(span, this.#applyUntraced(rt, desired, live, options));
  }

  async #applyUntraced<T extends KubernetesObject>(
    rt: ResourceType,
    desired: T,
    live: KubernetesObject | undefined,
    options: Pick<ApplyOptions, 'force'>,
  ): Promise<WriteResult<T>> {
    const name = desired.metadata?.name as string;
    const namespace = rt.namespaced ? desired.metadata?.namespace : undefined;
    const id = writeId(rt, namespace, name);
    if (live && isApplied(desired, live, this.fieldManager)) {
      this.#observer.skipped?.(rt.kind, 'apply');
      return { object: live as T, changed: false };
    }
    const body = { ...desired, apiVersion: desired.apiVersion ?? apiVersionOf(rt), kind: desired.kind ?? rt.kind };
    const object = await this.kube.request<T>({
      method: 'PATCH',
      path: resourcePath(rt, namespace, name),
      query: { fieldManager: this.fieldManager, force: options.force ?? true },
      body,
      contentType: APPLY_PATCH,
    });
    this.#observer.write?.(rt.kind, 'apply');
    this.#remember(id, live, object);
    const changed = !live || live.metadata?.resourceVersion !== object.metadata?.resourceVersion;
    this.#log?.debug({ resource: resourceLabel(rt), namespace, name, changed }, 'applied');
    return { object, changed };
  }

  /**
   * Writes `status` through the `/status` subresource (server-side apply, our field manager) unless it
   * equals `current.status` ignoring lastTransitionTime. Conditions whose status did not flip keep the
   * current lastTransitionTime even if the reconciler rebuilt them with a new one.
   * `current` is the object as last read (cache or server); its name/namespace address the write.
   */
  async applyStatus<T extends KubernetesObject>(rt: ResourceType, current: T, status: object): Promise<WriteResult<T>> {
    const span = startApplySpan(
      rt.kind,
      rt.namespaced ? current.metadata?.namespace : undefined,
      current.metadata?.name,
      'status',
    );
    return endApplySpan(span, this.#applyStatusUntraced(rt, current, status));
  }

  async #applyStatusUntraced<T extends KubernetesObject>(
    rt: ResourceType,
    current: T,
    status: object,
  ): Promise<WriteResult<T>> {
    const id = writeId(rt, rt.namespaced ? current.metadata?.namespace : undefined, current.metadata?.name ?? '');
    const seen = this.#freshest(id, current) as T;
    const old = (seen as { status?: unknown }).status;
    const next = keepTransitionTimes(old, status);
    if (old !== undefined && statusEqual(old, next)) {
      this.#observer.skipped?.(rt.kind, 'status');
      return { object: seen, changed: false };
    }
    const name = current.metadata?.name ?? '';
    const namespace = rt.namespaced ? current.metadata?.namespace : undefined;
    const object = await this.kube.request<T>({
      method: 'PATCH',
      path: resourcePath(rt, namespace, name, 'status'),
      query: { fieldManager: this.fieldManager, force: true },
      body: {
        apiVersion: apiVersionOf(rt),
        kind: rt.kind,
        metadata: { name, ...(namespace ? { namespace } : {}) },
        status: next,
      },
      contentType: APPLY_PATCH,
    });
    this.#observer.write?.(rt.kind, 'status');
    this.#remember(id, seen, object);
    return { object, changed: true };
  }

  /** Deletes an object; false when it was already gone. Background propagation by default. */
  async delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
  ): Promise<boolean> {
    try {
      await this.kube.request({
        method: 'DELETE',
        path: resourcePath(rt, namespace, name),
        body: { propagationPolicy },
      });
      this.#observer.write?.(rt.kind, 'delete');
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Records an Event about `regarding`. An Event with the same reason and note as the last one recorded for
   * the same object within the dedupe window is dropped, so calling this on every reconcile of a state
   * that did not change emits once. Failures are logged, never thrown: an Event is never worth a retry.
   * Returns true when an Event was written.
   */
  async event(regarding: KubernetesObject, spec: EventSpec): Promise<boolean> {
    const uid = regarding.metadata?.uid ?? `${regarding.metadata?.namespace}/${regarding.metadata?.name}`;
    const dedupeKey = `${uid}\u0000${spec.reason}`;
    const now = this.#clock.now();
    const last = this.#recent.get(dedupeKey);
    if (last && last.note === spec.note && now - last.at < this.#dedupeMs) return false;
    this.#recent.set(dedupeKey, { note: spec.note, at: now });
    this.#trimRecent(now);
    const namespace = regarding.metadata?.namespace ?? 'default';
    const name = `${regarding.metadata?.name ?? 'object'}.${now.toString(16)}${randomBytes(3).toString('hex')}`;
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      eventTime: microTime(new Date(now)),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.#identity,
      action: spec.action ?? spec.reason,
      reason: spec.reason,
      note: spec.note.slice(0, 1024),
      type: spec.type,
      regarding: objectReference(regarding),
      ...(spec.related ? { related: objectReference(spec.related) } : {}),
    };
    try {
      await this.kube.request({ method: 'POST', path: resourcePath(builtin.events, namespace), body });
      this.#observer.write?.('Event', 'event');
      this.#observer.recorded?.(regarding, spec);
      return true;
    } catch (err) {
      // Forget the dedupe entry so a later identical call can try again.
      this.#recent.delete(dedupeKey);
      this.#log?.warn({ err, reason: spec.reason }, 'could not record event');
      return false;
    }
  }

  /** `live`, or what we wrote over it when `live` is exactly the version our last write replaced. */
  #freshest(id: string, live: KubernetesObject | undefined): KubernetesObject | undefined {
    const w = this.#written.get(id);
    if (!w || !live) return live;
    const rv = live.metadata?.resourceVersion;
    if (rv === w.fromRv) return w.object;
    // The cache has moved past our write (or someone else wrote): forget it.
    this.#written.delete(id);
    return live;
  }

  #remember(id: string, before: KubernetesObject | undefined, after: KubernetesObject): void {
    const fromRv = before?.metadata?.resourceVersion;
    // Creates are not remembered: a cache that shows no object may also mean it was deleted since.
    if (!fromRv || fromRv === after.metadata?.resourceVersion) return;
    if (this.#written.size >= 10_000) this.#written.clear();
    this.#written.set(id, { fromRv, object: after });
  }

  #trimRecent(now: number): void {
    if (this.#recent.size < 10_000) return;
    for (const [k, v] of this.#recent) if (now - v.at >= this.#dedupeMs) this.#recent.delete(k);
  }
}

function writeId(rt: ResourceType, namespace: string | undefined, name: string): string {
  return `${rt.group}/${rt.plural}/${namespace ?? ''}/${name}`;
}

/**
 * Copies lastTransitionTime from `old.conditions` into `next.conditions` for every condition whose status
 * is unchanged, so a reconciler that rebuilds its conditions does not move the times.
 */
export function keepTransitionTimes<S>(old: unknown, next: S): S {
  const oldConds = (old as { conditions?: Condition[] } | undefined)?.conditions;
  const nextConds = (next as { conditions?: Condition[] } | undefined)?.conditions;
  if (!Array.isArray(oldConds) || !Array.isArray(nextConds)) return next;
  const conditions = nextConds.map((c) => {
    const prev = oldConds.find((o) => o.type === c.type);
    return prev && prev.status === c.status && prev.lastTransitionTime
      ? { ...c, lastTransitionTime: prev.lastTransitionTime }
      : c;
  });
  return { ...next, conditions };
}

/** A controller ownerReference to `owner` (which must have apiVersion, kind, name and uid). */
export function ownerReference(
  owner: KubernetesObject,
  options: { controller?: boolean; blockOwnerDeletion?: boolean } = {},
): V1OwnerReference {
  const { apiVersion, kind } = owner;
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (!apiVersion || !kind || !name || !uid)
    throw new Error('ownerReference: owner needs apiVersion, kind, metadata.name and metadata.uid');
  return {
    apiVersion,
    kind,
    name,
    uid,
    controller: options.controller ?? true,
    blockOwnerDeletion: options.blockOwnerDeletion ?? true,
  };
}

/** The controller owner reference of `obj`, if any. */
export function controllerOf(obj: KubernetesObject): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller);
}

function objectReference(obj: KubernetesObject): Record<string, string> {
  const ref: Record<string, string> = {};
  if (obj.apiVersion) ref.apiVersion = obj.apiVersion;
  if (obj.kind) ref.kind = obj.kind;
  if (obj.metadata?.name) ref.name = obj.metadata.name;
  if (obj.metadata?.namespace) ref.namespace = obj.metadata.namespace;
  if (obj.metadata?.uid) ref.uid = obj.metadata.uid;
  if (obj.metadata?.resourceVersion) ref.resourceVersion = obj.metadata.resourceVersion;
  return ref;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
