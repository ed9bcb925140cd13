import type { Knex } from 'knex';
import type { PortalUninstalled } from './contracts.js';
import { ValidationError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * Erasing a portal's data after the app was removed from it (docs/security.md, «What is erased
 * when»). Each service erases its own tables: at once when the portal asked for it (CLEAN, on
 * `portal.app.uninstalled`), otherwise after HH_DATA_RETENTION_DAYS (a periodic sweep). Each says
 * it is done in `portal_erasures` and in a log line. Messages about an erased portal that are still
 * in the streams are acknowledged unread by every consumer (`isErased`).
 */

/** A table holding a portal's rows, named by its column (`member_id` unless told). */
export interface PortalTable {
  table: string;
  column?: string;
  /** Only the rows that also match this (the portal's record only once it is uninstalled, say). */
  where?: Record<string, string | number | boolean>;
}

export interface PortalData {
  /** Tables of this service, erased in this order (children before parents). */
  tables: Array<string | PortalTable>;
  /**
   * Runs first in the same transaction, for rows found through others (the webhook log of the
   * portal's hh.ru accounts, say); returns the rows it erased per table.
   */
  before?: (trx: Knex.Transaction, memberId: string) => Promise<Record<string, number>>;
  /** Runs before erasing on a clean uninstall (not in a transaction): e.g. close the hh.ru login. */
  onUninstalled?: (event: PortalUninstalled, log: Logger) => Promise<void>;
  /** The durable consumer of `portal.app.uninstalled` that erases (default `<service>-erase`). */
  durable?: string;
}

/**
 * A handler that was already running when the erasure committed may still write a row of the
 * portal; every consumer's ack wait is well below this, so a second pass after it finds them.
 */
export const ERASE_SETTLE_MS = 5 * 60_000;

const DAY_SECONDS = 86_400;

/**
 * The portal's messages kept in the outbox before it was erased (every payload names its portal
 * as `memberId`, a snapshot's or settings' `memberId`, or `portal`).
 */
const OUTBOX_OF_PORTAL = `(payload->>'memberId' = ? or payload#>>'{snapshot,memberId}' = ? or payload#>>'{settings,memberId}' = ? or payload->>'portal' = ?)`;

/** The portal a message is about, as its payload names it; null when it names none. */
export function portalOf(value: unknown): string | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  for (const candidate of [
    v['memberId'],
    v['portal'],
    (v['snapshot'] as Record<string, unknown> | undefined)?.['memberId'],
    (v['settings'] as Record<string, unknown> | undefined)?.['memberId'],
  ])
    if (typeof candidate === 'string' && candidate) return candidate;
  return null;
}

/**
 * Whether messages about this portal published at `publishedAt` are to be skipped: its data was
 * (or is due to be) erased, and the message was published before any reinstall since.
 */
export async function isErased(
  db: Knex,
  memberId: string,
  publishedAt: Date,
  retentionDays: number,
): Promise<boolean> {
  const rows = await db.raw<{ rows: unknown[] }>(
    `select 1 from portal_uninstalls
      where member_id = ?
        and (clean or uninstalled_at <= now() - make_interval(secs => ?))
        and (reinstalled_at is null or reinstalled_at > ?)
      limit 1`,
    [memberId, retentionDays * DAY_SECONDS, publishedAt],
  );
  return rows.rows.length > 0;
}

/** Records a confirmed uninstall (in the gateway's transaction that publishes `portal.app.uninstalled`). */
export async function recordPortalUninstall(
  trx: Knex | Knex.Transaction,
  memberId: string,
  clean: boolean,
  at: string,
): Promise<void> {
  await trx('portal_uninstalls')
    .insert({ member_id: memberId, uninstalled_at: at, clean, reinstalled_at: null })
    .onConflict('member_id')
    .merge();
}

/**
 * The app was installed again: messages published before now stay skipped if the old data was
 * erased; an uninstall whose data is still kept is no longer due (the sweep leaves it alone).
 */
export async function recordPortalReinstall(trx: Knex | Knex.Transaction, memberId: string): Promise<void> {
  await trx('portal_uninstalls')
    .where({ member_id: memberId })
    .whereNull('reinstalled_at')
    .update({ reinstalled_at: trx.fn.now() });
}

