/**
 * The simulator's control object: apps, portals and their users, the install life cycle, events
 * and robots that really run, fault injection, and read access to everything written. The HTTP
 * side (REST, OAuth, web view, control API) lives in server.ts and calls into this.
 */
import { randomBytes } from 'node:crypto';
import {
  type ActiveFault,
  type Activity,
  type AppSpec,
  type AutomationRule,
  type ContactBinding,
  type CrmType,
  type Delivery,
  type Entity,
  type EntityType,
  type Fault,
  type Install,
  type OAuthFault,
  type Portal,
  type RequestLogEntry,
  type RobotRun,
  type Token,
  type User,
  nextId,
} from './model.js';
import { TokenStore } from './oauth.js';
import { buildPhpQuery } from './php-form.js';
import { addPipeline, dealStageEntity, makeUser, seedDictionaries, stageId } from './seed.js';
import type { Lang } from './texts.js';
import { createEntity, entityRow, findStage, stageFieldOf, store, updateEntity } from './crm.js';

export interface SimOptions {
  /** Access token lifetime (Bitrix: 3600 s). */
  accessTokenTtlSec?: number;
  /** The portals' leaky bucket: burst 50, drain 2/s (standard plans); false turns it off. */
  rateLimit?: { burst: number; drainPerSec: number } | false;
  /** The default app (client_id hh-b24-dev); false registers none. */
  defaultApp?: Partial<AppSpec> | false;
  /** Base of the default app's URLs: `{base}app`, `{base}install`, `{base}events/install`. */
  appBaseUrl?: string;
  /** Bitrix refuses handler URLs without a dot in the host (`http://localhost/...`); this lifts it. */
  allowUndottedHandlerHosts?: boolean;
  /** How long a handler may take before the delivery counts as failed (events are not retried). */
  deliveryTimeoutMs?: number;
  /** Pages of other systems shown in every portal's menu (the demo links the simulated hh.ru here). */
  links?: Array<{ label: string; url: string }>;
}

export interface PortalInfo {
  memberId: string;
  name: string;
  lang: Lang;
  /** What Bitrix calls the domain: host and path here, since one process hosts every portal. */
  domain: string;
  /** The portal's pages, e.g. `http://127.0.0.1:3102/portal/acme/`. */
  baseUrl: string;
  clientEndpoint: string;
  serverEndpoint: string;
  installs: Array<{ clientId: string; installed: boolean; applicationToken: string }>;
}

export interface InstallResult {
  memberId: string;
  clientId: string;
  applicationToken: string;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  userId: number;
}

export interface TimelineAction {
  type: string;
  uri?: string;
  id?: string;
  actionParams?: Record<string, string>;
  animationType?: string;
  sliderParams?: Record<string, unknown>;
}

export const DEFAULT_APP: AppSpec = {
  clientId: 'hh-b24-dev',
  clientSecret: 'hh-b24-dev-secret',
  code: 'hhb24.recruiting',
  name: 'HH.ru: отклики в CRM',
  version: 1,
  handlerUrl: 'http://127.0.0.1:3000/b24/app',
  installUrl: 'http://127.0.0.1:3000/b24/install',
  installEventUrl: 'http://127.0.0.1:3000/b24/events/install',
  scopes: ['crm', 'placement', 'bizproc', 'im', 'user_brief'],
};

export const PLACEMENTS = [
  'CRM_LEAD_DETAIL_TAB',
  'CRM_DEAL_DETAIL_TAB',
  'CRM_LEAD_DETAIL_ACTIVITY',
  'CRM_DEAL_DETAIL_ACTIVITY',
  'CRM_LEAD_DETAIL_TOOLBAR',
  'CRM_DEAL_DETAIL_TOOLBAR',
  'CRM_LEAD_LIST_MENU',
  'CRM_DEAL_LIST_MENU',
  'LEFT_MENU',
  'REST_APP_URI',
];

export class B24Sim {
  baseUrl = '';
  readonly apps = new Map<string, AppSpec>();
  readonly tokens: TokenStore;
  readonly requestLog: RequestLogEntry[] = [];
  readonly deliveryLog: Delivery[] = [];
  rateLimit: { burst: number; drainPerSec: number } | false;
  allowUndottedHandlerHosts: boolean;
  deliveryTimeoutMs: number;
  readonly links: ReadonlyArray<{ label: string; url: string }>;
  private readonly byMember = new Map<string, Portal>();
  private readonly byName = new Map<string, Portal>();
  private readonly eventTokens = new Map<string, { memberId: string; runId: number }>();
  private readonly pending = new Set<Promise<void>>();
  private seq = 0;
  private oauthFaults: ActiveFault[] = [];

