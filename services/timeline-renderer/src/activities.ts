import {
  type ActingUserTokens,
  type BatchCommand,
  type Bitrix24Client,
  Bitrix24Error,
  type CrmEntityWritten,
  type EntityType,
  type Knex,
  type Logger,
  type NegotiationSnapshot,
  type OtherResponse,
  type Outcome,
  PortalGroups,
  type PortalLang,
  type Runtime,
  ack,
  bbText,
  defer,
  portalText,
  rpc,
} from '@hhb24/common';
import { actingUser, readableBy } from './acting-user.js';
import { type Layout, type OthersShown, buildLayout, entityPath, plain } from './layout.js';
import { layoutProblems } from './validate.js';

/** What our activities carry in ORIGINATOR_ID (the same as crm-writer's entities), ORIGIN_ID being the negotiation. */
export const ORIGINATOR_ID = 'hh-b24';
const OWNER_TYPE: Record<EntityType, number> = { lead: 1, deal: 2 };
const LOCK_MS = 60_000;
/** Activities drawn in one batch (Bitrix24 takes 50 commands; a lost add costs a second command). */
const GROUP_MAX = 25;
/** How long the first message of a portal waits for others to join its group. */
const LINGER_MS = 50;
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

/** True when `s` says less recent a thing than `drawn` by hh.ru's own `updated_at`. */
export function olderOnHh(s: NegotiationSnapshot, drawn: NegotiationSnapshot | null | undefined): boolean {
  if (!drawn?.updatedAt) return false;
  return Date.parse(s.updatedAt) < Date.parse(drawn.updatedAt);
}

/** `tl_activities`: the activity of each negotiation, what it shows, and the version it was drawn from. */
export class ActivityStore {
  constructor(private readonly db: Knex) {}

  async get(memberId: string, negotiationId: string): Promise<ActivityRow | undefined> {
    const r = (await this.db('tl_activities')
      .where({ member_id: memberId, negotiation_id: negotiationId })
      .first()) as DbRow | undefined;
    return r && toRow(r);
  }

  async many(memberId: string, negotiationIds: string[]): Promise<Map<string, ActivityRow>> {
    const rows = (await this.db('tl_activities')
      .where({ member_id: memberId })
      .whereIn('negotiation_id', negotiationIds)) as DbRow[];
    return new Map(rows.map((r) => [r.negotiation_id, toRow(r)]));
  }

