/**
 * Every form the app pages send (`/ui/<route>`: the query of a GET, the fields of a POST), one
 * TypeBox schema each, with its type derived from it. The gateway has checked only that the fields
 * are text (gateway/src/schemas.ts, UiForm); each route checks its own form here before it reads
 * a field. A form that fails is answered 400 with the page's error line, except where the page
 * tells each field what is wrong (the settings, «Обратная связь»).
 */
import { Enum, HH_STATES, IMPORT_VACANCIES_MAX, Ids, type Static, Type, compileSchema } from '@hhb24/common';
import { CONTACT_MAX, FEEDBACK_MAX } from '../feedback-store.js';

/** How many users «Кто может управлять приложением» may name. */
export const MANAGERS_MAX = 20;
/** How many users «Кто может видеть аналитику» may name. */
export const ANALYTICS_VIEWERS_MAX = 50;

/** A whole number as a form writes it (`max` digits at most). */
const digits = (max: number) => Type.String({ pattern: `^\\d{1,${max}}$` });
/** A field a form may leave empty. */
const orEmpty = <S extends Parameters<typeof Type.Union>[0][number]>(schema: S) =>
  Type.Union([Type.Literal(''), schema]);

// ---- «Настройки» -----------------------------------------------------------------------------

/** A stage or source of the portal's (`C2:NEW`, `WEB`); whether it exists there is asked of the portal. */
const PortalListId = Type.String({ pattern: '^[A-Za-z0-9_:]{1,50}$' });
/** A Bitrix24 user, as the form (text) or a caller (a number) gives it. */
const UserId = Type.Union([Ids.positive(), Type.String({ pattern: '^[1-9]\\d{0,9}$' })]);
/** A checkbox: on when sent as `on`, `true`, `1` or `Y` (or `true` by a caller). */
const Flag = Type.Union([Type.Boolean(), Type.String({ maxLength: 10 })]);

/**
 * The settings as the «Настройки» form sends them (flat fields gathered by settings-tab.ts) or a
 * caller passes them. The stages are checked by the mode's own schema below.
 */
export const SettingsInput = Type.Object({
  responsibleUserId: UserId,
  entityType: Enum(['lead', 'deal']),
  categoryId: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), digits(9)])),
  sourceId: Type.Optional(Type.Union([Type.Null(), orEmpty(PortalListId)])),
  extendedSync: Type.Optional(Flag),
  twoWayStatus: Type.Optional(Flag),
  twoWayDiscard: Type.Optional(Flag),
  /** Use the portal's contact with the applicant's phone or e-mail (absent: on). */
  reuseContacts: Type.Optional(Flag),
  stageForResponse: Type.Optional(Type.Unknown()),
  stageForInvitation: Type.Optional(Type.Unknown()),
  stageByState: Type.Optional(Type.Unknown()),
  /** «Кто может управлять приложением»: user ids, one or many (absent: nobody but the portal's admins). */
  managerIds: Type.Optional(
    Type.Union([Type.Null(), orEmpty(UserId), Type.Array(orEmpty(UserId), { maxItems: MANAGERS_MAX })]),
  ),
  /** «Кто может видеть аналитику»: user ids, one or many (absent: nobody but the portal's admins). */
  analyticsViewerIds: Type.Optional(
    Type.Union([
      Type.Null(),
      orEmpty(UserId),
      Type.Array(orEmpty(UserId), { maxItems: ANALYTICS_VIEWERS_MAX }),
    ]),
  ),
});
export type SettingsInput = Static<typeof SettingsInput>;

/** Without «Расширенная синхронизация»: a stage for responses and one for invitations. */
export const SimpleStages = Type.Object({
  stageForResponse: PortalListId,
  stageForInvitation: PortalListId,
});
/** With it: a stage for each of hh.ru's eight statuses. */
export const ExtendedStages = Type.Object({
  stageByState: Type.Object(Object.fromEntries(HH_STATES.map((state) => [state, PortalListId]))),
});
/** Whatever a caller sends: the settings form's schemas judge it. */
export type SettingsDraft = Partial<Record<keyof SettingsInput, unknown>>;

export const settingsInput = compileSchema(SettingsInput, 'settings');
export const simpleStages = compileSchema(SimpleStages, 'settings');
export const extendedStages = compileSchema(ExtendedStages, 'settings');

/** The buttons of the settings form: «Сохранить», «Сохранить и начать импорт». */
export const SettingsAction = Type.Object({
  action: Type.Optional(Enum(['save', 'import'])),
  firstImport: Type.Optional(Enum(['', '0', '1'])),
});

/**
 * A user search box (`settings/users`): the responsible user's (one chosen) or «Кто может видеть
 * аналитику»'s (the users chosen so far, kept in the list whatever the search finds).
 */
export const UserSearch = Type.Object({
  userQuery: Type.Optional(Type.String({ maxLength: 100 })),
  responsibleUserId: Type.Optional(orEmpty(digits(10))),
  analyticsViewerIds: Type.Optional(
    Type.Union([orEmpty(digits(10)), Type.Array(orEmpty(digits(10)), { maxItems: ANALYTICS_VIEWERS_MAX })]),
  ),
});

/** The most rows «Ответственные по менеджерам hh.ru» sends at once (hh.ru lists 200 managers a page). */
export const MANAGER_ROWS_MAX = 1000;
/** An hh.ru manager as a row names it: `employer:manager`. */
const ManagerKey = Type.String({ pattern: '^[\\w.-]{1,100}:[\\w.-]{1,100}$' });
/** A user chosen in a row; empty: the default responsible. */
const RowUser = orEmpty(digits(10));

/**
 * «Сохранить соответствие»: each row's manager (`mapKey`) and the portal user chosen for it
 * (`mapUser`), in the same order, one value or many.
 */
