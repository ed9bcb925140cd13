/** Portal-level methods: app.info, profile, users, event and placement bindings, robots, notifications. */
import { type Robot, type RobotProperty, type User, nextId } from '../../model.js';
import { PLACEMENTS } from '../../sim.js';
import { type CallContext, type MethodSpec, type Params, asRecord, page, param } from '../context.js';
import { RestError, accessDenied, argumentNull, unsupportedProtocol, wrongHandlerUrl } from '../errors.js';

const str = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? '' : String(v));

function requireAdmin(ctx: CallContext): void {
  if (!ctx.user.isAdmin) throw accessDenied();
}

/** Bitrix's HandlerHelper: http(s) only, and a host with a dot in it. */
export function checkHandlerUrl(ctx: CallContext, raw: string): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw wrongHandlerUrl();
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw unsupportedProtocol();
  if (!url.hostname.includes('.') && !ctx.sim.allowUndottedHandlerHosts) throw wrongHandlerUrl();
}

function userRow(ctx: CallContext, u: User): Record<string, unknown> {
  const full = ctx.token.scope.includes('user') || ctx.token.scope.includes('user_basic');
  return {
    ID: String(u.ID),
    XML_ID: '',
    ACTIVE: u.ACTIVE,
    NAME: u.NAME,
    LAST_NAME: u.LAST_NAME,
    SECOND_NAME: u.SECOND_NAME,
    ...(full ? { EMAIL: u.EMAIL } : {}),
    IS_ONLINE: 'N',
    TIME_ZONE_OFFSET: String(ctx.portal.tzOffsetMinutes * 60),
    PERSONAL_GENDER: u.PERSONAL_GENDER,
    WORK_POSITION: u.WORK_POSITION,
    UF_DEPARTMENT: u.UF_DEPARTMENT,
    USER_TYPE: u.USER_TYPE,
  };
}

function userMatches(u: User, filter: Record<string, unknown>): boolean {
  for (const [rawKey, expected] of Object.entries(filter)) {
    const key = rawKey.replace(/^[=%!<>@]+/, '').toUpperCase();
    const want = String(expected ?? '').toLowerCase();
    const name = `${u.NAME} ${u.LAST_NAME}`.toLowerCase();
    switch (key) {
      case 'ID':
        if (!(Array.isArray(expected) ? expected.map(String) : [String(expected)]).includes(String(u.ID)))
          return false;
        break;
      case 'ACTIVE':
        if (u.ACTIVE !== ['true', 'y', '1'].includes(want)) return false;
        break;
      case 'USER_TYPE':
        if (u.USER_TYPE !== want) return false;
        break;
      case 'UF_DEPARTMENT':
        if (!u.UF_DEPARTMENT.map(String).includes(want)) return false;
        break;
      case 'NAME_SEARCH':
      case 'FIND':
        if (
          !want
            .split(/\s+/)
            .every(
              (w) =>
                name.includes(w) ||
                u.EMAIL.toLowerCase().includes(w) ||
                u.WORK_POSITION.toLowerCase().includes(w),
            )
        )
          return false;
        break;
      case 'NAME':
      case 'LAST_NAME':
      case 'EMAIL':
      case 'WORK_POSITION':
        if (!String(u[key]).toLowerCase().includes(want)) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

function listUsers(ctx: CallContext, params: Params, filter: Record<string, unknown>): unknown {
  const sortBy = str(param(params, 'sort')).toUpperCase() || 'ID';
  const desc = str(param(params, 'order')).toUpperCase() === 'DESC';
  const users = [...ctx.portal.users.values()]
    .filter((u) => u.USER_TYPE === 'employee' || 'USER_TYPE' in filter)
    .filter((u) => userMatches(u, filter))
    .sort((a, b) => {
      const x = (a as unknown as Record<string, unknown>)[sortBy] ?? a.ID;
      const y = (b as unknown as Record<string, unknown>)[sortBy] ?? b.ID;
      return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
    });
  return page(users, param(params, 'start'), (u) => userRow(ctx, u));
}

const USER_LIST_KEYS = new Set(['SORT', 'ORDER', 'START', 'ADMIN_MODE', 'FILTER']);

const KNOWN_EVENTS: Record<string, string | null> = {
  ONAPPINSTALL: null,
  ONAPPUNINSTALL: null,
  ONAPPUPDATE: null,
  ONCRMLEADADD: 'crm',
  ONCRMLEADUPDATE: 'crm',
  ONCRMLEADDELETE: 'crm',
  ONCRMDEALADD: 'crm',
  ONCRMDEALUPDATE: 'crm',
  ONCRMDEALDELETE: 'crm',
  ONCRMDEALMOVETOCATEGORY: 'crm',
  ONCRMTIMELINEITEMACTION: 'crm',
  ONCRMTIMELINECOMMENTADD: 'crm',
  ONCRMACTIVITYADD: 'crm',
};

function robotProperties(raw: unknown): Record<string, RobotProperty> {
  if (raw === undefined || raw === null || raw === '') return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw validation('Wrong properties array!');
  const out: Record<string, RobotProperty> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!/^[a-z][a-z0-9_]*$/i.test(key)) throw validation(`Wrong property key (${key})!`);
    const p: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(asRecord(value)))
      p[k.charAt(0).toUpperCase() + k.slice(1).toLowerCase()] = v;
    if (!p['Name'] || (typeof p['Name'] === 'object' && Object.keys(p['Name']).length === 0))
      throw validation(`Empty property NAME (${key})!`);
    out[key] = {
      Name: p['Name'] as RobotProperty['Name'],
      Type: str(p['Type']) || 'string',
      Required: str(p['Required']) || 'N',
      Multiple: str(p['Multiple']) || 'N',
      Default: p['Default'],
      Options: p['Options'] as Record<string, string> | undefined,
      Description: p['Description'] as RobotProperty['Description'],
    };
  }
  return out;
}