export interface ErasureResult {
  memberId: string;
  service: string;
  rows: number;
  tables: Record<string, number>;
}

/**
 * Erases every row of the portal in this service's tables, and its dead letters and unsent
 * messages, in one transaction; idempotent. Two replicas (or the consumer and the sweep) erasing
 * the same portal take turns on a transaction-scoped advisory lock.
 */
export async function erasePortal(
  db: Knex,
  service: string,
  data: PortalData,
  memberId: string,
  uninstalledAt: string | Date,
  options: { outbox: boolean } = { outbox: true },
): Promise<ErasureResult> {
  if (!memberId) throw new ValidationError('memberId is required');
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`hhb24:erase:${service}:${memberId}`]);
    const tables: Record<string, number> = {};
    const count = (table: string, n: number) => (tables[table] = (tables[table] ?? 0) + n);
    if (data.before)
      for (const [table, n] of Object.entries(await data.before(trx, memberId))) count(table, n);
    for (const t of data.tables) {
      const spec: PortalTable = typeof t === 'string' ? { table: t } : t;
      const n = await trx(spec.table)
        .where({ [spec.column ?? 'member_id']: memberId, ...spec.where })
        .delete();
      count(spec.table, n);
    }
    // Shared tables: what this portal left in the dead letters and the outbox.
    count('dead_letters', await trx('dead_letters').where({ portal: memberId }).delete());
    // The outbox only where this service writes it (its database role reaches no other).
    if (options.outbox)
      count(
        'outbox',
        await trx('outbox').whereRaw(OUTBOX_OF_PORTAL, [memberId, memberId, memberId, memberId]).delete(),
      );
    const rows = Object.values(tables).reduce((a, b) => a + b, 0);
    // Passes over the same uninstall add up (the consumer's, a sweep's that waited for it, the second pass).
    const earlier = await trx('portal_erasures')
      .where({ member_id: memberId, service })
      .where('uninstalled_at', '>=', uninstalledAt)
      .first<{ rows: number; tables: Record<string, number> } | undefined>('rows', 'tables');
    const total = { ...earlier?.tables };
    for (const [table, n] of Object.entries(tables)) total[table] = (total[table] ?? 0) + n;
    await trx('portal_erasures')
      .insert({
        member_id: memberId,
        service,
        uninstalled_at: uninstalledAt,
        erased_at: trx.fn.now(),
        rows: (earlier?.rows ?? 0) + rows,
        tables: JSON.stringify(total),
      })
      .onConflict(['member_id', 'service'])
      .merge();
    return { memberId, service, rows, tables };
  });
}

/**
 * The removed portals whose data this service must erase now: due since the uninstall (CLEAN) or
 * since the retention passed (without), and not erased here since then; once more after
 * ERASE_SETTLE_MS past that, for a write that was in flight at the first pass. None that was
 * installed again since.
 */
export async function dueErasures(
  db: Knex,
  service: string,
  now: Date,
  retentionDays: number,
  limit = 20,
): Promise<Array<{ memberId: string; uninstalledAt: Date; clean: boolean }>> {
  const settle = ERASE_SETTLE_MS / 1000;
  const rows = await db.raw<{ rows: Array<{ member_id: string; uninstalled_at: Date; clean: boolean }> }>(
    `with u as (
       select member_id, uninstalled_at, clean,
              case when clean then uninstalled_at
                   else uninstalled_at + make_interval(secs => ?) end as due_at
         from portal_uninstalls
        where reinstalled_at is null)
     select u.member_id, u.uninstalled_at, u.clean from u
      where u.due_at <= ?::timestamptz
        and not exists (
          select 1 from portal_erasures e
           where e.member_id = u.member_id and e.service = ?
             and e.erased_at >= case when ?::timestamptz >= u.due_at + make_interval(secs => ?)
                                     then u.due_at + make_interval(secs => ?) else u.due_at end)
      order by u.due_at
      limit ?`,
    [retentionDays * DAY_SECONDS, now, service, now, settle, settle, limit],
  );
  return rows.rows.map((r) => ({ memberId: r.member_id, uninstalledAt: r.uninstalled_at, clean: r.clean }));
}
