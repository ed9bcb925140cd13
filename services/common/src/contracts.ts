/**
 * What the services say to each other: the payloads of the JetStream subjects (topology.ts) and
 * the request/reply contracts. Both sides import these types; a change here is a change of the
 * mesh's protocol and shows in every service that uses it.
 */
import { defineRpc } from './nats/rpc.js';
import { type SubjectName, subjects } from './nats/topology.js';
import {
  type Checker,
  Enum,
  Ids,
  Nullable,
  type Static,
  type TSchema,
  Type,
  compileSchema,
} from './schema.js';

/**
 * hh.ru employer states as the reference app's extended mapping lists them
 * (docs/reference/reference-app.md#settings), by hh ids.
 */
export const HH_STATES = [
  'response',
  'consider',
  'phone_interview',
  'assessment',
  'interview',
  'offer',
  'hired',
  'discard',
] as const;
export type HhState = (typeof HH_STATES)[number];
const HhStateSchema = Enum(HH_STATES);

/** Russian names of the states, as recruiters see them in the app and in UF_CRM_NH_STATUS. */
export const HH_STATE_NAMES: Record<HhState, string> = {
  response: 'Отклики',
  consider: 'Подумать',
  phone_interview: 'Телефонное интервью',
  assessment: 'Оценка',
  interview: 'Интервью',
  offer: 'Предложение о работе',
  hired: 'Выход на работу',
  // hh.ru's name of the state (its action is «Отказ»): the same word the status field and the activity show.
  discard: 'Отказано',
};

/**
 * Our state for an hh.ru employer state id. hh.ru names the refusal `discard_by_employer` today
 * (older ids: `discard`, `discard_after_interview`, `discard_to_other_vacancy`…): all of them are
 * «Отказ». Unknown ids (hh.ru says not to hard-code the list) count as the closest stage we know:
 * none, so null, and the caller keeps the entity where it is.
 */
export function toHhState(employerStateId: string): HhState | null {
  if (employerStateId.startsWith('discard')) return 'discard';
  return (HH_STATES as readonly string[]).includes(employerStateId) ? (employerStateId as HhState) : null;
}

export const EntityType = Enum(['lead', 'deal']);
export type EntityType = Static<typeof EntityType>;

/** Bitrix24's CRM entity type id (1 a lead, 2 a deal), as placements and activities pass it. */
export function entityTypeOf(typeId: string | undefined): EntityType | undefined {
  return typeId === '1' ? 'lead' : typeId === '2' ? 'deal' : undefined;
}

/**
 * The user fields of leads and deals the app writes (created at install on both entity types;
 * Bitrix24 prefixes every name with UF_CRM_). Both the installer and crm-writer use these names.
 */
export const CRM_USER_FIELDS = [
  { name: 'UF_CRM_NH_CREATED_AT', type: 'string', label: { ru: 'Дата создания НН', en: 'HH created' } },
  { name: 'UF_CRM_NH_STATUS', type: 'string', label: { ru: 'Статус НН', en: 'HH status' } },
  { name: 'UF_CRM_NH_VACANCIES', type: 'string', label: { ru: 'Вакансия НН', en: 'HH vacancy' } },
  { name: 'UF_CRM_HH_RESUME', type: 'file', label: { ru: 'Резюме НН', en: 'HH resume' } },
  { name: 'UF_CRM_APPLICANT_CITY', type: 'string', label: { ru: 'Город соискателя', en: 'Applicant city' } },
] as const;

/** Portal settings (the «Настройки» tab). Stage ids are the portal's own (`NEW`, `C3:PREPARATION`). */
/** One hh.ru manager's Bitrix24 user (see PortalSettings.managerUsers). */
export const ManagerUser = Type.Object({
  employerId: Ids.hhId(),
  managerId: Ids.hhId(),
  userId: Nullable(Ids.positive()),
});
export type ManagerUser = Static<typeof ManagerUser>;

/**
 * A per-vacancy rule («Вакансии»): the vacancies it takes (one vacancy by its hh.ru id, those whose
 * name contains `value` in any case, or those of one hh.ru region) go into its entity type,
 * pipeline and stages, to its responsible when it names one. A rule for one vacancy wins over the
 * others; among those, the first added.
 */
export const VacancyRule = Type.Object({
  id: Ids.positive(),
  match: Enum(['vacancy', 'name', 'area']),
  value: Type.String({ minLength: 1, maxLength: 200 }),
  /** What the pages show for it: the vacancy's or the region's name, or the words. */
  label: Type.String({ maxLength: 300 }),
  entityType: EntityType,
  /** Deals only; 0 is the default pipeline. */
  categoryId: Type.Integer({ minimum: 0 }),
  stageForResponse: Type.String(),
  stageForInvitation: Type.String(),
  /** With «Расширенная синхронизация» when the rule was saved: a stage per hh.ru status. */
  stageByState: Type.Partial(Type.Record(HhStateSchema, Type.String())),
  /** null: the user of the vacancy's manager, else the settings' responsible. */
  responsibleUserId: Nullable(Ids.positive()),
});
export type VacancyRule = Static<typeof VacancyRule>;

