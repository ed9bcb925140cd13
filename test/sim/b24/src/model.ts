/** The simulator's state: apps registered with it, and portals with everything written to them. */
import type { Lang } from './texts.js';

export type EntityType = 'lead' | 'deal';
/** Every kind of CRM record the simulator keeps: leads and deals (with stages), and contacts. */
export type CrmType = EntityType | 'contact';
export const ENTITY_TYPE_ID: Record<EntityType, number> = { lead: 1, deal: 2 };
export const UF_ENTITY_ID: Record<EntityType, string> = { lead: 'CRM_LEAD', deal: 'CRM_DEAL' };

/** An app as the marketplace knows it: its credentials, its pages and what it may do. */
export interface AppSpec {
  clientId: string;
  clientSecret: string;
  /** Application code, e.g. `vendor.app`. */
  code: string;
  name: string;
  version: number;
  /** The app's page (PLACEMENT=DEFAULT) once installed. */
  handlerUrl: string;
  /** The installer page shown until `BX24.installFinish()`; defaults to the handler. */
  installUrl: string;
  /** Where ONAPPINSTALL is POSTed when the app is installed (empty: not sent). */
  installEventUrl: string;
  scopes: string[];
}

export interface User {
  ID: number;
  ACTIVE: boolean;
  NAME: string;
  LAST_NAME: string;
  SECOND_NAME: string;
  EMAIL: string;
  WORK_POSITION: string;
  UF_DEPARTMENT: number[];
  USER_TYPE: 'employee' | 'extranet';
  PERSONAL_GENDER: 'M' | 'F' | '';
  isAdmin: boolean;
  /**
   * Without it CRM methods answer "Access denied" (the reference app needs CRM access or admin rights:
   * docs/reference/reference-app.md#limits).
   */
  crmAccess: boolean;
  /**
   * CRM reads at the «Свои» level: a lead or deal assigned to someone else answers "Access denied"
   * to get and is left out of lists (the admin always sees everything).
   */
  crmOwnOnly?: boolean;
}

export interface Install {
  clientId: string;
  /** False until the installer page calls BX24.installFinish(). */
  installed: boolean;
  applicationToken: string;
  installedBy: number;
  /** The app's version installed here (the app's `version` at install, raised by `updateInstall`). */
  version: number;
  startedAt: number;
  finishedAt?: number;
  /** app.option.set: the app's settings on this portal, shared by its users; strings from a form, JSON types from JSON. */
  appOptions: Record<string, unknown>;
  /** user.option.set: each user's own settings for the app on this portal, by user id. */
  userOptions: Map<number, Record<string, unknown>>;
}

/** How a currency is written in one language (crm.currency.get's LANG). */
export interface CurrencyFormat {
  FORMAT_STRING: string;
  FULL_NAME: string;
  DEC_POINT: string;
  THOUSANDS_SEP: string | null;
  DECIMALS: string;
  THOUSANDS_VARIANT: string;
  HIDE_ZERO: 'Y' | 'N';
}

/** A currency of the portal's CRM: its rate against the base one and its formats per language. */
export interface Currency {
  CURRENCY: string;
  AMOUNT_CNT: string;
  AMOUNT: string;
  SORT: string;
  BASE: 'Y' | 'N';
  DATE_UPDATE: number;
  lang: Record<string, CurrencyFormat>;
}

export interface Token {
  accessToken: string;
  refreshToken: string;
  memberId: string;
  clientId: string;
  userId: number;
  scope: string[];
  accessExpiresAt: number;
  refreshExpiresAt: number;
  /** Refresh tokens are single-use: rotation hands out a new one and retires this one. */
  refreshUsed: boolean;
  revoked: boolean;
  /** The app was removed from the portal: the portal answers APPLICATION_NOT_FOUND, the OAuth server PAYMENT_REQUIRED. */
  appRemoved: boolean;
}

export interface MultiFieldValue {
  ID: string;
  VALUE_TYPE: string;
  VALUE: string;
  TYPE_ID: string;
}