  constructor(options: SimOptions = {}) {
    this.tokens = new TokenStore(options.accessTokenTtlSec ?? 3600);
    this.rateLimit = options.rateLimit === undefined ? { burst: 50, drainPerSec: 2 } : options.rateLimit;
    this.allowUndottedHandlerHosts = options.allowUndottedHandlerHosts ?? false;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 10_000;
    for (const l of options.links ?? [])
      if (!/^https?:\/\//.test(l.url)) throw new Error(`link ${l.label}: an http(s) URL is required`);
    this.links = options.links ?? [];
    if (options.defaultApp !== false) {
      const base = options.appBaseUrl;
      this.registerApp({
        ...DEFAULT_APP,
        ...(base
          ? {
              handlerUrl: `${base}app`,
              installUrl: `${base}install`,
              installEventUrl: `${base}events/install`,
            }
          : {}),
        ...options.defaultApp,
      });
    }
  }

  // ---- apps -------------------------------------------------------------------------------

  registerApp(spec: Partial<AppSpec> & { clientId: string; clientSecret: string }): AppSpec {
    if (typeof spec.clientId !== 'string' || !/^[\w.-]{1,64}$/.test(spec.clientId))
      throw new Error('clientId must be 1-64 letters, digits, _ . -');
    if (typeof spec.clientSecret !== 'string' || spec.clientSecret === '')
      throw new Error('clientSecret is required');
    for (const key of ['handlerUrl', 'installUrl', 'installEventUrl'] as const) {
      const v = spec[key];
      if (v !== undefined && v !== '' && !/^https?:\/\/[^\s]+$/.test(String(v)))
        throw new Error(`${key} must be an http(s) URL`);
    }
    const app: AppSpec = {
      code: spec.clientId,
      name: spec.clientId,
      version: 1,
      handlerUrl: '',
      installUrl: '',
      installEventUrl: '',
      scopes: ['crm', 'placement', 'bizproc', 'im', 'user_brief'],
      ...spec,
    };
    if (!app.installUrl) app.installUrl = app.handlerUrl;
    this.apps.set(app.clientId, app);
    return app;
  }

  updateApp(clientId: string, patch: Partial<Omit<AppSpec, 'clientId'>>): AppSpec {
    const app = this.app(clientId);
    return this.registerApp({ ...app, ...patch, clientId });
  }

  app(clientId: string): AppSpec {
    const app = this.apps.get(clientId);
    if (!app) throw new Error(`no app ${clientId}`);
    return app;
  }

  private soleClientId(portal: Portal, clientId?: string): string {
    if (clientId) return clientId;
    if (this.apps.has(DEFAULT_APP.clientId)) return DEFAULT_APP.clientId;
    const first = portal.installs.keys().next().value ?? this.apps.keys().next().value;
    if (!first) throw new Error('no app registered');
    return first;
  }

  // ---- portals ----------------------------------------------------------------------------

  createPortal(
    spec: { name?: string; lang?: Lang; memberId?: string; users?: number; languages?: string[] } = {},
  ): PortalInfo {
    const name = (spec.name ?? `portal-${randomBytes(3).toString('hex')}`).toLowerCase();
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new Error('a portal name is 1-63 of a-z, 0-9 and -');
    if (this.byName.has(name)) throw new Error(`portal ${name} exists`);
    const memberId = spec.memberId ?? randomBytes(16).toString('hex');
    if (this.byMember.has(memberId)) throw new Error(`member_id ${memberId} exists`);
    const lang = spec.lang ?? 'ru';
    const portal: Portal = {
      memberId,
      name,
      lang,
      languages: spec.languages ?? [
        'ru',
        'en',
        'de',
        'ua',
        'kz',
        'by',
        'la',
        'br',
        'fr',
        'pl',
        'tr',
        'it',
        'sc',
        'tc',
        'ja',
        'vn',
        'id',
        'ms',
        'th',
        'ar',
      ],
      tzOffsetMinutes: lang === 'ru' ? 180 : 0,
      createdAt: Date.now(),
      users: new Map(),
      installs: new Map(),
      leads: new Map(),
      deals: new Map(),
      contacts: new Map(),
      userFields: [],
      files: new Map(),
      statuses: [],
      categories: [],
      placements: [],
      events: [],
      robots: [],
      automation: [],
      robotRuns: [],
      activities: new Map(),
      comments: [],
      notifications: [],
      currencies: [],
      restRequiredCheck: false,
      requiredFields: { lead: new Set(), deal: new Set(), contact: new Set() },
      faults: [],
      bucket: { level: 0, at: Date.now() },
      nextId: {},
    };
    seedDictionaries(portal);
    for (let i = 0; i < Math.max(1, spec.users ?? 3); i++) makeUser(portal);
    this.byMember.set(memberId, portal);
    this.byName.set(name, portal);
    return this.portalInfo(portal);
  }

  /** A portal by member_id or name; the raw state, for tests that need to look closer. */
  portal(ref: string | Portal): Portal {
    if (typeof ref !== 'string') return ref;
    const portal = this.byMember.get(ref) ?? this.byName.get(ref.toLowerCase());
    if (!portal) throw new Error(`no portal ${ref}`);
    return portal;
  }

  findPortal(ref: string): Portal | undefined {
    return this.byMember.get(ref) ?? this.byName.get(ref.toLowerCase());
  }

  portals(): PortalInfo[] {
    return [...this.byMember.values()].map((p) => this.portalInfo(p));
  }

  portalInfo(ref: string | Portal): PortalInfo {
    const portal = this.portal(ref);
    return {
      memberId: portal.memberId,
      name: portal.name,
      lang: portal.lang,
      domain: this.domain(portal),
      baseUrl: this.portalBase(portal),
      clientEndpoint: this.clientEndpoint(portal),
      serverEndpoint: this.serverEndpoint(),
      installs: [...portal.installs.values()].map((i) => ({
        clientId: i.clientId,
        installed: i.installed,
        applicationToken: i.applicationToken,
      })),
    };
  }

  portalBase(portal: Portal): string {
    return `${this.baseUrl}/portal/${portal.name}/`;
  }
  domain(portal: Portal): string {
    return `${new URL(this.baseUrl).host}/portal/${portal.name}`;
  }
  clientEndpoint(portal: Portal): string {
    return `${this.portalBase(portal)}rest/`;
  }
  serverEndpoint(): string {
    return `${this.baseUrl}/oauth-server/rest/`;
  }
  protocol(): '0' | '1' {
    return this.baseUrl.startsWith('https:') ? '1' : '0';
  }

  addUser(ref: string, spec: Partial<Omit<User, 'ID'>> = {}): User {
    return makeUser(this.portal(ref), spec);
  }

  addPipeline(ref: string, name: string): { id: number; name: string } {
    const portal = this.portal(ref);
    const c = addPipeline(portal, name, portal.lang);
    return { id: c.id, name: c.name };
  }

  /**
   * A stage the portal's admin adds to a pipeline in the CRM settings (our app never adds stages).
   * Custom stages get ids like Bitrix24's own: `UC_XXXXXX`, prefixed `C{n}:` outside the default pipeline.
   */
  addStage(
    ref: string,
    spec: { categoryId?: number; name: string; after?: string },
  ): { statusId: string; name: string } {
    const portal = this.portal(ref);
    const categoryId = spec.categoryId ?? 0;
    if (!portal.categories.some((c) => c.id === categoryId)) throw new Error(`no pipeline ${categoryId}`);
    if (!spec.name.trim()) throw new Error('a stage needs a name');
    const entityId = dealStageEntity(categoryId);
    const stages = portal.statuses.filter((s) => s.ENTITY_ID === entityId).sort((a, b) => a.SORT - b.SORT);
    const after =
      spec.after === undefined
        ? stages.filter((s) => !s.SEMANTICS).at(-1)
        : stages.find((s) => s.STATUS_ID === spec.after);
    if (!after) throw new Error(`no stage ${spec.after} in pipeline ${categoryId}`);
    // Between `after` and the next stage; the others move on to make room.
    for (const s of stages) if (s.SORT > after.SORT) s.SORT += 10;
    const id = nextId(portal, 'status');
    const statusId = stageId(categoryId, `UC_${id.toString(36).toUpperCase().padStart(6, '0')}`);
    portal.statuses.push({
      ID: id,
      ENTITY_ID: entityId,
      STATUS_ID: statusId,
      NAME: spec.name,
      NAME_INIT: spec.name,
      SORT: after.SORT + 10,
      SYSTEM: 'N',
      CATEGORY_ID: categoryId,
      COLOR: '#FFD32E',
      SEMANTICS: null,
    });
    return { statusId, name: spec.name };
  }

  setLanguage(ref: string, lang: Lang): void {
    const portal = this.portal(ref);
    portal.lang = lang;
  }

  /**
   * Marks a standard field or user field required for adds and updates. Bitrix checks required
   * fields over REST only when the CRM option «check required fields in REST» is on, so this turns
   * it on too unless `restCheck: false` says otherwise.
   */
  setRequired(
    ref: string,
    entityType: EntityType,
    field: string,
    required = true,
    options: { restCheck?: boolean } = {},
  ): void {
    const portal = this.portal(ref);
    const uf = portal.userFields.find(
      (f) => f.ENTITY_ID === (entityType === 'lead' ? 'CRM_LEAD' : 'CRM_DEAL') && f.FIELD_NAME === field,
    );
    if (uf) uf.MANDATORY = required ? 'Y' : 'N';
    else if (required) portal.requiredFields[entityType].add(field);
    else portal.requiredFields[entityType].delete(field);
    if (required && options.restCheck !== false) portal.restRequiredCheck = true;
  }

  setRestRequiredCheck(ref: string, on: boolean): void {
    this.portal(ref).restRequiredCheck = on;
  }

  // ---- faults and limits ------------------------------------------------------------------

  /** Switches on a failure: until cleared, for `count` requests, or for `forMs`. */
  injectFault(ref: string, fault: Fault): void {
    const portal = this.portal(ref);
    const remaining =
      fault.kind === 'http_error' || fault.kind === 'huge_body' || fault.kind === 'redirect'
        ? (fault.count ?? Infinity)
        : Infinity;
    const until = fault.kind === 'operation_time_limit' ? Date.now() + fault.forMs : Infinity;
    portal.faults.push({ fault, remaining, until });
  }

  clearFaults(ref: string): void {
    this.portal(ref).faults = [];
  }

  /**
   * Makes the OAuth server (token endpoint and app.info, shared by every portal) answer with a
   * huge body or a redirect, `count` times (default: until cleared). Returns the live fault.
   */
  injectOAuthFault(fault: OAuthFault): OAuthFault {
    this.oauthFaults.push({ fault, remaining: fault.count ?? Infinity, until: Infinity });
    return fault;
  }

  clearOAuthFaults(): void {
    this.oauthFaults = [];
  }

  /** The OAuth fault that answers this request instead, used up by one. */
  takeOAuthFault(): OAuthFault | undefined {
    this.oauthFaults = this.oauthFaults.filter((f) => f.remaining > 0);
    const active = this.oauthFaults[0];
    if (!active) return undefined;
    active.remaining--;
    return active.fault as OAuthFault;
  }

  activeFaults(portal: Portal, now = Date.now()): ActiveFault[] {
    portal.faults = portal.faults.filter((f) => f.remaining > 0 && f.until > now);
    return portal.faults;
  }

  setTokenLifetime(seconds: number): void {
    this.tokens.accessTtlSec = seconds;
  }

  /** Every access token of the portal expires at once: the next calls all get expired_token. */
  expireTokens(ref: string): number {
    return this.tokens.expireAll(this.portal(ref).memberId);
  }

  /** Tokens for a user of the portal, as an app page load gets them (AUTH_ID / REFRESH_ID). */
  issueUserToken(
    ref: string,
    options: { userId?: number; clientId?: string } = {},
  ): { accessToken: string; refreshToken: string; expiresIn: number; userId: number } {
    const portal = this.portal(ref);
    const clientId = this.soleClientId(portal, options.clientId);
    const userId = options.userId ?? 1;
    if (!portal.users.has(userId)) throw new Error(`no user ${userId}`);
    const t = this.issueToken(portal, clientId, userId);
    return {
      accessToken: t.accessToken,
      refreshToken: t.refreshToken,
      expiresIn: this.tokens.accessTtlSec,
      userId,
    };
  }

  issueToken(portal: Portal, clientId: string, userId: number): Token {
    return this.tokens.issue(portal.memberId, clientId, userId, this.app(clientId).scopes);
  }

  // ---- install life cycle ------------------------------------------------------------------

  /**
   * The admin adds the app: tokens are issued, ONAPPINSTALL goes to the app's install handler,
   * and the installer page opens. Events and placements stay inactive until installFinish.
   */
  async install(ref: string, options: { clientId?: string; userId?: number } = {}): Promise<InstallResult> {
    const portal = this.portal(ref);
    const clientId = this.soleClientId(portal, options.clientId);
    const app = this.app(clientId);
    const userId = options.userId ?? 1;
    const user = portal.users.get(userId);
    if (!user?.isAdmin) throw new Error('only an administrator installs apps');
    const install: Install = portal.installs.get(clientId) ?? {
      clientId,
      installed: false,
      applicationToken: randomBytes(16).toString('hex'),
      installedBy: userId,
      version: app.version,
      startedAt: Date.now(),
      appOptions: {},
      userOptions: new Map(),
    };
    install.version = app.version;
    portal.installs.set(clientId, install);
    const token = this.issueToken(portal, clientId, userId);
    if (app.installEventUrl) {
      const now = Math.floor(Date.now() / 1000);
      this.deliver(portal, 'install', 'ONAPPINSTALL', app.installEventUrl, {
        event: 'ONAPPINSTALL',
        data: {
          VERSION: String(app.version),
          ACTIVE: 'Y',
          INSTALLED: install.installed ? 'Y' : 'N',
          LANGUAGE_ID: portal.lang,
        },
        ts: String(now),
        auth: this.authPayload(portal, clientId, token, { withRefresh: true }),
      });
    }
    return {
      memberId: portal.memberId,
      clientId,
      applicationToken: install.applicationToken,
      accessToken: token.accessToken,
      refreshToken: token.refreshToken,
      expiresIn: this.tokens.accessTtlSec,
      userId,
    };
  }

  /** What BX24.installFinish() does: the app counts as installed; its events and placements go live. */
  finishInstall(ref: string, clientId?: string): void {
    const portal = this.portal(ref);
    const install = portal.installs.get(this.soleClientId(portal, clientId));
    if (!install) throw new Error('the app is not being installed on this portal');
    install.installed = true;
    install.finishedAt = Date.now();
  }

  /**
   * The admin installs a newer version of the app (raised with `updateApp`) on the portal. As
   * Bitrix24 does: its bizproc module deletes the app's robots (`RestService::onRestAppUpdate` calls
   * `onRestAppDelete`; automation rules stay and work again once the robot is added back), and
   * ONAPPUPDATE goes to the app's handlers bound to it, with `VERSION`, `PREVIOUS_VERSION`,
   * `LANGUAGE_ID` and the admin's tokens (refresh token included), as
   * https://apidocs.bitrix24.com/api-reference/common/events/on-app-update.html shows it.
   */
  updateInstall(ref: string, options: { clientId?: string; userId?: number } = {}): Delivery[] {
    const portal = this.portal(ref);
    const clientId = this.soleClientId(portal, options.clientId);
    const install = portal.installs.get(clientId);
    if (!install?.installed) throw new Error('the app is not installed on this portal');
    const app = this.app(clientId);
    if (app.version <= install.version)
      throw new Error(`version ${install.version} is installed; updateApp raises the app's version first`);
    const userId = options.userId ?? 1;
    if (!portal.users.get(userId)?.isAdmin) throw new Error('only an administrator updates apps');
    const previous = install.version;
    install.version = app.version;
    portal.robots = portal.robots.filter((r) => r.clientId !== clientId);
    const out: Delivery[] = [];
    for (const binding of portal.events) {
      if (binding.clientId !== clientId || binding.event !== 'ONAPPUPDATE' || binding.offline) continue;
      const token = this.issueToken(portal, clientId, binding.authType > 0 ? binding.authType : userId);
      out.push(
        this.deliver(portal, 'event', 'ONAPPUPDATE', binding.handler, {
          event: 'ONAPPUPDATE',
          event_handler_id: String(binding.id),
          data: {
            VERSION: String(app.version),
            PREVIOUS_VERSION: String(previous),
            LANGUAGE_ID: portal.lang,
          },
          ts: String(Math.floor(Date.now() / 1000)),
          auth: this.authPayload(portal, clientId, token, { withRefresh: true }),
        }),
      );
    }
    return out;
  }

  async uninstall(ref: string, options: { clientId?: string; clean?: boolean } = {}): Promise<void> {
    const portal = this.portal(ref);
    const clientId = this.soleClientId(portal, options.clientId);
    const install = portal.installs.get(clientId);
    if (!install) return;
    for (const binding of portal.events.filter(
      (e) => e.clientId === clientId && e.event === 'ONAPPUNINSTALL' && !e.offline,
    )) {
      this.deliver(portal, 'event', 'ONAPPUNINSTALL', binding.handler, {
        event: 'ONAPPUNINSTALL',
        event_handler_id: String(binding.id),
        data: { LANGUAGE_ID: portal.lang, CLEAN: options.clean ? 1 : 0 },
        ts: String(Math.floor(Date.now() / 1000)),
        auth: {
          domain: this.domain(portal),
          server_endpoint: this.serverEndpoint(),
          client_endpoint: this.clientEndpoint(portal),
          member_id: portal.memberId,
          application_token: install.applicationToken,
        },
      });
    }
    this.tokens.removeApp(portal.memberId, clientId);
    portal.events = portal.events.filter((e) => e.clientId !== clientId);
    portal.placements = portal.placements.filter((p) => p.clientId !== clientId);
    portal.robots = portal.robots.filter((r) => r.clientId !== clientId);
    portal.automation = portal.automation.filter((r) => r.clientId !== clientId);
    portal.installs.delete(clientId);
  }

  // ---- outbound: install callback, events, robots -----------------------------------------

  /**
   * POSTs a PHP-bracket form to an app handler, the way Bitrix's queue server does: once, no
   * retries, a slow handler counts as failed. Await `idle()` to see the outcome.
   */
  deliver(
    portal: Portal,
    kind: Delivery['kind'],
    name: string,
    url: string,
    body: Record<string, unknown>,
    onDone?: (d: Delivery) => void,
  ): Delivery {
    const delivery: Delivery = {
      id: ++this.seq,
      at: Date.now(),
      memberId: portal.memberId,
      kind,
      name,
      url,
      body,
      status: null,
    };
    this.deliveryLog.push(delivery);
    if (this.deliveryLog.length > 200_000) this.deliveryLog.splice(0, 50_000);
    const p = (async () => {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'user-agent': 'Bitrix24 Webhook Engine',
          },
          body: buildPhpQuery(body),
          signal: AbortSignal.timeout(this.deliveryTimeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        delivery.status = res.status;
      } catch (err) {
        delivery.error = (err as Error).message;
      }
      onDone?.(delivery);
    })();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return delivery;
  }

