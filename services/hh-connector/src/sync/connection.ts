import { randomUUID } from 'node:crypto';
import {
  type Bitrix24Client,
  type HhAccountChanged,
  type HhAccountView,
  type HhImportRequested,
  type Knex,
  type Runtime,
  enqueue,
  hhWebhookUrl,
  portalText,
  rpc,
  subjects,
} from '@hhb24/common';
import type { Config } from '../config.js';
import type { HhAccount, HhClient, HhWebhookAction } from '../hh/index.js';
import type { SyncStore } from './store.js';

/**
 * What the app hears about from hh.ru: new responses and invitations, every state change, and
 * edits of vacancies (a vacancy handed to another manager changes who is responsible).
 */
export const WEBHOOK_ACTIONS: HhWebhookAction[] = [
  { type: 'NEW_RESPONSE_OR_INVITATION_VACANCY' },
  { type: 'NEGOTIATION_EMPLOYER_STATE_CHANGE' },
  { type: 'VACANCY_CHANGE' },
];

const NOTIFY_TAG = 'hhb24|hh-login|';

export interface ConnectionDeps {
  runtime: Runtime;
  config: Config;
  hh: () => HhClient;
  b24: () => Bitrix24Client;
  store: SyncStore;
}

/**
 * A portal's hh.ru login: connecting (the code from the OAuth callback), the webhook
 * subscription, «Выйти», and what happens when hh.ru stops accepting the tokens (a password
 * change): the account waits for a new login, the admin who connected it and the responsible user
 * are told once, and the next login picks the work up where it stopped.
 */
export class Connection {
  constructor(private readonly d: ConnectionDeps) {}

  private get accounts() {
    return this.d.hh().accounts;
  }

  async connect(req: { memberId: string; userId: number; code: string }): Promise<HhAccountView> {
    const account = await this.d.hh().connect(req.memberId, req.code);
    await this.accounts.setConnectedBy(account.id, req.userId);
    await this.accounts.markReplaced(req.memberId, account.id);
    await this.ensureSubscription(account).catch((err: unknown) =>
      this.d.runtime.log.warn(
        { err, account: account.id },
        'webhook subscription failed; «Новые отклики» renews it',
      ),
    );
    // The employer's managers and the active vacancies, kept for «Настройки» and «Вакансии»
    // before any import (VACANCY_CHANGE, the import and each reconciliation read them again).
    await this.keepListing(account).catch((err: unknown) =>
      this.d.runtime.log.warn(
        { err, account: account.id },
        'the managers and vacancies could not be read at the login; the next reading keeps them',
      ),
    );
    const resumes = await this.d.store.moveImport(req.memberId, account.id);
    await this.d.runtime.db.transaction(async (trx) => {
      await this.announce(trx, account, 'active', null);
      // A new login after a lost one (or another manager's): the import and the sync carry on.
      if (resumes) {
        await enqueue(trx, {
          subject: subjects.hhImportRequested,
          msgId: `resume:${req.memberId}:${randomUUID()}`,
          payload: {
            memberId: req.memberId,
            kind: 'resume',
            requestedBy: req.userId,
            requestedAt: new Date().toISOString(),
          } satisfies HhImportRequested,
        });
      }
    });
    this.d.runtime.wakeOutbox();
    return this.view(req.memberId);
  }

  private async keepListing(account: HhAccount): Promise<void> {
    const listing = await this.d.hh().account(account.id).listing({ maxWaitMs: 10_000 });
    await this.d.runtime.db.transaction((trx) =>
      this.d.store.keepListing(trx, account.memberId, account, listing),
    );
  }

  /** «Выйти»: no more webhooks, the token revoked on hh.ru, the sync stopped; imported data stays. */
  async disconnect(req: { memberId: string; userId: number }): Promise<HhAccountView> {
    const account = await this.accounts.current(req.memberId);
    if (!account) return this.view(req.memberId);
    if (account.status === 'active') {
      const client = this.d.hh().account(account.id);
      try {
        for (const sub of await client.webhookSubscriptions()) await client.deleteSubscription(sub.id);
        await client.revoke();
      } catch (err) {
        this.d.runtime.log.warn(
          { err, account: account.id },
          'could not revoke the hh.ru login; it is forgotten here anyway',
        );
      }
    }
    await this.d.runtime.db('hh_accounts').where({ id: account.id }).update({
      status: 'login_required',
      status_reason: 'disconnected',
      status_at: new Date(),
      updated_at: new Date(),
    });
    await this.d.runtime.db.transaction((trx) =>
      this.announce(trx, account, 'not_connected', 'disconnected'),
    );
    this.d.runtime.wakeOutbox();
    this.d.runtime.log.info(
      { memberId: req.memberId, account: account.id, by: req.userId },
      'hh.ru login disconnected',
    );
    return this.view(req.memberId);
  }

