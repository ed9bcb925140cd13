import {
  type Bitrix24Client,
  Bitrix24Error,
  type CrmEntityWritten,
  type EntityType,
  type Knex,
  type NegotiationSnapshot,
  type OtherResponse,
  type Outcome,
  type Runtime,
  ack,
  defer,
  drop,
  rpc,
} from '@hhb24/common';
import { type Layout, type OthersShown, buildLayout, entityPath, plain } from './layout.js';
import { layoutProblems } from './validate.js';

/** What our activities carry in ORIGINATOR_ID (the same as crm-writer's entities), ORIGIN_ID being the negotiation. */
export const ORIGINATOR_ID = 'hh-b24';
const OWNER_TYPE: Record<EntityType, number> = { lead: 1, deal: 2 };
const ENTITY_NAME: Record<EntityType, string> = { lead: 'Лид', deal: 'Сделка' };
const LOCK_MS = 20_000;
const B24_WAIT_MS = 10_000;

export interface ActivityRow {
  memberId: string;
  negotiationId: string;
  entityType: EntityType;
  entityId: number;
  activityId: number;
  version: number;
  snapshot: NegotiationSnapshot;
  others: OthersShown;
}

interface DbRow {
  member_id: string;
  negotiation_id: string;
  entity_type: EntityType;
  entity_id: number;
  activity_id: number;
  version: number;
  snapshot: NegotiationSnapshot;
  others: OthersShown;
}

const toRow = (r: DbRow): ActivityRow => ({
  memberId: r.member_id,
  negotiationId: r.negotiation_id,
  entityType: r.entity_type,
  entityId: r.entity_id,
  activityId: r.activity_id,
  version: r.version,
  snapshot: r.snapshot,
  others: r.others,
});

/** `tl_activities`: the activity of each negotiation, what it shows, and the version it was drawn from. */
export class ActivityStore {
  constructor(private readonly db: Knex) {}

  async get(memberId: string, negotiationId: string): Promise<ActivityRow | undefined> {
    const r = (await this.db('tl_activities').where({ member_id: memberId, negotiation_id: negotiationId }).first()) as DbRow | undefined;
    return r && toRow(r);
  }

  async byActivity(memberId: string, activityId: number): Promise<ActivityRow | undefined> {
    const r = (await this.db('tl_activities').where({ member_id: memberId, activity_id: activityId }).first()) as DbRow | undefined;
    return r && toRow(r);
  }

  async save(row: ActivityRow): Promise<void> {
    await this.db('tl_activities')
      .insert({
        member_id: row.memberId,
        negotiation_id: row.negotiationId,
        entity_type: row.entityType,
        entity_id: row.entityId,
        activity_id: row.activityId,
        version: row.version,
        snapshot: JSON.stringify(row.snapshot),
        others: row.others === null ? null : JSON.stringify(row.others),
        updated_at: this.db.fn.now(),
      })
      .onConflict(['member_id', 'negotiation_id'])
      .merge();
  }
}

/** A layout Bitrix24 would refuse is never sent: the message goes to the dead letters with the reasons. */
class BrokenLayout extends Error {
  constructor(readonly problems: string[]) {
    super(`the layout breaks Bitrix24's rules: ${problems.slice(0, 5).join('; ')}`);
  }
}

/**
 * Draws the activity of each negotiation on its lead or deal: added once (a redelivered or repeated
 * request finds the row, or the activity itself by ORIGIN_ID when an earlier run died before
 * recording it), updated in place when the hh.ru status changes, and redrawn with the applicant's
 * other responses when «Другие отклики» is pressed.
 */
export class Renderer {
  constructor(
    private readonly runtime: Runtime,
    private readonly b24: () => Bitrix24Client,
    private readonly store: ActivityStore,
  ) {}

  /** crm.entity.written: the lead or deal of a negotiation was created or updated. */
  async onWritten(m: CrmEntityWritten): Promise<Outcome> {
    const held = await this.runtime.locks.hold(`tl:negotiation:${m.memberId}:${m.negotiationId}`, LOCK_MS, async () => {
      const row = await this.store.get(m.memberId, m.negotiationId);
      const sameEntity = row && row.entityType === m.entityType && row.entityId === m.entityId;
      if (sameEntity && row.version >= m.version) return ack();
      const others = sameEntity ? row.others : null;
      const layout = this.checked(buildLayout(m.snapshot, others));
      const activityId = await this.put(m.memberId, { type: m.entityType, id: m.entityId }, m.negotiationId, sameEntity ? row.activityId : null, layout);
      await this.store.save({ memberId: m.memberId, negotiationId: m.negotiationId, entityType: m.entityType, entityId: m.entityId, activityId, version: m.version, snapshot: m.snapshot, others });
      return ack();
    });
    return held.ran ? held.value : defer('another process is drawing this activity', 500);
  }