  /** Resolves when every delivery started so far (and those they started) has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** The `auth` block of an event, robot call or install callback. */
  authPayload(
    portal: Portal,
    clientId: string,
    token: Token | null,
    options: { withRefresh?: boolean } = {},
  ): Record<string, string> {
    const install = portal.installs.get(clientId);
    const app = this.app(clientId);
    const auth: Record<string, string> = {};
    if (token) {
      auth['access_token'] = token.accessToken;
      auth['expires'] = String(Math.floor(token.accessExpiresAt / 1000));
      auth['expires_in'] = String(this.tokens.accessTtlSec);
    }
    auth['scope'] = app.scopes.join(',');
    auth['domain'] = this.domain(portal);
    auth['server_endpoint'] = this.serverEndpoint();
    auth['status'] = 'L';
    auth['client_endpoint'] = this.clientEndpoint(portal);
    auth['member_id'] = portal.memberId;
    if (token) auth['user_id'] = String(token.userId);
    if (token && options.withRefresh) auth['refresh_token'] = token.refreshToken;
    auth['application_token'] = install?.applicationToken ?? '';
    return auth;
  }

  /**
   * Sends a REST event to the handlers bound to it. Nothing is delivered for an app whose
   * installation is not finished. `onlyApp` limits it (timeline actions go to their creator only);
   * `userId` null means no user caused it (a robot), so the auth block carries no tokens.
   */
  emitEvent(
    portal: Portal,
    event: string,
    data: Record<string, unknown>,
    options: { userId: number | null; onlyApp?: string },
  ): Delivery[] {
    const out: Delivery[] = [];
    for (const binding of portal.events) {
      if (binding.event !== event || binding.offline) continue;
      if (options.onlyApp && binding.clientId !== options.onlyApp) continue;
      if (!portal.installs.get(binding.clientId)?.installed) continue;
      const userId = binding.authType > 0 ? binding.authType : options.userId;
      const token =
        userId && portal.users.has(userId) ? this.issueToken(portal, binding.clientId, userId) : null;
      out.push(
        this.deliver(portal, 'event', event, binding.handler, {
          event,
          event_handler_id: String(binding.id),
          data,
          ts: String(Math.floor(Date.now() / 1000)),
          auth: this.authPayload(portal, binding.clientId, token),
        }),
      );
    }
    return out;
  }