export const ManagerUsersForm = Type.Object({
  mapKey: Type.Union([ManagerKey, Type.Array(ManagerKey, { minItems: 1, maxItems: MANAGER_ROWS_MAX })]),
  mapUser: Type.Union([RowUser, Type.Array(RowUser, { minItems: 1, maxItems: MANAGER_ROWS_MAX })]),
});

/** One row's search box (`settings/manager-users`): the words and the row's choice so far. */
export const ManagerUserSearch = Type.Object({
  userQuery: Type.Optional(Type.String({ maxLength: 100 })),
  mapUser: Type.Optional(RowUser),
});

// ---- «Вакансии» ------------------------------------------------------------------------------

/**
 * «Добавить правило»: which vacancies (`match`: one vacancy, by words of the name, by region),
 * what goes where (entity type, pipeline, the stages as the settings' mode has them, as flat
 * fields `stageByState.<status>`) and an optional responsible. Whether the vacancy, region,
 * pipeline, stages and user exist is asked of hh.ru and the portal by the tab.
 */
export const VacancyRuleForm = Type.Object({
  match: Enum(['vacancy', 'name', 'area']),
  vacancyId: Type.Optional(orEmpty(Type.String({ pattern: '^\\d{1,20}$' }))),
  nameText: Type.Optional(Type.String({ maxLength: 200 })),
  areaId: Type.Optional(orEmpty(Type.String({ pattern: '^\\d{1,20}$' }))),
  entityType: Enum(['lead', 'deal']),
  categoryId: Type.Optional(orEmpty(digits(9))),
  stageForResponse: Type.Optional(orEmpty(PortalListId)),
  stageForInvitation: Type.Optional(orEmpty(PortalListId)),
  ruleUserId: Type.Optional(orEmpty(digits(10))),
});
/** «Удалить» of a rule. */
export const VacancyRuleRemove = Type.Object({ ruleId: digits(15) });

/** «Повторить» under the import's results: one refused response, or all of them. */
export const FailuresRetry = Type.Object({
  negotiationId: Type.Optional(orEmpty(Ids.negotiationId())),
});

/**
 * «Что импортировать» on «Новые отклики» (the settings form carries the same fields): the period,
 * the folders, the vacancies. The number of days is judged by parseImportScope, which tells the
 * field what is wrong.
 */
export const ImportChoice = Type.Object({
  importPeriod: Type.Optional(Enum(['all', 'days'])),
  importDays: Type.Optional(Type.String({ maxLength: 10 })),
  importCollections: Type.Optional(Enum(['all', 'no_discards'])),
  importVacancies: Type.Optional(Enum(['all', 'chosen'])),
  vacancyIds: Type.Optional(
    Type.Union([Ids.hhId(), Type.Array(Ids.hhId(), { maxItems: IMPORT_VACANCIES_MAX })]),
  ),
});

// ---- «Авторизация» ---------------------------------------------------------------------------

/** While hh.ru's login window is open the tab asks again: how many times so far. */
export const AuthPoll = Type.Object({ poll: Type.Optional(orEmpty(digits(4))) });

// ---- «Обратная связь» ------------------------------------------------------------------------

/** The message (its spaces around trimmed before the check) and a contact if the writer leaves one. */
export const Feedback = Type.Object({
  message: Type.String({ minLength: 1, maxLength: FEEDBACK_MAX }),
  contact: Type.Optional(Type.String({ maxLength: CONTACT_MAX })),
});

// ---- «Состояние» -----------------------------------------------------------------------------

/** «Показать ещё»: the delivery log's rows before this one. */
export const HealthEvents = Type.Object({ before: Type.String({ pattern: '^[1-9]\\d{0,15}$' }) });

/** «Повторить» on a refused write (`negotiationId`) or a failed load (`loadId`), or «Повторить все» (`all`). */
export const HealthRetry = Type.Object({
  negotiationId: Type.Optional(orEmpty(Ids.negotiationId())),
  loadId: Type.Optional(orEmpty(digits(15))),
  all: Type.Optional(Enum(['', '0', '1'])),
});

// ---- «Аналитика» -----------------------------------------------------------------------------

/** How many vacancies the filter of «Аналитика» may choose at once. */
export const ANALYTICS_VACANCIES_MAX = 200;
/** A day of the filter as the date field sends it (`2026-12-07`, a day the calendar has), or empty. */
const Day = orEmpty(Type.String({ format: 'date', maxLength: 10 }));

/**
 * The filter of «Аналитика» (`tab/analytics`): the period, days or weeks, the vacancies (none
 * chosen: all). What is left empty takes its default; a period that ends before it starts or is
 * longer than the page shows is told on the page (analytics-tab.ts).
 */
export const AnalyticsForm = Type.Object({
  from: Type.Optional(Day),
  to: Type.Optional(Day),
  bucket: Type.Optional(orEmpty(Enum(['day', 'week']))),
  vacancy: Type.Optional(
    Type.Union([Ids.hhId(), Type.Array(Ids.hhId(), { maxItems: ANALYTICS_VACANCIES_MAX })]),
  ),
});
export type AnalyticsForm = Static<typeof AnalyticsForm>;

// ---- the card --------------------------------------------------------------------------------

/** The HH.ru tab of one lead or deal (what the gateway found in the placement's options). */
export const CardForm = Type.Object({
  entityType: Enum(['lead', 'deal']),
  entityId: Type.String({ pattern: '^[1-9]\\d{0,17}$' }),
});
/** «Все отклики (N)» of an activity: the lead (1) or deal (2) it is on. */
export const CardOthers = Type.Object({
  entityTypeId: Enum(['1', '2']),
  entityId: Type.String({ pattern: '^[1-9]\\d{0,17}$' }),
});
