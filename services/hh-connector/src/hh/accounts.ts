import { randomUUID } from 'node:crypto';
import { type Keyring, type Knex, type SealContext, sealedOwner } from '@hhb24/common';
import type { HhMe, HhTokens } from './types.js';

export type HhAccountStatus = 'active' | 'login_required';

/** An hh.ru employer account connected to a portal. Tokens stay sealed in Postgres and out of this object. */
export interface HhAccount {
  id: string;
  memberId: string;
  hhUserId: string;
  employerId: string;
  employerName: string;
  managerId: string;
  managerName: string;
  /** Company admin rights: sees every vacancy of the employer. */
  isAdmin: boolean;
  expiresAt: Date;
  version: number;
  status: HhAccountStatus;
  statusReason: string | null;
  statusAt: Date;
  /** The portal user who connected it (told when the login must be renewed). */
  connectedBy: number | null;
  /** Resume reads wait until then: the manager's daily views are used up. */
  viewsParkedUntil: Date | null;
  /** hh.ru refused for want of paid API access: the work waits, and its access is probed again then. */
  unpaidUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

interface Row {
  id: string;
  member_id: string;
  hh_user_id: string;
  employer_id: string;
  employer_name: string;
  manager_id: string;
  manager_name: string;
  is_admin: boolean;
  access_token: string;
  refresh_token: string;
  expires_at: Date;
  version: number;
  status: HhAccountStatus;
  status_reason: string | null;
  status_at: Date;
  connected_by: number | null;
  views_parked_until: Date | null;
  unpaid_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

type SealedColumn = 'access_token' | 'refresh_token';
/** Where an account's token is sealed: bound to its column, its portal and its hh.ru user (migrations' `sealed`). */
const place = (memberId: string, hhUserId: string, column: SealedColumn): SealContext => ({
  table: 'hh_accounts',
  column,
  owner: sealedOwner([memberId, hhUserId]),
});

const toAccount = (r: Row): HhAccount => ({
  id: r.id,
  memberId: r.member_id,
  hhUserId: r.hh_user_id,
  employerId: r.employer_id,
  employerName: r.employer_name,
  managerId: r.manager_id,
  managerName: r.manager_name,
  isAdmin: r.is_admin,
  expiresAt: r.expires_at,
  version: r.version,
  status: r.status,
  statusReason: r.status_reason,
  statusAt: r.status_at,
  connectedBy: r.connected_by ?? null,
  viewsParkedUntil: r.views_parked_until ?? null,
  unpaidUntil: r.unpaid_until ?? null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** `hh_accounts` (owned by hh-connector): one row per (portal, hh user), tokens sealed with the runtime's keyring. */
export class HhAccountStore {
  constructor(
    private readonly db: Knex,
    private readonly keyring: Keyring,
  ) {}

  /** Stores a fresh login: a new account, or new tokens (and status `active`) for a known one. */
  async saveLogin(memberId: string, me: HhMe, tokens: HhTokens, now = new Date()): Promise<HhAccount> {
    if (!me.employer || !me.manager)
      throw new Error('not an employer account: /me has no employer or manager');
    const managerName = [me.last_name, me.first_name, me.middle_name].filter(Boolean).join(' ');
    const sealed = {
      access_token: this.keyring.seal(tokens.access_token, place(memberId, me.id, 'access_token')),
      refresh_token: this.keyring.seal(tokens.refresh_token, place(memberId, me.id, 'refresh_token')),
      expires_at: new Date(now.getTime() + tokens.expires_in * 1000),
    };
    const [row] = (await this.db('hh_accounts')
      .insert({
        id: randomUUID(),
        member_id: memberId,
        hh_user_id: me.id,
        employer_id: me.employer.id,
        employer_name: me.employer.name,
        manager_id: me.manager.id,
        manager_name: managerName,
        is_admin: me.manager.has_admin_rights,
        ...sealed,
        version: 1,
        status: 'active',
        status_reason: null,
        status_at: now,
      })
      .onConflict(['member_id', 'hh_user_id'])
      .merge({
        employer_id: me.employer.id,
        employer_name: me.employer.name,
        manager_id: me.manager.id,
        manager_name: managerName,
        is_admin: me.manager.has_admin_rights,
        ...sealed,
        version: this.db.raw('hh_accounts.version + 1'),
        status: 'active',
        status_reason: null,
        status_at: now,
        updated_at: now,
      })
      .returning('*')) as Row[];
    return toAccount(row!);
  }

  async get(id: string): Promise<HhAccount | undefined> {
    const row = (await this.db('hh_accounts').where({ id }).first()) as Row | undefined;
    return row && toAccount(row);
  }

  /** The portal's account: the one connected last (a portal works with one hh.ru login at a time). */
  async current(memberId: string): Promise<HhAccount | undefined> {
    const row = (await this.db('hh_accounts')
      .where({ member_id: memberId })
      .orderBy('status_at', 'desc')
      .orderBy('created_at', 'desc')
      .first()) as Row | undefined;
    return row && toAccount(row);
  }

  async setConnectedBy(id: string, userId: number): Promise<void> {
    await this.db('hh_accounts').where({ id }).update({ connected_by: userId });
  }

  /** The manager's resume views are used up: resume reads wait until `until`. */
  async parkViews(id: string, until: Date): Promise<void> {
    await this.db('hh_accounts').where({ id }).update({ views_parked_until: until });
  }

  /** Takes the accounts whose park is over, each by one process only (the next probe is set at once). */
  async claimParkOver(nextProbe: Date, now = new Date()): Promise<HhAccount[]> {
    const rows = (await this.db('hh_accounts')
      .where('views_parked_until', '<=', now)
      .where({ status: 'active' })
      .update({ views_parked_until: nextProbe })
      .returning('*')) as Row[];
    return rows.map(toAccount);
  }

  async unparkViews(id: string): Promise<void> {
    await this.db('hh_accounts').where({ id }).update({ views_parked_until: null });
  }

  /** hh.ru wants paid API access for this employer's negotiations: the work waits; true the first time. */
  async markUnpaid(id: string, nextProbe: Date): Promise<boolean> {
    return (
      (await this.db('hh_accounts')
        .where({ id })
        .whereNull('unpaid_until')
        .update({ unpaid_until: nextProbe })) > 0
    );
  }

  /** Takes the accounts due for a look at their paid access, each by one process only (the next probe is set at once). */
  async claimUnpaidProbe(nextProbe: Date, now = new Date()): Promise<HhAccount[]> {
    const rows = (await this.db('hh_accounts')
      .where('unpaid_until', '<=', now)
      .where({ status: 'active' })
      .update({ unpaid_until: nextProbe })
      .returning('*')) as Row[];
    return rows.map(toAccount);
  }

  async markPaid(id: string): Promise<void> {
    await this.db('hh_accounts').where({ id }).update({ unpaid_until: null });
  }

  /** Another hh.ru user logged in for the portal: the earlier accounts stop syncing (their data stays). */
  async markReplaced(memberId: string, keepId: string): Promise<void> {
    await this.db('hh_accounts')
      .where({ member_id: memberId })
      .whereNot({ id: keepId })
      .update({
        status: 'login_required',
        status_reason: 'replaced',
        version: this.db.raw('version + 1'),
        updated_at: new Date(),
      });
  }

  /**
   * Active accounts of portals whose initial import has finished and that were not reconciled
   * since `before`, each claimed by one process (stamped now).
   */
  async claimReconcileDue(before: Date, now = new Date()): Promise<HhAccount[]> {
    const rows = (await this.db('hh_accounts')
      .where({ status: 'active' })
      .whereExists((q) => {
        void q
          .select(this.db.raw('1'))
          .from('hh_imports')
          .whereRaw('hh_imports.account_id = hh_accounts.id')
          .whereNotNull('finished_at');
      })
      .where((q) => void q.whereNull('reconciled_at').orWhere('reconciled_at', '<', before))
      .update({ reconciled_at: now })
      .returning('*')) as Row[];
    return rows.map(toAccount);
  }

  async list(memberId: string): Promise<HhAccount[]> {
    const rows = (await this.db('hh_accounts').where({ member_id: memberId }).orderBy('created_at')) as Row[];
    return rows.map(toAccount);
  }

  /** The account with its tokens opened, for one call. */
  async withTokens(
    id: string,
  ): Promise<{ account: HhAccount; accessToken: string; refreshToken: string } | undefined> {
    const row = (await this.db('hh_accounts').where({ id }).first()) as Row | undefined;
    if (!row) return undefined;
    const opened = {
      account: toAccount(row),
      accessToken: this.keyring.open(row.access_token, place(row.member_id, row.hh_user_id, 'access_token')),
      refreshToken: this.keyring.open(
        row.refresh_token,
        place(row.member_id, row.hh_user_id, 'refresh_token'),
      ),
    };
    // Sealed before values were bound to their place: opened once (above), sealed again bound to this
    // account, only if the row still holds what was read (a refresh may have won meanwhile).
    if (this.keyring.isLegacy(row.access_token) || this.keyring.isLegacy(row.refresh_token))
      await this.db('hh_accounts')
        .where({ id, access_token: row.access_token, refresh_token: row.refresh_token })
        .update({
          access_token: this.keyring.seal(
            opened.accessToken,
            place(row.member_id, row.hh_user_id, 'access_token'),
          ),
          refresh_token: this.keyring.seal(
            opened.refreshToken,
            place(row.member_id, row.hh_user_id, 'refresh_token'),
          ),
        });
    return opened;
  }

  /** Compare-and-swap: stores refreshed tokens only if nobody changed the row since `version` was read. */
  async saveRefreshed(
    account: Pick<HhAccount, 'id' | 'memberId' | 'hhUserId'>,
    version: number,
    tokens: HhTokens,
    now = new Date(),
  ): Promise<HhAccount | undefined> {
    const { id, memberId, hhUserId } = account;
    const [row] = (await this.db('hh_accounts')
      .where({ id, member_id: memberId, hh_user_id: hhUserId, version, status: 'active' })
      .update({
        access_token: this.keyring.seal(tokens.access_token, place(memberId, hhUserId, 'access_token')),
        refresh_token: this.keyring.seal(tokens.refresh_token, place(memberId, hhUserId, 'refresh_token')),
        expires_at: new Date(now.getTime() + tokens.expires_in * 1000),
        version: version + 1,
        updated_at: now,
      })
      .returning('*')) as Row[];
    return row && toAccount(row);
  }

  /** The tokens stopped working: a person must log in again. True when this call changed the status. */
  async markLoginRequired(id: string, reason: string, now = new Date()): Promise<boolean> {
    const changed = await this.db('hh_accounts')
      .where({ id, status: 'active' })
      .update({
        status: 'login_required',
        status_reason: reason,
        status_at: now,
        version: this.db.raw('version + 1'),
        updated_at: now,
      });
    return changed > 0;
  }
}
