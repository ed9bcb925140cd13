import { randomUUID } from 'node:crypto';
import { HH_STATES, type HhState, type Knex, type PortalSettings, ValidationError, enqueue, subjects } from '@hhb24/common';

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
}

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
  if (!Number.isInteger(responsibleUserId) || responsibleUserId <= 0) problems['responsibleUserId'] = 'Выберите ответственного';
  const entityType = input.entityType === 'lead' || input.entityType === 'deal' ? input.entityType : undefined;
  if (!entityType) problems['entityType'] = 'Выберите тип сущности: Лид или Сделка';
  const categoryId = entityType === 'deal' ? Number(input.categoryId ?? 0) : 0;
  if (!Number.isInteger(categoryId) || categoryId < 0) problems['categoryId'] = 'Выберите воронку';
  const sourceId = input.sourceId === undefined || input.sourceId === null || input.sourceId === '' ? null : String(input.sourceId);
  if (sourceId !== null && !STAGE_ID.test(sourceId)) problems['sourceId'] = 'Выберите источник из списка';
  const extendedSync = flag(input.extendedSync);
  let stageForResponse = '';
  let stageForInvitation = '';
  const stageByState: Partial<Record<HhState, string>> = {};
  if (extendedSync) {
    const given = (input.stageByState ?? {}) as Record<string, unknown>;
    for (const state of HH_STATES) stageByState[state] = stage(given[state], `stageByState.${state}`, problems);
    stageForResponse = stageByState.response ?? '';
    stageForInvitation = stageByState.phone_interview ?? stageForResponse;
  } else {
    stageForResponse = stage(input.stageForResponse, 'stageForResponse', problems);
    stageForInvitation = stage(input.stageForInvitation, 'stageForInvitation', problems);
  }
  if (Object.keys(problems).length > 0) throw new ValidationError('Проверьте настройки', { fields: problems });
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
    updatedAt: new Date().toISOString(),
  };
}

export async function getSettings(db: Knex, memberId: string): Promise<PortalSettings | null> {
  const row = await db('portal_settings').where({ member_id: memberId }).first('settings');
  return row ? (row.settings as PortalSettings) : null;
}

/** Stores the settings and announces them (portal.settings.saved) in one transaction. */
export async function saveSettings(db: Knex, settings: PortalSettings, userId: number | null): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('portal_settings')
      .insert({ member_id: settings.memberId, settings: JSON.stringify(settings), updated_by: userId, updated_at: trx.fn.now() })
      .onConflict('member_id')
      .merge();
    await enqueue(trx, { subject: subjects.portalSettingsSaved, msgId: `settings:${settings.memberId}:${randomUUID()}`, payload: { settings } });
  });
}
