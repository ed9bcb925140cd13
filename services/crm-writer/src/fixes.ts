/**
 * A refused write in words a portal admin acts on. The portal's own message is kept as it came;
 * the fix says what to change and where, then «Повторить».
 */
import { type Bitrix24Error, type EntityType, type PortalLang, portalText } from '@hhb24/common';

export interface Refusal {
  code: string;
  message: string;
  fix: string | null;
}

const ENTITY = {
  lead: { many: 'entity.leads', accusative: 'entity.leadsAcc', deleted: 'entity.leadDeleted' },
  deal: { many: 'entity.deals', accusative: 'entity.dealsAcc', deleted: 'entity.dealDeleted' },
} as const satisfies Record<EntityType, Record<string, Parameters<typeof portalText>[1]>>;

/**
 * The portal's message as text: Bitrix24 ends lines of its error descriptions with `<br>`, which
 * reads as a space; anything else that looks like markup is kept as it came (the pages show it as
 * text), not deleted.
 */
const oneLine = (s: string) =>
  s
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/\n+/g, ' ')
    .trim();

/** The portal's name of the field «Источник» (SOURCE_ID) in Russian and English: the fix there is a source in the settings. */
const SOURCE_FIELD = /^(Источник|Source)$/i;

/**
 * The field a "required field" refusal names, in any of the forms Bitrix24 uses: «Не введено
 * значение обязательного поля "Источник"», «… обязательного поля Резюме.», `The field "Source" is
 * required.`, `The required field Resume is missing.`
 */
export function requiredFieldOf(description: string): string | null {
  const text = oneLine(description);
  const m =
    /обязательного поля\s+"([^"]+)"/i.exec(text) ??
    /обязательного поля\s+«([^»]+)»/i.exec(text) ??
    /обязательного поля\s+([^".]+?)\.?$/im.exec(text) ??
    /The field "([^"]+)" is required/i.exec(text) ??
    /The required field '?([^'.]+?)'? is missing/i.exec(text);
  return m ? m[1]!.trim() : null;
}

export function refusalOf(err: Bitrix24Error, entityType: EntityType, lang: PortalLang = 'ru'): Refusal {
  const message = oneLine(err.details.b24Description || err.message);
  const e = ENTITY[entityType];
  const say = (key: Parameters<typeof portalText>[1], values: Record<string, unknown> = {}) =>
    portalText(lang, key, values);
  const field = requiredFieldOf(err.details.b24Description ?? '');
  if (field) {
    return {
      code: 'required_field',
      message,
      fix: SOURCE_FIELD.test(field)
        ? say('fix.requiredSource', { field })
        : say('fix.required', { field, entities: say(e.many) }),
    };
  }
  switch (err.code) {
    case 'b24_access_denied':
      return {
        code: 'access_denied',
        message,
        fix: say('fix.accessDenied', { entities: say(e.accusative) }),
      };
    case 'b24_reinstall_required':
    case 'b24_portal_unknown':
      return { code: 'reinstall_required', message, fix: say('fix.reinstall') };
    case 'b24_portal_deleted':
      return { code: 'portal_deleted', message, fix: null };
    case 'b24_answer_too_large':
      return { code: 'answer_too_large', message, fix: say('fix.tooLarge') };
    case 'b24_redirect_refused':
      return { code: 'portal_moved', message, fix: say('fix.moved') };
    case 'b24_not_found':
      return { code: 'entity_deleted', message, fix: say('fix.deleted', { deleted: say(e.deleted) }) };
    default:
      return { code: 'rejected', message, fix: say('fix.rejected') };
  }
}

export function stageMissing(stageId: string, lang: PortalLang = 'ru'): Refusal {
  return {
    code: 'stage_missing',
    message: portalText(lang, 'stage.missing', { stage: stageId }),
    fix: portalText(lang, 'fix.stageMissing', { stage: stageId }),
  };
}

export function settingsMissing(lang: PortalLang = 'ru'): Refusal {
  return {
    code: 'settings_missing',
    message: portalText(lang, 'settings.missing'),
    fix: portalText(lang, 'fix.settingsMissing'),
  };
}
