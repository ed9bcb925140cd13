import { type Bitrix24Client, type PortalLang, type Runtime, portalText, rpc } from '@hhb24/common';

const TAG = 'hhb24|crm-failures|';
/** A notice that keeps failing (the portal unreachable, the app removed) is given up after this many tries. */
const MAX_ATTEMPTS = 20;

interface IncidentRow {
  id: string | number;
  member_id: string;
  failures: number;
  cleared_at: Date | null;
  open_notified_at: Date | null;
  clear_notified_at: Date | null;
}

export interface IncidentDeps {
  runtime: Runtime;
  b24: () => Bitrix24Client;
}

/**
 * The failure channel's notification rule: one incident per portal while it has failures (writes
 * the portal refused, responses hh-connector could not load). It opens when the first appears and
 * clears when none is left (a retry succeeded, or the settings changed and the writes went through). The admin who installed the app and the
 * responsible user of the settings get one portal notification when it opens and one when it
 * clears, however many responses fail in between.
 */
export class Incidents {
  constructor(private readonly d: IncidentDeps) {}

  /** Failed loads per portal as hh-connector last reported them. */
  private loads: Record<string, number> = {};

  /**
   * Opens and clears incidents from the failures kept now (the refused writes here, the failed
   * loads hh-connector reports), then sends the notices owed. Any replica may run it. Without an
   * answer from hh-connector incidents still open, but none clears: a failed load might remain.
   */
  async tick(): Promise<void> {
    const db = this.d.runtime.db;
    let known = true;
    try {
      this.loads = (await this.d.runtime.call(rpc.hhLoadFailures, {}, { timeoutMs: 5000 })).portals;
    } catch (err) {
      known = false;
      this.d.runtime.log.debug({ err }, 'failed loads not known now; incidents wait to clear');
    }
    await db.raw(
      `with loads as (select key as member_id, value::int as n from json_each_text(?::json)),
            failures as (select member_id, count(*)::int as n from crm_failures group by member_id union all select member_id, n from loads)
       insert into crm_incidents (member_id, failures)
       select member_id, sum(n)::int from failures
        -- Not for a portal that removed the app: nobody there to tell, and its data is being erased.
        where not exists (select 1 from portal_uninstalls u where u.member_id = failures.member_id and u.reinstalled_at is null)
        group by member_id having sum(n) > 0
       on conflict (member_id) where cleared_at is null do nothing`,
      [JSON.stringify(this.loads)],
    );
    if (known) {
      await db.raw(
        `update crm_incidents i set cleared_at = now()
         where cleared_at is null and not exists (select 1 from crm_failures f where f.member_id = i.member_id) and not (i.member_id = any(?::text[]))`,
        [Object.keys(this.loads).filter((m) => (this.loads[m] ?? 0) > 0)],
      );
    }
    const open = await db('crm_incidents').whereNull('cleared_at').count<{ n: string }[]>('* as n');
    this.d.runtime.metrics.portalsFailing.set(Number(open[0]?.n ?? 0));
    await this.send();
  }

  private async send(): Promise<void> {
    await this.d.runtime.db.transaction(async (trx) => {
      const rows = (await trx('crm_incidents')
        .where((q) => {
          void q
            .whereNull('open_notified_at')
            .orWhere((w) => void w.whereNotNull('cleared_at').whereNull('clear_notified_at'));
        })
        .where('attempts', '<', MAX_ATTEMPTS)
        .orderBy('id')
        .limit(20)
        .forUpdate()
        .skipLocked()) as IncidentRow[];
      for (const row of rows) {
        // Cleared before anyone was told it opened: nothing to say either way.
        if (!row.open_notified_at && row.cleared_at) {
          await trx('crm_incidents').where({ id: row.id }).update({
            open_notified_at: trx.fn.now(),
            clear_notified_at: trx.fn.now(),
            last_error: 'cleared before the first notice',
          });
          continue;
        }
        const opening = !row.open_notified_at;
        try {
          const lang = await this.d.b24().store.language(row.member_id);
          const message = opening ? await this.openMessage(row, lang) : portalText(lang, 'notify.cleared');
          for (const user of await this.recipients(row.member_id)) {
            await this.d.b24().call(
              row.member_id,
              'im.notify.system.add',
              {
                USER_ID: user,
                MESSAGE: message,
                TAG: `${TAG}${row.id}|${opening ? 'open' : 'clear'}|${user}`,
              },
              { maxWaitMs: 5000 },
            );
          }
          await trx('crm_incidents')
            .where({ id: row.id })
            .update(opening ? { open_notified_at: trx.fn.now() } : { clear_notified_at: trx.fn.now() });
          this.d.runtime.log.info(
            { memberId: row.member_id, incident: Number(row.id), opening },
            opening
              ? 'failure incident opened: the portal was told'
              : 'failure incident cleared: the portal was told',
          );
        } catch (err) {
          this.d.runtime.log.warn(
            { err, memberId: row.member_id },
            'failure notice not sent; will try again',
          );
          await trx('crm_incidents')
            .where({ id: row.id })
            .update({
              attempts: trx.raw('attempts + 1'),
              last_error: String((err as Error).message).slice(0, 500),
            });
        }
      }
    });
  }

  private async openMessage(row: IncidentRow, lang: PortalLang): Promise<string> {
    const first = await this.d.runtime
      .db('crm_failures')
      .where({ member_id: row.member_id })
      .orderBy('failed_at')
      .first<{ message: string; fix: string | null } | undefined>('message', 'fix');
    const count = await this.d.runtime
      .db('crm_failures')
      .where({ member_id: row.member_id })
      .count<{ n: string }[]>('* as n');
    const loads = this.loads[row.member_id] ?? 0;
    const reason = first
      ? portalText(lang, 'notify.reason', { message: first.message.slice(0, 300) }) +
        (first.fix ? portalText(lang, 'notify.fix', { fix: first.fix.slice(0, 300) }) : '')
      : loads > 0
        ? portalText(lang, 'notify.reasonLoads')
        : '';
    return portalText(lang, 'notify.opened', { n: Number(count[0]?.n ?? 0) + loads, reason });
  }

  /** The admin who installed the app and the responsible user of the settings (once each). */
  private async recipients(memberId: string): Promise<number[]> {
    const portal = await this.d.runtime
      .db('b24_portals')
      .where({ member_id: memberId })
      .first<{ user_id: number | null } | undefined>('user_id');
    const settings = await this.d.runtime
      .call(rpc.settingsGet, { memberId }, { timeoutMs: 5000 })
      .catch(() => null);
    return [
      ...new Set(
        [portal?.user_id, settings?.responsibleUserId].filter(
          (u): u is number => typeof u === 'number' && u > 0,
        ),
      ),
    ];
  }

  async openSince(memberId: string): Promise<Date | null> {
    const r = await this.d.runtime
      .db('crm_incidents')
      .where({ member_id: memberId })
      .whereNull('cleared_at')
      .first<{ opened_at: Date } | undefined>('opened_at');
    return r ? new Date(r.opened_at) : null;
  }
}
