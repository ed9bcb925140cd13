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
});

/** crm_links and crm_failures, scoped by portal. */
export class Records {
  constructor(private readonly db: Knex | Knex.Transaction) {}

  async link(memberId: string, negotiationId: string): Promise<Link | undefined> {
    const r = (await this.db('crm_links').where({ member_id: memberId, negotiation_id: negotiationId }).first()) as LinkRow | undefined;
    return r && toLink(r);
  }

  async linkByEntity(memberId: string, entityType: EntityType, entityId: number): Promise<Link | undefined> {
    const r = (await this.db('crm_links').where({ member_id: memberId, entity_type: entityType, entity_id: entityId }).first()) as LinkRow | undefined;
    return r && toLink(r);
  }

  async links(memberId: string, negotiationIds: string[]): Promise<Map<string, Link>> {
    const rows = (await this.db('crm_links').where({ member_id: memberId }).whereIn('negotiation_id', negotiationIds)) as LinkRow[];
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
      })
      .onConflict(['member_id', 'negotiation_id'])
      .merge({ version: link.version, stage_id: link.stageId, has_pdf: link.hasPdf, updated_at: trx.fn.now() });
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
    const rows = await this.db('crm_failures').where({ member_id: memberId }).orderBy('failed_at', 'desc').limit(500);
    return rows.map((r: { negotiation_id: string; snapshot: NegotiationSnapshot; code: string; message: string; fix: string | null; failed_at: Date; attempts: number }) => ({
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
}
