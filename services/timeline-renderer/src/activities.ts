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
  type PortalLang,
  type Runtime,
  ack,
  bbText,
  classifyError,
  defer,
  drop,
  portalText,
  retry,
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
/** How often a replica waiting for drawings looks whether they are done, or whether the portal's turn is free. */
const POLL_MS = 200;
/** The portal's drawing turn (one replica draws a portal's queue at a time); kept alive while drawing. */
const TURN_MS = 30_000;
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
        adding_until: null,
        updated_at: this.db.fn.now(),
      })
      .onConflict(['member_id', 'negotiation_id'])
      .merge();
  }

  /**
   * Marks the add of a negotiation's activity as started (activity 0, so that an add cut short is
   * looked for again), unless another process started one less than `ttlMs` ago. The Redis lock
   * keeps replicas apart as a rule; this holds when Redis has lost its locks (a flush, a failover),
   * so that two adds of one activity never run at once. False: another add is in flight.
   */
  async claimAdd(row: Omit<ActivityRow, 'activityId' | 'version'>, ttlMs: number): Promise<boolean> {
    const result = await this.db.raw<{ rows: unknown[] }>(
      `insert into tl_activities as a
         (member_id, negotiation_id, entity_type, entity_id, activity_id, version, snapshot, others, adding_until, updated_at)
       values (?, ?, ?, ?, 0, 0, ?, ?, now() + ? * interval '1 millisecond', now())
       on conflict (member_id, negotiation_id) do update set
         entity_type = excluded.entity_type, entity_id = excluded.entity_id, activity_id = 0, version = 0,
         snapshot = excluded.snapshot, others = excluded.others, adding_until = excluded.adding_until,
         updated_at = now()
       where a.adding_until is null or a.adding_until < now()
       returning 1`,
      [
        row.memberId,
        row.negotiationId,
        row.entityType,
        row.entityId,
        JSON.stringify(row.snapshot),
        row.others === null ? null : JSON.stringify(row.others),
        ttlMs,
      ],
    );
    return result.rows.length > 0;
  }

  /** The adds that were not made after all (the portal said so): another try need not wait. */
  async releaseAdds(memberId: string, negotiationIds: string[]): Promise<void> {
    if (negotiationIds.length === 0) return;
    await this.db('tl_activities')
      .where({ member_id: memberId, activity_id: 0 })
      .whereIn('negotiation_id', negotiationIds)
      .update({ adding_until: null });
  }
}

/**
 * The portal answered the batch itself with a refusal that means nothing in it ran (its request
 * budget, an outage page, a refused token); a batch cut off without an answer may have run.
 */
function batchNotRun(err: unknown): boolean {
  const status = err instanceof Bitrix24Error ? err.details.httpStatus : 0;
  return status === 401 || status === 403 || status === 429 || status === 503;
}

/** A layout Bitrix24 would refuse is never sent: the message goes to the dead letters with the reasons. */
class BrokenLayout extends Error {
  constructor(readonly problems: string[]) {
    super(`the layout breaks Bitrix24's rules: ${problems.slice(0, 5).join('; ')}`);
  }
}

/**
 * `tl_drawings`: the drawings asked for and not done yet, one per negotiation (the newest version
 * asked for), shared by every replica so that a portal's drawings go out together however the
 * messages were spread over the replicas. A drawing that failed keeps its outcome until the replica
 * holding the message takes it.
 */
export class DrawingQueue {
  constructor(private readonly db: Knex) {}

  /** Asks for a drawing; a newer version replaces an older one, and asking again clears a failure. */
  async put(m: CrmEntityWritten): Promise<void> {
    await this.db.raw(
      `insert into tl_drawings (member_id, negotiation_id, version, message) values (?, ?, ?, ?)
       on conflict (member_id, negotiation_id) do update
          set version = excluded.version, message = excluded.message, outcome = null
        where tl_drawings.version < excluded.version
           or (tl_drawings.version = excluded.version and tl_drawings.outcome is not null)`,
      [m.memberId, m.negotiationId, m.version, JSON.stringify(m)],
    );
  }

  /** The portal's oldest drawings not tried yet. */
  async next(memberId: string, max: number): Promise<CrmEntityWritten[]> {
    const rows = await this.db('tl_drawings')
      .where({ member_id: memberId })
      .whereNull('outcome')
      .orderBy('queued_at')
      .limit(max)
      .select<Array<{ message: CrmEntityWritten }>>('message');
    return rows.map((r) => r.message);
  }

