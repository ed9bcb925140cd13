import type { CrmFailureView, EntityType, Knex, NegotiationSnapshot } from '@hhb24/common';
import { applicantName } from '@hhb24/common';
import type { Refusal } from './fixes.js';

/** One negotiation's lead or deal in one portal (crm_links). */
export interface Link {
  memberId: string;
  negotiationId: string;
  entityType: EntityType;
  entityId: number;
  categoryId: number;
  version: number;
  /** The stage we set last: a different current stage means a person moved the entity since. */
  stageId: string | null;
  hasPdf: boolean;
  /** hh.ru's `updated_at` of the snapshot written last (null for links recorded before it was kept). */
  hhUpdatedAt: string | null;
  /** The applicant's contact the entity is bound to (null: none yet). */
  contactId: number | null;
}

/** How a person's contact came to be: added by the app, or the portal's own, found by phone or e-mail. */
export type ContactOrigin = 'created' | 'found';

/**
 * A snapshot not newer than what the link holds: an older or equal version, or (whatever its
 * version) an older hh.ru `updated_at` than the one written. Such a snapshot is never written.
 */
export function notNewer(link: Link | null | undefined, s: NegotiationSnapshot): 'version' | 'hh' | null {
  if (!link) return null;
  if (link.version >= s.version) return 'version';
  if (link.hhUpdatedAt && Date.parse(s.updatedAt) < Date.parse(link.hhUpdatedAt)) return 'hh';
  return null;
}

interface LinkRow {
  member_id: string;
  negotiation_id: string;
  entity_type: EntityType;
  entity_id: number;
  category_id: number;
  version: number;
  stage_id: string | null;
  has_pdf: boolean;
  hh_updated_at: string | null;
  contact_id: number | null;
}

const toLink = (r: LinkRow): Link => ({
  memberId: r.member_id,
  negotiationId: r.negotiation_id,
  entityType: r.entity_type,
  entityId: r.entity_id,
  categoryId: r.category_id,
  version: r.version,
  stageId: r.stage_id,
  hasPdf: r.has_pdf,
  hhUpdatedAt: r.hh_updated_at,
  contactId: r.contact_id,
});

/** crm_links and crm_failures, scoped by portal. */
export class Records {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async link(memberId: string, negotiationId: string): Promise<Link | undefined> {
    const r = (await this.db('crm_links')
      .where({ member_id: memberId, negotiation_id: negotiationId })
      .first()) as LinkRow | undefined;
    return r && toLink(r);
  }

  async linkByEntity(memberId: string, entityType: EntityType, entityId: number): Promise<Link | undefined> {
    const r = (await this.db('crm_links')
      .where({ member_id: memberId, entity_type: entityType, entity_id: entityId })
      .first()) as LinkRow | undefined;
    return r && toLink(r);
  }

  async links(memberId: string, negotiationIds: string[]): Promise<Map<string, Link>> {
    const rows = (await this.db('crm_links')
      .where({ member_id: memberId })
      .whereIn('negotiation_id', negotiationIds)) as LinkRow[];
    return new Map(rows.map((r) => [r.negotiation_id, toLink(r)]));
  }

  /** Records the entity of a negotiation; the unique key keeps it one per negotiation and portal. */
  async saveLink(trx: Knex.Transaction, link: Link): Promise<void> {
    await trx('crm_links')
      .insert({
        member_id: link.memberId,
        negotiation_id: link.negotiationId,
        entity_type: link.entityType,
        entity_id: link.entityId,
        category_id: link.categoryId,
        version: link.version,
        stage_id: link.stageId,
        has_pdf: link.hasPdf,
        hh_updated_at: link.hhUpdatedAt,
        contact_id: link.contactId,
      })
      .onConflict(['member_id', 'negotiation_id'])
      .merge({
        version: link.version,
        stage_id: link.stageId,
        has_pdf: link.hasPdf,
        hh_updated_at: link.hhUpdatedAt,
        contact_id: link.contactId,
        updated_at: trx.fn.now(),
      });
  }

  /** The portal contact of each of these people that has one. */
  async contactsOf(memberId: string, personIds: string[]): Promise<Map<string, number>> {
    if (personIds.length === 0) return new Map();
    const rows = (await this.db('crm_contacts')
      .where({ member_id: memberId })
      .whereIn('person_id', [...new Set(personIds)])) as Array<{ person_id: string; contact_id: number }>;
    return new Map(rows.map((r) => [r.person_id, r.contact_id]));
  }

  /** Records a person's contact; the first one recorded stays (one contact per person and portal). */
  async saveContact(
    trx: Knex.Transaction,
    memberId: string,
    personId: string,
    contactId: number,
    origin: ContactOrigin,
  ): Promise<void> {
    await trx('crm_contacts')
      .insert({ member_id: memberId, person_id: personId, contact_id: contactId, origin })
      .onConflict(['member_id', 'person_id'])
      .ignore();
  }