export const PortalSettings = Type.Object({
  memberId: Ids.memberId(),
  responsibleUserId: Type.Integer(),
  entityType: EntityType,
  /** Deals only; 0 is the default pipeline «Общее». */
  categoryId: Type.Integer({ minimum: 0 }),
  sourceId: Nullable(Type.String()),
  extendedSync: Type.Boolean(),
  /** Simple mode: stage for responses and for invitations. */
  stageForResponse: Type.String(),
  stageForInvitation: Type.String(),
  /** Extended mode: stage per hh state. */
  stageByState: Type.Partial(Type.Record(HhStateSchema, Type.String())),
  /** Two-way status (moving an entity runs the hh action): per portal, off for discards by default. */
  twoWayStatus: Type.Boolean(),
  twoWayDiscard: Type.Boolean(),
  /**
   * «Кто может управлять приложением»: portal users, besides the portal's admins, who may change
   * the settings, the hh.ru login, start the import and retry failures (absent in settings saved
   * before the field existed: nobody but admins).
   */
  managerIds: Type.Optional(Type.Array(Ids.positive())),
  /**
   * «Кто может видеть аналитику»: portal users who, besides the portal's admins, may open
   * «Аналитика» (absent: nobody but admins). Only an admin changes the list.
   */
  analyticsViewerIds: Type.Optional(Type.Array(Ids.positive())),
  /**
   * Contacts: an existing contact of the portal with the applicant's phone or e-mail is used
   * instead of a new one (absent in settings saved before the field existed: on).
   */
  reuseContacts: Type.Optional(Type.Boolean()),
  /**
   * «Ответственные по менеджерам hh.ru»: the Bitrix24 user who gets the responses to the vacancies
   * of each hh.ru manager, keyed by the employer and the manager (userId null: the default
   * responsible, chosen so). Kept in a table of its own by settings and joined here when read.
   */
  managerUsers: Type.Optional(Type.Array(ManagerUser)),
  /** «Вакансии»: the per-vacancy rules, in the order they were added (kept by settings in a table of its own). */
  vacancyRules: Type.Optional(Type.Array(VacancyRule)),
  updatedAt: Type.String(),
});
export type PortalSettings = Static<typeof PortalSettings>;

const NegotiationKind = Enum(['response', 'invitation']);
const IdName = Type.Object({ id: Type.String(), name: Type.String() });

/** A negotiation as crm-writer and timeline-renderer need it: no further hh.ru reads required. */
export const NegotiationSnapshot = Type.Object({
  memberId: Ids.memberId(),
  accountId: Ids.hhId(),
  negotiationId: Ids.negotiationId(),
  /** Grows with every change hh-connector stores; writers ignore older versions. */
  version: Type.Integer({ minimum: 0 }),
  kind: NegotiationKind,
  vacancy: Type.Object({
    id: Type.String(),
    name: Type.String(),
    url: Nullable(Type.String()),
    /**
     * The hh.ru employer and the vacancy's manager on hh.ru when the snapshot was made (null: not
     * known yet; absent from snapshots made before they were kept): the responsible is taken from
     * the manager, and a rule may name the vacancy's region.
     */
    employerId: Type.Optional(Type.String()),
    managerId: Type.Optional(Nullable(Type.String())),
    area: Type.Optional(Nullable(IdName)),
  }),
  state: IdName,
  createdAt: Type.String(),
  updatedAt: Type.String(),
  /** The same person across negotiations of this portal (hh resume id, else phone, else e-mail). */
  personId: Type.String(),
  applicant: Type.Object({
    resumeId: Nullable(Type.String()),
    fullName: Nullable(Type.String()),
    /** hh.ru's last, first and middle name (absent from snapshots made before they were kept, or hidden). */
    names: Type.Optional(
      Type.Object({
        last: Nullable(Type.String()),
        first: Nullable(Type.String()),
        middle: Nullable(Type.String()),
      }),
    ),
    phones: Type.Array(Type.String()),
    /** hh.ru's contact type of each phone, in the order of `phones`: cell, home, work (absent from older snapshots). */
    phoneTypes: Type.Optional(Type.Array(Type.String())),
    email: Nullable(Type.String()),
    city: Nullable(Type.String()),
    hidden: Type.Object({ name: Type.Boolean(), phones: Type.Boolean(), email: Type.Boolean() }),
  }),
  /** null when hh.ru returns `resume: null` (a deleted resume: a tombstone). */
  resume: Nullable(
    Type.Object({
      title: Nullable(Type.String()),
      url: Nullable(Type.String()),
      experienceMonths: Nullable(Type.Number()),
      salary: Nullable(Type.String()),
      skills: Type.Array(Type.String()),
      pdf: Nullable(Type.Object({ filename: Type.String() })),
    }),
  ),
  /**
   * What the applicant wrote (absent from snapshots made before it was kept): the cover letter
   * (a response's first message), the vacancy's test as passed (score 0–100, hh.ru's mark, its
   * page), the messages from the applicant not read on hh.ru, and the response's page on hh.ru.
   */
  words: Type.Optional(
    Type.Object({
      coverLetter: Nullable(Type.String({ maxLength: 4000 })),
      test: Nullable(
        Type.Object({
          score: Type.Number({ minimum: 0, maximum: 100 }),
          mark: Nullable(Type.String({ maxLength: 40 })),
          url: Nullable(Type.String()),
        }),
      ),
      unreadMessages: Type.Integer({ minimum: 0 }),
      chatUrl: Nullable(Type.String()),
    }),
  ),
});
export type NegotiationSnapshot = Static<typeof NegotiationSnapshot>;

/**
 * An hh.ru callback's body (docs/reference/hh-api.md#webhooks), as far as we rely on it: its id,
 * its action type and a payload object; the rest is kept as hh.ru sent it.
 */
export const HhCallback = Type.Object({
  id: Type.String({ pattern: '^[\\w.:-]{1,200}$' }),
  action_type: Type.String({ pattern: '^[A-Z_]{1,80}$' }),
  payload: Type.Object({
    topic_id: Type.Optional(Type.Unknown()),
    vacancy_id: Type.Optional(Type.Unknown()),
  }),
});
export type HhCallback = Static<typeof HhCallback>;