  async view(memberId: string): Promise<HhAccountView> {
    const account = await this.accounts.current(memberId);
    if (!account || account.statusReason === 'disconnected' || account.statusReason === 'replaced') {
      return {
        status: 'not_connected',
        accountId: null,
        employerName: null,
        managerName: null,
        isAdmin: null,
        connectedAt: null,
        loginRequiredReason: null,
      };
    }
    return {
      status: account.status === 'active' ? 'active' : 'login_required',
      accountId: account.id,
      employerName: account.employerName,
      managerName: account.managerName,
      isAdmin: account.isAdmin,
      connectedAt: account.createdAt.toISOString(),
      loginRequiredReason: account.status === 'active' ? null : account.statusReason,
    };
  }

  /** Whether hh.ru calls this account's secret URL for exactly our actions; only reads. */
  async subscriptionState(account: HhAccount): Promise<'ok' | 'missing'> {
    const client = this.d.hh().account(account.id);
    const [current] = await client.webhookSubscriptions({ maxWaitMs: 5000 });
    return current && this.isOurs(account, current) ? 'ok' : 'missing';
  }

  private isOurs(account: HhAccount, current: { url: string; actions: Array<{ type: string }> }): boolean {
    const url = hhWebhookUrl(this.d.config.PUBLIC_URL, account.id, this.d.config.WEBHOOK_SECRET_KEY);
    const wanted = WEBHOOK_ACTIONS.map((a) => a.type).sort();
    return (
      current.url === url &&
      JSON.stringify(current.actions.map((a) => a.type).sort()) === JSON.stringify(wanted)
    );
  }

  /** Makes sure hh.ru calls this account's secret URL for new negotiations and state changes. */
  async ensureSubscription(account: HhAccount): Promise<'ok' | 'created' | 'renewed'> {
    const client = this.d.hh().account(account.id);
    const url = hhWebhookUrl(this.d.config.PUBLIC_URL, account.id, this.d.config.WEBHOOK_SECRET_KEY);
    const [current] = await client.webhookSubscriptions({ maxWaitMs: 5000 });
    if (!current) {
      await client.subscribe(url, WEBHOOK_ACTIONS, { maxWaitMs: 5000 });
      return 'created';
    }
    if (this.isOurs(account, current)) return 'ok';
    await client.updateSubscription(current.id, { url, actions: WEBHOOK_ACTIONS }, { maxWaitMs: 5000 });
    return 'renewed';
  }

  /** hh.ru refused the tokens (the client marked the account once): tell the portal's people, once. */
  async onLoginRequired(account: HhAccount): Promise<void> {
    const lang = await this.d.b24().store.language(account.memberId);
    const message = portalText(lang, 'notify.loginRequired', {
      manager: account.managerName,
      employer: account.employerName,
    });
    await this.d.runtime.db.transaction(async (trx) => {
      await trx('hh_notifications').insert({
        member_id: account.memberId,
        account_id: account.id,
        kind: 'login_required',
        message,
      });
      await this.announce(trx, account, 'login_required', account.statusReason);
    });
    this.d.runtime.wakeOutbox();
  }

  /**
   * Sends waiting notifications (im.notify.system.add) to the admin who connected the account and
   * to the responsible user of the settings. A row is marked sent once both went out; the tag makes
   * a repeat replace the earlier message instead of adding one.
   */
  async sendNotifications(): Promise<number> {
    return this.d.runtime.db.transaction(async (trx) => {
      const rows = (await trx('hh_notifications')
        .whereNull('sent_at')
        .where('attempts', '<', 20)
        .orderBy('id')
        .limit(20)
        .forUpdate()
        .skipLocked()) as Array<{
        id: number;
        member_id: string;
        account_id: string;
        message: string;
      }>;
      let sent = 0;
      for (const row of rows) {
        try {
          const account = await this.accounts.get(row.account_id);
          const settings = await this.d.runtime
            .call(rpc.settingsGet, { memberId: row.member_id })
            .catch(() => null);
          const users = [
            ...new Set(
              [account?.connectedBy, settings?.responsibleUserId].filter(
                (u): u is number => typeof u === 'number' && u > 0,
              ),
            ),
          ];
          for (const user of users) {
            await this.d
              .b24()
              .call(
                row.member_id,
                'im.notify.system.add',
                { USER_ID: user, MESSAGE: row.message, TAG: `${NOTIFY_TAG}${row.account_id}|${user}` },
                { maxWaitMs: 5000 },
              );
          }
          await trx('hh_notifications')
            .where({ id: row.id })
            .update({ sent_at: trx.fn.now(), attempts: trx.raw('attempts + 1') });
          sent++;
        } catch (err) {
          this.d.runtime.log.warn(
            { err, memberId: row.member_id },
            'portal notification not sent; will try again',
          );
          await trx('hh_notifications')
            .where({ id: row.id })
            .update({
              attempts: trx.raw('attempts + 1'),
              last_error: String((err as Error).message).slice(0, 500),
            });
        }
      }
      return sent;
    });
  }

  private async announce(
    trx: Knex.Transaction,
    account: HhAccount,
    status: HhAccountChanged['status'],
    reason: string | null,
  ): Promise<void> {
    await enqueue(trx, {
      subject: subjects.hhAccountChanged,
      msgId: `account:${account.id}:${status}:${randomUUID()}`,
      payload: {
        memberId: account.memberId,
        accountId: account.id,
        status,
        reason,
        at: new Date().toISOString(),
      } satisfies HhAccountChanged,
    });
  }
}