  /** Done (or nothing to draw): gone, unless a newer version was asked for meanwhile. */
  async done(m: CrmEntityWritten): Promise<void> {
    await this.db('tl_drawings')
      .where({ member_id: m.memberId, negotiation_id: m.negotiationId, version: m.version })
      .delete();
  }

  async failed(m: CrmEntityWritten, outcome: Outcome): Promise<void> {
    await this.db('tl_drawings')
      .where({ member_id: m.memberId, negotiation_id: m.negotiationId, version: m.version })
      .update({ outcome: JSON.stringify(outcome) });
  }

  async states(
    memberId: string,
    negotiationIds: string[],
  ): Promise<Map<string, { version: number; outcome: Outcome | null }>> {
    const rows = await this.db('tl_drawings')
      .where({ member_id: memberId })
      .whereIn('negotiation_id', negotiationIds)
      .select<Array<{ negotiation_id: string; version: number; outcome: Outcome | null }>>(
        'negotiation_id',
        'version',
        'outcome',
      );
    return new Map(rows.map((r) => [r.negotiation_id, { version: r.version, outcome: r.outcome }]));
  }

  /** A failure taken by the message it belongs to: the message's next delivery asks again. */
  async forget(memberId: string, negotiationId: string, version: number): Promise<void> {
    await this.db('tl_drawings')
      .where({ member_id: memberId, negotiation_id: negotiationId, version })
      .whereNotNull('outcome')
      .delete();
  }
}

/** A message of this process waiting for its drawing, and the consumer's outcome for it. */
interface Waiter {
  version: number;
  resolve: (o: Outcome) => void;
  reject: (err: unknown) => void;
}

