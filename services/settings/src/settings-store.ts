import { randomUUID } from 'node:crypto';
import {
  HH_STATES,
  type HhImportRequested,
  type HhState,
  type ImportScope,
  type Knex,
  type ManagerUser,
  type PortalSettings,
  type VacancyRule,
  ValidationError,
  enqueue,
  subjects,
} from '@hhb24/common';
import {
  ANALYTICS_VIEWERS_MAX,
  MANAGERS_MAX,
  type SettingsDraft,
  extendedStages,
  settingsInput,
  simpleStages,
} from './ui/forms.js';

/** The text the page shows next to each field of the «Настройки» form that fails its schema (forms.ts). */
const FIELD_MESSAGES: Record<string, string> = {
  responsibleUserId: 'Выберите ответственного',
  entityType: 'Выберите тип сущности: Лид или Сделка',
  categoryId: 'Выберите воронку',
  sourceId: 'Выберите источник из списка',
  stageForResponse: 'Выберите стадию',
  stageForInvitation: 'Выберите стадию',
  stageByState: 'Выберите стадию',
  managerIds: 'Выберите сотрудников из списка',
  analyticsViewerIds: 'Выберите сотрудников из списка',
};
/** The lists of users, each with how many it may name. */
const USER_LISTS: Record<string, number> = {
  managerIds: MANAGERS_MAX,
  analyticsViewerIds: ANALYTICS_VIEWERS_MAX,
};

function flag(value: unknown): boolean {
  return value === true || value === 'true' || value === 'on' || value === '1' || value === 'Y';
}

/**
 * Validates settings from the form or a caller against the form's schemas (forms.ts: the fields,
 * then the stages of the chosen mode). Every problem is reported at once, keyed by field, with the
 * Russian text the page shows next to it. Whether the user, pipeline, source and stages exist on
 * the portal is asked of the portal by the page; here only the shape.
 */