const validation = (text: string) => new RestError(400, 'ERROR_ACTIVITY_VALIDATION_FAILURE', text);

const DOCUMENT_TYPES = [
  ['crm', 'CCrmDocumentLead', 'LEAD'],
  ['crm', 'CCrmDocumentDeal', 'DEAL'],
  ['crm', 'CCrmDocumentContact', 'CONTACT'],
  ['crm', 'CCrmDocumentCompany', 'COMPANY'],
];

function upperKeys(params: Params): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k.toUpperCase(), v]));
}

export const portalMethods: Record<string, MethodSpec> = {
  'app.info': {
    scope: null,
    handler: (ctx) => ({
      ID: 1,
      CODE: ctx.app.code,
      VERSION: ctx.install.version,
      STATUS: 'L',
      INSTALLED: ctx.install.installed,
      PAYMENT_EXPIRED: 'N',
      DAYS: null,
      LANGUAGE_ID: ctx.portal.lang,
      LICENSE: `${ctx.portal.lang}_project`,
      LICENSE_TYPE: 'project',
      LICENSE_FAMILY: 'project',
    }),
  },
  profile: {
    scope: null,
    handler: (ctx) => ({
      ID: String(ctx.user.ID),
      ADMIN: ctx.user.isAdmin,
      NAME: ctx.user.NAME,
      LAST_NAME: ctx.user.LAST_NAME,
      PERSONAL_GENDER: ctx.user.PERSONAL_GENDER,
      PERSONAL_PHOTO: '',
      TIME_ZONE: ctx.portal.lang === 'ru' ? 'Europe/Moscow' : 'UTC',
      TIME_ZONE_OFFSET: ctx.portal.tzOffsetMinutes * 60,
    }),
  },
  // Whether the token's user may manage app settings: true for a portal admin, false for anyone
  // else; any user may call it, no scope beyond basic
  // (https://apidocs.bitrix24.com/api-reference/common/users/user-admin.html).
  'user.admin': { scope: null, handler: (ctx) => ctx.user.isAdmin },
  'user.current': { scope: 'user', handler: (ctx) => userRow(ctx, ctx.user) },
  'user.get': {
    scope: 'user',
    handler: (ctx, params) => {
      const filter = { ...asRecord(param(params, 'FILTER')) };
      for (const [k, v] of Object.entries(params)) if (!USER_LIST_KEYS.has(k.toUpperCase())) filter[k] = v;
      return listUsers(ctx, params, filter);
    },
  },
  'user.search': {
    scope: 'user',
    handler: (ctx, params) => {
      const filter = { ...asRecord(param(params, 'FILTER')) };
      for (const [k, v] of Object.entries(params)) if (!USER_LIST_KEYS.has(k.toUpperCase())) filter[k] = v;
      return listUsers(ctx, params, filter);
    },
  },

  'event.bind': {
    scope: null,
    handler: (ctx, params) => {
      const p = upperKeys(params);
      const event = str(p['EVENT']).toUpperCase();
      const eventType = str(p['EVENT_TYPE']).toLowerCase() || 'online';
      if (!event) throw argumentNull('EVENT');
      if (!['online', 'offline'].includes(eventType))
        throw new RestError(400, 'ERROR_ARGUMENT', 'Value must be one of {online|offline}', {
          argument: 'EVENT_TYPE',
        });
      const scope = KNOWN_EVENTS[event];
      if (scope === undefined || (scope && !ctx.token.scope.includes(scope)))
        throw new RestError(400, 'ERROR_EVENT_NOT_FOUND', 'Event not found');
      const handler = str(p['HANDLER']);
      if (eventType === 'online') {
        if (!handler) throw argumentNull('HANDLER');
        checkHandlerUrl(ctx, handler);
      } else requireAdmin(ctx);
      const authType = Number.parseInt(str(p['AUTH_TYPE']) || '0', 10) || 0;
      if (authType > 0 && authType !== ctx.user.ID && !ctx.user.isAdmin) throw accessDenied();
      const dup = ctx.portal.events.some(
        (e) =>
          e.clientId === ctx.app.clientId &&
          e.event === event &&
          e.handler === handler &&
          e.authType === authType,
      );
      if (dup) throw new RestError(400, 'ERROR_CORE', 'Unable to set event handler: Handler already binded');
      ctx.portal.events.push({
        id: nextId(ctx.portal, 'eventBinding'),
        clientId: ctx.app.clientId,
        event,
        handler,
        authType,
        offline: eventType === 'offline',
      });
      return true;
    },
  },
  'event.unbind': {
    scope: null,
    handler: (ctx, params) => {
      const p = upperKeys(params);
      const event = str(p['EVENT']).toUpperCase();
      if (!event) throw argumentNull('EVENT');
      const handler = str(p['HANDLER']);
      const before = ctx.portal.events.length;
      ctx.portal.events = ctx.portal.events.filter(
        (e) => !(e.clientId === ctx.app.clientId && e.event === event && (!handler || e.handler === handler)),
      );
      return { count: before - ctx.portal.events.length };
    },
  },
  'event.get': {
    scope: null,
    handler: (ctx) =>
      ctx.portal.events
        .filter((e) => e.clientId === ctx.app.clientId)
        .map((e) =>
          e.offline
            ? { event: e.event, connector_id: '', offline: 1 }
            : { event: e.event, handler: e.handler, auth_type: String(e.authType), offline: 0 },
        ),
  },

  'placement.bind': {
    scope: 'placement',
    handler: (ctx, params) => {
      requireAdmin(ctx);
      const p = upperKeys(params);
      const code = str(p['PLACEMENT']).toUpperCase();
      const handler = str(p['HANDLER']);
      if (!code) throw argumentNull('The placement code is not specified');
      if (code === 'DEFAULT')
        throw new RestError(400, 'ERROR_ARGUMENT', 'Wrong value', { argument: 'PLACEMENT' });
      if (!PLACEMENTS.includes(code) || (code.startsWith('CRM_') && !ctx.token.scope.includes('crm')))
        throw new RestError(400, 'ERROR_PLACEMENT_NOT_FOUND', 'Placement not found');
      if (!handler) throw argumentNull('The URL of the placement handler is not specified');
      checkHandlerUrl(ctx, handler);
      const mine = ctx.portal.placements.filter(
        (x) => x.clientId === ctx.app.clientId && x.placement === code,
      );
      if (mine.some((x) => x.handler === handler))
        throw new RestError(400, 'ERROR_CORE', 'Unable to set placement handler: Handler already binded');
      if (code === 'REST_APP_URI' && mine.length > 0)
        throw new RestError(400, 'ERROR_PLACEMENT_MAX_COUNT', 'Placement max count: 1');
      const title = str(p['TITLE']);
      const description = str(p['DESCRIPTION']);
      const langAll: Record<string, { TITLE: string; DESCRIPTION: string; GROUP_NAME: string }> = {};
      for (const [lang, v] of Object.entries(asRecord(p['LANG_ALL']))) {
        const r = upperKeys(asRecord(v));
        langAll[lang] = {
          TITLE: str(r['TITLE']),
          DESCRIPTION: str(r['DESCRIPTION']),
          GROUP_NAME: str(r['GROUP_NAME']),
        };
      }
      ctx.portal.placements.push({
        id: nextId(ctx.portal, 'placement'),
        clientId: ctx.app.clientId,
        placement: code,
        handler,
        title,
        description,
        langAll,
      });
      return true;
    },
  },
  'placement.unbind': {
    scope: 'placement',
    handler: (ctx, params) => {
      requireAdmin(ctx);
      const p = upperKeys(params);
      const code = str(p['PLACEMENT']).toUpperCase();
      if (!code) throw argumentNull('The placement code is not specified');
      const handler = str(p['HANDLER']);
      const found = ctx.portal.placements.filter(
        (x) => x.clientId === ctx.app.clientId && x.placement === code && (!handler || x.handler === handler),
      );
      ctx.portal.placements = ctx.portal.placements.filter((x) => !found.includes(x));
      // Bitrix counts each record it found and again each one it deleted.
      return { count: found.length * 2 };
    },
  },
  'placement.get': {
    scope: 'placement',
    handler: (ctx) =>
      ctx.portal.placements
        .filter((x) => x.clientId === ctx.app.clientId)
        .map((x) => ({
          placement: x.placement,
          userId: 0,
          handler: x.handler,
          options: [],
          title: x.title,
          description: x.description,
          langAll: x.langAll,
        })),
  },
  'placement.list': {
    scope: 'placement',
    handler: (ctx) => PLACEMENTS.filter((c) => !c.startsWith('CRM_') || ctx.token.scope.includes('crm')),
  },

  'bizproc.robot.add': {
    scope: 'bizproc',
    handler: (ctx, params) => {
      requireAdmin(ctx);
      const p = upperKeys(params);
      if (Object.keys(p).length === 0) throw validation('Empty data!');
      const code = str(p['CODE']);
      if (!code) throw validation('Empty activity code!');
      if (!/^[a-z0-9.\-_]+$/i.test(code)) throw validation('Wrong activity code!');
      const name = p['NAME'];
      if (!name || (typeof name === 'object' && Object.keys(name).length === 0))
        throw validation('Empty activity NAME!');
      const handler = str(p['HANDLER']);
      checkHandlerUrl(ctx, handler);
      const properties = robotProperties(p['PROPERTIES']);
      const returnProperties = robotProperties(p['RETURN_PROPERTIES']);
      let documentType: string[] | null = null;
      if (p['DOCUMENT_TYPE'] !== undefined) {
        const dt = Array.isArray(p['DOCUMENT_TYPE']) ? (p['DOCUMENT_TYPE'] as unknown[]).map(str) : [];
        if (!DOCUMENT_TYPES.some((d) => d.join('|') === dt.join('|')))
          throw validation('Wrong activity DOCUMENT_TYPE!');
        documentType = dt;
      }
      if (p['FILTER'] !== undefined && (typeof p['FILTER'] !== 'object' || p['FILTER'] === null))
        throw validation('Wrong activity FILTER!');
      if (ctx.portal.robots.some((r) => r.clientId === ctx.app.clientId && r.code === code)) {
        throw new RestError(400, 'ERROR_ACTIVITY_ALREADY_INSTALLED', 'Activity or Robot already installed!');
      }
      const robot: Robot = {
        clientId: ctx.app.clientId,
        code,
        handler,
        authUserId: Number.parseInt(str(p['AUTH_USER_ID']) || '1', 10) || 1,
        useSubscription: str(p['USE_SUBSCRIPTION']) !== 'N',
        name: name as Robot['name'],
        description: (p['DESCRIPTION'] ?? '') as Robot['description'],
        properties,
        returnProperties,
        documentType,
        filter: p['FILTER'] ?? null,
        usePlacement: str(p['USE_PLACEMENT']) === 'Y',
        placementHandler: str(p['PLACEMENT_HANDLER']),
      };
      ctx.portal.robots.push(robot);
      return true;
    },
  },
  'bizproc.robot.update': {
    scope: 'bizproc',
    handler: (ctx, params) => {
      requireAdmin(ctx);
      const p = upperKeys(params);
      const robot = ctx.portal.robots.find(
        (r) => r.clientId === ctx.app.clientId && r.code === str(p['CODE']),
      );
      if (!robot) throw new RestError(400, 'ERROR_ACTIVITY_NOT_FOUND', 'Activity or Robot not found!');
      const fields = upperKeys(asRecord(p['FIELDS']));
      if (Object.keys(fields).length === 0) throw validation('No fields to update');
      if (fields['HANDLER'] !== undefined) {
        checkHandlerUrl(ctx, str(fields['HANDLER']));
        robot.handler = str(fields['HANDLER']);
      }
      if (fields['NAME'] !== undefined) robot.name = fields['NAME'] as Robot['name'];
      if (fields['PROPERTIES'] !== undefined) robot.properties = robotProperties(fields['PROPERTIES']);
      if (fields['RETURN_PROPERTIES'] !== undefined)
        robot.returnProperties = robotProperties(fields['RETURN_PROPERTIES']);
      if (fields['USE_SUBSCRIPTION'] !== undefined)
        robot.useSubscription = str(fields['USE_SUBSCRIPTION']) !== 'N';
      if (fields['AUTH_USER_ID'] !== undefined) robot.authUserId = Number(fields['AUTH_USER_ID']) || 1;
      return true;
    },
  },
  'bizproc.robot.delete': {
    scope: 'bizproc',
    handler: (ctx, params) => {
      requireAdmin(ctx);
      const code = str(upperKeys(params)['CODE']);
      const robot = ctx.portal.robots.find((r) => r.clientId === ctx.app.clientId && r.code === code);
      if (!robot) throw new RestError(400, 'ERROR_ACTIVITY_NOT_FOUND', 'Activity or Robot not found!');
      ctx.portal.robots = ctx.portal.robots.filter((r) => r !== robot);
      ctx.portal.automation = ctx.portal.automation.filter(
        (r) => !(r.clientId === robot.clientId && r.code === robot.code),
      );
      return true;
    },
  },
  'bizproc.robot.list': {
    scope: 'bizproc',
    handler: (ctx) => {
      requireAdmin(ctx);
      return ctx.portal.robots.filter((r) => r.clientId === ctx.app.clientId).map((r) => r.code);
    },
  },
  'bizproc.event.send': {
    scope: 'bizproc',
    handler: (ctx, params) => {
      const p = upperKeys(params);
      const values = Object.fromEntries(
        Object.entries(asRecord(p['RETURN_VALUES'])).map(([k, v]) => [k, str(v)]),
      );
      if (!ctx.sim.completeRobot(str(p['EVENT_TOKEN']), values, str(p['LOG_MESSAGE']))) throw accessDenied();
      return true;
    },
  },
  'bizproc.activity.log': {
    scope: 'bizproc',
    handler: (ctx, params) => {
      const p = upperKeys(params);
      const token = str(p['EVENT_TOKEN']);
      const text = str(p['LOG_MESSAGE']);
      // Bitrix24's order (bizproc/lib/restservice.php, writeActivityLog): a token the portal never
      // signed is an AccessException; then the message; then the workflow, whose runtime cannot
      // load one that ended and answers with its exception (code 0) as a RestException.
      const state = ctx.sim.robotRunState(token).state;
      if (state === 'unknown') throw accessDenied();
      if (!text) throw new RestError(400, 'ERROR_EMPTY_LOG_MESSAGE', 'Empty log message!');
      if (state === 'finished') throw new RestError(400, '0', 'WorkflowNotFound');
      ctx.sim.logToRobot(token, text);
      return true;
    },
  },

  'im.notify.system.add': { scope: 'im', handler: (ctx, params) => notify(ctx, params) },
  'im.notify.personal.add': { scope: 'im', handler: (ctx, params) => notify(ctx, params) },
};