/** What the consumer does with a message whose drawing ended so (a layout refused, a portal's error). */
function outcomeOf(result: unknown): Outcome {
  if (result && typeof result === 'object' && 'kind' in result) return result as Outcome;
  if (result instanceof BrokenLayout) return drop(result.message);
  const e = classifyError(result);
  const error = `${e.code}: ${e.message}`;
  if (e.wait) return defer(error, e.retryAfterMs ?? 1000);
  return e.retryable ? retry(error, e.retryAfterMs) : drop(error);
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
    private readonly queue: DrawingQueue,
    private readonly actingUsers: () => ActingUserTokens,
  ) {}

  /** This process's messages waiting for their drawings, by portal and negotiation. */
  private readonly waiting = new Map<string, Map<string, Waiter[]>>();
  /** Portals this process is drawing or watching now. */
  private readonly watched = new Set<string>();

  /**
   * crm.entity.written: the lead or deal of a negotiation was created or updated. The drawing is put
   * in the portal's queue (tl_drawings, shared by the replicas) and the message waits, in progress,
   * until it is drawn: the replica holding the portal's turn draws the queue in groups of up to
   * GROUP_MAX (one `batch` request of the portal's budget each), so the timeline never slows the
   * portal's other work down, however many replicas share the messages.
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
    await this.queue.put(m);
    return new Promise((resolve, reject) => {
      const portal = this.waiting.get(m.memberId) ?? new Map<string, Waiter[]>();
      this.waiting.set(m.memberId, portal);
      const list = portal.get(m.negotiationId) ?? [];
      list.push({ version: m.version, resolve, reject });
      portal.set(m.negotiationId, list);
      if (!this.watched.has(m.memberId)) void this.watch(m.memberId);
    });
  }

  /**
   * While messages of the portal wait here: takes the portal's turn when it is free and draws its
   * queue, and settles the waiting messages whose drawings are done (here or by another replica).
   */
  private async watch(memberId: string): Promise<void> {
    this.watched.add(memberId);
    try {
      await sleep(LINGER_MS);
      while ((this.waiting.get(memberId)?.size ?? 0) > 0) {
        const drew = await this.takeTurn(memberId);
        await this.settle(memberId);
        if (this.runtime.stopping.aborted) {
          // Shutting down: what was not drawn goes back to JetStream (a wait, not a failure).
          this.release(memberId, () => defer('timeline-renderer is stopping', 0));
          break;
        }
        if (!drew) await sleep(POLL_MS);
      }
    } catch (err) {
      this.release(memberId, undefined, err);
    } finally {
      this.watched.delete(memberId);
      // A message that arrived as the watch ended.
      if ((this.waiting.get(memberId)?.size ?? 0) > 0) void this.watch(memberId);
    }
  }

  /** Settles every waiting message of the portal with an outcome, or rejects them. */
  private release(memberId: string, outcome?: () => Outcome, err?: unknown): void {
    const portal = this.waiting.get(memberId);
    this.waiting.delete(memberId);
    for (const list of portal?.values() ?? [])
      for (const w of list) {
        if (outcome) w.resolve(outcome());
        else w.reject(err);
      }
  }

  /**
   * Draws the portal's queue when no other replica is drawing it. Returns whether anything was
   * drawn (nothing: the turn was another's, or the queue was empty).
   */
  private async takeTurn(memberId: string): Promise<boolean> {
    const turn = await this.runtime.locks.acquire(`tl:portal:${memberId}`, TURN_MS);
    if (!turn) return false;
    const keepAlive = setInterval(() => void turn.extend(TURN_MS).catch(() => false), TURN_MS / 3);
    let drew = false;
    try {
      for (;;) {
        const group = await this.queue.next(memberId, GROUP_MAX);
        if (group.length === 0) return drew;
        drew = true;
        const results = await this.drawGroup(memberId, group).catch((err: unknown) => group.map(() => err));
        for (const [i, m] of group.entries()) {
          const outcome = outcomeOf(results[i]);
          const result = results[i];
          if (outcome.kind === 'ack') await this.queue.done(m);
          else {
            if (result instanceof BrokenLayout)
              this.runtime.log.error(
                { memberId, negotiationId: m.negotiationId, problems: result.problems },
                'activity layout refused before sending',
              );
            await this.queue.failed(m, outcome);
          }
        }
        await this.settle(memberId);
      }
    } finally {
      clearInterval(keepAlive);
      await turn.release().catch(() => false);
    }
  }

  /**
   * The waiting messages whose drawings are done are acknowledged (drawn, found older than the one
   * drawn, or replaced by a newer version that is still waiting); a failed one takes its outcome.
   * Only the waiters present when the states are read are judged by that reading: one that arrives
   * during the awaits below has its row put after the reading, so judging it by the reading would
   * acknowledge it undrawn (no row seen) and leave its drawing's failure with nobody to take it. It
   * waits for the next pass instead.
   */
  private async settle(memberId: string): Promise<void> {
    const portal = this.waiting.get(memberId);
    if (!portal || portal.size === 0) return;
    const asked = [...portal].map(([negotiationId, list]) => ({ negotiationId, list: [...list] }));
    const states = await this.queue.states(
      memberId,
      asked.map((a) => a.negotiationId),
    );
    for (const { negotiationId, list } of asked) {
      const state = states.get(negotiationId);
      for (const w of list) {
        if (!state || state.version > w.version) w.resolve(ack());
        else if (state.version === w.version && state.outcome) {
          await this.queue.forget(memberId, negotiationId, w.version);
          w.resolve(state.outcome);
        } else continue;
        this.forgetWaiter(portal, negotiationId, w);
      }
    }
  }

  /** Removes a settled waiter; the negotiation's entry goes with its last waiter. */
  private forgetWaiter(portal: Map<string, Waiter[]>, negotiationId: string, w: Waiter): void {
    const list = portal.get(negotiationId);
    if (!list) return;
    const rest = list.filter((x) => x !== w);
    if (rest.length > 0) portal.set(negotiationId, rest);
    else portal.delete(negotiationId);
  }

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
      // Marks the adds about to be made, so that a crash between the add and its record is found
      // again; an add another process has in flight is left to it.
      for (const j of [...jobs]) {
        if (j.activityId !== null) continue;
        const claimed = await this.store.claimAdd(
          {
            memberId,
            negotiationId: j.m.negotiationId,
            entityType: j.m.entityType,
            entityId: j.m.entityId,
            snapshot: j.m.snapshot,
            others: j.others,
          },
          LOCK_MS,
        );
        if (!claimed) jobs.splice(jobs.indexOf(j), 1);
      }
      if (jobs.length === 0) return out;
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
      const adds = jobs.filter((j) => j.activityId === null).map((j) => j.m.negotiationId);
      const done = await client.batch(memberId, commands, { maxWaitMs: B24_WAIT_MS }).catch(async (err) => {
        if (batchNotRun(err)) await this.store.releaseAdds(memberId, adds);
        throw err;
      });
      await this.store.releaseAdds(
        memberId,
        jobs.filter((j, k) => j.activityId === null && done.errors[String(k)]).map((j) => j.m.negotiationId),
      );
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isNotFound(err: Bitrix24Error | undefined): boolean {
  return Boolean(err && (err.code === 'b24_not_found' || err.details.b24Error === 'NOT_FOUND'));
}

/** How many response rows a layout shows (one block per row). */
function countRows(layout: Layout): number {
  const blocks = (layout['body'] as { blocks: Record<string, unknown> }).blocks ?? {};
  return Object.keys(blocks).filter((k) => /^others_\d+$/.test(k)).length;
}

export { BrokenLayout };
