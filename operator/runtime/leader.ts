/**
 * Leader election on a coordination.k8s.io/v1 Lease, so two or more operator replicas can run and exactly
 * one reconciles.
 *
 * - Candidates read the Lease every `retryPeriodMs`. A lease held by someone else counts as expired only
 *   when its record (holder, renewTime, resourceVersion) has not changed for `leaseDurationMs` of *our*
 *   clock since we first saw that record: no comparison of timestamps written by other machines, so clock
 *   skew cannot cause two leaders.
 * - Writes use the Lease's resourceVersion, so two candidates racing for an expired lease cannot both win.
 * - The leader renews every `retryPeriodMs`; when it has not renewed successfully for `renewDeadlineMs`
 *   (which must be shorter than the lease duration) or sees another holder, it has lost: `onStoppedLeading`
 *   runs at once (the manager stops reconciling) and `run()` resolves with `'lost'`.
 * - `release()` on shutdown empties the holder so a standby takes over without waiting for expiry.
 */
import type { Logger } from 'pino';
import { sleep, systemClock, type Clock } from './clock.js';
import { microTime } from './client.js';
import { isAlreadyExists, isConflict, isNotFound, type KubeClient } from './kube.js';
import { builtin, resourcePath } from './resource.js';

export interface LeaderElectionOptions {
  /** Lease namespace. */
  namespace: string;
  /** Lease name (default `nerops-operator`). */
  name?: string;
  /** This candidate's identity, unique per replica (pod name + random suffix). */
  identity: string;
  /** How long a lease is valid without renewal (default 15 s). */
  leaseDurationMs?: number;
  /** The leader gives up when it could not renew for this long (default 10 s; < leaseDurationMs). */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts (default 2 s). */
  retryPeriodMs?: number;
  clock?: Clock;
  logger?: Logger;
  onStartedLeading?: () => void;
  /** Called synchronously the moment leadership is lost (not on a voluntary release). */
  onStoppedLeading?: () => void;
  /** Called when the observed holder changes (including to us). */
  onNewLeader?: (identity: string) => void;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export const DEFAULT_LEADER_ELECTION = {
  name: 'nerops-operator',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

export class LeaderElector {
  readonly identity: string;
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #name: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #opts: LeaderElectionOptions;

  #leader = false;
  #observedLeader: string | undefined;
  /** The last lease record we saw and when (our clock) we first saw it. */
  #observed: { key: string; at: number } | undefined;
  #lease: Lease | undefined;
  #lastRenew = 0;
  #abort = new AbortController();
  /** True once the lease has been read successfully at least once (standby readiness). */
  #observedOnce = false;

  constructor(client: KubeClient, options: LeaderElectionOptions) {
    this.#client = client;
    this.#opts = options;
    this.identity = options.identity;
    this.#namespace = options.namespace;
    this.#name = options.name ?? DEFAULT_LEADER_ELECTION.name;
    this.#leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEADER_ELECTION.leaseDurationMs;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION.renewDeadlineMs;
    this.#retryPeriodMs = options.retryPeriodMs ?? DEFAULT_LEADER_ELECTION.retryPeriodMs;
    if (this.#renewDeadlineMs >= this.#leaseDurationMs)
      throw new Error('leader election: renewDeadline must be shorter than leaseDuration');
    if (this.#retryPeriodMs >= this.#renewDeadlineMs)
      throw new Error('leader election: retryPeriod must be shorter than renewDeadline');
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger?.child({ lease: `${this.#namespace}/${this.#name}`, identity: this.identity });
  }

  isLeader(): boolean {
    return this.#leader;
  }

  /** The holder we last observed (maybe us), if any. */
  get leader(): string | undefined {
    return this.#observedLeader;
  }

  /** True once the Lease could be read or created: this replica is a working standby. */
  get observed(): boolean {
    return this.#observedOnce;
  }

  /**
   * Campaigns until elected, leads until the lease is lost or `stop()` is called. Resolves `'lost'` when
   * leadership was lost, `'stopped'` otherwise.
   */
  async run(): Promise<'lost' | 'stopped'> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const ok = await this.#tryAcquireOrRenew();
      if (ok && !this.#leader) {
        this.#leader = true;
        this.#lastRenew = this.#clock.now();
        this.#log?.info('became leader');
        this.#opts.onStartedLeading?.();
      } else if (this.#leader) {
        if (ok) this.#lastRenew = this.#clock.now();
        const otherHolder = this.#lease?.spec?.holderIdentity && this.#lease.spec.holderIdentity !== this.identity;
        if (otherHolder || this.#clock.now() - this.#lastRenew >= this.#renewDeadlineMs) {
          this.#leader = false;
          this.#log?.error(
            { holder: this.#lease?.spec?.holderIdentity, sinceRenewMs: this.#clock.now() - this.#lastRenew },
            'leader lease lost',
          );
          this.#opts.onStoppedLeading?.();
          return 'lost';
        }
      }
      const jitter = this.#leader ? 0 : Math.random() * 0.2 * this.#retryPeriodMs;
      try {
        await sleep(this.#clock, this.#retryPeriodMs + jitter, signal);
      } catch {
        break;
      }
    }
    return 'stopped';
  }

  /** Stops campaigning/renewing (does not release; call {@link release} for that). */
  stop(): void {
    this.#abort.abort(new Error('leader election stopped'));
  }

  /** Stops and, when leading, empties the lease holder so another replica takes over at once. */
  async release(): Promise<void> {
    this.stop();
    if (!this.#leader || !this.#lease) return;
    this.#leader = false;
    const now = microTime(new Date(this.#clock.now()));
    const body: Lease = {
      ...this.#lease,
      spec: { ...this.#lease.spec, holderIdentity: null, leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
    };
    try {
      await this.#client.request({
        method: 'PUT',
        path: resourcePath(builtin.leases, this.#namespace, this.#name),
        body,
        timeoutMs: 5_000,
      });
      this.#log?.info('released leader lease');
    } catch (err) {
      this.#log?.warn({ err }, 'could not release leader lease; it will expire');
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = this.#clock.now();
    const path = resourcePath(builtin.leases, this.#namespace, this.#name);
    const durationSeconds = Math.max(1, Math.ceil(this.#leaseDurationMs / 1000));
    // Fast path for the leader: renew from the lease we wrote last (one PUT, no GET). A conflict means
    // someone else wrote it; the full path below then reads it and decides.
    if (this.#leader && this.#lease?.spec?.holderIdentity === this.identity) {
      const renewed = await this.#renewOwn(now, path, durationSeconds);
      if (renewed !== 'conflict') return renewed;
    }
    let lease: Lease;
    try {
      lease = await this.#client.request<Lease>({ method: 'GET', path, timeoutMs: this.#retryPeriodMs * 2 });
    } catch (err) {
      if (isNotFound(err)) return this.#create(now, durationSeconds);
      this.#log?.warn({ err }, 'could not read leader lease');
      return false;
    }
    return this.#acquireOrRenew(lease, now, path, durationSeconds);
  }

  /** Renew the lease we hold from our last write; 'conflict' when someone else wrote it since. */
  async #renewOwn(now: number, path: string, durationSeconds: number): Promise<boolean | 'conflict'> {
    const own = this.#lease as Lease;
    try {
      const renewed: Lease = {
        ...own,
        spec: { ...own.spec, renewTime: microTime(new Date(now)), leaseDurationSeconds: durationSeconds },
      };
      this.#lease = await this.#client.request<Lease>({
        method: 'PUT',
        path,
        body: renewed,
        timeoutMs: this.#retryPeriodMs * 2,
      });
      this.#observed = {
        key: `${this.identity}|${this.#lease.spec?.renewTime ?? ''}|${this.#lease.metadata.resourceVersion ?? ''}`,
        at: now,
      };
      return true;
    } catch (err) {
      if (isConflict(err)) return 'conflict';
      this.#log?.warn({ err }, 'could not renew leader lease');
      return false;
    }
  }

  /** No Lease yet: the first candidate creates it (holding it). */
  async #create(now: number, durationSeconds: number): Promise<boolean> {
    const created: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.#name, namespace: this.#namespace },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: microTime(new Date(now)),
        renewTime: microTime(new Date(now)),
        leaseTransitions: 0,
      },
    };
    try {
      this.#lease = await this.#client.request<Lease>({
        method: 'POST',
        path: resourcePath(builtin.leases, this.#namespace),
        body: created,
        timeoutMs: this.#retryPeriodMs * 2,
      });
      this.#observedOnce = true;
      this.#setObservedLeader(this.identity);
      return true;
    } catch (e) {
      if (!isAlreadyExists(e)) this.#log?.warn({ err: e }, 'could not create leader lease');
      return false;
    }
  }

  /**
   * From the Lease as read: wait while another holder's record is fresh (by our own clock since we first saw
   * that record, never by the holder's timestamps), else take it over or renew it (optimistic concurrency).
   */
  async #acquireOrRenew(lease: Lease, now: number, path: string, durationSeconds: number): Promise<boolean> {
    this.#observedOnce = true;
    this.#lease = lease;
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const recordKey = `${holder}|${spec.renewTime ?? ''}|${lease.metadata.resourceVersion ?? ''}`;
    if (!this.#observed || this.#observed.key !== recordKey) this.#observed = { key: recordKey, at: now };
    this.#setObservedLeader(holder || undefined);
    const heldByOther = holder !== '' && holder !== this.identity;
    const leaseMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && now < this.#observed.at + leaseMs) return false;

    const takingOver = holder !== this.identity;
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: microTime(new Date(now)),
        ...(takingOver
          ? { acquireTime: microTime(new Date(now)), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
          : {}),
      },
    };
    try {
      this.#lease = await this.#client.request<Lease>({
        method: 'PUT',
        path,
        body: next,
        timeoutMs: this.#retryPeriodMs * 2,
      });
      this.#observed = {
        key: `${this.identity}|${this.#lease.spec?.renewTime ?? ''}|${this.#lease.metadata.resourceVersion ?? ''}`,
        at: now,
      };
      this.#setObservedLeader(this.identity);
      return true;
    } catch (err) {
      if (isConflict(err)) this.#log?.debug('lost a race for the lease');
      else this.#log?.warn({ err }, 'could not write leader lease');
      return false;
    }
  }

  #setObservedLeader(identity: string | undefined): void {
    if (identity === this.#observedLeader) return;
    this.#observedLeader = identity;
    if (identity) {
      this.#log?.info({ leader: identity }, 'observed new leader');
      this.#opts.onNewLeader?.(identity);
    }
  }
}
