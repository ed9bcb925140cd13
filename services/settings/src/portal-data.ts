import type { BatchCommand, Bitrix24Client, EntityType, Redis } from '@hhb24/common';
import { textOf } from '@hhb24/common';

export interface PortalUser {
  id: number;
  name: string;
  position: string;
}
/** A portal user with what a manager of hh.ru is matched by. */
export interface UserCandidate extends PortalUser {
  email: string | null;
  firstName: string;
  lastName: string;
}
export interface Pipeline {
  id: number;
  name: string;
}
export interface Stage {
  id: string;
  name: string;
  /** Bitrix's semantics: `S` success (won), `F` failure (lost), null a working stage. */
  semantics: 'S' | 'F' | null;
}

/** Lists read from the portal for the «Настройки» form, kept briefly in Redis: every replica shares them and the portal's rate budget is spared. */
const CACHE_SEC = 60;
/** A form waits this long for the portal's shared budget (an import may be using it) before it says so. */
const WAIT_MS = 10_000;

interface Row {
  ID?: unknown;
  NAME?: unknown;
  LAST_NAME?: unknown;
  WORK_POSITION?: unknown;
  SECOND_NAME?: unknown;
  EMAIL?: unknown;
  STATUS_ID?: unknown;
  SEMANTICS?: unknown;
}

const asRows = (v: unknown): Row[] =>
  Array.isArray(v)
    ? (v as Row[])
    : v && typeof v === 'object'
      ? ((Object.values(v).find(Array.isArray) as Row[] | undefined) ?? [])
      : [];
const toUser = (r: Row): PortalUser => ({
  id: Number(r.ID),
  name: `${textOf(r.NAME)} ${textOf(r.LAST_NAME)}`.trim() || `#${textOf(r.ID)}`,
  position: textOf(r.WORK_POSITION),
});
const toStage = (r: Row): Stage => ({
  id: String(r.STATUS_ID),
  name: String(r.NAME ?? r.STATUS_ID),
  semantics: r.SEMANTICS === 'S' || r.SEMANTICS === 'F' ? r.SEMANTICS : null,
});

