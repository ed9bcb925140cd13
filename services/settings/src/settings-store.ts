import { randomUUID } from 'node:crypto';
import {
  HH_STATES,
  type HhImportRequested,
  type HhState,
  type ImportScope,
  type Knex,
  type PortalSettings,
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

export async function getSettings(db: Knex, memberId: string): Promise<PortalSettings | null> {
  return (await getSettingsRecord(db, memberId))?.settings ?? null;
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