  // ---- robots -----------------------------------------------------------------------------

  addAutomationRule(
    ref: string,
    rule: {
      entityType: EntityType;
      stageId: string;
      code: string;
      clientId?: string;
      properties?: Record<string, string>;
    },
  ): AutomationRule {
    const portal = this.portal(ref);
    const clientId = this.soleClientId(portal, rule.clientId);
    if (!portal.robots.some((r) => r.clientId === clientId && r.code === rule.code))
      throw new Error(`no robot ${rule.code} of ${clientId} on this portal`);
    if (!findStage(portal, rule.entityType, rule.stageId))
      throw new Error(`no stage ${rule.stageId} for ${rule.entityType}s`);
    const added: AutomationRule = {
      id: nextId(portal, 'automation'),
      entityType: rule.entityType,
      stageId: rule.stageId,
      clientId,
      code: rule.code,
      properties: rule.properties ?? {},
    };
    portal.automation.push(added);
    return added;
  }

  removeAutomationRule(ref: string, id: number): void {
    const portal = this.portal(ref);
    portal.automation = portal.automation.filter((r) => r.id !== id);
  }

  /**
   * Runs one robot on one entity: POSTs its handler with event_token, document_id, properties
   * and the auth of its AUTH_USER_ID. A robot with USE_SUBSCRIPTION waits for bizproc.event.send.
   */
  runRobot(
    ref: string,
    spec: {
      entityType: EntityType;
      entityId: number;
      code: string;
      clientId?: string;
      properties?: Record<string, string>;
      ruleId?: number;
    },
  ): RobotRun {
    const portal = this.portal(ref);
    const clientId = this.soleClientId(portal, spec.clientId);
    const robot = portal.robots.find((r) => r.clientId === clientId && r.code === spec.code);
    if (!robot) throw new Error(`no robot ${spec.code}`);
    const entity = (spec.entityType === 'lead' ? portal.leads : portal.deals).get(spec.entityId);
    if (!entity) throw new Error(`no ${spec.entityType} ${spec.entityId}`);
    const properties: Record<string, string> = {};
    for (const [key, prop] of Object.entries(robot.properties)) {
      const given = spec.properties?.[key];
      properties[key] =
        given ?? (prop.Default === undefined || prop.Default === null ? '' : String(prop.Default));
    }
    const workflowId = `${Date.now().toString(16)}${randomBytes(3).toString('hex')}.${randomBytes(4).readUInt32BE(0) % 100_000_000}`;
    const eventToken = `${workflowId}|A${randomBytes(4).toString('hex')}|${randomBytes(24).toString('base64url')}`;
    const docType = spec.entityType === 'lead' ? 'CCrmDocumentLead' : 'CCrmDocumentDeal';
    const run: RobotRun = {
      id: nextId(portal, 'robotRun'),
      workflowId,
      eventToken,
      ruleId: spec.ruleId ?? null,
      clientId,
      code: robot.code,
      entityType: spec.entityType,
      entityId: spec.entityId,
      stageId: String(entity.fields[stageFieldOf(spec.entityType)] ?? ''),
      properties,
      status: 'running',
      startedAt: Date.now(),
      returnValues: {},
      log: [],
    };
    portal.robotRuns.push(run);
    this.eventTokens.set(eventToken, { memberId: portal.memberId, runId: run.id });
    const authUser = portal.users.has(robot.authUserId) ? robot.authUserId : 1;
    const token = this.issueToken(portal, clientId, authUser);
    this.deliver(
      portal,
      'robot',
      robot.code,
      robot.handler,
      {
        workflow_id: workflowId,
        code: robot.code,
        document_id: ['crm', docType, `${spec.entityType.toUpperCase()}_${spec.entityId}`],
        document_type: ['crm', docType, spec.entityType.toUpperCase()],
        event_token: eventToken,
        properties,
        use_subscription: robot.useSubscription ? 'Y' : 'N',
        timeout_duration: '0',
        ts: String(Math.floor(Date.now() / 1000)),
        auth: this.authPayload(portal, clientId, token, { withRefresh: true }),
      },
      (d) => {
        run.deliveryStatus = d.status ?? undefined;
        run.deliveryError = d.error;
        if (run.status !== 'running') return;
        if (d.error || (d.status ?? 500) >= 400) run.status = 'failed';
        else if (robot.useSubscription) run.status = 'waiting';
        else {
          run.status = 'completed';
          run.completedAt = Date.now();
        }
      },
    );
    return run;
  }