/** hh.webhook.received: an hh.ru callback, stored before it was acknowledged. */
export const HhWebhookReceived = Type.Object({
  accountId: Ids.hhId(),
  receivedAt: Ids.time(),
  /** The callback body as hh.ru sent it (the gateway checked it against HhCallback before storing it). */
  body: HhCallback,
});
export type HhWebhookReceived = Static<typeof HhWebhookReceived>;

/** The most days «за последние N дней» may reach back. */
export const IMPORT_PERIOD_MAX_DAYS = 3650;
/** The most vacancies one choice may name. */
export const IMPORT_VACANCIES_MAX = 500;

/**
 * What the import brings in (chosen before the first import and on «Новые отклики»): responses
 * and invitations of the last `periodDays` days (by hh.ru's created_at; null: all), of every
 * collection or all but hh.ru's discard collections, of every active vacancy or the chosen ones.
 * A negotiation already kept is followed whatever the choice; the choice only decides which new
 * ones are taken.
 */
export const ImportScope = Type.Object({
  periodDays: Nullable(Type.Integer({ minimum: 1, maximum: IMPORT_PERIOD_MAX_DAYS })),
  /** false: collections whose id starts with `discard` (discard_by_employer, …) are left out. */
  discarded: Type.Boolean(),
  vacancyIds: Nullable(
    Type.Array(Ids.hhId(), { minItems: 1, maxItems: IMPORT_VACANCIES_MAX, uniqueItems: true }),
  ),
});
export type ImportScope = Static<typeof ImportScope>;

/** Everything: the import's choice when none was made. */
export const WHOLE_SCOPE: ImportScope = { periodDays: null, discarded: true, vacancyIds: null };

/** hh.import.requested: the initial import, its resumption, or a reconciliation pass. */
export const HhImportRequested = Type.Object({
  memberId: Ids.memberId(),
  kind: Enum(['initial', 'resume', 'reconcile']),
  requestedBy: Nullable(Type.Integer()),
  requestedAt: Ids.time(),
  /** The choice of what to import (initial); absent: everything, or what the portal chose before. */
  scope: Type.Optional(ImportScope),
});
export type HhImportRequested = Static<typeof HhImportRequested>;

/** hh.import.vacancy: one vacancy of an import run (`runId`) or of a reconciliation pass (`runId` null). */
export const VacancyStep = Type.Object({
  memberId: Ids.memberId(),
  accountId: Ids.hhId(),
  vacancyId: Ids.hhId(),
  runId: Nullable(Ids.hhId()),
});
export type VacancyStep = Static<typeof VacancyStep>;

/** hh.import.negotiation: one negotiation whose snapshot must be brought up to date. */
export const NegotiationStep = Type.Object({
  memberId: Ids.memberId(),
  accountId: Ids.hhId(),
  negotiationId: Ids.hhId(),
});
export type NegotiationStep = Static<typeof NegotiationStep>;

/** hh.negotiation.synced */
export const HhNegotiationSynced = Type.Object({ snapshot: NegotiationSnapshot });
export type HhNegotiationSynced = Static<typeof HhNegotiationSynced>;

export const HhAccountStatus = Enum(['not_connected', 'active', 'login_required']);
export type HhAccountStatus = Static<typeof HhAccountStatus>;

/** hh.account.changed */
export const HhAccountChanged = Type.Object({
  memberId: Ids.memberId(),
  accountId: Type.String(),
  status: HhAccountStatus,
  reason: Nullable(Type.String()),
  at: Ids.time(),
});
export type HhAccountChanged = Static<typeof HhAccountChanged>;

/** crm.entity.written */
export const CrmEntityWritten = Type.Object({
  memberId: Ids.memberId(),
  negotiationId: Ids.negotiationId(),
  version: Type.Integer({ minimum: 0 }),
  entityType: EntityType,
  entityId: Ids.positive(),
  created: Type.Boolean(),
  snapshot: NegotiationSnapshot,
  /** The lead or deal holds the resume file: hh-connector may drop its copy (absent from older releases: keep it). */
  hasPdf: Type.Optional(Type.Boolean()),
});
export type CrmEntityWritten = Static<typeof CrmEntityWritten>;

/** crm.entity.failed: the portal refused; kept for retry with what to fix. */
export const CrmEntityFailed = Type.Object({
  memberId: Ids.memberId(),
  negotiationId: Ids.negotiationId(),
  /** The snapshot version that was refused. */
  version: Type.Integer({ minimum: 0 }),
  code: Type.String(),
  message: Type.String(),
  /** In words a portal admin acts on, e.g. «Сделать поле необязательным: UF_CRM_…». */
  fix: Nullable(Type.String()),
  at: Ids.time(),
});
export type CrmEntityFailed = Static<typeof CrmEntityFailed>;

/** portal.settings.saved */
export const PortalSettingsSaved = Type.Object({ settings: PortalSettings });
export type PortalSettingsSaved = Static<typeof PortalSettingsSaved>;

/**
 * portal.uninstall.claimed: an ONAPPUNINSTALL carrying the portal's application_token that the
 * portal could not confirm at once (it did not answer): the gateway asks again until the portal
 * says whether the app is gone. Nothing is erased or closed before that.
 */
export const PortalUninstallClaimed = Type.Object({
  memberId: Ids.memberId(),
  clean: Type.Boolean(),
  /** The address the call came from (and X-Forwarded-For as sent), for the log of a forged one. */
  from: Type.String(),
  at: Ids.time(),
});
export type PortalUninstallClaimed = Static<typeof PortalUninstallClaimed>;

