/**
 * Turns the Events the operator records into notifications for the receivers of the Event's namespace
 * (ConfigMap `nerops-notifications`, see config.ts). It runs beside reconciles, never inside them: a slow
 * or dead receiver delays nothing but its own queue. Notifications leave in the order their Events were
 * recorded. What is sent is the Event and the object's state (payload.ts): names, digests, numbers, never
 * request text. URLs and tokens are read from Secrets and never logged.
 */
import { randomUUID } from 'node:crypto';
import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { NerDeployment } from '../api/nerdeployment.js';
import type { NerModel } from '../api/nermodel.js';
import { nerModels } from '../api/resources.js';
import type { ClusterClient, EventSpec } from '../runtime/client.js';
import { builtin } from '../runtime/resource.js';
import {
  NOTIFICATIONS_CONFIGMAP,
  NOTIFICATIONS_KEY,
  NotificationConfigError,
  parseNotificationConfig,
  wants,
  type NotificationConfig,
  type Receiver,
} from './config.js';
import { OrderedSender, type DeliveryOptions } from './delivery.js';
import { alertmanagerAlerts, buildNotification, type Notification } from './payload.js';

export interface NotifierOptions {
  client: Pick<ClusterClient, 'get'>;
  logger: Logger;
  registry?: Registry | undefined;
  delivery?: DeliveryOptions;
  /** How long a namespace's configuration (or its absence) is reused before it is read again (default 30 s). */
  configTtlMs?: number;
  now?: () => number;
}

type Result = 'delivered' | 'failed' | 'dropped' | 'refused';

export class Notifier {
  readonly #o: NotifierOptions;
  readonly #configs = new Map<string, { at: number; config: NotificationConfig | undefined }>();
  readonly #senders = new Map<string, OrderedSender>();
  readonly #sent: Counter<'namespace' | 'receiver' | 'type' | 'result'>;
  readonly #configErrors: Counter<'namespace'>;
  #chain: Promise<void> = Promise.resolve();