  /**
   * Where an event_token stands: `unknown` (the portal never issued it: Bitrix24 checks the
   * token's signature first), `finished` (its run completed or failed: the workflow is gone), or
   * `live` (the robot is running or waiting for bizproc.event.send).
   */
  robotRunState(
    eventToken: string,
  ): { state: 'unknown' | 'finished' } | { state: 'live'; run: RobotRun; portal: Portal } {
    const ref = this.eventTokens.get(eventToken);
    const portal = ref && this.byMember.get(ref.memberId);
    const run = ref && portal?.robotRuns.find((r) => r.id === ref.runId);
    if (!portal || !run) return { state: 'unknown' };
    if (run.status !== 'running' && run.status !== 'waiting') return { state: 'finished' };
    return { state: 'live', run, portal };
  }

  /** bizproc.event.send: the robot that handed out this token completes with its return values. */
  completeRobot(eventToken: string, returnValues: Record<string, string>, logMessage: string): boolean {
    const found = this.robotRunState(eventToken);
    if (found.state !== 'live') return false;
    const { run, portal } = found;
    const robot = portal.robots.find((r) => r.clientId === run.clientId && r.code === run.code);
    const allowed = new Map(Object.keys(robot?.returnProperties ?? {}).map((k) => [k.toLowerCase(), k]));
    for (const [k, v] of Object.entries(returnValues)) {
      const name = allowed.get(k.toLowerCase());
      if (name) run.returnValues[name] = v;
    }
    if (logMessage) run.log.push(logMessage);
    run.status = 'completed';
    run.completedAt = Date.now();
    return true;
  }