/**
 * The version of what the app registers on a portal (user fields, placements, robots, event
 * bindings: `installSteps` in gateway/src/install-steps.ts). Raise it with every change there: each
 * installed portal behind it gets what it lacks (on ONAPPUPDATE and when the gateway starts).
 * 1: portals installed before the version was kept (some without the stage-move events, ONAPPUPDATE
 * or the robots); 2: the stage-move events, both robots and ONAPPUPDATE.
 */
export const APP_VERSION = 2;

/**
 * portal.app.update: bring a portal's registrations up to APP_VERSION. `event`: Bitrix24 sent
 * ONAPPUPDATE (`version`, `previousVersion` as it said them: the app's version on the portal);
 * `start`: a gateway found the portal behind when it started.
 */
export const PortalAppUpdate = Type.Object({
  memberId: Ids.memberId(),
  reason: Enum(['event', 'start']),
  version: Nullable(Type.String({ maxLength: 20 })),
  previousVersion: Nullable(Type.String({ maxLength: 20 })),
  at: Ids.time(),
});
export type PortalAppUpdate = Static<typeof PortalAppUpdate>;

/**
 * portal.app.uninstalled: the portal removed the app (Bitrix24 confirmed it: the app's tokens no
 * longer work there); `clean` when it asked to erase the app's data.
 */
export const PortalUninstalled = Type.Object({
  memberId: Ids.memberId(),
  clean: Type.Boolean(),
  /** The admin who installed the app: whatever is done on the portal's behalf afterwards is done in their name. */
  installedBy: Nullable(Ids.positive()),
  at: Ids.time(),
});
export type PortalUninstalled = Static<typeof PortalUninstalled>;

/** portal.robot.invoked: a robot of ours ran on a lead or deal (authenticated by the gateway; no tokens inside). */
export const PortalRobotInvoked = Type.Object({
  memberId: Ids.memberId(),
  code: Type.String({ minLength: 1, maxLength: 100 }),
  entityType: EntityType,
  entityId: Ids.positive(),
  /** Completes a robot that waits (`bizproc.event.send`). */
  eventToken: Type.String(),
  properties: Type.Record(Type.String(), Type.Unknown()),
  at: Ids.time(),
});
export type PortalRobotInvoked = Static<typeof PortalRobotInvoked>;

/** portal.event.received: a Bitrix24 event bound by the app (authenticated; the `auth` block removed). */
export const PortalEventReceived = Type.Object({
  memberId: Ids.memberId(),
  event: Type.String({ minLength: 1, maxLength: 100 }),
  data: Type.Unknown(),
  /**
   * For events acted on in a user's name (a click on «Другие отклики»): a reference to the access
   * token the event carried for the acting user, kept sealed in Redis for a few minutes
   * (`ActingUserTokens`), never the token itself. The user is whoever the portal says owns that
   * token; `auth[user_id]` is not taken from the request. Null when the event carried no token.
   */
  actorToken: Type.Optional(Nullable(Type.String())),
  /**
   * Which copy of the event this is (`EventOccurrences`): its consumer moves the generation on
   * before it reads the portal, so a same-looking event arriving after that is a message of its own.
   */
  occurrence: Type.Optional(Type.Object({ key: Type.String(), generation: Type.Integer() })),
  at: Ids.time(),
});
export type PortalEventReceived = Static<typeof PortalEventReceived>;

/** The robots registered at install; their work is done by timeline-renderer, which consumes portal.robot.invoked. */
export const HH_STATUS_ROBOT_CODE = 'hh_status_refresh';
export const HH_ACTION_ROBOT_CODE = 'hh_status_change';
export const HH_ROBOT_CODES = [HH_STATUS_ROBOT_CODE, HH_ACTION_ROBOT_CODE] as const;

/**
 * What «Сменить статус на НН» and the two-way status can ask hh.ru for: the employer state to move
 * the negotiation to. hh.ru decides which moves a negotiation allows (its `actions[]`).
 */
export const HH_TARGETS = [
  'consider',
  'phone_interview',
  'assessment',
  'interview',
  'offer',
  'hired',
  'discard',
] as const;
export type HhTarget = (typeof HH_TARGETS)[number];

/** A request to move a negotiation on hh.ru; `message` goes to the applicant (none: a silent move). */
export const HhActRequest = Type.Object({
  memberId: Ids.memberId(),
  entityType: EntityType,
  entityId: Ids.positive(),
  target: Enum(HH_TARGETS),
  message: Nullable(Type.String({ maxLength: 4000 })),
});
export type HhActRequest = Static<typeof HhActRequest>;

/** The negotiation's state on hh.ru after an action or a refresh. */
export const HhStateView = Type.Object({
  negotiationId: Type.String(),
  state: IdName,
  /** True when the state changed (false: it already was there). */
  changed: Type.Boolean(),
});
export type HhStateView = Static<typeof HhStateView>;

export const HhAccountView = Type.Object({
  status: HhAccountStatus,
  accountId: Nullable(Type.String()),
  employerName: Nullable(Type.String()),
  managerName: Nullable(Type.String()),
  isAdmin: Nullable(Type.Boolean()),
  connectedAt: Nullable(Type.String()),
  loginRequiredReason: Nullable(Type.String()),
});
export type HhAccountView = Static<typeof HhAccountView>;

export const ImportProgress = Type.Object({
  state: Enum(['never', 'running', 'paused', 'finished']),
  /** Why a run is paused: the hh.ru login must be renewed, the employer has no paid API access, or the daily resume views are used up. */
  pausedReason: Nullable(Enum(['login_required', 'no_paid_access', 'view_limit'])),
  vacanciesTotal: Type.Number(),
  vacanciesDone: Type.Number(),
  /** Negotiations found on hh.ru. */
  found: Type.Number(),
  /** Stored in our database («Откликов загружено»). */
  loaded: Type.Number(),
  /** Created in the portal by crm-writer («Лидов/Сделок импортировано»). */
  imported: Type.Number(),
  failed: Type.Number(),
  startedAt: Nullable(Type.String()),
  finishedAt: Nullable(Type.String()),
});
export type ImportProgress = Static<typeof ImportProgress>;

