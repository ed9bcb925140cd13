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
  textOf,
} from '@hhb24/common';

/** What a person sends from the «Настройки» form (or any caller), before validation. */
export interface SettingsInput {
  responsibleUserId?: unknown;
  entityType?: unknown;
  categoryId?: unknown;
  sourceId?: unknown;
  extendedSync?: unknown;
  stageForResponse?: unknown;
  stageForInvitation?: unknown;
  stageByState?: unknown;
  twoWayStatus?: unknown;
  twoWayDiscard?: unknown;
  /** Use the portal's contact with the applicant's phone or e-mail (absent: on). */
  reuseContacts?: unknown;
  /** «Кто может управлять приложением»: user ids, one or many (absent: nobody but the portal's admins). */
  managerIds?: unknown;
}

/** How many users «Кто может управлять приложением» may name. */
export const MANAGERS_MAX = 20;

const STAGE_ID = /^[A-Z0-9_:]{1,50}$/i;

function stage(value: unknown, field: string, problems: Record<string, string>): string {
  if (typeof value === 'string' && STAGE_ID.test(value)) return value;
  problems[field] = 'Выберите стадию';
  return '';
}

function flag(value: unknown): boolean {
  return value === true || value === 'true' || value === 'on' || value === '1' || value === 'Y';
}

/**
 * Validates settings from a form or a caller. Every problem is reported at once, keyed by field,
 * with the Russian text the page shows next to it. Whether stage ids exist on the portal is checked
 * by the page against the portal's lists; here only the shape.
 */
export function parseSettings(memberId: string, input: SettingsInput): PortalSettings {
  const problems: Record<string, string> = {};
  const responsibleUserId = Number(input.responsibleUserId);
  if (!Number.isInteger(responsibleUserId) || responsibleUserId <= 0)
    problems['responsibleUserId'] = 'Выберите ответственного';
  const entityType =
    input.entityType === 'lead' || input.entityType === 'deal' ? input.entityType : undefined;
  if (!entityType) problems['entityType'] = 'Выберите тип сущности: Лид или Сделка';
  const categoryId = entityType === 'deal' ? Number(input.categoryId ?? 0) : 0;
  if (!Number.isInteger(categoryId) || categoryId < 0) problems['categoryId'] = 'Выберите воронку';
  const sourceId =
    input.sourceId === undefined || input.sourceId === null || input.sourceId === ''
      ? null
      : textOf(input.sourceId);
  if (sourceId !== null && !STAGE_ID.test(sourceId)) problems['sourceId'] = 'Выберите источник из списка';
  const extendedSync = flag(input.extendedSync);
  let stageForResponse = '';
  let stageForInvitation = '';
  const stageByState: Partial<Record<HhState, string>> = {};
  if (extendedSync) {
    const given = (input.stageByState ?? {}) as Record<string, unknown>;
    for (const state of HH_STATES)
      stageByState[state] = stage(given[state], `stageByState.${state}`, problems);
    stageForResponse = stageByState.response ?? '';
    stageForInvitation = stageByState.phone_interview ?? stageForResponse;
  } else {
    stageForResponse = stage(input.stageForResponse, 'stageForResponse', problems);
    stageForInvitation = stage(input.stageForInvitation, 'stageForInvitation', problems);
  }
  const given = input.managerIds;
  const rawManagers =
    given === undefined || given === null || given === '' ? [] : Array.isArray(given) ? given : [given];
  const managerIds = [...new Set(rawManagers.filter((v) => v !== '').map((v) => Number(v)))];
  if (managerIds.some((id) => !Number.isInteger(id) || id <= 0))
    problems['managerIds'] = 'Выберите сотрудников из списка';
  else if (managerIds.length > MANAGERS_MAX)
    problems['managerIds'] = `Можно назначить не больше ${MANAGERS_MAX} сотрудников`;
  if (Object.keys(problems).length > 0)
    throw new ValidationError('Проверьте настройки', { fields: problems });
  return {
    memberId,
    responsibleUserId,
    entityType: entityType!,
    categoryId,
    sourceId,
    extendedSync,
    stageForResponse,
    stageForInvitation,
    stageByState,
    twoWayStatus: flag(input.twoWayStatus),
    twoWayDiscard: flag(input.twoWayDiscard),
    reuseContacts: input.reuseContacts === undefined ? true : flag(input.reuseContacts),
    managerIds,
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
