/**
 * What the services say to each other: the payloads of the JetStream subjects (topology.ts) and
 * the request/reply contracts. Both sides import these types; a change here is a change of the
 * mesh's protocol and shows in every service that uses it.
 */
import { defineRpc } from './nats/rpc.js';

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

/** Russian names of the states, as recruiters see them in the app and in UF_CRM_NH_STATUS. */
export const HH_STATE_NAMES: Record<HhState, string> = {
  response: 'Отклики',
  consider: 'Подумать',
  phone_interview: 'Телефонное интервью',
  assessment: 'Оценка',
  interview: 'Интервью',
  offer: 'Предложение о работе',
  hired: 'Выход на работу',
  discard: 'Отказ',
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

export type EntityType = 'lead' | 'deal';

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
export interface PortalSettings {
  memberId: string;
  responsibleUserId: number;
  entityType: EntityType;
  /** Deals only; 0 is the default pipeline «Общее». */
  categoryId: number;
  sourceId: string | null;
  extendedSync: boolean;
  /** Simple mode: stage for responses and for invitations. */
  stageForResponse: string;
  stageForInvitation: string;
  /** Extended mode: stage per hh state. */
  stageByState: Partial<Record<HhState, string>>;
  /** Two-way status (moving an entity runs the hh action): per portal, off for discards by default. */
  twoWayStatus: boolean;
  twoWayDiscard: boolean;
  /**
   * «Кто может управлять приложением»: portal users, besides the portal's admins, who may change
   * the settings, the hh.ru login, start the import and retry failures (absent in settings saved
   * before the field existed: nobody but admins).
   */
  managerIds?: number[];
  updatedAt: string;
}

/** A negotiation as crm-writer and timeline-renderer need it: no further hh.ru reads required. */
export interface NegotiationSnapshot {
  memberId: string;
  accountId: string;
  negotiationId: string;
  /** Grows with every change hh-connector stores; writers ignore older versions. */
  version: number;
  kind: 'response' | 'invitation';
  vacancy: { id: string; name: string; url: string | null };
  state: { id: string; name: string };
  createdAt: string;
  updatedAt: string;
  /** The same person across negotiations of this portal (hh resume id, else phone, else e-mail). */
  personId: string;
  applicant: {
    resumeId: string | null;
    fullName: string | null;
    phones: string[];
    email: string | null;
    city: string | null;
    hidden: { name: boolean; phones: boolean; email: boolean };
  };
  /** null when hh.ru returns `resume: null` (a deleted resume: a tombstone). */
  resume: {
    title: string | null;
    url: string | null;
    experienceMonths: number | null;
    salary: string | null;
    skills: string[];
    pdf: { filename: string } | null;
  } | null;
}

/** hh.webhook.received: an hh.ru callback, stored before it was acknowledged. */
export interface HhWebhookReceived {
  accountId: string;
  receivedAt: string;
  /** The callback body exactly as hh.ru sent it (hh-connector validates it). */
  body: unknown;
}

/** hh.import.requested: the initial import, its resumption, or a reconciliation pass. */
export interface HhImportRequested {
  memberId: string;
  kind: 'initial' | 'resume' | 'reconcile';
  requestedBy: number | null;
  requestedAt: string;
}

/** hh.negotiation.synced */
export interface HhNegotiationSynced {
  snapshot: NegotiationSnapshot;
}

/** hh.account.changed */
export interface HhAccountChanged {
  memberId: string;
  accountId: string;
  status: HhAccountStatus;
  reason: string | null;
  at: string;
}

/** crm.entity.written */
export interface CrmEntityWritten {
  memberId: string;
  negotiationId: string;
  version: number;
  entityType: EntityType;
  entityId: number;
  created: boolean;
  snapshot: NegotiationSnapshot;
}

/** crm.entity.failed: the portal refused; kept for retry with what to fix. */
export interface CrmEntityFailed {
  memberId: string;
  negotiationId: string;
  /** The snapshot version that was refused. */
  version: number;
  code: string;
  message: string;
  /** In words a portal admin acts on, e.g. «Сделать поле необязательным: UF_CRM_…». */
  fix: string | null;
  at: string;
}

/** portal.settings.saved */
export interface PortalSettingsSaved {
  settings: PortalSettings;
}

/**
 * portal.uninstall.claimed: an ONAPPUNINSTALL carrying the portal's application_token that the
 * portal could not confirm at once (it did not answer): the gateway asks again until the portal
 * says whether the app is gone. Nothing is erased or closed before that.
 */
export interface PortalUninstallClaimed {
  memberId: string;
  clean: boolean;
  /** The address the call came from (and X-Forwarded-For as sent), for the log of a forged one. */
  from: string;
  at: string;
}

/**
 * portal.app.uninstalled: the portal removed the app (Bitrix24 confirmed it: the app's tokens no
 * longer work there); `clean` when it asked to erase the app's data.
 */
export interface PortalUninstalled {
  memberId: string;
  clean: boolean;
  /** The admin who installed the app: whatever is done on the portal's behalf afterwards is done in their name. */
  installedBy: number | null;
  at: string;
}

/** portal.robot.invoked: a robot of ours ran on a lead or deal (authenticated by the gateway; no tokens inside). */
export interface PortalRobotInvoked {
  memberId: string;
  code: string;
  entityType: EntityType;
  entityId: number;
  /** Completes a robot that waits (`bizproc.event.send`). */
  eventToken: string;
  properties: Record<string, unknown>;
  at: string;
}

/** portal.event.received: a Bitrix24 event bound by the app (authenticated; the `auth` block removed). */
export interface PortalEventReceived {
  memberId: string;
  event: string;
  data: unknown;
  /**
   * For events acted on in a user's name (a click on «Другие отклики»): a reference to the access
   * token the event carried for the acting user, kept sealed in Redis for a few minutes
   * (`ActingUserTokens`), never the token itself. The user is whoever the portal says owns that
   * token; `auth[user_id]` is not taken from the request. Null when the event carried no token.
   */
  actorToken?: string | null;
  /**
   * Which copy of the event this is (`EventOccurrences`): its consumer moves the generation on
   * before it reads the portal, so a same-looking event arriving after that is a message of its own.
   */
  occurrence?: { key: string; generation: number };
  at: string;
}

/** The robots registered at install; their work is done by timeline-renderer, which consumes portal.robot.invoked. */
export const HH_STATUS_ROBOT_CODE = 'hh_status_refresh';
export const HH_ACTION_ROBOT_CODE = 'hh_status_change';
export const HH_ROBOT_CODES = [HH_STATUS_ROBOT_CODE, HH_ACTION_ROBOT_CODE] as const;

/**
 * What «Сменить статус на HH» and the two-way status can ask hh.ru for: the employer state to move
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
export interface HhActRequest {
  memberId: string;
  entityType: EntityType;
  entityId: number;
  target: HhTarget;
  message: string | null;
}

/** The negotiation's state on hh.ru after an action or a refresh. */
export interface HhStateView {
  negotiationId: string;
  state: { id: string; name: string };
  /** True when the state changed (false: it already was there). */
  changed: boolean;
}

export type HhAccountStatus = 'not_connected' | 'active' | 'login_required';

export interface HhAccountView {
  status: HhAccountStatus;
  accountId: string | null;
  employerName: string | null;
  managerName: string | null;
  isAdmin: boolean | null;
  connectedAt: string | null;
  loginRequiredReason: string | null;
}

export interface ImportProgress {
  state: 'never' | 'running' | 'paused' | 'finished';
  /** Why a run is paused: the hh.ru login must be renewed, the employer has no paid API access, or the daily resume views are used up. */
  pausedReason: 'login_required' | 'no_paid_access' | 'view_limit' | null;
  vacanciesTotal: number;
  vacanciesDone: number;
  /** Negotiations found on hh.ru. */
  found: number;
  /** Stored in our database («Откликов загружено»). */
  loaded: number;
  /** Created in the portal by crm-writer («Лидов/Сделок импортировано»). */
  imported: number;
  failed: number;
  startedAt: string | null;
  finishedAt: string | null;
}

/** One of the applicant's responses in this portal (the same person), for the card tab and «Другие отклики». */
export interface OtherResponse {
  negotiationId: string;
  vacancyName: string;
  stateName: string;
  createdAt: string;
  kind: 'response' | 'invitation';
  /** The lead or deal, once crm-writer created it. */
  entity: { type: EntityType; id: number } | null;
}

/** What the card tab of a lead or deal shows. */
export interface CardView {
  snapshot: NegotiationSnapshot;
  /** hh states the negotiation went through, oldest first. */
  history: Array<{ stateId: string; stateName: string; at: string }>;
  others: OtherResponse[];
  pdfAvailable: boolean;
}

/** Who is looking at an app page: proved by the gateway (application_token, AUTH_ID) and carried in the signed session. */
export interface UiSession {
  memberId: string;
  userId: number;
  isAdmin: boolean;
  /** The user may read the CRM (admins always); without it and without admin rights the app says what is missing. */
  crmAccess: boolean;
  lang: 'ru' | 'en';
  /**
   * A card's session (the HH.ru tab of a lead or deal, or «Все отклики»): the one lead or deal the
   * portal said this user may read. The card and its PDF show nothing else to a user who is not an admin.
   */
  entity?: { type: EntityType; id: number };
  /**
   * Where the gateway keeps this user's own Bitrix24 token from the page load (sealed in Redis, for
   * as long as the token lives), to ask the portal again whether the user is an admin before a change.
   */
  authRef?: string;
}

/** gateway → settings: render an app page or a part of one. */
export interface UiRequest {
  session: UiSession;
  /** The signed session token the page embeds for its later requests (it is also the CSRF token). */
  token: string;
  /** What to render: `app`, `card`, `install`, `tab/settings`, … (settings' router lists them). */
  route: string;
  method: 'GET' | 'POST';
  /** Query and form fields as sent (repeated fields as arrays). */
  form: Record<string, string | string[]>;
  /** Addresses the page needs that only the gateway knows. */
  links: { bx24Script: string; hhSignup: string };
  /** What the gateway found out itself for the page (install steps, a login failure). */
  data?: Record<string, unknown>;
  /**
   * On a POST: how `session.isAdmin` was found. `fresh`: the portal was asked with the user's own
   * token (or answered so at most a few minutes ago); `unconfirmed`: it could not be asked (the
   * token from the page load has expired), so `isAdmin` is false. Absent on a GET: `isAdmin` is
   * what the page load found, good enough to draw the page, never to change anything.
   */
  adminCheck?: 'fresh' | 'unconfirmed';
}

export interface UiResponse {
  status: number;
  html: string;
  /** htmx response headers (HX-Trigger, HX-Retarget…); the gateway passes only HX-*. */
  headers?: Record<string, string>;
}

/** A write the portal refused, as the pages list it with its «Повторить» button. */
export interface CrmFailureView {
  negotiationId: string;
  applicantName: string;
  vacancyName: string;
  code: string;
  /** The portal's own words. */
  message: string;
  /** What an admin does about it. */
  fix: string | null;
  failedAt: string;
  attempts: number;
  /** The response on hh.ru (its resume, opened from the employer's side), when hh.ru gave a link. */
  hhUrl?: string | null;
  /** The lead or deal of the negotiation, when one exists (an update was refused). */
  entity?: { type: EntityType; id: number } | null;
}

/** Counts of one period for the «Состояние» tab. */
export interface HealthCounts {
  /** Negotiations hh-connector stored (new responses and invitations). */
  received: number;
  /** Leads or deals crm-writer created. */
  imported: number;
  /** Leads or deals crm-writer updated (a status or the resume changed). */
  updated: number;
  /** Writes the portal refused. */
  failed: number;
}

/** One line of the delivery log: a webhook from hh.ru, or what an import or reconciliation pass found through the API. */
export interface SyncEventView {
  id: number;
  at: string;
  source: 'webhook' | 'reconcile' | 'import';
  /** The webhook's action type, or `found` / `changed` for what a pass brought in. */
  type: string;
  negotiationId: string | null;
  outcome: string;
}

/** hh-connector's side of the «Состояние» tab (rpc.hh.health). */
export interface HhHealthView {
  account: HhAccountView;
  /** Paid API access (method_access); null when hh.ru could not be asked. */
  paidAccess: boolean | null;
  resumeViews: { left: number; limit: number } | null;
  /** The daily views are used up: resume reads wait until then. */
  viewsParkedUntil: string | null;
  /** The webhook subscription as hh.ru lists it; the URL without its secret part. Null when hh.ru could not be asked. */
  subscription: { present: boolean; url: string | null; matches: boolean } | null;
  lastDelivery: { at: string; actionType: string; outcome: string | null } | null;
  /** The last reconciliation pass: when it started, how many vacancies it compared, how many responses it brought in. */
  reconciliation: { at: string; vacancies: number; found: number } | null;
  counts: { today: Pick<HealthCounts, 'received'>; total: Pick<HealthCounts, 'received'> };
  /** Responses hh-connector could not load (a resume or its PDF could not be read); «Повторить» loads them again. */
  importFailures: ImportFailureView[];
  /** How many days the delivery log keeps. */
  logRetentionDays: number;
}

export interface ImportFailureView {
  id: number;
  negotiationId: string;
  /** What went wrong, in words for a portal admin. */
  reason: string;
  failedAt: string;
  hhUrl: string | null;
}

/** crm-writer's side of the «Состояние» tab (rpc.crm.health). */
export interface CrmHealthView {
  /** installed, reinstall_required (Bitrix24 refused to refresh the tokens), uninstalled; null when the portal is unknown. */
  portalStatus: string | null;
  lastWriteAt: string | null;
  rateLimitWaitsLastHour: number;
  counts: { today: Omit<HealthCounts, 'received'>; total: Omit<HealthCounts, 'received'> };
  failures: CrmFailureView[];
  /** An open incident: failures started then and the portal's people were told. */
  incidentSince: string | null;
}

/** A resume PDF in parts small enough for one NATS message; `next` is the offset of the next part. */
export interface PdfPart {
  filename: string;
  contentBase64: string;
  size: number;
  next: number | null;
}

/**
 * Request/reply subjects live under `rpc.`, outside every stream's subjects: a request published on
 * a subject a stream captures would be stored, and JetStream's publish ack would answer it.
 */
export const rpc = {
  /** gateway → hh-connector: the code from the OAuth callback (state already checked); exchanges it, reads /me, subscribes webhooks. */
  hhConnect: defineRpc<{ memberId: string; userId: number; code: string }, HhAccountView>('rpc.hh.connect'),
  hhAccount: defineRpc<{ memberId: string }, HhAccountView>('rpc.hh.account'),
  /** «Выйти»: revoke, unsubscribe, stop syncing; imported data stays. */
  hhDisconnect: defineRpc<{ memberId: string; userId: number }, HhAccountView>('rpc.hh.disconnect'),
  hhImportProgress: defineRpc<{ memberId: string }, ImportProgress>('rpc.hh.import-progress'),
  /**
   * «Новые отклики»: counts responses not yet in the portal and reads the webhook subscription
   * (`missing`: absent or pointing elsewhere). With `repair` (a POST of someone who may manage the
   * app) it also creates or renews the subscription and starts a reconciliation pass.
   */
  hhNewResponses: defineRpc<
    { memberId: string; repair?: boolean },
    { newCount: number; subscription: 'ok' | 'missing' | 'created' | 'renewed' | 'failed' }
  >('rpc.hh.new-responses'),
  /** The card tab: the negotiation behind a lead or deal, its history and the person's other responses. */
  hhCard: defineRpc<{ memberId: string; entityType: EntityType; entityId: number }, CardView | null>(
    'rpc.hh.card',
  ),
  /** The stored resume PDF of a negotiation, from byte `offset` (default 0); null when there is none. */
  hhPdf: defineRpc<{ memberId: string; negotiationId: string; offset?: number }, PdfPart | null>(
    'rpc.hh.pdf',
  ),
  /**
   * Reads the negotiation behind a lead or deal from hh.ru again and stores what changed (the CRM
   * follows through the usual path). Refused with `entity_not_ours`, `hh_not_connected`, `hh_login_required`.
   */
  hhRefresh: defineRpc<{ memberId: string; entityType: EntityType; entityId: number }, HhStateView>(
    'rpc.hh.refresh',
  ),
  /** Runs the hh.ru action that moves the negotiation to `target`, then refreshes it. Refused also with `hh_action_unavailable`, or hh.ru's own code. */
  hhAct: defineRpc<HhActRequest, HhStateView>('rpc.hh.act'),

  /** crm-writer: the portal's refused writes, newest first. */
  crmFailures: defineRpc<{ memberId: string }, { items: CrmFailureView[] }>('rpc.crm.failures'),
  /** «Повторить»: writes the refused negotiations again (one, or all of the portal's). */
  crmRetry: defineRpc<{ memberId: string; negotiationId?: string }, { retried: number }>('rpc.crm.retry'),
  /** The «Состояние» tab: the hh.ru connection, paid access, views left, the subscription, the last delivery and pass, counts. */
  hhHealth: defineRpc<{ memberId: string }, HhHealthView>('rpc.hh.health'),
  /** The delivery log, newest first, `before` an event id (paging). */
  hhSyncEvents: defineRpc<
    { memberId: string; before?: number; limit?: number },
    { items: SyncEventView[]; next: number | null }
  >('rpc.hh.sync-events'),
  /** Loads again the responses whose loading failed (one, or all of the portal's). */
  hhRetry: defineRpc<{ memberId: string; id?: number }, { retried: number }>('rpc.hh.retry'),
  /** Portals with responses that could not be loaded, and how many (crm-writer's failure incidents count them too). */
  hhLoadFailures: defineRpc<Record<string, never>, { portals: Record<string, number> }>(
    'rpc.hh.load-failures',
  ),
  /** The portal side of the «Состояние» tab: tokens, last write, rate-limit waits, counts, refused writes, the open incident. */
  crmHealth: defineRpc<{ memberId: string }, CrmHealthView>('rpc.crm.health'),
  settingsGet: defineRpc<{ memberId: string }, PortalSettings | null>('rpc.settings.get'),
  /** The app's pages, rendered by settings for the gateway. */
  settingsUi: defineRpc<UiRequest, UiResponse>('rpc.settings.ui'),
};
