/** What a new portal starts with: the default dictionaries in its language, and its people. */
import { type Category, type Portal, type Status, type User, nextId } from './model.js';
import type { Lang } from './texts.js';

type Named = [id: string, ru: string, en: string, semantics?: 'S' | 'F', color?: string];

const LEAD_STATUSES: Named[] = [
  ['NEW', 'Не обработан', 'Unassigned', undefined, '#39A8EF'],
  ['IN_PROCESS', 'В работе', 'In progress', undefined, '#2FC6F6'],
  ['PROCESSED', 'Обработан', 'Processed', undefined, '#55D0E0'],
  ['JUNK', 'Некачественный лид', 'Junk lead', 'F', '#FF5752'],
  ['CONVERTED', 'Качественный лид', 'Good lead', 'S', '#7BD500'],
];

const DEAL_STAGES: Named[] = [
  ['NEW', 'Новая', 'New', undefined, '#39A8EF'],
  ['PREPARATION', 'Подготовка документов', 'Preparing documents', undefined, '#2FC6F6'],
  ['PREPAYMENT_INVOICE', 'Счёт на предоплату', 'Prepayment invoice', undefined, '#55D0E0'],
  ['EXECUTING', 'В работе', 'In progress', undefined, '#47E4C2'],
  ['FINAL_INVOICE', 'Финальный счёт', 'Final invoice', undefined, '#FFA900'],
  ['WON', 'Сделка успешна', 'Deal won', 'S', '#7BD500'],
  ['LOSE', 'Сделка провалена', 'Deal lost', 'F', '#FF5752'],
];

const SOURCES: Named[] = [
  ['CALL', 'Звонок', 'Call'],
  ['EMAIL', 'Электронная почта', 'E-Mail'],
  ['WEB', 'Веб-сайт', 'Website'],
  ['ADVERTISING', 'Реклама', 'Advertising'],
  ['PARTNER', 'Существующий клиент', 'Existing client'],
  ['RECOMMENDATION', 'По рекомендации', 'By recommendation'],
  ['TRADE_SHOW', 'Выставка', 'Show/Exhibition'],
  ['WEBFORM', 'CRM-форма', 'CRM form'],
  ['CALLBACK', 'Обратный звонок', 'Callback'],
  ['RC_GENERATOR', 'Генератор продаж', 'Sales boost'],
  ['STORE', 'Интернет-магазин', 'Online store'],
  ['OTHER', 'Другое', 'Other'],
];

const DEAL_TYPES: Named[] = [
  ['SALE', 'Продажа', 'Sales'],
  ['COMPLEX', 'Комплексная продажа', 'Integrated sales'],
  ['GOODS', 'Продажа товара', 'Merchandise sales'],
  ['SERVICES', 'Продажа услуги', 'Service sales'],
  ['SERVICE', 'Сервисное обслуживание', 'After-sales service'],
];