  /** bizproc.activity.log: a line in the log of a live run; says where the token stands otherwise. */
  logToRobot(eventToken: string, message: string): 'live' | 'unknown' | 'finished' {
    const found = this.robotRunState(eventToken);
    if (found.state === 'live') found.run.log.push(message);
    return found.state;
  }

  /** An entity entered a stage: the robots placed on that stage run. */
  runStageRobots(portal: Portal, entity: Entity): RobotRun[] {
    const type = entity.type;
    if (type === 'contact') return [];
    const stage = String(entity.fields[stageFieldOf(type)] ?? '');
    return portal.automation
      .filter(
        (r) => r.entityType === type && r.stageId === stage && portal.installs.get(r.clientId)?.installed,
      )
      .map((r) =>
        this.runRobot(portal.memberId, {
          entityType: type,
          entityId: entity.id,
          code: r.code,
          clientId: r.clientId,
          properties: r.properties,
          ruleId: r.id,
        }),
      );
  }

  // ---- CRM from the portal's side (web view, control API) ---------------------------------

  /** A user moves the entity to another stage (the card's stage bar): events go out, robots run. */
  moveStage(
    ref: string,
    entityType: EntityType,
    id: number,
    stage: string,
    options: { userId?: number } = {},
  ): RobotRun[] {
    const portal = this.portal(ref);
    const before = portal.robotRuns.length;
    updateEntity(
      this,
      portal,
      entityType,
      id,
      { [stageFieldOf(entityType)]: stage },
      { userId: options.userId ?? 1, checkRequired: false },
    );
    return portal.robotRuns.slice(before);
  }