function notify(ctx: CallContext, params: Params): number | false {
  const p = upperKeys(params);
  const userId = Number.parseInt(str(p['USER_ID']), 10);
  if (!userId) throw new RestError(400, 'USER_ID_EMPTY', "User ID can't be empty");
  const text = str(p['MESSAGE']);
  if (!text) throw new RestError(400, 'MESSAGE_EMPTY', "Message can't be empty");
  if (p['ATTACH'] !== undefined && JSON.stringify(p['ATTACH']).length > 60_000)
    throw new RestError(
      400,
      'ATTACH_OVERSIZE',
      'You have exceeded the maximum allowable size of attachments',
    );
  if (!ctx.portal.users.has(userId)) return false;
  const tag = str(p['TAG']);
  // A tag is unique per app: sending it again replaces the older notification.
  if (tag)
    ctx.portal.notifications = ctx.portal.notifications.filter(
      (n) => !(n.clientId === ctx.app.clientId && n.tag === tag),
    );
  const id = nextId(ctx.portal, 'notification');
  ctx.portal.notifications.push({
    id,
    userId,
    clientId: ctx.app.clientId,
    message: text,
    tag,
    subTag: str(p['SUB_TAG']),
    attach: p['ATTACH'] ?? null,
    at: Date.now(),
  });
  return id;
}