  async byActivity(memberId: string, activityId: number): Promise<ActivityRow | undefined> {
    const r = (await this.db('tl_activities')
      .where({ member_id: memberId, activity_id: activityId })
      .first()) as DbRow | undefined;
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

/** A drawing waiting for its group, and the consumer's outcome for it. */
interface Drawing {
  m: CrmEntityWritten;
  resolve: (o: Outcome) => void;
  reject: (err: unknown) => void;
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
    private readonly actingUsers: () => ActingUserTokens,
  ) {}

  /**
   * crm.entity.written: the lead or deal of a negotiation was created or updated. The drawings of one
   * portal that arrive together go as one `batch` (one request of the portal's budget for up to
   * GROUP_MAX activities), so the timeline never slows the portal's other work down.
   */
  async onWritten(m: CrmEntityWritten): Promise<Outcome> {
    const row = await this.store.get(m.memberId, m.negotiationId);
    if (
      row &&
      row.entityType === m.entityType &&
      row.entityId === m.entityId &&
      row.activityId > 0 &&
      row.version >= m.version
    )
      return ack();
    return new Promise((resolve, reject) => this.groups.add(m.memberId, { m, resolve, reject }));
  }

  private readonly groups = new PortalGroups<Drawing>({
    lingerMs: LINGER_MS,
    maxItems: GROUP_MAX,
    key: (d) => d.m.negotiationId,
    run: async (memberId, group) => {
      const outcomes = await this.drawGroup(
        memberId,
        group.map((g) => g.m),
      );
      group.forEach((g, i) => {
        const o = outcomes[i];
        if (o && typeof o === 'object' && 'kind' in o) g.resolve(o as Outcome);
        else g.reject(o);
      });
    },
    fail: (group, err) => group.forEach((g) => g.reject(err)),
  });

  /**
   * Draws a group of one portal's negotiations under their locks: rows not newer than what is drawn
   * are skipped, known activities updated, new ones added. A negotiation whose add was started but
   * not recorded (`activity_id` 0: the process died in between) is first looked for by ORIGIN_ID.
   */
  private async drawGroup(memberId: string, items: CrmEntityWritten[]): Promise<unknown[]> {
    const leases = await Promise.all(
      items.map((m) => this.runtime.locks.acquire(`tl:negotiation:${memberId}:${m.negotiationId}`, LOCK_MS)),
    );
    try {
      const out: unknown[] = items.map(() => defer('another process is drawing this activity', 500));
      const rows = await this.store.many(
        memberId,
        items.map((m) => m.negotiationId),
      );
      type Job = {
        i: number;
        m: CrmEntityWritten;
        others: OthersShown;
        layout: Layout;
        activityId: number | null;
        recover: boolean;
      };
      const jobs: Job[] = [];
      const lang = await this.b24().store.language(memberId);
      items.forEach((m, i) => {
        if (!leases[i]) return;
        const row = rows.get(m.negotiationId);
        const sameEntity = row && row.entityType === m.entityType && row.entityId === m.entityId;
        if (sameEntity && row.activityId > 0 && row.version >= m.version) return void (out[i] = ack());
        // Never backwards: a snapshot older on hh.ru than the one drawn is not drawn over it.
        if (sameEntity && row.activityId > 0 && olderOnHh(m.snapshot, row.snapshot)) {
          this.runtime.log.info(
            {
              memberId,
              negotiationId: m.negotiationId,
              version: m.version,
              held: row.snapshot.updatedAt,
              read: m.snapshot.updatedAt,
            },
            'a snapshot older on hh.ru than the one drawn: not drawn',
          );
          return void (out[i] = ack());
        }
        try {
          const others = sameEntity ? row.others : null;
          jobs.push({
            i,
            m,
            others,
            layout: this.checked(buildLayout(m.snapshot, others, lang)),
            activityId: sameEntity && row.activityId > 0 ? row.activityId : null,
            recover: Boolean(sameEntity && row.activityId === 0),
          });
        } catch (err) {
          out[i] = err;
        }
      });
      if (jobs.length === 0) return out;
      const client = this.b24();
      // Interrupted adds: is the activity there after all?
      const lost = jobs.filter((j) => j.recover);
      if (lost.length > 0) {
        const found = await client.batch(
          memberId,
          lost.map(
            (j) =>
              [
                'crm.activity.list',
                {
                  filter: {
                    OWNER_TYPE_ID: OWNER_TYPE[j.m.entityType],
                    OWNER_ID: j.m.entityId,
                    ORIGINATOR_ID,
                    ORIGIN_ID: j.m.negotiationId,
                  },
                  select: ['ID'],
                },
              ] as BatchCommand,
          ),
          { maxWaitMs: B24_WAIT_MS },
        );
        lost.forEach((j, k) => {
          const rows = found.results[String(k)];
          if (Array.isArray(rows) && rows[0]) j.activityId = Number((rows[0] as { ID: string }).ID);
        });
      }
      // Marks the adds about to be made, so that a crash between the add and its record is found again.
      for (const j of jobs)
        if (j.activityId === null)
          await this.store.save({
            memberId,
            negotiationId: j.m.negotiationId,
            entityType: j.m.entityType,
            entityId: j.m.entityId,
            activityId: 0,
            version: 0,
            snapshot: j.m.snapshot,
            others: j.others,
          });
      const commands = jobs.map((j): BatchCommand =>
        j.activityId !== null
          ? ['crm.activity.configurable.update', { id: j.activityId, layout: j.layout }]
          : [
              'crm.activity.configurable.add',
              {
                ownerTypeId: OWNER_TYPE[j.m.entityType],
                ownerId: j.m.entityId,
                fields: { completed: false, originatorId: ORIGINATOR_ID, originId: j.m.negotiationId },
                layout: j.layout,
              },
            ],
      );
      const done = await client.batch(memberId, commands, { maxWaitMs: B24_WAIT_MS });
      // Updates of activities a person deleted: added again.
      const gone = jobs.filter((j, k) => j.activityId !== null && isNotFound(done.errors[String(k)]));
      const again =
        gone.length > 0
          ? await client.batch(
              memberId,
              gone.map((j): BatchCommand => [
                'crm.activity.configurable.add',
                {
                  ownerTypeId: OWNER_TYPE[j.m.entityType],
                  ownerId: j.m.entityId,
                  fields: { completed: false, originatorId: ORIGINATOR_ID, originId: j.m.negotiationId },
                  layout: j.layout,
                },
              ]),
              { maxWaitMs: B24_WAIT_MS },
            )
          : null;
      for (const [k, j] of jobs.entries()) {
        const g = gone.indexOf(j);
        const error = g >= 0 ? again!.errors[String(g)] : done.errors[String(k)];
        const result = g >= 0 ? again!.results[String(g)] : done.results[String(k)];
        if (error) {
          out[j.i] = error;
          continue;
        }
        const id =
          j.activityId !== null && g < 0
            ? j.activityId
            : Number((result as { activity: { id: number } }).activity.id);
        await this.store.save({
          memberId,
          negotiationId: j.m.negotiationId,
          entityType: j.m.entityType,
          entityId: j.m.entityId,
          activityId: id,
          version: j.m.version,
          snapshot: j.m.snapshot,
          others: j.others,
        });
        out[j.i] = ack();
      }
      return out;
    } finally {
      await Promise.all(leases.flatMap((l) => (l ? [l.release().catch(() => false)] : [])));
    }
  }

  /**
   * «Другие отклики» pressed on an activity: the applicant's other responses in this portal (hh-connector
   * knows the person) drawn into the activity, as many as Bitrix24's limits allow, «Все отклики (N)»
   * when they do not all fit, and then the clicking user is sent the leads and deals they may read.
   *
   * The click is acted on only for a user the portal vouches for: the one who owns the token the
   * event carried (never `auth[user_id]`), and only if the portal lets them read the lead or deal
   * of this activity. Anything less (no token, a refused one, another's entity) changes nothing.
   */
  async onOthers(
    memberId: string,
    activityId: number,
    actorToken: string | null,
    log: Logger,
  ): Promise<Outcome> {
    const found = await this.store.byActivity(memberId, activityId);
    if (!found) {
      // Anyone holding the portal's application_token can name any activity: logged, no row left behind.
      log.warn({ memberId, activityId }, '«Другие отклики» not taken: the activity is not one of ours');
      return ack();
    }
    const client = this.b24();
    const user = await actingUser(client, this.actingUsers(), memberId, actorToken);
    const entityKey = `${found.entityType}:${found.entityId}`;
    if (!user) {
      log.warn(
        { memberId, activityId, entity: entityKey },
        '«Другие отклики» not taken: no user the portal vouches for (the event carried no token, or the portal refused it)',
      );
      return ack();
    }
    const own = await readableBy(client, memberId, user, [{ type: found.entityType, id: found.entityId }]);
    if (!own.has(entityKey)) {
      log.warn(
        { memberId, activityId, entity: entityKey, userId: user.userId },
        '«Другие отклики» not taken: the portal does not let this user read the lead or deal of the activity',
      );
      return ack();
    }
    const held = await this.runtime.locks.hold(
      `tl:negotiation:${memberId}:${found.negotiationId}`,
      LOCK_MS,
      async () => {
        const row = (await this.store.get(memberId, found.negotiationId))!;
        const card = await this.runtime.call(
          rpc.hhCard,
          { memberId, entityType: row.entityType, entityId: row.entityId },
          { timeoutMs: 15_000 },
        );
        const others: NonNullable<OthersShown> = { responses: card?.others ?? [] };
        const lang = await client.store.language(memberId);
        const layout = this.checked(buildLayout(row.snapshot, others, lang));
        const id = await this.put(
          memberId,
          { type: row.entityType, id: row.entityId },
          row.negotiationId,
          row.activityId,
          layout,
        );
        await this.store.save({ ...row, activityId: id, others });
        // The notification names leads and deals: only those the portal lets this user read.
        if (countRows(layout) < others.responses.length) {
          const entities = others.responses.flatMap((o) => (o.entity ? [o.entity] : []));
          const readable = await readableBy(client, memberId, user, entities);
          const named = others.responses.filter(
            (o) => o.entity && readable.has(`${o.entity.type}:${o.entity.id}`),
          );
          if (named.length > 0) await this.notify(memberId, user.userId, row.snapshot, named, lang);
        }
        return ack();
      },
    );
    return held.ran ? held.value : defer('another process is drawing this activity', 500);
  }

  private checked(layout: Layout): Layout {
    const problems = layoutProblems(layout);
    if (problems.length > 0) throw new BrokenLayout(problems);
    return layout;
  }

  /** Updates the activity, or adds it again when a person deleted it. */
  private async put(
    memberId: string,
    entity: { type: EntityType; id: number },
    negotiationId: string,
    known: number,
    layout: Layout,
  ): Promise<number> {
    const client = this.b24();
    try {
      await client.call(
        memberId,
        'crm.activity.configurable.update',
        { id: known, layout },
        { maxWaitMs: B24_WAIT_MS },
      );
      return known;
    } catch (err) {
      if (!(err instanceof Bitrix24Error && isNotFound(err))) throw err;
    }
    const added = await client.call<{ activity: { id: number } }>(
      memberId,
      'crm.activity.configurable.add',
      {
        ownerTypeId: OWNER_TYPE[entity.type],
        ownerId: entity.id,
        fields: { completed: false, originatorId: ORIGINATOR_ID, originId: negotiationId },
        layout,
      },
      { maxWaitMs: B24_WAIT_MS },
    );
    return Number(added.activity.id);
  }

  /**
   * The reference app's notification (docs/reference/reference-app.md#the-timeline-activity), naming
   * the leads and deals given: those the clicking user may read (the reference names every one).
   */
  private async notify(
    memberId: string,
    userId: number,
    s: NegotiationSnapshot,
    others: OtherResponse[],
    lang: PortalLang,
  ): Promise<void> {
    // The name is the applicant's text inside BB code: shown as written, never read as a tag.
    const name =
      bbText(plain(s.applicant.fullName)) ||
      portalText(lang, 'notify.othersSomeone', { id: s.applicant.resumeId ?? s.negotiationId });
    const list = others.flatMap((o) =>
      o.entity
        ? [
            `[URL=${entityPath(o.entity)}]${portalText(lang, o.entity.type === 'lead' ? 'notify.lead' : 'notify.deal', { id: o.entity.id })}[/URL]`,
          ]
        : [],
    );
    const message = portalText(lang, 'notify.others', { name, n: others.length, list: list.join(', ') });
    await this.b24().call(
      memberId,
      'im.notify.system.add',
      { USER_ID: userId, MESSAGE: message, TAG: `hhb24:others:${s.negotiationId}` },
      { maxWaitMs: B24_WAIT_MS },
    );
  }
}

function isNotFound(err: Bitrix24Error | undefined): boolean {
  return Boolean(err && (err.code === 'b24_not_found' || err.details.b24Error === 'NOT_FOUND'));
}

/** How many response rows a layout shows (one block per row). */
function countRows(layout: Layout): number {
  const blocks = (layout['body'] as { blocks: Record<string, unknown> }).blocks ?? {};
  return Object.keys(blocks).filter((k) => /^others_\d+$/.test(k)).length;
}

export { BrokenLayout };
