/**
 * A refused write in words a portal admin acts on. The portal's own message is kept as it came;
 * the fix says what to change and where, then «Повторить».
 */
import type { Bitrix24Error, EntityType } from '@hhb24/common';

export interface Refusal {
  code: string;
  message: string;
  fix: string | null;
}

const ENTITY: Record<EntityType, { many: string; accusative: string; deleted: string }> = {
  lead: { many: 'лидов', accusative: 'лиды', deleted: 'Лид удалён' },
  deal: { many: 'сделок', accusative: 'сделки', deleted: 'Сделка удалена' },
};

const stripTags = (s: string) =>
  s
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/\n+/g, ' ')
    .trim();

/**
 * The field a "required field" refusal names, in any of the forms Bitrix24 uses: «Не введено
 * значение обязательного поля "Источник"», «… обязательного поля Резюме.», `The field "Source" is
 * required.`, `The required field Resume is missing.`
 */
export function requiredFieldOf(description: string): string | null {
  const text = stripTags(description);
  const m =
    /обязательного поля\s+"([^"]+)"/i.exec(text) ??
    /обязательного поля\s+«([^»]+)»/i.exec(text) ??
    /обязательного поля\s+([^".]+?)\.?$/im.exec(text) ??
    /The field "([^"]+)" is required/i.exec(text) ??
    /The required field '?([^'.]+?)'? is missing/i.exec(text);
  return m ? m[1]!.trim() : null;
}

export function refusalOf(err: Bitrix24Error, entityType: EntityType): Refusal {
  const message = stripTags(err.details.b24Description || err.message);
  const e = ENTITY[entityType];
  const field = requiredFieldOf(err.details.b24Description ?? '');
  if (field) {
    return {
      code: 'required_field',
      message,
      fix: `Сделать поле необязательным: «${field}» (настройки полей ${e.many} в CRM), затем нажать «Повторить».`,
    };
  }
  switch (err.code) {
    case 'b24_access_denied':
      return {
        code: 'access_denied',
        message,
        fix: `Выдать пользователю, установившему приложение, право добавлять и изменять ${e.accusative} (CRM → Настройки → Права доступа) или переустановить приложение от имени администратора, затем нажать «Повторить».`,
      };
    case 'b24_reinstall_required':
    case 'b24_portal_unknown':
      return {
        code: 'reinstall_required',
        message,
        fix: 'Переустановить приложение на портале: портал больше не принимает его ключи доступа.',
      };
    case 'b24_portal_deleted':
      return { code: 'portal_deleted', message, fix: null };
    case 'b24_answer_too_large':
      return {
        code: 'answer_too_large',
        message,
        fix: 'Портал прислал ответ больше допустимого размера (B24_MAX_RESPONSE_BYTES): сообщите администратору сервиса, затем нажмите «Повторить».',
      };
    case 'b24_redirect_refused':
      return {
        code: 'portal_moved',
        message,
        fix: 'Портал ответил перенаправлением на другой адрес: если адрес портала изменился, переустановите приложение, затем нажмите «Повторить».',
      };
    case 'b24_not_found':
      return {
        code: 'entity_deleted',
        message,
        fix: `${e.deleted} на портале. Нажать «Повторить», чтобы создать заново.`,
      };
    default:
      return {
        code: 'rejected',
        message,
        fix: 'Исправить на портале то, на что он указывает, затем нажать «Повторить».',
      };
  }
}

export function stageMissing(stageId: string): Refusal {
  return {
    code: 'stage_missing',
    message: `Стадии ${stageId} на портале нет`,
    fix: `Выбрать стадии заново на вкладке «Настройки» и сохранить: стадия ${stageId} удалена или перенесена. Отклики будут записаны снова.`,
  };
}

export const settingsMissing: Refusal = {
  code: 'settings_missing',
  message: 'Настройки приложения не сохранены',
  fix: 'Сохранить настройки на вкладке «Настройки»: после этого отклики будут записаны.',
};