  constructor(options: NotifierOptions) {
    this.#o = options;
    const registers = options.registry ? [options.registry] : [];
    this.#sent = new Counter({
      name: 'nerops_operator_notifications_total',
      help: 'Notifications by receiver and result (delivered, failed after retries, dropped: queue full, refused: unsafe or unusable receiver)',
      labelNames: ['namespace', 'receiver', 'type', 'result'],
      registers,
    });
    this.#configErrors = new Counter({
      name: 'nerops_operator_notification_config_errors_total',
      help: 'Reads of a nerops-notifications ConfigMap that could not be used',
      labelNames: ['namespace'],
      registers,
    });
  }

  /** After an Event was recorded about `regarding` (which carries the status just written). Never throws. */
  notify(regarding: KubernetesObject, event: EventSpec): void {
    const at = new Date(this.#o.now?.() ?? Date.now());
    this.#chain = this.#chain
      .then(() => this.#notify(regarding, event, at))
      .catch((err: unknown) =>
        this.#o.logger.warn({ err: (err as Error).message, reason: event.reason }, 'notification not sent'),
      );
  }

  /** Resolves once every notification queued so far was delivered or given up (tests, shutdown). */
  async flush(): Promise<void> {
    await this.#chain;
    while ([...this.#senders.values()].some((s) => s.pending > 0)) await new Promise((r) => setTimeout(r, 20));
  }

  close(): void {
    for (const s of this.#senders.values()) s.close();
  }

  async #notify(regarding: KubernetesObject, event: EventSpec, at: Date): Promise<void> {
    const namespace = regarding.metadata?.namespace;
    const kind = regarding.kind ?? '';
    if (!namespace) return;
    const config = await this.#config(namespace);
    const receivers = config?.receivers.filter((r) => wants(r, kind, event.reason)) ?? [];
    if (!receivers.length) return;
    const n = buildNotification({
      object: regarding,
      event,
      digests: await this.#digests(regarding),
      time: at,
      id: randomUUID(),
    });
    for (const r of receivers) await this.#enqueue(namespace, r, n);
  }

  async #config(namespace: string): Promise<NotificationConfig | undefined> {
    const now = this.#o.now?.() ?? Date.now();
    const cached = this.#configs.get(namespace);
    if (cached && now - cached.at < (this.#o.configTtlMs ?? 30_000)) return cached.config;
    let config: NotificationConfig | undefined;
    const cm = await this.#o.client.get<V1ConfigMap>(builtin.configMaps, namespace, NOTIFICATIONS_CONFIGMAP);
    const text = cm?.data?.[NOTIFICATIONS_KEY];
    if (text !== undefined) {
      try {
        config = parseNotificationConfig(
          text,
          `ConfigMap ${namespace}/${NOTIFICATIONS_CONFIGMAP} ${NOTIFICATIONS_KEY}`,
        );
      } catch (err) {
        if (!(err instanceof NotificationConfigError)) throw err;
        this.#configErrors.inc({ namespace });
        this.#o.logger.warn({ namespace, err: err.message }, 'notification configuration not usable');
      }
    }
    this.#configs.set(namespace, { at: now, config });
    return config;
  }

  /** The verified digests of the models a NerDeployment's state names, so receivers see what serves. */
  async #digests(o: KubernetesObject): Promise<Record<string, string>> {
    if (o.kind !== 'NerDeployment') return {};
    const s = (o as NerDeployment).status ?? {};
    const out: Record<string, string> = {};
    for (const name of [s.stableModel, s.canaryModel]) {
      if (!name || out[name]) continue;
      const m = await this.#o.client.get<NerModel>(nerModels, o.metadata?.namespace, name);
      const digest = m?.status?.verifiedDigest ?? m?.spec.source.digest;
      if (digest) out[name] = digest;
    }
    return out;
  }

  async #secret(namespace: string, ref: { name: string; key: string }): Promise<string | undefined> {
    const s = await this.#o.client.get<V1Secret>(builtin.secrets, namespace, ref.name);
    const b64 = s?.data?.[ref.key];
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8').trim();
  }

  async #enqueue(namespace: string, r: Receiver, n: Notification): Promise<void> {
    const count = (result: Result) => this.#sent.inc({ namespace, receiver: r.name, type: r.type, result });
    const refuse = (why: string) => {
      count('refused');
      this.#o.logger.warn({ namespace, receiver: r.name, reason: n.event.reason }, `notification refused: ${why}`);
    };
    const raw = await this.#secret(namespace, r.urlFrom.secretKeyRef);
    let url: URL;
    try {
      url = new URL(raw ?? '');
    } catch {
      return refuse(`Secret ${r.urlFrom.secretKeyRef.name} key ${r.urlFrom.secretKeyRef.key} holds no URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse('the URL is neither http nor https');
    const token = r.tokenFrom ? await this.#secret(namespace, r.tokenFrom.secretKeyRef) : undefined;
    if (r.tokenFrom && !token)
      return refuse(`Secret ${r.tokenFrom.secretKeyRef.name} key ${r.tokenFrom.secretKeyRef.key} holds no token`);
    if (token && url.protocol === 'http:' && !r.allowInsecureHttp)
      return refuse('a token over plain http needs allowInsecureHttp: true');
    if (r.type === 'alertmanager') url = new URL(`${url.pathname.replace(/\/+$/, '')}/api/v2/alerts`, url);
    const key = `${namespace}/${r.name}`;
    let sender = this.#senders.get(key);
    if (!sender) {
      sender = new OrderedSender(this.#o.delivery);
      sender.onRetry = (status, attempt) =>
        this.#o.logger.debug({ namespace, receiver: r.name, status, attempt }, 'notification try failed');
      this.#senders.set(key, sender);
    }
    const body = r.type === 'alertmanager' ? alertmanagerAlerts(n) : n;
    void sender.send({ url: url.toString(), token, body }).then(count);
  }
}