  /** Creates a lead, deal or contact as a user would in the portal (no REST limits, same rules and events). */
  createEntity(
    ref: string,
    entityType: CrmType,
    fields: Record<string, unknown>,
    options: { userId?: number } = {},
  ): Record<string, unknown> {
    const portal = this.portal(ref);
    const entity = createEntity(this, portal, entityType, fields, {
      userId: options.userId ?? 1,
      checkRequired: false,
    });
    return entityRow(portal, entity, null);
  }

  /** The action object at a path of an activity's layout (e.g. footer.buttons.open.action), if any. */
  timelineActionAt(ref: string, activityId: number, path: string[]): TimelineAction | undefined {
    let node: unknown = this.portal(ref).activities.get(activityId)?.layout;
    for (const key of path) node = (node as Record<string, unknown> | undefined)?.[key];
    const action = node as TimelineAction | undefined;
    return action && typeof action.type === 'string' ? action : undefined;
  }

  /**
   * A click on a timeline button of a configurable activity. restEvent sends
   * ONCRMTIMELINEITEMACTION to the app that created the activity; redirect and openRestApp say
   * where the browser goes.
   */
  timelineAction(
    ref: string,
    activityId: number,
    path: string[],
    options: { userId?: number } = {},
  ):
    | { type: 'restEvent'; deliveries: Delivery[] }
    | { type: 'redirect'; uri: string }
    | { type: 'openRestApp'; clientId: string; params: Record<string, string> } {
    const portal = this.portal(ref);
    const activity = portal.activities.get(activityId);
    const action = this.timelineActionAt(ref, activityId, path);
    if (!activity || !action) throw new Error(`no action at ${path.join('.')} of activity ${activityId}`);
    const base = {
      entityTypeId: String(activity.ownerTypeId),
      entityId: String(activity.ownerId),
      activityId: String(activity.id),
    };
    if (action.type === 'redirect') return { type: 'redirect', uri: action.uri ?? '' };
    if (action.type === 'openRestApp') {
      const params: Record<string, string> = { ...base, ...(action.actionParams ?? {}) };
      const slider = action.sliderParams ?? {};
      for (const [k, v] of Object.entries(slider))
        if (['title', 'width', 'leftBoundary', 'labelText'].includes(k))
          params[`bx24_${k === 'labelText' ? 'label' : k}`] = String(v);
      return { type: 'openRestApp', clientId: activity.clientId, params };
    }
    if (action.animationType === 'loader' || action.animationType === 'disable')
      activity.busy = action.animationType;
    const deliveries = this.emitEvent(
      portal,
      'ONCRMTIMELINEITEMACTION',
      { ...(action.actionParams ?? {}), ...base, id: action.id ?? '' },
      {
        userId: options.userId ?? 1,
        onlyApp: activity.clientId,
      },
    );
    return { type: 'restEvent', deliveries };
  }