const EntityRef = Type.Object({ type: EntityType, id: Type.Integer() });

/** One of the applicant's responses in this portal (the same person), for the card tab and «Другие отклики». */
export const OtherResponse = Type.Object({
  negotiationId: Type.String(),
  vacancyName: Type.String(),
  stateName: Type.String(),
  createdAt: Type.String(),
  kind: NegotiationKind,
  /** The lead or deal, once crm-writer created it. */
  entity: Nullable(EntityRef),
});
export type OtherResponse = Static<typeof OtherResponse>;

/** What the card tab of a lead or deal shows. */
export const CardView = Type.Object({
  snapshot: NegotiationSnapshot,
  /** hh states the negotiation went through, oldest first. */
  history: Type.Array(Type.Object({ stateId: Type.String(), stateName: Type.String(), at: Type.String() })),
  others: Type.Array(OtherResponse),
  pdfAvailable: Type.Boolean(),
});
export type CardView = Static<typeof CardView>;

/** Who is looking at an app page: proved by the gateway (application_token, AUTH_ID) and carried in the signed session. */
export const UiSession = Type.Object({
  /** Empty for a page shown to nobody in particular (a login window whose session expired). */
  memberId: Type.String({ pattern: '^[A-Za-z0-9_.-]{0,64}$' }),
  userId: Type.Integer(),
  isAdmin: Type.Boolean(),
  /** The user may read the CRM (admins always); without it and without admin rights the app says what is missing. */
  crmAccess: Type.Boolean(),
  lang: Enum(['ru', 'en']),
  /**
   * A card's session (the HH.ru tab of a lead or deal, or «Все отклики»): the one lead or deal the
   * portal said this user may read. The card and its PDF show nothing else to a user who is not an admin.
   */
  entity: Type.Optional(EntityRef),
  /**
   * Where the gateway keeps this user's own Bitrix24 token from the page load (sealed in Redis, for
   * as long as the token lives), to ask the portal again whether the user is an admin before a change.
   */
  authRef: Type.Optional(Type.String()),
});
export type UiSession = Static<typeof UiSession>;

/** A Moscow day, `YYYY-MM-DD`. */
const Day = Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$' });

/** «Аналитика»: one portal's figures for a period (Moscow days, both ends included) and a choice of vacancies (none: all). */
export const AnalyticsRequest = Type.Object({
  memberId: Ids.memberId(),
  from: Day,
  to: Day,
  bucket: Enum(['day', 'week']),
  vacancyIds: Type.Array(Ids.hhId(), { maxItems: 200 }),
});
export type AnalyticsRequest = Static<typeof AnalyticsRequest>;

/** Time from a response to the employer's first move, of the responses of one group. */
const SpeedFigures = {
  responses: Type.Integer({ minimum: 0 }),
  /** Responses the employer moved (the others have no time yet). */
  moved: Type.Integer({ minimum: 0 }),
  medianSec: Nullable(Type.Integer()),
  p90Sec: Nullable(Type.Integer()),
};

export const AnalyticsView = Type.Object({
  /** Every vacancy of the portal, for the choice on the page. */
  vacancies: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      managerId: Nullable(Type.String()),
      managerName: Nullable(Type.String()),
    }),
  ),
  /** Responses and invitations per day or week (its first day) and vacancy; buckets without any are left out. */
  series: Type.Array(
    Type.Object({
      bucket: Day,
      vacancyId: Type.String(),
      responses: Type.Integer({ minimum: 0 }),
      invitations: Type.Integer({ minimum: 0 }),
    }),
  ),
  /** How many reached each funnel step (or a later one), per vacancy and (`vacancyId` null) for all; refusals aside. */
  funnel: Type.Array(
    Type.Object({
      vacancyId: Nullable(Type.String()),
      steps: Type.Array(Type.Integer({ minimum: 0 })),
      refused: Type.Integer({ minimum: 0 }),
    }),
  ),
  speed: Type.Object({
    overall: Type.Object(SpeedFigures),
    byVacancy: Type.Array(Type.Object({ vacancyId: Type.String(), ...SpeedFigures })),
    /** Per hh.ru manager of the vacancy (`managerId` null: a vacancy whose manager we do not know). */
    byManager: Type.Array(
      Type.Object({
        managerId: Nullable(Type.String()),
        managerName: Nullable(Type.String()),
        ...SpeedFigures,
      }),
    ),
  }),
  /** Responses nobody moved yet, older than 1, 3 and 7 days, and the oldest of them with their lead or deal. */
  untouched: Type.Object({
    after1: Type.Integer({ minimum: 0 }),
    after3: Type.Integer({ minimum: 0 }),
    after7: Type.Integer({ minimum: 0 }),
    items: Type.Array(
      Type.Object({
        negotiationId: Type.String(),
        vacancyId: Type.String(),
        createdAt: Ids.time(),
        entity: Nullable(EntityRef),
      }),
    ),
  }),
  /** Refusals by the funnel step reached before them (null: unknown), and how many told the applicant nothing. */
  refusals: Type.Array(
    Type.Object({
      step: Nullable(Type.Integer({ minimum: 0 })),
      total: Type.Integer({ minimum: 0 }),
      silent: Type.Integer({ minimum: 0 }),
    }),
  ),
});
export type AnalyticsView = Static<typeof AnalyticsView>;