export interface StoredFile {
  id: number;
  name: string;
  content: Buffer;
}

/** A contact bound to a lead or deal (crm.deal.contact.items.get's row); the primary one comes first. */
export interface ContactBinding {
  CONTACT_ID: number;
  SORT: number;
  IS_PRIMARY: 'Y' | 'N';
}

export interface Entity {
  type: CrmType;
  id: number;
  fields: Record<string, unknown>;
  multi: Record<string, MultiFieldValue[]>;
  /** UF values as stored: file fields hold file ids. */
  uf: Record<string, unknown>;
  /** Leads and deals: their contacts (CONTACT_ID is the primary one, CONTACT_IDS all of them). */
  contacts?: ContactBinding[];
}

export interface UserField {
  ID: number;
  ENTITY_ID: string;
  FIELD_NAME: string;
  USER_TYPE_ID: string;
  XML_ID: string;
  SORT: number;
  MULTIPLE: 'Y' | 'N';
  MANDATORY: 'Y' | 'N';
  SHOW_FILTER: 'N' | 'I' | 'E' | 'S';
  SHOW_IN_LIST: 'Y' | 'N';
  EDIT_IN_LIST: 'Y' | 'N';
  IS_SEARCHABLE: 'Y' | 'N';
  SETTINGS: Record<string, unknown>;
  EDIT_FORM_LABEL: Record<string, string>;
  LIST_COLUMN_LABEL: Record<string, string>;
  LIST_FILTER_LABEL: Record<string, string>;
  ERROR_MESSAGE: Record<string, string>;
  HELP_MESSAGE: Record<string, string>;
  LIST: Array<{ ID: number; VALUE: string; SORT: number; DEF: 'Y' | 'N'; XML_ID: string }>;
}

export interface Status {
  ID: number;
  ENTITY_ID: string;
  STATUS_ID: string;
  NAME: string;
  NAME_INIT: string;
  SORT: number;
  SYSTEM: 'Y' | 'N';
  CATEGORY_ID: number | null;
  COLOR: string;
  SEMANTICS: 'S' | 'F' | null;
}

export interface Category {
  id: number;
  name: string;
  sort: number;
  isDefault: boolean;
}

export interface Placement {
  id: number;
  clientId: string;
  placement: string;
  handler: string;
  title: string;
  description: string;
  langAll: Record<string, { TITLE: string; DESCRIPTION: string; GROUP_NAME: string }>;
}

export interface EventBinding {
  id: number;
  clientId: string;
  event: string;
  handler: string;
  authType: number;
  offline: boolean;
}

export interface RobotProperty {
  Name: string | Record<string, string>;
  Type: string;
  Required?: string;
  Multiple?: string;
  Default?: unknown;
  Options?: Record<string, string>;
  Description?: string | Record<string, string>;
}

export interface Robot {
  clientId: string;
  code: string;
  handler: string;
  authUserId: number;
  useSubscription: boolean;
  name: string | Record<string, string>;
  description: string | Record<string, string>;
  properties: Record<string, RobotProperty>;
  returnProperties: Record<string, RobotProperty>;
  documentType: string[] | null;
  filter: unknown;
  usePlacement: boolean;
  placementHandler: string;
}

/** A robot placed on a stage in the automation settings. */
export interface AutomationRule {
  id: number;
  entityType: EntityType;
  stageId: string;
  clientId: string;
  code: string;
  properties: Record<string, string>;
}

export type RobotRunStatus = 'running' | 'waiting' | 'completed' | 'failed';

export interface RobotRun {
  id: number;
  workflowId: string;
  eventToken: string;
  ruleId: number | null;
  clientId: string;
  code: string;
  entityType: EntityType;
  entityId: number;
  stageId: string;
  properties: Record<string, string>;
  status: RobotRunStatus;
  startedAt: number;
  completedAt?: number;
  deliveryStatus?: number;
  deliveryError?: string;
  returnValues: Record<string, string>;
  log: string[];
}