/** ENTITY_ID of a pipeline's stages: DEAL_STAGE for the default one, DEAL_STAGE_{n} for the others. */
export function dealStageEntity(categoryId: number): string {
  return categoryId === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${categoryId}`;
}

/** Stage ids carry the pipeline: `NEW` in the default one, `C{n}:NEW` in pipeline n. */
export function stageId(categoryId: number, code: string): string {
  return categoryId === 0 ? code : `C${categoryId}:${code}`;
}

function addStatuses(
  portal: Portal,
  entityId: string,
  rows: Named[],
  lang: Lang,
  categoryId: number | null,
  prefix = (s: string) => s,
): void {
  rows.forEach(([id, ru, en, semantics, color], i) => {
    const name = lang === 'ru' ? ru : en;
    const status: Status = {
      ID: nextId(portal, 'status'),
      ENTITY_ID: entityId,
      STATUS_ID: prefix(id),
      NAME: name,
      NAME_INIT: name,
      SORT: (i + 1) * 10,
      SYSTEM: semantics || i === 0 ? 'Y' : 'N',
      CATEGORY_ID: categoryId,
      COLOR: color ?? '',
      SEMANTICS: semantics ?? null,
    };
    portal.statuses.push(status);
  });
}

/** A deal pipeline with the standard stages, prefixed `C{n}:` unless it is the default one. */
export function addPipeline(portal: Portal, name: string, lang: Lang): Category {
  const id = portal.categories.length === 0 ? 0 : Math.max(...portal.categories.map((c) => c.id)) + 1;
  const category: Category = { id, name, sort: (portal.categories.length + 1) * 100, isDefault: id === 0 };
  portal.categories.push(category);
  addStatuses(portal, dealStageEntity(id), DEAL_STAGES, lang, id, (s) => stageId(id, s));
  return category;
}

type Format = [formatString: string, fullName: string, thousandsSep: string | null, variant: string];

/**
 * The currencies of a new portal: the Russian-language page of crm.currency.list shows a portal
 * with RUB as the base currency, USD, EUR and BYN, with these rates and Russian formats
 * (https://apidocs.bitrix24.ru/api-reference/crm/currency/crm-currency-list.html); the English
 * formats of RUB and USD are those of crm.currency.get's pages, EUR's and BYN's are ours.
 */
const CURRENCIES: Array<[code: string, amount: string, sort: string, ru: Format, en: Format]> = [
  [
    'RUB',
    '1.0000',
    '100',
    ['# &#8381;', 'Российский рубль', '&nbsp;', 'B'],
    ['&#8381;#', 'Russian Ruble', null, 'C'],
  ],
  ['USD', '68.7900', '200', ['$#', 'Доллар США', null, 'C'], ['$#', 'United States Dollar', null, 'C']],
  ['EUR', '78.3200', '300', ['# &euro;', 'Евро', '&nbsp;', 'B'], ['&euro;#', 'Euro', null, 'C']],
  [
    'BYN',
    '32.2000',
    '500',
    ['# руб.', 'Белорусский рубль', '&nbsp;', 'B'],
    ['# BYN', 'Belarusian Ruble', null, 'C'],
  ],
];

function seedCurrencies(portal: Portal): void {
  const format = ([formatString, fullName, thousandsSep, variant]: Format) => ({
    FORMAT_STRING: formatString,
    FULL_NAME: fullName,
    DEC_POINT: '.',
    THOUSANDS_SEP: thousandsSep,
    DECIMALS: '2',
    THOUSANDS_VARIANT: variant,
    HIDE_ZERO: 'Y' as const,
  });
  portal.currencies = CURRENCIES.map(([code, amount, sort, ru, en]) => ({
    CURRENCY: code,
    AMOUNT_CNT: '1',
    AMOUNT: amount,
    SORT: sort,
    BASE: code === 'RUB' ? 'Y' : 'N',
    DATE_UPDATE: portal.createdAt,
    lang: { ru: format(ru), en: format(en) },
  }));
}

export function seedDictionaries(portal: Portal): void {
  const lang = portal.lang;
  seedCurrencies(portal);
  addStatuses(portal, 'STATUS', LEAD_STATUSES, lang, null);
  addStatuses(portal, 'SOURCE', SOURCES, lang, null);
  addStatuses(portal, 'DEAL_TYPE', DEAL_TYPES, lang, null);
  // The reference app calls the default pipeline «Общее» (docs/reference/reference-app.md#settings).
  addPipeline(portal, lang === 'ru' ? 'Общее' : 'General', lang);
}

const PEOPLE: Record<Lang, Array<[string, string, 'M' | 'F', string]>> = {
  ru: [
    ['Анна', 'Смирнова', 'F', 'Руководитель отдела подбора'],
    ['Игорь', 'Кузнецов', 'M', 'Рекрутер'],
    ['Мария', 'Попова', 'F', 'Рекрутер'],
    ['Олег', 'Васильев', 'M', 'HR-менеджер'],
    ['Елена', 'Соколова', 'F', 'Бухгалтер'],
  ],
  en: [
    ['Anna', 'Smith', 'F', 'Head of recruiting'],
    ['Igor', 'Brown', 'M', 'Recruiter'],
    ['Maria', 'Jones', 'F', 'Recruiter'],
    ['Oleg', 'Miller', 'M', 'HR manager'],
    ['Elena', 'Davis', 'F', 'Accountant'],
  ],
};

export function makeUser(portal: Portal, spec: Partial<Omit<User, 'ID'>> = {}): User {
  const id = nextId(portal, 'user');
  const [name, last, gender, position] = PEOPLE[portal.lang][(id - 1) % PEOPLE[portal.lang].length]!;
  const user: User = {
    ID: id,
    ACTIVE: true,
    NAME: name,
    LAST_NAME: last,
    SECOND_NAME: '',
    EMAIL: `user${id}@${portal.name}.example`,
    WORK_POSITION: position,
    UF_DEPARTMENT: [1],
    USER_TYPE: 'employee',
    PERSONAL_GENDER: gender,
    isAdmin: id === 1,
    crmAccess: true,
    ...spec,
  };
  portal.users.set(id, user);
  return user;
}