  /** A person deleted the entity in the portal: forgotten here, so that «Повторить» creates it again. */
  async dropLink(trx: Knex.Transaction, memberId: string, negotiationId: string): Promise<void> {
    await trx('crm_links').where({ member_id: memberId, negotiation_id: negotiationId }).delete();
  }

  async saveFailure(trx: Knex.Transaction, snapshot: NegotiationSnapshot, refusal: Refusal): Promise<void> {
    await trx('crm_failures')
      .insert({
        member_id: snapshot.memberId,
        negotiation_id: snapshot.negotiationId,
        version: snapshot.version,
        code: refusal.code,
        message: refusal.message.slice(0, 2000),
        fix: refusal.fix,
        snapshot: JSON.stringify(snapshot),
      })
      .onConflict(['member_id', 'negotiation_id'])
      .merge({
        version: snapshot.version,
        code: refusal.code,
        message: refusal.message.slice(0, 2000),
        fix: refusal.fix,
        snapshot: JSON.stringify(snapshot),
        attempts: trx.raw('crm_failures.attempts + 1'),
        failed_at: trx.fn.now(),
      });
  }

  async clearFailure(trx: Knex.Transaction, memberId: string, negotiationId: string): Promise<void> {
    await trx('crm_failures').where({ member_id: memberId, negotiation_id: negotiationId }).delete();
  }

  async failures(memberId: string): Promise<CrmFailureView[]> {
    const rows = await this.db('crm_failures as f')
      .leftJoin('crm_links as l', (j) =>
        j.on('l.member_id', 'f.member_id').andOn('l.negotiation_id', 'f.negotiation_id'),
      )
      .where('f.member_id', memberId)
      .orderBy('f.failed_at', 'desc')
      .limit(500)
      .select('f.*', 'l.entity_type', 'l.entity_id');
    type Row = {
      negotiation_id: string;
      snapshot: NegotiationSnapshot;
      code: string;
      message: string;
      fix: string | null;
      failed_at: Date;
      attempts: number;
      entity_type: EntityType | null;
      entity_id: number | null;
    };
    return rows.map((r: Row) => ({
      hhUrl: r.snapshot.resume?.url ?? r.snapshot.vacancy.url ?? null,
      entity: r.entity_type && r.entity_id ? { type: r.entity_type, id: r.entity_id } : null,
      negotiationId: r.negotiation_id,
      applicantName: applicantName(r.snapshot),
      vacancyName: r.snapshot.vacancy.name,
      code: r.code,
      message: r.message,
      fix: r.fix,
      failedAt: new Date(r.failed_at).toISOString(),
      attempts: r.attempts,
    }));
  }

  /** The snapshots to write again («Повторить», or the settings changed), stamped as requested. */
  async takeForRetry(memberId: string, negotiationId?: string): Promise<NegotiationSnapshot[]> {
    const q = this.db('crm_failures').where({ member_id: memberId });
    if (negotiationId) q.where({ negotiation_id: negotiationId });
    const rows = await q.update({ retry_requested_at: this.db.fn.now() }).returning('snapshot');
    return rows.map((r: { snapshot: NegotiationSnapshot }) => r.snapshot);
  }

  /** Counts a write's outcome for the portal's day (Moscow). */
  async count(
    trx: Knex.Transaction,
    memberId: string,
    outcome: 'created' | 'updated' | 'refused',
  ): Promise<void> {
    await trx.raw(
      `insert into crm_write_counts (member_id, day, ${outcome}) values (?, (now() at time zone 'Europe/Moscow')::date, 1)
       on conflict (member_id, day) do update set ${outcome} = crm_write_counts.${outcome} + 1`,
      [memberId],
    );
  }

  async counts(memberId: string): Promise<{
    today: { imported: number; updated: number; failed: number };
    total: { imported: number; updated: number; failed: number };
  }> {
    const r = (
      await this.db.raw<{ rows: Array<Record<string, number>> }>(
        `select coalesce(sum(created), 0)::int as created, coalesce(sum(updated), 0)::int as updated, coalesce(sum(refused), 0)::int as refused,
                coalesce(sum(created) filter (where day = (now() at time zone 'Europe/Moscow')::date), 0)::int as created_today,
                coalesce(sum(updated) filter (where day = (now() at time zone 'Europe/Moscow')::date), 0)::int as updated_today,
                coalesce(sum(refused) filter (where day = (now() at time zone 'Europe/Moscow')::date), 0)::int as refused_today
         from crm_write_counts where member_id = ?`,
        [memberId],
      )
    ).rows[0]!;
    return {
      today: { imported: r['created_today']!, updated: r['updated_today']!, failed: r['refused_today']! },
      total: { imported: r['created']!, updated: r['updated']!, failed: r['refused']! },
    };
  }

  async lastWriteAt(memberId: string): Promise<Date | null> {
    const r = await this.db('crm_links').where({ member_id: memberId }).max('updated_at as at').first();
    return r?.at ? new Date(r.at as string) : null;
  }
}
