import { randomBytes } from 'node:crypto';
import type { Faults } from './faults.js';
import { WEBHOOK_ACTION_TYPES, type WebhookActionType } from './model.js';
import type { LoggedEvent, Store } from './store.js';
import { hhDate } from './time.js';

export interface SubscriptionAction {
  type: WebhookActionType;
  settings: { vacancies_only_mine: boolean } | null;
}

export interface Subscription {
  id: string;
  userId: string;
  clientId: string;
  url: string;
  actions: SubscriptionAction[];
}

export interface DeliveryAttempt {
  at: string;
  /** The receiver's HTTP status, absent when it did not answer in time or the connection failed. */
  status?: number;
  error?: string;
  durationMs: number;
}

export interface Delivery {
  /** The callback `id`: the same on every retry, so the receiver can dedupe. */
  id: string;
  subscriptionId: string;
  url: string;
  actionType: WebhookActionType;
  body: Record<string, unknown>;
  state: 'pending' | 'delivered' | 'failed' | 'dropped';
  /** A second copy sent by the `duplicate_webhook` fault. */
  duplicate: boolean;
  attempts: DeliveryAttempt[];
  nextAttemptAt: string | null;
}

export class WebhookBodyError extends Error {
  constructor(
    readonly field: string,
    readonly reason: 'required' | 'invalid' | 'size_less_than_min' | 'unexpected',
  ) {
    super(`${field}: ${reason}`);
  }
}

/**
 * Webhook subscriptions (one URL per user and application) and delivery: hh.ru POSTs the callback,
 * waits at most the timeout, and retries with growing intervals until a 2xx or 409
 * (docs/reference/hh-api.md#webhooks).
 */