export function parseSettings(memberId: string, input: SettingsDraft): PortalSettings {
  const extendedSync = flag(input.extendedSync);
  const problems: Record<string, string> = {};
  const failures = [
    ...settingsInput.failures(input),
    ...(extendedSync ? extendedStages : simpleStages).failures(input),
  ];
  for (const { field } of failures) {
    // A missing or malformed stageByState fails on each state's row.
    const fields = field === 'stageByState' ? HH_STATES.map((state) => `stageByState.${state}`) : [field];
    const top = field.split(/[.[]/)[0]!;
    const max = USER_LISTS[top];
    if (max !== undefined) {
      // A list of users fails as a whole (the union reports no `maxItems` of its own): said once, by its name.
      const given = input[top as keyof SettingsDraft];
      problems[top] ??=
        Array.isArray(given) && given.length > max
          ? `Можно назначить не больше ${max} сотрудников`
          : FIELD_MESSAGES[top]!;
      continue;
    }
    for (const f of fields) problems[f] ??= FIELD_MESSAGES[top] ?? top;
  }
  if (!settingsInput.check(input) || Object.keys(problems).length > 0)
    throw new ValidationError('Проверьте настройки', { fields: problems });
  const entityType = input.entityType;
  const stageByState: Partial<Record<HhState, string>> = extendedSync
    ? { ...(input.stageByState as Record<HhState, string>) }
    : {};
  const stageForResponse = extendedSync ? stageByState.response! : (input.stageForResponse as string);
  /** A list of user ids as the form (one or many, blanks) or a caller gives it, without repeats. */
  const userIds = (given: unknown) => [
    ...new Set(
      (Array.isArray(given) ? (given as unknown[]) : [given])
        .filter((v) => v !== '' && v != null)
        .map(Number),
    ),
  ];
  return {
    memberId,
    responsibleUserId: Number(input.responsibleUserId),
    entityType,
    categoryId: entityType === 'deal' ? Number(input.categoryId ?? 0) : 0,
    sourceId: input.sourceId || null,
    extendedSync,
    stageForResponse,
    stageForInvitation: extendedSync
      ? (stageByState.phone_interview ?? stageForResponse)
      : (input.stageForInvitation as string),
    stageByState,
    twoWayStatus: flag(input.twoWayStatus),
    twoWayDiscard: flag(input.twoWayDiscard),
    reuseContacts: input.reuseContacts === undefined ? true : flag(input.reuseContacts),
    managerIds: userIds(input.managerIds),
    analyticsViewerIds: userIds(input.analyticsViewerIds),
    updatedAt: new Date().toISOString(),
  };
}

/** The settings as crm-writer writes with them: with «Ответственные по менеджерам hh.ru». */
export async function getSettings(db: Knex, memberId: string): Promise<PortalSettings | null> {
  const settings = (await getSettingsRecord(db, memberId))?.settings ?? null;
  if (!settings) return null;
  return {
    ...settings,
    managerUsers: await getManagerUsers(db, memberId),
    vacancyRules: await getVacancyRules(db, memberId),
  };
}

/** «Вакансии»'s rules, in the order they were added. */
export async function getVacancyRules(db: Knex, memberId: string): Promise<VacancyRule[]> {
  const rows = await db('portal_vacancy_rules')
    .where({ member_id: memberId })
    .orderBy('id')
    .select<Array<{ id: string; rule: Omit<VacancyRule, 'id'> }>>('id', 'rule');
  return rows.map((r) => ({ ...r.rule, id: Number(r.id) }));
}

/**
 * Adds a rule, or removes one (`remove`), and announces the settings (portal.settings.saved) in
 * the same transaction: crm-writer forgets its copy and the next response follows the rules.
 */
export async function changeVacancyRules(
  db: Knex,
  memberId: string,
  change: { add: Omit<VacancyRule, 'id'> } | { remove: number },
  userId: number | null,
): Promise<void> {
  await db.transaction(async (trx) => {
    if ('add' in change)
      await trx('portal_vacancy_rules').insert({
        member_id: memberId,
        rule: JSON.stringify(change.add),
        updated_by: userId,
      });
    else await trx('portal_vacancy_rules').where({ member_id: memberId, id: change.remove }).delete();
    const settings = await getSettings(trx, memberId);
    if (settings)
      await enqueue(trx, {
        subject: subjects.portalSettingsSaved,
        msgId: `settings:${memberId}:${randomUUID()}`,
        payload: { settings },
      });
  });
}

/** «Ответственные по менеджерам hh.ru» as saved (a manager without a row has not been chosen for yet). */
export async function getManagerUsers(db: Knex, memberId: string): Promise<ManagerUser[]> {
  const rows = await db('portal_manager_users')
    .where({ member_id: memberId })
    .orderBy(['employer_id', 'manager_id'])
    .select<Array<{ employer_id: string; manager_id: string; user_id: number | null }>>(
      'employer_id',
      'manager_id',
      'user_id',
    );
  return rows.map((r) => ({ employerId: r.employer_id, managerId: r.manager_id, userId: r.user_id }));
}

/**
 * Stores the managers' users (each row replaces the one of its manager) and, when the portal has
 * settings, announces them (portal.settings.saved) in the same transaction: crm-writer forgets
 * its copy and the next response goes to the new user.
 */
export async function saveManagerUsers(
  db: Knex,
  memberId: string,
  rows: readonly ManagerUser[],
  userId: number | null,
): Promise<void> {
  if (rows.length === 0) return;
  await db.transaction(async (trx) => {
    await trx('portal_manager_users')
      .insert(
        rows.map((r) => ({
          member_id: memberId,
          employer_id: r.employerId,
          manager_id: r.managerId,
          user_id: r.userId,
          updated_by: userId,
          updated_at: trx.fn.now(),
        })),
      )
      .onConflict(['member_id', 'employer_id', 'manager_id'])
      .merge(['user_id', 'updated_by', 'updated_at']);
    const settings = await getSettings(trx, memberId);
    if (settings)
      await enqueue(trx, {
        subject: subjects.portalSettingsSaved,
        msgId: `settings:${memberId}:${randomUUID()}`,
        payload: { settings },
      });
  });
}

/** The settings with when «Сохранить и начать импорт» was pressed (null: never). */
export async function getSettingsRecord(
  db: Knex,
  memberId: string,
): Promise<{ settings: PortalSettings; importRequestedAt: Date | null } | null> {
  const row = await db('portal_settings')
    .where({ member_id: memberId })
    .first<{ settings: PortalSettings; import_requested_at: Date | null } | undefined>(
      'settings',
      'import_requested_at',
    );
  return row
    ? {
        settings: row.settings,
        importRequestedAt: row.import_requested_at ? new Date(row.import_requested_at) : null,
      }
    : null;
}

/**
 * Stores the settings and announces them (portal.settings.saved) in one transaction; with
 * `startImport` («Сохранить и начать импорт») the same transaction asks hh-connector for the
 * initial import (hh.import.requested), so the import never starts on settings that were not saved.
 */
export async function saveSettings(
  db: Knex,
  settings: PortalSettings,
  userId: number | null,
  options: { startImport?: boolean; scope?: ImportScope } = {},
): Promise<void> {
  await db.transaction(async (trx) => {
    const row: Record<string, unknown> = {
      member_id: settings.memberId,
      settings: JSON.stringify(settings),
      updated_by: userId,
      updated_at: trx.fn.now(),
    };
    if (options.startImport) row['import_requested_at'] = trx.fn.now();
    await trx('portal_settings').insert(row).onConflict('member_id').merge();
    await enqueue(trx, {
      subject: subjects.portalSettingsSaved,
      msgId: `settings:${settings.memberId}:${randomUUID()}`,
      payload: { settings },
    });
    if (options.startImport) {
      const request: HhImportRequested = {
        memberId: settings.memberId,
        kind: 'initial',
        requestedBy: userId,
        requestedAt: new Date().toISOString(),
        ...(options.scope ? { scope: options.scope } : {}),
      };
      await enqueue(trx, {
        subject: subjects.hhImportRequested,
        msgId: `import:${settings.memberId}:${randomUUID()}`,
        payload: request,
      });
    }
  });
}