export interface ActivityFields {
  typeId: string;
  completed: boolean;
  deadline: string | null;
  pingOffsets: number[];
  isIncomingChannel: boolean;
  responsibleId: number;
  badgeCode: string;
  originatorId: string;
  originId: string;
}

export interface Activity {
  id: number;
  ownerTypeId: number;
  ownerId: number;
  clientId: string;
  fields: ActivityFields;
  layout: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  /** A restEvent button with animationType was clicked; cleared by the app's next update. */
  busy: 'loader' | 'disable' | null;
}

export interface TimelineComment {
  id: number;
  entityType: string;
  entityId: number;
  comment: string;
  authorId: number;
  files: number[];
  createdAt: number;
}

export interface Notification {
  id: number;
  userId: number;
  clientId: string;
  message: string;
  tag: string;
  subTag: string;
  attach: unknown;
  at: number;
}

export interface RequestLogEntry {
  at: number;
  /** rest: one HTTP request (a batch is one); batch: a command inside a batch; oauth: the token endpoint. */
  kind: 'rest' | 'batch' | 'oauth';
  memberId: string | null;
  clientId: string | null;
  userId: number | null;
  method: string;
  status: number;
  error?: string;
  seq: number;
}

export interface Delivery {
  id: number;
  at: number;
  memberId: string;
  kind: 'install' | 'event' | 'robot';
  name: string;
  url: string;
  body: Record<string, unknown>;
  status: number | null;
  error?: string;
}

export type Fault =
  | { kind: 'portal_deleted' }
  | { kind: 'http_error'; status: number; count?: number; methods?: string[] }
  | { kind: 'operation_time_limit'; methods?: string[]; forMs: number }
  | { kind: 'latency'; ms: number; methods?: string[] }
  | HugeBodyFault
  | RedirectFault;

/**
 * An answer of `bytes` bytes (made as the client reads it; chunked unless `declareLength`), a
 * hostile or broken server's. `served` counts what was made, so a test sees where a client stopped.
 */
export interface HugeBodyFault {
  kind: 'huge_body';
  bytes: number;
  declareLength?: boolean;
  count?: number;
  methods?: string[];
  served?: number;
}

/** A 302 to `location`: whoever follows it takes the request (and its token) there. */
export interface RedirectFault {
  kind: 'redirect';
  location: string;
  count?: number;
  methods?: string[];
}

/** What the OAuth server (token endpoint and app.info) can be made to answer instead. */
export type OAuthFault = HugeBodyFault | RedirectFault;

export interface ActiveFault {
  fault: Fault;
  remaining: number;
  until: number;
}

export interface Portal {
  memberId: string;
  name: string;
  lang: Lang;
  /** Languages installed on the portal: multilingual texts must use these keys. */
  languages: string[];
  tzOffsetMinutes: number;
  createdAt: number;
  users: Map<number, User>;
  installs: Map<string, Install>;
  leads: Map<number, Entity>;
  deals: Map<number, Entity>;
  contacts: Map<number, Entity>;
  userFields: UserField[];
  files: Map<number, StoredFile>;
  statuses: Status[];
  categories: Category[];
  placements: Placement[];
  events: EventBinding[];
  robots: Robot[];
  automation: AutomationRule[];
  robotRuns: RobotRun[];
  activities: Map<number, Activity>;
  comments: TimelineComment[];
  notifications: Notification[];
  currencies: Currency[];
  /** CRM option «check required fields in REST» (rest_enable_req_uf_check); off by default. */
  restRequiredCheck: boolean;
  requiredFields: Record<CrmType, Set<string>>;
  faults: ActiveFault[];
  /** The leaky bucket: how full it is and when it was last drained. */
  bucket: { level: number; at: number };
  nextId: Record<string, number>;
}

export function nextId(portal: Portal, kind: string): number {
  const id = (portal.nextId[kind] ?? 0) + 1;
  portal.nextId[kind] = id;
  return id;
}