export class Webhooks {
  readonly subscriptions = new Map<string, Subscription>();
  readonly deliveries: Delivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<AbortController>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly faults: Faults,
  ) {
    store.onEvent((e) => this.onEvent(e));
  }

  of(userId: string, clientId: string): Subscription | undefined {
    for (const s of this.subscriptions.values()) if (s.userId === userId && s.clientId === clientId) return s;
    return undefined;
  }

  static parseActions(raw: unknown, field = 'actions'): SubscriptionAction[] {
    if (!Array.isArray(raw)) throw new WebhookBodyError(field, raw === undefined ? 'required' : 'invalid');
    if (raw.length === 0) throw new WebhookBodyError(field, 'size_less_than_min');
    const seen = new Set<string>();
    return raw.map((a: unknown, i) => {
      const item = a as { type?: unknown; settings?: unknown } | null;
      if (!item || typeof item !== 'object') throw new WebhookBodyError(`${field}[${i}]`, 'invalid');
      if (!WEBHOOK_ACTION_TYPES.includes(item.type as WebhookActionType))
        throw new WebhookBodyError(`${field}[${i}].type`, item.type === undefined ? 'required' : 'invalid');
      if (seen.has(item.type as string)) throw new WebhookBodyError(`${field}[${i}].type`, 'invalid');
      seen.add(item.type as string);
      for (const key of Object.keys(item))
        if (key !== 'type' && key !== 'settings')
          throw new WebhookBodyError(`${field}[${i}].${key}`, 'unexpected');
      let settings: SubscriptionAction['settings'] = null;
      if (item.settings !== undefined && item.settings !== null) {
        const s = item.settings as { vacancies_only_mine?: unknown };
        if (
          typeof s !== 'object' ||
          (s.vacancies_only_mine !== undefined && typeof s.vacancies_only_mine !== 'boolean')
        )
          throw new WebhookBodyError(`${field}[${i}].settings`, 'invalid');
        settings = { vacancies_only_mine: s.vacancies_only_mine === true };
      }
      return { type: item.type as WebhookActionType, settings };
    });
  }

  static parseUrl(raw: unknown): string {
    if (raw === undefined) throw new WebhookBodyError('url', 'required');
    if (typeof raw !== 'string') throw new WebhookBodyError('url', 'invalid');
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new WebhookBodyError('url', 'invalid');
    }
    return raw;
  }

  create(userId: string, clientId: string, url: string, actions: SubscriptionAction[]): Subscription {
    const sub: Subscription = { id: String(this.nextId++), userId, clientId, url, actions };
    this.subscriptions.set(sub.id, sub);
    return sub;
  }

  clear(): void {
    this.subscriptions.clear();
    this.deliveries.length = 0;
    this.stopTimers();
    this.nextId = 1;
  }

  close(): void {
    this.closed = true;
    this.stopTimers();
  }

  private stopTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.inFlight) c.abort();
    this.inFlight.clear();
  }

  private onEvent(e: LoggedEvent): void {
    const fire = (type: WebhookActionType, vacancyId: string, payload: Record<string, string | null>) => {
      for (const sub of this.subscriptions.values()) {
        const action = sub.actions.find((a) => a.type === type);
        if (!action || !this.reaches(sub, action, type, vacancyId)) continue;
        this.enqueue(sub, type, payload);
      }
    };
    const at = hhDate(this.store.clock.now());
    switch (e.type) {
      case 'negotiation.created': {
        const employerId = this.store.vacancies.get(e.vacancyId)!.employerId;
        const base = {
          topic_id: e.negotiationId,
          resume_id: e.resumeId,
          vacancy_id: e.vacancyId,
          employer_id: employerId,
        };
        if (e.initiator === 'applicant')
          fire('NEW_NEGOTIATION_VACANCY', e.vacancyId, { ...base, negotiation_date: at });
        fire('NEW_RESPONSE_OR_INVITATION_VACANCY', e.vacancyId, { ...base, response_date: at });
        break;
      }
      case 'negotiation.moved':
        fire('NEGOTIATION_EMPLOYER_STATE_CHANGE', e.vacancyId, {
          topic_id: e.negotiationId,
          resume_id: e.resumeId,
          vacancy_id: e.vacancyId,
          employer_manager_id: e.byManagerId,
          from_state: e.from,
          to_state: e.to,
          transferred_at: at,
        });
        break;
      case 'vacancy.published':
        fire('VACANCY_PUBLICATION_FOR_VACANCY_MANAGER', e.vacancyId, {
          vacancy_id: e.vacancyId,
          employer_manager_id: e.managerId,
          creation_date: at,
        });
        break;
      case 'vacancy.archived':
        fire('VACANCY_ARCHIVATION', e.vacancyId, { vacancy_id: e.vacancyId, archivation_date: at });
        break;
      case 'vacancy.changed':
        // hh.ru coalesces edits a few seconds apart into one event with the last change's time
        // (docs/reference/hh-api.md#webhooks); the simulator sends each change at once.
        fire('VACANCY_CHANGE', e.vacancyId, { vacancy_id: e.vacancyId, change_date: at });
        break;
      default:
        break;
    }
  }

  /** Does this subscriber hear about this vacancy? Its own vacancies, or all it can see unless `vacancies_only_mine`. */
  private reaches(
    sub: Subscription,
    action: SubscriptionAction,
    type: WebhookActionType,
    vacancyId: string,
  ): boolean {
    const manager = this.store.managersByUser.get(sub.userId);
    const vacancy = this.store.vacancies.get(vacancyId);
    if (!manager || !vacancy) return false;
    if (type === 'VACANCY_PUBLICATION_FOR_VACANCY_MANAGER' || action.settings?.vacancies_only_mine)
      return vacancy.managerId === manager.id;
    return this.store.canSee(manager, vacancy);
  }

  private enqueue(
    sub: Subscription,
    actionType: WebhookActionType,
    payload: Record<string, string | null>,
  ): void {
    const id = randomBytes(16).toString('hex');
    const body = { id, subscription_id: sub.id, action_type: actionType, user_id: sub.userId, payload };
    const delivery: Delivery = {
      id,
      subscriptionId: sub.id,
      url: sub.url,
      actionType,
      body,
      state: 'pending',
      duplicate: false,
      attempts: [],
      nextAttemptAt: null,
    };
    this.deliveries.push(delivery);
    if (this.deliveries.length > 50_000) this.deliveries.splice(0, this.deliveries.length - 50_000);
    if (this.faults.take('drop_webhook', actionType)) {
      delivery.state = 'dropped';
      return;
    }
    const late = this.faults.take('delay_webhook', actionType);
    const send = (d: Delivery) => {
      if (!late) return void this.attempt(d);
      const t = setTimeout(() => {
        this.timers.delete(t);
        void this.attempt(d);
      }, late.delayMs ?? 3000);
      this.timers.add(t);
    };
    send(delivery);
    if (this.faults.take('duplicate_webhook', actionType)) {
      const copy: Delivery = { ...delivery, duplicate: true, attempts: [], state: 'pending' };
      this.deliveries.push(copy);
      send(copy);
    }
  }

  private async attempt(d: Delivery): Promise<void> {
    if (this.closed) return;
    const started = Date.now();
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(
      () => controller.abort(new Error('timeout')),
      this.store.settings.webhookTimeoutMs,
    );
    const attempt: DeliveryAttempt = { at: new Date(this.store.clock.now()).toISOString(), durationMs: 0 };
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'hh-sim-webhooks/1.0' },
        body: JSON.stringify(d.body),
        signal: controller.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      attempt.status = res.status;
    } catch (err) {
      attempt.error = controller.signal.aborted
        ? `no answer within ${this.store.settings.webhookTimeoutMs} ms`
        : String((err as Error).cause ?? (err as Error).message);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    attempt.durationMs = Date.now() - started;
    d.attempts.push(attempt);
    if (this.closed) return;
    const ok =
      attempt.status !== undefined &&
      ((attempt.status >= 200 && attempt.status < 300) || attempt.status === 409);
    if (ok) {
      d.state = 'delivered';
      d.nextAttemptAt = null;
      return;
    }
    const delay = this.store.settings.webhookRetryScheduleMs[d.attempts.length - 1];
    if (delay === undefined) {
      d.state = 'failed';
      d.nextAttemptAt = null;
      return;
    }
    d.nextAttemptAt = new Date(this.store.clock.now() + delay).toISOString();
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.attempt(d);
    }, delay);
    this.timers.add(t);
  }
}