  /**
   * «Другие отклики» pressed on an activity: the applicant's other responses in this portal (hh-connector
   * knows the person) drawn into the activity, as many as Bitrix24's limits allow, «Все отклики (N)»
   * when they do not all fit, and then the clicking user is sent every entity id.
   */
  async onOthers(memberId: string, activityId: number, userId: number | null): Promise<Outcome> {
    const found = await this.store.byActivity(memberId, activityId);
    if (!found) return drop(`activity ${activityId} is not one of ours`);
    const held = await this.runtime.locks.hold(`tl:negotiation:${memberId}:${found.negotiationId}`, LOCK_MS, async () => {
      const row = (await this.store.get(memberId, found.negotiationId))!;
      const card = await this.runtime.call(rpc.hhCard, { memberId, entityType: row.entityType, entityId: row.entityId }, { timeoutMs: 15_000 });
      const others: NonNullable<OthersShown> = { responses: card?.others ?? [] };
      const layout = this.checked(buildLayout(row.snapshot, others));
      const id = await this.put(memberId, { type: row.entityType, id: row.entityId }, row.negotiationId, row.activityId, layout);
      await this.store.save({ ...row, activityId: id, others });
      const shown = countRows(layout);
      if (userId && shown < others.responses.length) await this.notify(memberId, userId, row.snapshot, others.responses);
      return ack();
    });
    return held.ran ? held.value : defer('another process is drawing this activity', 500);
  }

  private checked(layout: Layout): Layout {
    const problems = layoutProblems(layout);
    if (problems.length > 0) throw new BrokenLayout(problems);
    return layout;
  }

  /** Updates the activity, or adds it (finding one an earlier run added but did not record). */
  private async put(memberId: string, entity: { type: EntityType; id: number }, negotiationId: string, known: number | null, layout: Layout): Promise<number> {
    const client = this.b24();
    let id = known ?? (await this.findExisting(memberId, entity, negotiationId));
    if (id !== null) {
      try {
        await client.call(memberId, 'crm.activity.configurable.update', { id, layout }, { maxWaitMs: B24_WAIT_MS });
        return id;
      } catch (err) {
        // Deleted in the portal: drawn again as a new activity.
        if (!(err instanceof Bitrix24Error && (err.code === 'b24_not_found' || err.details.b24Error === 'NOT_FOUND'))) throw err;
        id = null;
      }
    }
    const added = await client.call<{ activity: { id: number } }>(
      memberId,
      'crm.activity.configurable.add',
      { ownerTypeId: OWNER_TYPE[entity.type], ownerId: entity.id, fields: { completed: false, originatorId: ORIGINATOR_ID, originId: negotiationId }, layout },
      { maxWaitMs: B24_WAIT_MS },
    );
    return Number(added.activity.id);
  }

  private async findExisting(memberId: string, entity: { type: EntityType; id: number }, negotiationId: string): Promise<number | null> {
    const rows = await this.b24().call<Array<{ ID: string }>>(
      memberId,
      'crm.activity.list',
      { filter: { OWNER_TYPE_ID: OWNER_TYPE[entity.type], OWNER_ID: entity.id, PROVIDER_ID: 'CONFIGURABLE_REST_APP', ORIGINATOR_ID: ORIGINATOR_ID, ORIGIN_ID: negotiationId }, select: ['ID'] },
      { maxWaitMs: B24_WAIT_MS },
    );
    return Array.isArray(rows) && rows[0] ? Number(rows[0].ID) : null;
  }

  /** The reference's notification, which names every lead or deal of the applicant. */
  private async notify(memberId: string, userId: number, s: NegotiationSnapshot, others: OtherResponse[]): Promise<void> {
    const name = plain(s.applicant.fullName) || `соискателя ${s.applicant.resumeId ?? s.negotiationId}`;
    const list = others.map((o) => (o.entity ? `[URL=${entityPath(o.entity)}]${ENTITY_NAME[o.entity.type]} ${o.entity.id}[/URL]` : `отклик ${o.negotiationId} (ещё не в CRM)`));
    const message = `Другие отклики: ${name} — ${others.length}. В деле показаны первые, все остальные по ссылке «Все отклики». Идентификаторы: ${list.join(', ')}`;
    await this.b24().call(memberId, 'im.notify.system.add', { USER_ID: userId, MESSAGE: message, TAG: `hhb24:others:${s.negotiationId}` }, { maxWaitMs: B24_WAIT_MS });
  }
}

/** How many response rows a layout shows (one block per row). */
function countRows(layout: Layout): number {
  const blocks = ((layout['body'] as { blocks: Record<string, unknown> }).blocks ?? {}) as Record<string, unknown>;
  return Object.keys(blocks).filter((k) => /^others_\d+$/.test(k)).length;
}

export { BrokenLayout };