  // ---- reading what was written -------------------------------------------------------------

  entities(ref: string, entityType: CrmType): Record<string, unknown>[] {
    const portal = this.portal(ref);
    return [...store(portal, entityType).values()].map((e) => entityRow(portal, e, null));
  }

  entity(ref: string, entityType: CrmType, id: number): Record<string, unknown> | undefined {
    const portal = this.portal(ref);
    const e = store(portal, entityType).get(id);
    return e && entityRow(portal, e, null);
  }

  /** The contacts bound to a lead or deal, as crm.deal.contact.items.get lists them. */
  contactBindings(ref: string, entityType: EntityType, id: number): ContactBinding[] {
    return [...(store(this.portal(ref), entityType).get(id)?.contacts ?? [])];
  }

  userFields(ref: string, entityType?: EntityType): Portal['userFields'] {
    const portal = this.portal(ref);
    return entityType
      ? portal.userFields.filter((f) => f.ENTITY_ID === (entityType === 'lead' ? 'CRM_LEAD' : 'CRM_DEAL'))
      : portal.userFields;
  }

  file(ref: string, fileId: number): { name: string; content: Buffer } | undefined {
    const f = this.portal(ref).files.get(fileId);
    return f && { name: f.name, content: f.content };
  }

  activities(ref: string, filter: { ownerTypeId?: number; ownerId?: number } = {}): Activity[] {
    return [...this.portal(ref).activities.values()].filter(
      (a) =>
        (filter.ownerTypeId === undefined || a.ownerTypeId === filter.ownerTypeId) &&
        (filter.ownerId === undefined || a.ownerId === filter.ownerId),
    );
  }

  comments(ref: string): Portal['comments'] {
    return this.portal(ref).comments;
  }

  notifications(ref: string, userId?: number): Portal['notifications'] {
    return this.portal(ref).notifications.filter((n) => userId === undefined || n.userId === userId);
  }

  robotRuns(ref: string): RobotRun[] {
    return this.portal(ref).robotRuns;
  }

  deliveries(ref?: string): Delivery[] {
    const memberId = ref ? this.portal(ref).memberId : undefined;
    return this.deliveryLog.filter((d) => memberId === undefined || d.memberId === memberId);
  }

  /** The request log (REST calls, batch sub-calls, token refreshes) with timestamps in ms. */
  requests(ref?: string, options: { since?: number } = {}): RequestLogEntry[] {
    const memberId = ref ? this.portal(ref).memberId : undefined;
    return this.requestLog.filter(
      (r) =>
        (memberId === undefined || r.memberId === memberId) &&
        (options.since === undefined || r.at >= options.since),
    );
  }

  placements(ref: string): Portal['placements'] {
    return this.portal(ref).placements;
  }
  eventBindings(ref: string): Portal['events'] {
    return this.portal(ref).events;
  }
  robots(ref: string): Portal['robots'] {
    return this.portal(ref).robots;
  }
  automation(ref: string): AutomationRule[] {
    return this.portal(ref).automation;
  }

  logRequest(entry: Omit<RequestLogEntry, 'seq'>): RequestLogEntry {
    const full = { ...entry, seq: ++this.seq };
    this.requestLog.push(full);
    // Long runs (the benchmark) would otherwise grow without bound.
    if (this.requestLog.length > 500_000) this.requestLog.splice(0, 100_000);
    return full;
  }
}
