/**
 * The portal's own message texts, in the portal's language. Copied from the Bitrix lang files
 * (see the project's Bitrix24 texts reference); messages that Bitrix hard-codes in English are
 * English on a Russian portal too and live where they are raised, not here.
 */
export type Lang = 'ru' | 'en';

const catalogue = {
  // crm DTO validators (configurable activity layout)
  CRM_DTO_VALIDATOR_WRONG_FIELD_VALUE: {
    ru: 'Некорректное значение поля #FIELD# в #PARENT_OBJECT#.',
    en: 'The value of #FIELD# in #PARENT_OBJECT# is incorrect.',
  },
  CRM_DTO_VALIDATOR_TOO_MANY_ITEMS: {
    ru: 'Поле #FIELD# объекта #PARENT_OBJECT# может содержать не более #COUNT# значений.',
    en: 'The field #FIELD# of #PARENT_OBJECT# can only contain up to #COUNT# values.',
  },
  CRM_DTO_VALIDATOR_KEY_CONTAIN_WRONG_SYMBOLS: {
    ru: 'Значение ключа #KEY# содержит недопустимые символы.',
    en: 'The value of #KEY# includes invalid characters.',
  },
  CRM_DTO_VALIDATOR_FIELD_IS_REDUNDANT: {
    ru: 'Поле #FIELD# лишнее для объекта #PARENT_OBJECT#',
    en: 'Field #FIELD# is not required for #PARENT_OBJECT#.',
  },
  CRM_DTO_VALIDATOR_FIELD_IS_REQUIRED: {
    ru: 'Поле #FIELD# в #PARENT_OBJECT# должно быть заполнено.',
    en: 'Field #FIELD# is required for #PARENT_OBJECT#.',
  },
  CRM_TIMELINE_DTO_VALIDATOR_WRONG_LANG: {
    ru: 'Язык #LANG# не найден',
    en: 'The language #LANG# was not found.',
  },
  // crm.activity.configurable.* controller
  CRM_CONFIGURABLE_REST_APP_ERROR_WRONG_CONTEXT: {
    ru: 'Вызов метода возможен только в контексте rest приложения',
    en: 'This method can only be called in the context of a REST application.',
  },
  CRM_CONFIGURABLE_REST_APP_ERROR_WRONG_APPLICATION: {
    ru: 'Обновить дело может только приложение, которое его создало',
    en: 'Activity can only be updated by the app that created it.',
  },
  CRM_CONFIGURABLE_REST_APP_ERROR_EMPTY_LAYOUT: {
    ru: 'Поле layout должно быть заполнено',
    en: 'The field "layout" is required.',
  },
  CRM_CONFIGURABLE_REST_APP_ERROR_WRONG_FIELD_VALUE: {
    ru: 'Некорректное значение поля #FIELD#',
    en: 'The value of #FIELD# is incorrect.',
  },
  CRM_CONFIGURABLE_REST_APP_INCOMING_NO_DEADLINE: {
    ru: 'Входящее дело не может иметь крайний срок',
    en: 'Incoming activity cannot have a deadline',
  },
  CRM_TYPE_ITEM_NOT_FOUND: { ru: 'Элемент не найден', en: 'Item was not found.' },
  CRM_COMMON_ERROR_ACCESS_DENIED: { ru: 'Доступ запрещен', en: 'Access denied' },
  // legacy crm.lead/deal.add required fields (only when the portal checks them over REST)
  CRM_ENTITY_VALIDATOR_FIELD_IS_MISSING: {
    ru: 'Не введено значение обязательного поля "%FIELD_NAME%"',
    en: 'The field "%FIELD_NAME%" is required.',
  },
  USER_TYPE_FIELD_VALUE_IS_MISSING: {
    ru: 'Не введено значение обязательного поля #FIELD_NAME#.',
    en: 'The required field #FIELD_NAME# is missing.',
  },
} satisfies Record<string, Record<Lang, string>>;

export type MessageKey = keyof typeof catalogue;

export function message(lang: Lang, key: MessageKey, replace: Record<string, string | number> = {}): string {
  let text: string = catalogue[key][lang];
  for (const [k, v] of Object.entries(replace)) text = text.split(k).join(String(v));
  return text;
}

/** Names of the standard lead and deal fields, as field settings and required-field errors show them. */
export const FIELD_TITLES: Record<string, Record<Lang, string>> = {
  ID: { ru: 'ID', en: 'ID' },
  TITLE: { ru: 'Название', en: 'Name' },
  NAME: { ru: 'Имя', en: 'First name' },
  SECOND_NAME: { ru: 'Отчество', en: 'Middle name' },
  LAST_NAME: { ru: 'Фамилия', en: 'Last name' },
  STATUS_ID: { ru: 'Стадия', en: 'Stage' },
  STATUS_DESCRIPTION: { ru: 'Дополнительно о стадии', en: 'Stage information' },
  STAGE_ID: { ru: 'Стадия сделки', en: 'Deal stage' },
  CATEGORY_ID: { ru: 'Воронка', en: 'Pipeline' },
  TYPE_ID: { ru: 'Тип', en: 'Type' },
  SOURCE_ID: { ru: 'Источник', en: 'Source' },
  SOURCE_DESCRIPTION: { ru: 'Дополнительно об источнике', en: 'Source information' },
  ASSIGNED_BY_ID: { ru: 'Ответственный', en: 'Responsible person' },
  CREATED_BY_ID: { ru: 'Кем создан', en: 'Created by' },
  MODIFY_BY_ID: { ru: 'Кем изменён', en: 'Modified by' },
  DATE_CREATE: { ru: 'Дата создания', en: 'Created' },
  DATE_MODIFY: { ru: 'Дата изменения', en: 'Modified' },
  COMMENTS: { ru: 'Комментарий', en: 'Comment' },
  OPENED: { ru: 'Доступен для всех', en: 'Available to everyone' },
  ORIGINATOR_ID: { ru: 'Внешний источник', en: 'External source' },
  ORIGIN_ID: { ru: 'Идентификатор элемента во внешнем источнике', en: 'Item ID in data source' },
  PHONE: { ru: 'Телефон', en: 'Phone' },
  EMAIL: { ru: 'E-mail', en: 'E-mail' },
  WEB: { ru: 'Сайт', en: 'Website' },
  IM: { ru: 'Мессенджер', en: 'Messenger' },
  OPPORTUNITY: { ru: 'Сумма', en: 'Amount' },
  CURRENCY_ID: { ru: 'Валюта', en: 'Currency' },
  PROBABILITY: { ru: 'Вероятность', en: 'Probability' },
  BEGINDATE: { ru: 'Дата начала', en: 'Start date' },
  CLOSEDATE: { ru: 'Дата завершения', en: 'End date' },
  CLOSED: { ru: 'Закрыта', en: 'Closed' },
  CONTACT_ID: { ru: 'Контакт', en: 'Contact' },
  COMPANY_ID: { ru: 'Компания', en: 'Company' },
  LEAD_ID: { ru: 'Лид', en: 'Lead' },
  POST: { ru: 'Должность', en: 'Position' },
  COMPANY_TITLE: { ru: 'Название компании', en: 'Company name' },
  ADDRESS_CITY: { ru: 'Город', en: 'City' },
};