/** Where a pipeline's stages live in crm.status.list: lead statuses, or the deal stages of one pipeline. */
export function stageEntity(entityType: EntityType, categoryId: number): string {
  return entityType === 'lead' ? 'STATUS' : categoryId === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${categoryId}`;
}

/** The portal's users, pipelines, stages and sources, read with the install's stored tokens. */
export class PortalData {
  constructor(
    private readonly client: () => Bitrix24Client,
    private readonly redis: () => Redis,
    private readonly prefix: string,
  ) {}

  /** Everything the form shows, in one batch for whatever is not cached. */
  async forForm(
    memberId: string,
    entityType: EntityType,
    categoryId: number,
    responsibleUserId: number | null,
  ) {
    const wanted: Record<string, BatchCommand> = {
      users: ['user.get', { FILTER: { ACTIVE: true }, sort: 'LAST_NAME', order: 'ASC' }],
      pipelines: ['crm.category.list', { entityTypeId: 2 }],
      stages: [
        'crm.status.list',
        { filter: { ENTITY_ID: stageEntity(entityType, categoryId) }, order: { SORT: 'ASC' } },
      ],
      sources: ['crm.status.list', { filter: { ENTITY_ID: 'SOURCE' }, order: { SORT: 'ASC' } }],
      ...(responsibleUserId
        ? { responsible: ['user.get', { FILTER: { ID: responsibleUserId } }] as BatchCommand }
        : {}),
    };
    const got = await this.cached(memberId, wanted);
    const users = asRows(got['users']).map(toUser);
    for (const u of asRows(got['responsible']).map(toUser))
      if (!users.some((x) => x.id === u.id)) users.unshift(u);
    return {
      users,
      pipelines: asRows(got['pipelines']).map((r) => {
        const c = r as { id?: unknown; name?: unknown };
        return { id: Number(c.id), name: textOf(c.name) };
      }),
      stages: asRows(got['stages']).map(toStage),
      sources: asRows(got['sources']).map(toStage),
    };
  }

  /** Where the portal is and the version of the app's registrations it has (null: not installed). */
  async portal(memberId: string): Promise<{ domain: string; appVersion: number | null } | null> {
    const record = await this.client().store.get(memberId);
    return record && { domain: record.domain, appVersion: record.appVersion };
  }

  /** «Найти сотрудника»: the portal's own search by name, position or e-mail. */
  async searchUsers(memberId: string, query: string): Promise<PortalUser[]> {
    const command: BatchCommand = query
      ? ['user.search', { FILTER: { FIND: query } }]
      : ['user.get', { FILTER: { ACTIVE: true }, sort: 'LAST_NAME', order: 'ASC' }];
    return asRows((await this.cached(memberId, { users: command }))['users']).map(toUser);
  }

  /**
   * The portal's users who may be the same people as hh.ru's managers: for each, the users with
   * the manager's e-mail and those with the manager's first and last name (user.get by field;
   * whether they really match is judged by `proposeUser`). Up to 24 managers a batch.
   */
  async candidatesFor(
    memberId: string,
    managers: ReadonlyArray<{ email: string | null; firstName: string; lastName: string }>,
  ): Promise<UserCandidate[]> {
    const found = new Map<number, UserCandidate>();
    for (let i = 0; i < managers.length; i += 24) {
      const commands: Record<string, BatchCommand> = {};
      managers.slice(i, i + 24).forEach((m, j) => {
        if (m.email) commands[`e${j}`] = ['user.get', { FILTER: { EMAIL: m.email } }];
        if (m.firstName && m.lastName)
          commands[`n${j}`] = ['user.get', { FILTER: { NAME: m.firstName, LAST_NAME: m.lastName } }];
      });
      if (Object.keys(commands).length === 0) continue;
      const got = await this.cached(memberId, commands);
      for (const rows of Object.values(got))
        for (const r of asRows(rows))
          found.set(Number(r.ID), {
            ...toUser(r),
            email: textOf(r.EMAIL) || null,
            firstName: textOf(r.NAME),
            lastName: textOf(r.LAST_NAME),
          });
    }
    return [...found.values()];
  }

  /** The named users, by id, in the order given (a user the portal no longer has is left out). */
  async usersById(memberId: string, ids: readonly number[]): Promise<PortalUser[]> {
    if (ids.length === 0) return [];
    const got = await this.cached(memberId, { users: ['user.get', { FILTER: { ID: [...ids] } }] });
    const users = asRows(got['users']).map(toUser);
    return ids.flatMap((id) => users.filter((u) => u.id === id));
  }

  private async cached(
    memberId: string,
    commands: Record<string, BatchCommand>,
  ): Promise<Record<string, unknown>> {
    const key = (c: BatchCommand) => `${this.prefix}settings:portal-data:${memberId}:${JSON.stringify(c)}`;
    const names = Object.keys(commands);
    const hits = await this.redis().mget(...names.map((n) => key(commands[n]!)));
    const out: Record<string, unknown> = {};
    const missing: Record<string, BatchCommand> = {};
    names.forEach((n, i) => {
      if (hits[i] !== null && hits[i] !== undefined) out[n] = JSON.parse(hits[i]);
      else missing[n] = commands[n]!;
    });
    if (Object.keys(missing).length === 0) return out;
    const answer = await this.client().batch(memberId, missing, { maxWaitMs: WAIT_MS });
    const failed = Object.values(answer.errors)[0];
    if (failed) throw failed;
    const write = this.redis().multi();
    for (const n of Object.keys(missing)) {
      out[n] = answer.results[n];
      write.set(key(missing[n]!), JSON.stringify(answer.results[n] ?? null), 'EX', CACHE_SEC);
    }
    await write.exec();
    return out;
  }
}