/** gateway → settings: render an app page or a part of one. */
export const UiRequest = Type.Object({
  session: UiSession,
  /** The signed session token the page embeds for its later requests (it is also the CSRF token). */
  token: Type.String(),
  /** What to render: `app`, `card`, `install`, `tab/settings`, … (settings' router lists them). */
  route: Type.String({ minLength: 1, maxLength: 200 }),
  method: Enum(['GET', 'POST']),
  /** Query and form fields as sent (repeated fields as arrays). */
  form: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())])),
  /** Addresses the page needs that only the gateway knows. */
  links: Type.Object({ bx24Script: Type.String(), hhSignup: Type.String() }),
  /** What the gateway found out itself for the page (install steps, a login failure). */
  data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /**
   * On a POST: how `session.isAdmin` was found. `fresh`: the portal was asked with the user's own
   * token (or answered so at most a few minutes ago); `unconfirmed`: it could not be asked (the
   * token from the page load has expired), so `isAdmin` is false. Absent on a GET: `isAdmin` is
   * what the page load found, good enough to draw the page, never to change anything.
   */
  adminCheck: Type.Optional(Enum(['fresh', 'unconfirmed'])),
});
export type UiRequest = Static<typeof UiRequest>;

export const UiResponse = Type.Object({
  status: Type.Integer(),
  html: Type.String(),
  /** htmx response headers (HX-Trigger, HX-Retarget…); the gateway passes only HX-*. */
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type UiResponse = Static<typeof UiResponse>;

/** A write the portal refused, as the pages list it with its «Повторить» button. */
export const CrmFailureView = Type.Object({
  negotiationId: Type.String(),
  applicantName: Type.String(),
  vacancyName: Type.String(),
  code: Type.String(),
  /** The portal's own words. */
  message: Type.String(),
  /** What an admin does about it. */
  fix: Nullable(Type.String()),
  failedAt: Type.String(),
  attempts: Type.Number(),
  /** The response on hh.ru (its resume, opened from the employer's side), when hh.ru gave a link. */
  hhUrl: Type.Optional(Nullable(Type.String())),
  /** The lead or deal of the negotiation, when one exists (an update was refused). */
  entity: Type.Optional(Nullable(EntityRef)),
});
export type CrmFailureView = Static<typeof CrmFailureView>;

/** Counts of one period for the «Состояние» tab. */
export const HealthCounts = Type.Object({
  /** Negotiations hh-connector stored (new responses and invitations). */
  received: Type.Number(),
  /** Leads or deals crm-writer created. */
  imported: Type.Number(),
  /** Leads or deals crm-writer updated (a status or the resume changed). */
  updated: Type.Number(),
  /** Writes the portal refused. */
  failed: Type.Number(),
});
export type HealthCounts = Static<typeof HealthCounts>;

/** One line of the delivery log: a webhook from hh.ru, or what an import or reconciliation pass found through the API. */
export const SyncEventView = Type.Object({
  id: Type.Number(),
  at: Type.String(),
  source: Enum(['webhook', 'reconcile', 'import']),
  /** The webhook's action type, or `found` / `changed` for what a pass brought in. */
  type: Type.String(),
  negotiationId: Nullable(Type.String()),
  /** Who responded to what, as hh.ru gave it (absent when the response was not loaded, or the name is hidden). */
  applicantName: Type.Optional(Nullable(Type.String())),
  vacancyName: Type.Optional(Nullable(Type.String())),
  outcome: Type.String(),
});
export type SyncEventView = Static<typeof SyncEventView>;

export const ImportFailureView = Type.Object({
  id: Type.Number(),
  negotiationId: Type.String(),
  /** What went wrong, in words for a portal admin. */
  reason: Type.String(),
  failedAt: Type.String(),
  hhUrl: Nullable(Type.String()),
  applicantName: Type.Optional(Nullable(Type.String())),
  vacancyName: Type.Optional(Nullable(Type.String())),
});
export type ImportFailureView = Static<typeof ImportFailureView>;

/** hh-connector's side of the «Состояние» tab (rpc.hh.health). */
export const HhHealthView = Type.Object({
  account: HhAccountView,
  /** Paid API access (method_access); null when hh.ru could not be asked. */
  paidAccess: Nullable(Type.Boolean()),
  resumeViews: Nullable(Type.Object({ left: Type.Number(), limit: Type.Number() })),
  /** The daily views are used up: resume reads wait until then. */
  viewsParkedUntil: Nullable(Type.String()),
  /** The webhook subscription as hh.ru lists it; the URL without its secret part. Null when hh.ru could not be asked. */
  subscription: Nullable(
    Type.Object({ present: Type.Boolean(), url: Nullable(Type.String()), matches: Type.Boolean() }),
  ),
  lastDelivery: Nullable(
    Type.Object({ at: Type.String(), actionType: Type.String(), outcome: Nullable(Type.String()) }),
  ),
  /** The last reconciliation pass: when it started, how many vacancies it compared, how many responses it brought in. */
  reconciliation: Nullable(
    Type.Object({ at: Type.String(), vacancies: Type.Number(), found: Type.Number() }),
  ),
  counts: Type.Object({
    today: Type.Pick(HealthCounts, ['received']),
    total: Type.Pick(HealthCounts, ['received']),
  }),
  /** Responses hh-connector could not load (a resume or its PDF could not be read); «Повторить» loads them again. */
  importFailures: Type.Array(ImportFailureView),
  /** How many days the delivery log keeps. */
  logRetentionDays: Type.Number(),
});
export type HhHealthView = Static<typeof HhHealthView>;

/** crm-writer's side of the «Состояние» tab (rpc.crm.health). */
export const CrmHealthView = Type.Object({
  /** installed, reinstall_required (Bitrix24 refused to refresh the tokens), uninstalled; null when the portal is unknown. */
  portalStatus: Nullable(Type.String()),
  /** The version of the app's registrations the portal has (null: not known complete) and the current one. */
  appVersion: Type.Optional(Nullable(Type.Integer())),
  appVersionCurrent: Type.Optional(Type.Integer()),
  lastWriteAt: Nullable(Type.String()),
  rateLimitWaitsLastHour: Type.Number(),
  counts: Type.Object({
    today: Type.Omit(HealthCounts, ['received']),
    total: Type.Omit(HealthCounts, ['received']),
  }),
  failures: Type.Array(CrmFailureView),
  /** An open incident: failures started then and the portal's people were told. */
  incidentSince: Nullable(Type.String()),
});
export type CrmHealthView = Static<typeof CrmHealthView>;

/**
 * A stored resume PDF by reference: its bytes are in `stored_files` under `file` (services/common/src/files.ts),
 * read from there part by part; no file travels inside a NATS message.
 */
export const PdfRef = Type.Object({
  filename: Type.String(),
  file: Type.String({ minLength: 1, maxLength: 200 }),
  size: Type.Integer({ minimum: 0 }),
});
export type PdfRef = Static<typeof PdfRef>;

/**
 * Every JetStream subject (topology.ts) and the schema of its payload: publishers check a message
 * before it goes into the outbox, the consumer runner checks it again on arrival (a message that
 * fails goes to the dead letters with the schema's words).
 */
export const messageSchemas = {
  [subjects.hhWebhookReceived]: HhWebhookReceived,
  [subjects.hhImportRequested]: HhImportRequested,
  [subjects.hhImportVacancy]: VacancyStep,
  [subjects.hhImportNegotiation]: NegotiationStep,
  [subjects.hhNegotiationSynced]: HhNegotiationSynced,
  [subjects.hhAccountChanged]: HhAccountChanged,
  [subjects.crmEntityWritten]: CrmEntityWritten,
  [subjects.crmEntityFailed]: CrmEntityFailed,
  [subjects.portalUninstalled]: PortalUninstalled,
  [subjects.portalUninstallClaimed]: PortalUninstallClaimed,
  [subjects.portalAppUpdate]: PortalAppUpdate,
  [subjects.portalSettingsSaved]: PortalSettingsSaved,
  [subjects.portalRobotInvoked]: PortalRobotInvoked,
  [subjects.portalEventReceived]: PortalEventReceived,
} satisfies Record<(typeof subjects)[SubjectName], TSchema>;

const messageCheckers = new Map<string, Checker<unknown>>(
  Object.entries(messageSchemas).map(([subject, schema]) => [subject, compileSchema(schema, subject)]),
);

/**
 * Checks a message against its subject's schema (the subject without the installation prefix):
 * the value typed, or a ValidationError `<subject>: <field>: <words>`. Subjects outside the mesh's
 * list (tests' own) pass as they are.
 */
export function checkMessage(subject: string, value: unknown): unknown {
  const checker = messageCheckers.get(subject);
  return checker ? checker.decode(value) : value;
}

/** The payload type of a subject. */
export type MessageOf<S extends keyof typeof messageSchemas> = Static<(typeof messageSchemas)[S]>;

const MemberRequest = Type.Object({ memberId: Ids.memberId() });

/** A manager of a connected hh.ru employer (the employer's list of managers on hh.ru). */
export const HhManagerView = Type.Object({
  employerId: Ids.hhId(),
  managerId: Ids.hhId(),
  firstName: Type.String(),
  lastName: Type.String(),
  middleName: Nullable(Type.String()),
  /** The address the manager has on hh.ru (null when hh.ru gives none). */
  email: Nullable(Type.String()),
  /** Active vacancies of the manager (null: this login may not see them). */
  vacancies: Nullable(Type.Integer({ minimum: 0 })),
});
export type HhManagerView = Static<typeof HhManagerView>;

/** An active vacancy for «Вакансии»: its manager and region, and how many of its negotiations we hold and have in the CRM. */
export const VacancyOverview = Type.Object({
  id: Ids.hhId(),
  name: Type.String(),
  area: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
  employerId: Ids.hhId(),
  managerId: Nullable(Type.String()),
  managerName: Nullable(Type.String()),
  responses: Type.Integer({ minimum: 0 }),
  inCrm: Type.Integer({ minimum: 0 }),
});
export type VacancyOverview = Static<typeof VacancyOverview>;
const UserRequest = Type.Object({ memberId: Ids.memberId(), userId: Ids.positive() });
const EntityRequest = Type.Object({
  memberId: Ids.memberId(),
  entityType: EntityType,
  entityId: Ids.positive(),
});
const Retried = Type.Object({ retried: Type.Integer({ minimum: 0 }) });

/**
 * Request/reply subjects live under `rpc.`, outside every stream's subjects: a request published on
 * a subject a stream captures would be stored, and JetStream's publish ack would answer it.
 * Each names the schemas of its request and its reply: the caller checks the request before it
 * sends it, the server checks it again (a request that fails is answered with a validation error
 * naming the field) and the caller checks the reply.
 */
export const rpc = {
  /** gateway → hh-connector: the code from the OAuth callback (state already checked); exchanges it, reads /me, subscribes webhooks. */
  hhConnect: defineRpc(
    'rpc.hh.connect',
    Type.Object({
      memberId: Ids.memberId(),
      userId: Ids.positive(),
      code: Type.String({ pattern: '^[\\x21-\\x7e]{1,512}$' }),
    }),
    HhAccountView,
  ),
  hhAccount: defineRpc('rpc.hh.account', MemberRequest, HhAccountView),
  /** «Выйти»: revoke, unsubscribe, stop syncing; imported data stays. */
  hhDisconnect: defineRpc('rpc.hh.disconnect', UserRequest, HhAccountView),
  hhImportProgress: defineRpc('rpc.hh.import-progress', MemberRequest, ImportProgress),
  /**
   * «Новые отклики»: counts responses not yet in the portal and reads the webhook subscription
   * (`missing`: absent or pointing elsewhere). With `repair` (a POST of someone who may manage the
   * app) it also creates or renews the subscription and starts a reconciliation pass.
   */
  hhNewResponses: defineRpc(
    'rpc.hh.new-responses',
    Type.Object({
      memberId: Ids.memberId(),
      repair: Type.Optional(Type.Boolean()),
      /**
       * A choice of what to import: the count is for it. With `repair` it is kept for the
       * reconciliation and what follows; without, nothing is kept (the form's count before the
       * user confirms).
       */
      scope: Type.Optional(ImportScope),
    }),
    Type.Object({
      newCount: Type.Integer({ minimum: 0 }),
      subscription: Enum(['ok', 'missing', 'created', 'renewed', 'failed']),
      /** The portal's current choice (absent: the import has not started). */
      scope: Type.Optional(ImportScope),
    }),
  ),
  /**
   * The account's active vacancies, for choosing which to import: as hh-connector last read them
   * (at the login, the import, each reconciliation, VACANCY_CHANGE); hh.ru is not asked.
   */
  hhVacancies: defineRpc(
    'rpc.hh.vacancies',
    MemberRequest,
    Type.Object({ items: Type.Array(Type.Object({ id: Ids.hhId(), name: Type.String() })) }),
  ),
  /**
   * The managers of the connected hh.ru employer, for «Ответственные по менеджерам hh.ru»: hh.ru's
   * list of the employer's managers as hh-connector last read it (hh_managers); hh.ru is not asked.
   */
  hhManagers: defineRpc('rpc.hh.managers', MemberRequest, Type.Object({ items: Type.Array(HhManagerView) })),
  /** «Вакансии»: the active vacancies as hh-connector last read them (hh.ru is not asked), with our counts. */
  hhVacancyOverview: defineRpc(
    'rpc.hh.vacancy-overview',
    MemberRequest,
    Type.Object({ items: Type.Array(VacancyOverview) }),
  ),
  /** The card tab: the negotiation behind a lead or deal, its history and the person's other responses. */
  hhCard: defineRpc('rpc.hh.card', EntityRequest, Nullable(CardView)),
  /** «Аналитика»: the funnel's figures from our own tables (nothing asked of hh.ru or the portal). */
  hhAnalytics: defineRpc('rpc.hh.analytics', AnalyticsRequest, AnalyticsView),
  /** Where the stored resume PDF of a negotiation is (read it from the file store); null when there is none. */
  hhPdf: defineRpc(
    'rpc.hh.pdf',
    Type.Object({ memberId: Ids.memberId(), negotiationId: Ids.negotiationId() }),
    Nullable(PdfRef),
  ),
  /**
   * Reads the negotiation behind a lead or deal from hh.ru again and stores what changed (the CRM
   * follows through the usual path). Refused with `entity_not_ours`, `hh_not_connected`, `hh_login_required`.
   */
  hhRefresh: defineRpc('rpc.hh.refresh', EntityRequest, HhStateView),
  /** Runs the hh.ru action that moves the negotiation to `target`, then refreshes it. Refused also with `hh_action_unavailable`, or hh.ru's own code. */
  hhAct: defineRpc('rpc.hh.act', HhActRequest, HhStateView),

  /** crm-writer: the portal's refused writes, newest first. */
  crmFailures: defineRpc(
    'rpc.crm.failures',
    MemberRequest,
    Type.Object({ items: Type.Array(CrmFailureView) }),
  ),
  /** «Повторить»: writes the refused negotiations again (one, or all of the portal's). */
  crmRetry: defineRpc(
    'rpc.crm.retry',
    Type.Object({ memberId: Ids.memberId(), negotiationId: Type.Optional(Ids.negotiationId()) }),
    Retried,
  ),
  /** The «Состояние» tab: the hh.ru connection, paid access, views left, the subscription, the last delivery and pass, counts. */
  hhHealth: defineRpc('rpc.hh.health', MemberRequest, HhHealthView),
  /** The delivery log, newest first, `before` an event id (paging). */
  hhSyncEvents: defineRpc(
    'rpc.hh.sync-events',
    Type.Object({
      memberId: Ids.memberId(),
      before: Type.Optional(Ids.positive()),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    }),
    Type.Object({ items: Type.Array(SyncEventView), next: Nullable(Type.Number()) }),
  ),
  /** Loads again the responses whose loading failed (one, or all of the portal's). */
  hhRetry: defineRpc(
    'rpc.hh.retry',
    Type.Object({ memberId: Ids.memberId(), id: Type.Optional(Ids.positive()) }),
    Retried,
  ),
  /** Portals with responses that could not be loaded, and how many (crm-writer's failure incidents count them too). */
  hhLoadFailures: defineRpc(
    'rpc.hh.load-failures',
    Type.Object({}),
    Type.Object({ portals: Type.Record(Type.String(), Type.Number()) }),
  ),
  /** The portal side of the «Состояние» tab: tokens, last write, rate-limit waits, counts, refused writes, the open incident. */
  crmHealth: defineRpc('rpc.crm.health', MemberRequest, CrmHealthView),
  settingsGet: defineRpc('rpc.settings.get', MemberRequest, Nullable(PortalSettings)),
  /** The app's pages, rendered by settings for the gateway. */
  settingsUi: defineRpc('rpc.settings.ui', UiRequest, UiResponse),
};
