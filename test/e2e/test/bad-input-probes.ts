/**
 * The generated bad-input set (test/e2e/test/bad-input.test.ts): fast-check arbitraries that each
 * build one request to a public endpoint of the gateway, and the oracle the request must meet.
 *
 * Each arbitrary builds its requests so that the class is known by construction: a `refused`
 * request always carries at least one defect that the endpoint must refuse (a wrong token, another
 * portal's member_id, a broken body, a wrong content type, too many bytes…); a `taken` request is a
 * well-formed forgery made with what a portal's employee holds (the portal's real
 * application_token and their own AUTH_ID), which the gateway takes as Bitrix24's queue expects
 * and which must then change nothing once Bitrix24 has been asked (docs/security.md, «Calls from
 * Bitrix24»).
 */
import fc from 'fast-check';

/**
 * What a request must get:
 * - `refused`: a 4xx, and nothing stored or sent changes;
 * - `taken`: 200 at once (Bitrix24's queue needs it), one message at most on the PORTAL stream,
 *   and once its consumers are done nothing else changes: no table, no hh.ru action, no portal
 *   entity, activity, robot run or notification. A forgery with a field its route's schema refuses
 *   (gateway/src/schemas.ts) may instead get a 400 that names the field, and nothing changes;
 * - `noop`: 200 (or, as for `taken`, a 400 naming a field the schema refuses) and nothing at all
 *   changes (ONAPPINSTALL of a portal we know: stores nothing);
 * - `replay`: 202, nothing changes (hh.ru's own callback delivered again);
 * - `form`: a form of an app page with an error in it: 200 with the form and its error line
 *   (htmx swaps only a 2xx), nothing changes.
 */
export type Oracle = 'refused' | 'taken' | 'noop' | 'replay' | 'form';

/** A body, or a large one described by its size (so that a failure prints the recipe, not megabytes). */
export type Body = string | { prefix: string; fill: string; bytes: number };

export interface Probe {
  /** The endpoint as the per-endpoint split counts it. */
  endpoint: string;
  /** What is wrong with it, in a few words. */
  what: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Body;
  oracle: Oracle;
}

/** What the generators need to know about the world they run against. */
export interface Fixtures {
  mine: PortalFacts;
  theirs: PortalFacts;
  /** A non-admin employee of `mine` with CRM access at the «own» level: their tokens as a page load gets them. */
  employee: { userId: number; accessToken: string; refreshToken: string };
  /** A user of `theirs`. */
  stranger: { accessToken: string; refreshToken: string };
  adminSession: string;
  employeeSession: string;
  publicOrigin: string;
  dealIds: number[];
  activityIds: number[];
  negotiationIds: string[];
  /** hh.ru's genuine callback for `mine`'s account: its path and body. */
  hook: { path: string; accountId: string; mac: string; body: Record<string, unknown> };
  /** Codes hh.ru's login page issued and nobody exchanged. */
  hhCodes: string[];
  /** The app pages' route table (services/settings/src/ui/routes.ts). */
  uiRoutes: ReadonlyArray<{ method: string; path: string; access: string }>;
  staticFiles: string[];
  robotCodes: readonly string[];
  discardWithMessage: string;
}

export interface PortalFacts {
  memberId: string;
  domain: string;
  appToken: string;
  serverEndpoint: string;
}

const FORM = 'application/x-www-form-urlencoded';

export function bodyText(body: Body | undefined): string | undefined {
  if (body === undefined || typeof body === 'string') return body;
  return body.prefix + body.fill.repeat(Math.ceil(body.bytes / body.fill.length)).slice(0, body.bytes);
}

const clip = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

/** How a failing request is printed: enough to send it again by hand. */
export function describe(p: Probe): string {
  const body =
    p.body === undefined
      ? ''
      : typeof p.body === 'string'
        ? ` body=${JSON.stringify(clip(p.body, 400))}`
        : ` body=${JSON.stringify(p.body.prefix)}+${JSON.stringify(p.body.fill)}×${p.body.bytes} bytes`;
  const headers = Object.entries(p.headers)
    .map(([k, v]) => `${k}: ${clip(v, 80)}`)
    .join('; ');
  return `[${p.endpoint} · ${p.oracle} · ${p.what}] ${p.method} ${clip(p.path, 300)} {${headers}}${body}`;
}

const withShow = (p: Probe): Probe => Object.assign(p, { [fc.toStringMethod]: () => describe(p) });

// ---- building blocks -----------------------------------------------------------------------

/** Strings that have broken parsers before. */
const nasty = fc.constantFrom(
  '',
  ' ',
  '%00',
  '\u0000',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "' or '1'='1",
  '${jndi:ldap://x/a}',
  '__proto__',
  '-1',
  '0',
  '1e309',
  'NaN',
  '[]',
  '{}',
  'null',
  'true',
  'Ω≈ç√∫ 𝕏',
  '\r\nSet-Cookie: x=1',
  'a'.repeat(300),
  '%ZZ',
  '+',
  '&',
  '=',
  '9'.repeat(40),
);
export const junk = fc.oneof(
  nasty,
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.stringMatching(/^[0-9a-f]{32}$/),
);

/** PHP-style keys that nest oddly; `roots` limits where they land (a forgery must keep its auth intact). */
export function oddKey(roots: readonly string[]): fc.Arbitrary<string> {
  const fixed = ['[]', '[x]', '&', '=', '%5B', '__proto__[polluted]', 'constructor[prototype][polluted]'];
  return fc.oneof(
    fc.constantFrom(...fixed),
    fc
      .tuple(
        fc.constantFrom(...roots),
        fc.array(
          fc.oneof(
            fc.constant(''),
            fc.constant('['),
            fc.constant(']'),
            fc.constant('__proto__'),
            fc.stringMatching(/^[A-Za-z_]{1,8}$/),
          ),
          { maxLength: 9 },
        ),
      )
      .map(([root, keys]) => root + keys.map((k) => `[${k}]`).join('')),
    fc.constantFrom(...roots).map((r) => `${r}[${'x]['.repeat(60)}y]`),
  );
}

/** `a=1&b[c]=2`, brackets left readable as Bitrix24 writes them. */
export function encodeForm(entries: ReadonlyArray<readonly [string, string]>): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%5B/g, '[').replace(/%5D/g, ']');
  return entries.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

/** A token that is not `real`: made up, mangled, or another portal's. */
function notThe(real: string, others: string[]): fc.Arbitrary<{ value: string; what: string }> {
  return fc.oneof(
    fc.stringMatching(/^[0-9a-f]{32}$/).map((value) => ({ value, what: 'a made-up token' })),
    fc.nat({ max: real.length - 1 }).map((i) => ({
      value: real.slice(0, i) + (real[i] === 'a' ? 'b' : 'a') + real.slice(i + 1),
      what: 'the real token with one character changed',
    })),
    fc.constantFrom(
      { value: '', what: 'an empty token' },
      { value: real.toUpperCase(), what: 'the real token upper-cased' },
      { value: `${real} `, what: 'the real token with a space' },
      { value: real.slice(0, -1), what: 'the real token cut short' },
      { value: `${real}${real}`, what: 'the real token twice' },
      ...others.map((value) => ({ value, what: "another portal's token" })),
    ),
    junk.filter((v) => v !== real).map((value) => ({ value, what: 'a junk token' })),
  );
}

interface Transport {
  what: string;
  contentType?: string;
  headers: Record<string, string>;
  /** Replaces the body: too large, or not a form at all. */
  body?: (form: string) => Body;
  /** Sent as bytes, with no content type at all. */
  noType?: boolean;
}

/** Ways to wrap a request so that it must be refused whatever it says. */
function badTransport(limit: number): fc.Arbitrary<Transport> {
  return fc.oneof(
    fc.integer({ min: limit + 1, max: limit * 3 }).map((bytes) => ({
      what: `a body of ${bytes} bytes (limit ${limit})`,
      contentType: FORM,
      headers: {},
      body: (): Body => ({ prefix: 'x=', fill: 'a', bytes }),
    })),
    fc
      .constantFrom(
        'application/json',
        'multipart/form-data; boundary=x',
        'application/xml',
        'text/plain',
        'text/plain; charset=utf-8',
        'application/octet-stream',
        'application/x-www-form-urlencoded-evil',
        'image/png',
      )
      .map((contentType) => ({ what: `content type ${contentType}`, contentType, headers: {} })),
    fc.constant({ what: 'no content type at all', headers: {}, noType: true }),
    fc.integer({ min: 17_000, max: 60_000 }).map((n) => ({
      what: `a header of ${n} bytes`,
      contentType: FORM,
      headers: { 'x-padding': 'h'.repeat(n) },
    })),
    fc.integer({ min: 17_000, max: 40_000 }).map((n) => ({
      what: `a cookie of ${n} bytes`,
      contentType: FORM,
      headers: { cookie: `c=${'k'.repeat(n)}` },
    })),
    fc.constant({
      what: 'JSON that is not a form',
      contentType: 'application/json',
      headers: {},
      body: (): Body => '{"auth":{"member_id":[1,{"a":null}]},"event":',
    }),
  );
}

/** Headers a real sender may add: harmless, the request is judged on the rest. */
const benignHeaders = fc.oneof(
  fc.constant({}),
  junk.map((v) => ({ 'x-forwarded-for': v })),
  fc
    .integer({ min: 1, max: 60 })
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']))),
  fc.constant({ 'accept-language': 'ru-RU,ru;q=0.9', 'user-agent': 'Bitrix24 Webhook Engine' }),
);

function sendable(headers: Record<string, string>): Record<string, string> {
  // A header value is bytes: fetch refuses line breaks, NUL and what is not Latin-1, so those are sent escaped.
  return Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c))]),
  );
}

function post(
  endpoint: string,
  what: string,
  path: string,
  form: string,
  oracle: Oracle,
  transport?: Transport,
  headers: Record<string, string> = {},
): Probe {
  const t = transport ?? { what: '', contentType: FORM, headers: {} };
  // No form may carry a NUL (gateway/src/app.ts): a forgery that does is refused before it is read.
  const nul = oracle !== 'refused' && oracle !== 'replay' && /%00/.test(form);
  if (nul) {
    oracle = 'refused';
    what = `${what}; a NUL in a field`;
  }
  return withShow({
    endpoint,
    what: t.what ? `${what}; ${t.what}` : what,
    method: 'POST',
    path,
    headers: sendable({
      ...(t.noType || !t.contentType ? {} : { 'content-type': t.contentType }),
      ...headers,
      ...t.headers,
      ...(t.noType ? { 'x-no-content-type': '1' } : {}),
    }),
    body: t.body ? t.body(form) : form,
    oracle,
  });
}

/** A refused request: either its content is wrong (`defect`), or its transport, or both. */
function maybeBadTransport(limit: number): fc.Arbitrary<Transport | undefined> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: badTransport(limit) },
  );
}

const MB = 1024 * 1024;

// ---- Bitrix24 pages: /b24/install, /b24/app, /b24/placement ---------------------------------

type Entries = Array<[string, string]>;

function frameQuery(domain: string | null): string {
  const q = new URLSearchParams({ PROTOCOL: '0', LANG: 'ru', APP_SID: 'a'.repeat(32) });
  if (domain !== null) q.set('DOMAIN', domain);
  return `?${q}`;
}

function frameEntries(fx: Fixtures, o: Partial<Record<string, string>> = {}): Entries {
  const base: Record<string, string> = {
    AUTH_ID: fx.employee.accessToken,
    AUTH_EXPIRES: '3600',
    REFRESH_ID: fx.employee.refreshToken,
    SERVER_ENDPOINT: fx.mine.serverEndpoint,
    APPLICATION_TOKEN: fx.mine.appToken,
    member_id: fx.mine.memberId,
    status: 'L',
    PLACEMENT: 'DEFAULT',
    PLACEMENT_OPTIONS: '{}',
  };
  for (const [k, v] of Object.entries(o)) if (v !== undefined) base[k] = v;
  return Object.entries(base);
}

/** What can be wrong with a page load; each probe has at least one. */
function pageDefects(fx: Fixtures, install: boolean) {
  const defect = fc.oneof(
    notThe(fx.mine.appToken, [fx.theirs.appToken]).map((t) => ({
      what: `APPLICATION_TOKEN: ${t.what}`,
      set: { APPLICATION_TOKEN: t.value },
    })),
    fc.constantFrom(
      { what: "another portal's member_id", set: { member_id: fx.theirs.memberId } },
      { what: 'an unknown member_id', set: { member_id: 'f'.repeat(32) } },
      { what: 'no member_id', set: { member_id: '' } },
      {
        what: "another portal's user's AUTH_ID",
        set: { AUTH_ID: fx.stranger.accessToken, REFRESH_ID: fx.stranger.refreshToken },
      },
      {
        what: 'an AUTH_ID the portal never issued',
        set: { AUTH_ID: 'b'.repeat(32), REFRESH_ID: 'c'.repeat(32) },
      },
      { what: 'no AUTH_ID nor REFRESH_ID', set: { AUTH_ID: '', REFRESH_ID: '' } },
    ),
    junk
      .filter((v) => v !== fx.employee.accessToken)
      .map((v) => ({ what: 'a junk AUTH_ID and REFRESH_ID', set: { AUTH_ID: v, REFRESH_ID: v } })),
    fc.constant({
      what: 'a 100 kB AUTH_ID',
      set: { AUTH_ID: 'a'.repeat(100_000), REFRESH_ID: 'r'.repeat(100_000) },
    }),
  );
  const domainDefect = fc.constantFrom(
    { what: "another portal's DOMAIN", domain: fx.theirs.domain },
    { what: 'DOMAIN of a host nobody allowed', domain: 'evil.example.com' },
    { what: 'DOMAIN with credentials', domain: `user:pass@${fx.mine.domain}` },
    { what: 'DOMAIN with a query', domain: `${fx.mine.domain}?x=1` },
    { what: 'DOMAIN that is a path', domain: '/etc/passwd' },
  );
  const installDefect = fc.constantFrom(
    { what: 'SERVER_ENDPOINT of our own choosing', set: { SERVER_ENDPOINT: 'http://127.0.0.1:1/rest/' } },
    {
      what: 'SERVER_ENDPOINT with credentials',
      set: { SERVER_ENDPOINT: `http://u:p@${new URL(fx.mine.serverEndpoint).host}/oauth-server/rest/` },
    },
    {
      what: 'SERVER_ENDPOINT not ending in /rest/',
      set: { SERVER_ENDPOINT: fx.mine.serverEndpoint.replace(/rest\/$/, 'x/') },
    },
    { what: "a portal employee's own REFRESH_ID (not an admin)", set: {} },
    {
      what: "another portal's member_id with the employee's REFRESH_ID",
      set: { member_id: fx.theirs.memberId },
    },
  );
  return fc
    .record({
      defects: fc.array(defect, { minLength: install ? 0 : 1, maxLength: 3 }),
      domain: install ? fc.option(domainDefect, { nil: null }) : fc.option(domainDefect, { nil: null }),
      installDefect: install ? fc.option(installDefect, { nil: null }) : fc.constant(null),
    })
    .filter((d) => d.defects.length > 0 || d.domain !== null || d.installDefect !== null);
}

function pageProbes(fx: Fixtures, path: '/b24/install' | '/b24/app' | '/b24/placement'): fc.Arbitrary<Probe> {
  const install = path === '/b24/install';
  return fc
    .record({
      d: pageDefects(fx, install),
      placement: fc.oneof(
        fc.constantFrom('DEFAULT', 'CRM_DEAL_DETAIL_TAB', 'CRM_LEAD_DETAIL_TAB', '<script>'),
        junk,
      ),
      options: fc.oneof(
        fc.constantFrom(
          '{}',
          '{"ID":',
          '[1,2]',
          '{"ID":"1 or 1=1"}',
          '{"view":"others","entityTypeId":"2"}',
          'null',
        ),
        fc.json({ maxDepth: 3 }),
        junk,
      ),
      extra: fc.array(
        fc.tuple(oddKey(['member_id', 'AUTH_ID', 'PLACEMENT_OPTIONS', 'x', 'APPLICATION_TOKEN']), junk),
        {
          maxLength: 5,
        },
      ),
      transport: maybeBadTransport(MB),
      headers: benignHeaders,
    })
    .map(({ d, placement, options, extra, transport, headers }) => {
      const set: Record<string, string> = { PLACEMENT: placement, PLACEMENT_OPTIONS: options };
      for (const x of d.defects) Object.assign(set, x.set);
      if (d.installDefect) Object.assign(set, d.installDefect.set);
      const what = [
        ...d.defects.map((x) => x.what),
        ...(d.domain ? [d.domain.what] : []),
        ...(d.installDefect ? [d.installDefect.what] : []),
      ];
      // Odd keys go after the real fields: an array or object where a string was makes that field empty.
      const form = encodeForm([...frameEntries(fx, set), ...extra]);
      const query = frameQuery(d.domain ? d.domain.domain : fx.mine.domain);
      return post(path, what.join(', '), `${path}${query}`, form, 'refused', transport, headers);
    });
}

// ---- Bitrix24's queue: /b24/events, /b24/events/install, /b24/robot --------------------------

function authEntries(
  fx: Fixtures,
  o: { memberId: string; token: string; accessToken: string | null; userId: string; expiresIn: string },
): Entries {
  return [
    ...(o.accessToken !== null
      ? ([
          ['auth[access_token]', o.accessToken],
          ['auth[expires_in]', o.expiresIn],
        ] as Entries)
      : []),
    ['auth[domain]', fx.mine.domain],
    ['auth[server_endpoint]', fx.mine.serverEndpoint],
    ['auth[member_id]', o.memberId],
    ['auth[user_id]', o.userId],
    ['auth[application_token]', o.token],
  ];
}

/** An auth section that must not pass: the token does not belong to the member_id it names. */
function forgedAuth(fx: Fixtures) {
  return fc
    .oneof(
      notThe(fx.mine.appToken, [fx.theirs.appToken]).map((t) => ({
        memberId: fx.mine.memberId,
        token: t.value,
        what: t.what,
      })),
      fc.constantFrom(
        {
          memberId: fx.theirs.memberId,
          token: fx.mine.appToken,
          what: "this portal's token for another member_id",
        },
        {
          memberId: 'e'.repeat(32),
          token: fx.mine.appToken,
          what: "an unknown member_id with this portal's token",
        },
        { memberId: '', token: fx.mine.appToken, what: "no member_id, this portal's token" },
      ),
      junk.map((memberId) => ({ memberId, token: fx.mine.appToken, what: 'a junk member_id' })),
    )
    .chain((a) =>
      fc
        .record({
          accessToken: fc.option(
            fc.constantFrom(fx.employee.accessToken, fx.stranger.accessToken, 'z'.repeat(32)),
            {
              nil: null,
            },
          ),
          userId: fc.oneof(fc.constantFrom('1', '2', '3', '0', '-1'), junk),
          expiresIn: fc.oneof(fc.constant('3600'), junk),
        })
        .map((u) => ({ ...a, ...u })),
    );
}

/** The auth of a well-formed forgery: this portal's real token and member_id, an employee's own AUTH_ID or none, any user_id. */
function employeeAuth(fx: Fixtures) {
  return fc.record({
    memberId: fc.constant(fx.mine.memberId),
    token: fc.constant(fx.mine.appToken),
    accessToken: fc.option(
      fc.oneof(
        fc.constant(fx.employee.accessToken),
        fc.constant(fx.stranger.accessToken),
        fc.stringMatching(/^[0-9a-f]{32}$/),
      ),
      { nil: null },
    ),
    userId: fc.oneof(fc.constantFrom('1', '3', '0', '-1', '999'), junk),
    expiresIn: fc.oneof(fc.constantFrom('3600', '1', '0', '-5', '99999999999', ''), junk),
  });
}

const EVENT_NAMES = [
  'ONAPPUNINSTALL',
  'ONCRMTIMELINEITEMACTION',
  'ONCRMDEALUPDATE',
  'ONCRMLEADUPDATE',
  'ONAPPINSTALL',
  'onappuninstall',
  'ONCRMDEALADD',
];

function eventData(fx: Fixtures): fc.Arbitrary<Entries> {
  const id = fc.oneof(
    fc.constantFrom(...fx.dealIds.map(String)),
    fc.integer({ min: -5, max: 100_000 }).map(String),
    junk,
  );
  return fc.oneof(
    // «Другие отклики» on one of our activities, or on something else.
    fc
      .record({
        activityId: fc.oneof(fc.constantFrom(...fx.activityIds.map(String)), id),
        action: fc.oneof(fc.constant('others'), fc.constant('resume'), junk),
        entityTypeId: fc.oneof(fc.constantFrom('1', '2', '3'), junk),
        entityId: id,
      })
      .map((d): Entries => [
        ['data[activityId]', d.activityId],
        ['data[id]', d.action],
        ['data[entityTypeId]', d.entityTypeId],
        ['data[entityId]', d.entityId],
      ]),
    // A stage move of a deal or lead.
    fc
      .record({ id, stage: fc.option(fc.oneof(fc.constantFrom('NEW', 'EXECUTING', 'LOSE', 'WON'), junk)) })
      .map((d): Entries => [
        ['data[FIELDS][ID]', d.id],
        ...(d.stage !== null ? ([['data[FIELDS][STAGE_ID]', d.stage]] as Entries) : []),
      ]),
    // An uninstall, clean or not.
    fc.oneof(fc.constantFrom('1', '0', 'Y', ''), junk).map((c): Entries => [['data[CLEAN]', c]]),
    fc.constant([] as Entries),
  );
}

function eventCommon(fx: Fixtures) {
  return fc.record({
    data: eventData(fx),
    extra: fc.array(fc.tuple(oddKey(['data', 'x', 'properties']), junk), { maxLength: 5 }),
    handler: fc.oneof(fc.constantFrom('1', '99'), junk),
    ts: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }).map(String), junk),
    headers: benignHeaders,
  });
}

/** /b24/events: forgeries that must be refused at once. */
function eventsRefused(fx: Fixtures): fc.Arbitrary<Probe> {
  const forged = fc
    .record({
      event: fc.oneof(fc.constantFrom(...EVENT_NAMES), junk),
      auth: forgedAuth(fx),
      c: eventCommon(fx),
      transport: maybeBadTransport(MB),
    })
    .map(({ event, auth, c, transport }) =>
      post(
        '/b24/events',
        `${event.slice(0, 30)} with ${auth.what}`,
        '/b24/events',
        encodeForm([
          ['event', event],
          ['event_handler_id', c.handler],
          ['ts', c.ts],
          ...c.data,
          ...authEntries(fx, auth),
          ...c.extra,
        ]),
        'refused',
        transport,
        c.headers,
      ),
    );
  // With this portal's real token: an uninstall the portal does not confirm (403), or a body that is not a form.
  const uninstall = fc
    .record({
      auth: employeeAuth(fx),
      c: eventCommon(fx),
      clean: fc.oneof(fc.constantFrom('1', '0', ''), junk),
    })
    .map(({ auth, c, clean }) =>
      post(
        '/b24/events',
        `ONAPPUNINSTALL (CLEAN=${JSON.stringify(clean.slice(0, 10))}) with the real application_token, user_id ${auth.userId.slice(0, 10)}`,
        '/b24/events',
        encodeForm([
          ['event', 'ONAPPUNINSTALL'],
          ['event_handler_id', c.handler],
          ['ts', c.ts],
          ['data[CLEAN]', clean],
          ...authEntries(fx, auth),
          ...c.extra,
        ]),
        'refused',
        undefined,
        c.headers,
      ),
    );
  const wrapped = fc
    .record({
      event: fc.constantFrom(...EVENT_NAMES),
      auth: employeeAuth(fx),
      c: eventCommon(fx),
      transport: badTransport(MB),
    })
    .map(({ event, auth, c, transport }) =>
      post(
        '/b24/events',
        `${event} with the real application_token`,
        '/b24/events',
        encodeForm([['event', event], ...c.data, ...authEntries(fx, auth)]),
        'refused',
        transport,
        c.headers,
      ),
    );
  const garbage = fc
    .oneof(
      fc.constantFrom(
        '',
        'auth[member_id][[]=1&auth]=2&data[FIELDS[ID]=3&%%%',
        '&&&===&',
        `auth=${fx.mine.appToken}`,
        'auth[application_token]',
      ),
      fc.string({ maxLength: 200 }),
      fc.array(fc.tuple(oddKey(['auth', 'data', 'event']), junk), { maxLength: 20 }).map(encodeForm),
    )
    .map((body) => post('/b24/events', 'a body that is no event', '/b24/events', body, 'refused'));
  return fc.oneof(forged, uninstall, wrapped, garbage);
}

/** /b24/events: well-formed forgeries with the real application_token, taken and then confirmed with the portal. */
function eventsTaken(fx: Fixtures): fc.Arbitrary<Probe> {
  return fc
    .record({
      event: fc.oneof(
        {
          weight: 4,
          arbitrary: fc.constantFrom('ONCRMTIMELINEITEMACTION', 'ONCRMDEALUPDATE', 'ONCRMLEADUPDATE'),
        },
        {
          weight: 1,
          arbitrary: fc.oneof(fc.constantFrom('ONCRMDEALADD', 'ONAPPINSTALL', 'ONUNKNOWN'), junk),
        },
      ),
      auth: employeeAuth(fx),
      c: eventCommon(fx),
    })
    .filter(({ event }) => event.toUpperCase() !== 'ONAPPUNINSTALL')
    .map(({ event, auth, c }) =>
      post(
        '/b24/events',
        `${event.slice(0, 30)} forged with the real application_token, ${
          auth.accessToken === fx.employee.accessToken
            ? "the employee's own AUTH_ID"
            : auth.accessToken === null
              ? 'no access_token'
              : 'an access_token not of this portal'
        }, auth[user_id]=${JSON.stringify(auth.userId.slice(0, 10))}`,
        '/b24/events',
        encodeForm([
          ['event', event],
          ['event_handler_id', c.handler],
          ['ts', c.ts],
          ...c.data,
          ...authEntries(fx, auth),
          ...c.extra,
        ]),
        'taken',
        undefined,
        c.headers,
      ),
    );
}

/** /b24/events/install (ONAPPINSTALL): refused unless it names a portal we know with its token; then it stores nothing. */
function installEvent(fx: Fixtures): fc.Arbitrary<Probe> {
  const refused = fc
    .record({
      auth: forgedAuth(fx),
      transport: maybeBadTransport(MB),
      extra: fc.array(fc.tuple(oddKey(['auth', 'data']), junk), { maxLength: 4 }),
    })
    .map(({ auth, transport, extra }) =>
      post(
        '/b24/events/install',
        `ONAPPINSTALL with ${auth.what}`,
        '/b24/events/install',
        encodeForm([['event', 'ONAPPINSTALL'], ...authEntries(fx, auth), ...extra]),
        'refused',
        transport,
      ),
    );
  const known = fc
    .record({
      auth: employeeAuth(fx),
      extra: fc.array(fc.tuple(oddKey(['data', 'x']), junk), { maxLength: 4 }),
    })
    .map(({ auth, extra }) =>
      post(
        '/b24/events/install',
        'ONAPPINSTALL forged with the real application_token',
        '/b24/events/install',
        encodeForm([['event', 'ONAPPINSTALL'], ['data[VERSION]', '1'], ...authEntries(fx, auth), ...extra]),
        'noop',
      ),
    );
  return fc.oneof({ weight: 3, arbitrary: refused }, { weight: 1, arbitrary: known });
}

function robotEntries(
  fx: Fixtures,
  r: { code: string; doc: string; token: string; action: string; message: string; workflow: string },
): Entries {
  const type = r.doc.startsWith('LEAD') ? 'CCrmDocumentLead' : 'CCrmDocumentDeal';
  return [
    ['workflow_id', r.workflow],
    ['code', r.code],
    ['document_id[0]', 'crm'],
    ['document_id[1]', type],
    ['document_id[2]', r.doc],
    ['document_type[0]', 'crm'],
    ['document_type[1]', type],
    ['document_type[2]', r.doc.split('_')[0] ?? ''],
    ['event_token', r.token],
    ['properties[action]', r.action],
    ['properties[message]', r.message],
    ['use_subscription', 'Y'],
    ['ts', '1700000000'],
  ];
}

function robotFields(fx: Fixtures, known: boolean) {
  const docId = fc.oneof(fc.constantFrom(...fx.dealIds), fc.integer({ min: 1, max: 100_000 }));
  return fc.record({
    code: known
      ? fc.constantFrom(...fx.robotCodes)
      : fc
          .oneof(fc.constantFrom('rm -rf', 'HH_STATUS_CHANGE', ''), junk)
          .filter((c) => !fx.robotCodes.includes(c)),
    doc: known
      ? fc.tuple(fc.constantFrom('DEAL', 'LEAD'), docId).map(([t, id]) => `${t}_${id}`)
      : fc.oneof(fc.constantFrom('CONTACT_1', 'DEAL_', 'DEAL_-1', 'deal_1', 'DEAL_1 '), junk),
    // A made-up event_token: what Bitrix24's look like, or anything.
    token: fc.oneof(
      fc
        .tuple(
          fc.stringMatching(/^[0-9a-f]{13}$/),
          fc.stringMatching(/^[0-9]{8}$/),
          fc.stringMatching(/^[A-Za-z0-9]{8}$/),
          fc.stringMatching(/^[A-Za-z0-9]{40}$/),
        )
        .map(([a, b, c, d]) => `${a}.${b}|${c}|${d}`),
      fc.constantFrom('', 'e'.repeat(20)),
      junk,
    ),
    action: fc.oneof(fc.constantFrom(fx.discardWithMessage, 'invite', 'discard', 'interview', 'offer'), junk),
    message: fc.oneof(fc.constant('Вы нам не подходите'), junk),
    workflow: fc.oneof(fc.stringMatching(/^[0-9a-f]{8,24}$/), junk),
  });
}

function robotRefused(fx: Fixtures): fc.Arbitrary<Probe> {
  const forged = fc
    .record({
      auth: forgedAuth(fx),
      r: robotFields(fx, true),
      transport: maybeBadTransport(MB),
      headers: benignHeaders,
    })
    .map(({ auth, r, transport, headers }) =>
      post(
        '/b24/robot',
        `${r.code} with ${auth.what}`,
        '/b24/robot',
        encodeForm([...robotEntries(fx, r), ...authEntries(fx, auth)]),
        'refused',
        transport,
        headers,
      ),
    );
  const unknown = fc
    .record({ auth: employeeAuth(fx), r: robotFields(fx, false) })
    .map(({ auth, r }) =>
      post(
        '/b24/robot',
        `the real application_token, robot ${JSON.stringify(r.code.slice(0, 20))} on ${JSON.stringify(r.doc.slice(0, 20))}`,
        '/b24/robot',
        encodeForm([...robotEntries(fx, r), ...authEntries(fx, auth)]),
        'refused',
      ),
    );
  const wrapped = fc
    .record({ auth: employeeAuth(fx), r: robotFields(fx, true), transport: badTransport(MB) })
    .map(({ auth, r, transport }) =>
      post(
        '/b24/robot',
        'a robot call with the real application_token',
        '/b24/robot',
        encodeForm([...robotEntries(fx, r), ...authEntries(fx, auth)]),
        'refused',
        transport,
      ),
    );
  return fc.oneof(forged, unknown, wrapped);
}

function robotTaken(fx: Fixtures): fc.Arbitrary<Probe> {
  return fc
    .record({
      auth: employeeAuth(fx),
      r: robotFields(fx, true),
      extra: fc.array(fc.tuple(oddKey(['properties', 'x', 'data']), junk), { maxLength: 4 }),
      headers: benignHeaders,
    })
    .map(({ auth, r, extra, headers }) =>
      post(
        '/b24/robot',
        `${r.code} on ${r.doc} forged with the real application_token and a made-up event_token (action ${JSON.stringify(r.action.slice(0, 20))})`,
        '/b24/robot',
        encodeForm([...robotEntries(fx, r), ...authEntries(fx, auth), ...extra]),
        'taken',
        undefined,
        headers,
      ),
    );
}

// ---- the app pages' own requests: /ui/* ------------------------------------------------------

function uiProbes(fx: Fixtures): fc.Arbitrary<Probe> {
  const route = fc.constantFrom(...fx.uiRoutes);
  const known = new Set(fx.uiRoutes.map((r) => r.path));
  const sessionDefect = fc.oneof(
    fc.constant({ what: 'no session', value: null as string | null }),
    fc
      .nat({ max: fx.adminSession.length - 1 })
      .map((i) => ({
        what: "the admin's session with one character changed",
        value:
          fx.adminSession.slice(0, i) +
          (fx.adminSession[i] === 'A' ? 'B' : 'A') +
          fx.adminSession.slice(i + 1),
      }))
      .filter((s) => s.value !== fx.adminSession),
    fc.constantFrom(
      {
        what: 'a session with a made-up signature',
        value: `${fx.adminSession.split('.')[0]}.${'A'.repeat(43)}`,
      },
      { what: 'a session with no signature', value: fx.adminSession.split('.')[0]! },
      { what: 'a 100 kB session', value: 'x'.repeat(100_000) },
    ),
    junk.map((value) => ({ what: 'a junk session', value })),
  );
  const noSession = fc
    .record({
      r: route,
      s: sessionDefect,
      where: fc.constantFrom('header', 'field'),
      form: fc.array(
        fc.tuple(fc.oneof(fc.constantFrom('negotiationId', 'entityType', 'message', 'action'), junk), junk),
        {
          maxLength: 5,
        },
      ),
      transport: maybeBadTransport(MB),
    })
    .map(({ r, s, where, form, transport }) => {
      const headers: Record<string, string> = { origin: fx.publicOrigin };
      const entries: Entries = [...form];
      if (s.value !== null) {
        if (where === 'header' || r.method === 'GET') headers['x-hhb24-session'] = s.value;
        else entries.push(['_session', s.value]);
      }
      const what = `${r.method} ${r.path} with ${s.what}`;
      if (r.method === 'GET')
        return withShow({
          endpoint: '/ui/*',
          what,
          method: 'GET',
          path: `/ui/${r.path}?${encodeForm(entries)}`,
          headers: sendable(headers),
          oracle: 'refused',
        });
      return post('/ui/*', what, `/ui/${r.path}`, encodeForm(entries), 'refused', transport, headers);
    });
  const session = fc.constantFrom(
    { who: 'the admin', value: fx.adminSession },
    { who: 'an employee', value: fx.employeeSession },
  );
  // A real session, but posted from another origin (CSRF): refused before anything is read.
  const crossOrigin = fc
    .record({
      r: route.filter((r) => r.method === 'POST'),
      s: session,
      origin: fc.oneof(
        fc.constantFrom(
          'https://evil.example.com',
          'null',
          `${fx.publicOrigin}.evil.com`,
          fx.publicOrigin.replace('http:', 'https:'),
        ),
        fc.webUrl().filter((u) => new URL(u).origin !== fx.publicOrigin),
      ),
    })
    .map(({ r, s, origin }) =>
      post(
        '/ui/*',
        `POST ${r.path} as ${s.who} from origin ${origin}`,
        `/ui/${r.path}`,
        '',
        'refused',
        undefined,
        {
          origin: origin.replace(/[\r\n]/g, ''),
          'x-hhb24-session': s.value,
        },
      ),
    );
  // A real session, a route that is not in the table.
  const badRoute = fc
    .record({
      s: session,
      method: fc.constantFrom('GET', 'POST'),
      route: fc.oneof(
        fc.constantFrom(
          '..%2f..%2fetc%2fpasswd',
          '%2e%2e/%2e%2e/package.json',
          'TAB/AUTH',
          'tab/auth/',
          'tab//auth',
          'a/b/c/d/e',
          'tab/auth.json',
          'tab/auth%00',
          '',
        ),
        fc.stringMatching(/^[a-z0-9-]{1,12}(\/[a-z0-9-]{1,12}){0,2}$/).filter((p) => !known.has(p)),
        junk.map(encodeURIComponent),
      ),
    })
    .map(({ s, method, route }) =>
      withShow({
        endpoint: '/ui/*',
        what: `${method} an unknown route as ${s.who}`,
        method,
        path: `/ui/${route}`,
        headers: {
          origin: fx.publicOrigin,
          'x-hhb24-session': s.value,
          ...(method === 'POST' ? { 'content-type': FORM } : {}),
        },
        body: method === 'POST' ? '' : undefined,
        oracle: 'refused',
      }),
    );
  // What only an admin may do, asked by an employee; the resume PDF of a response the session was not opened on.
  const notAllowed = fc.oneof(
    fc.constantFrom('GET', 'POST').map((method) =>
      withShow({
        endpoint: '/ui/*',
        what: `${method} install/run as an employee`,
        method,
        path: '/ui/install/run',
        headers: {
          origin: fx.publicOrigin,
          'x-hhb24-session': fx.employeeSession,
          ...(method === 'POST' ? { 'content-type': FORM } : {}),
        },
        body: method === 'POST' ? '' : undefined,
        oracle: 'refused' as const,
      }),
    ),
    fc
      .record({
        s: session,
        id: fc.oneof(
          fc.constantFrom(...fx.negotiationIds),
          fc.constantFrom('', '../1', '1'.repeat(65), '<x>'),
          junk,
        ),
      })
      .filter(({ s, id }) => !(s.value === fx.adminSession && fx.negotiationIds.includes(id)))
      .map(({ s, id }) =>
        post(
          '/ui/*',
          `card/pdf of ${JSON.stringify(id.slice(0, 20))} as ${s.who} (no card opened)`,
          '/ui/card/pdf',
          encodeForm([['negotiationId', id]]),
          'refused',
          undefined,
          {
            origin: fx.publicOrigin,
            'x-hhb24-session': s.value,
          },
        ),
      ),
  );
  // A form with an error in it, from the admin's page: shown again with its error line, nothing saved.
  const badForms = fc.oneof(
    fc
      .record({
        entityType: fc
          .oneof(fc.constantFrom('contact', 'LEAD', ''), junk)
          .filter((v) => v !== 'lead' && v !== 'deal'),
        responsible: fc.oneof(fc.constantFrom('0', '-1', 'abc', ''), junk),
        rest: fc.array(
          fc.tuple(
            fc.oneof(
              fc.constantFrom(
                'categoryId',
                'sourceId',
                'stageForResponse',
                'extendedSync',
                'stageByState[offer]',
                'action',
              ),
              junk,
            ),
            junk,
          ),
          { maxLength: 6 },
        ),
      })
      .map(({ entityType, responsible, rest }) =>
        post(
          '/ui/*',
          `settings/save as the admin with entityType ${JSON.stringify(entityType.slice(0, 12))}`,
          '/ui/settings/save',
          encodeForm([['entityType', entityType], ['responsibleUserId', responsible], ...rest]),
          'form',
          undefined,
          { origin: fx.publicOrigin, 'x-hhb24-session': fx.adminSession },
        ),
      ),
    fc
      .record({
        s: session,
        message: fc.oneof(
          fc.constantFrom('', '   ', '\n'),
          fc.integer({ min: 5001, max: 20_000 }).map((n) => 'м'.repeat(n)),
        ),
        contact: junk,
      })
      .map(({ s, message, contact }) =>
        post(
          '/ui/*',
          `feedback/send as ${s.who} with a message of ${message.length} characters`,
          '/ui/feedback/send',
          encodeForm([
            ['message', message],
            ['contact', contact],
          ]),
          'form',
          undefined,
          { origin: fx.publicOrigin, 'x-hhb24-session': s.value },
        ),
      ),
  );
  return fc.oneof(
    { weight: 5, arbitrary: noSession },
    { weight: 2, arbitrary: crossOrigin },
    { weight: 2, arbitrary: badRoute },
    { weight: 1, arbitrary: notAllowed },
    { weight: 1, arbitrary: badForms },
  );
}

/**
 * What changes the app (the route table's `manage` routes, the hh.ru login) asked by an employee who
 * is no admin and not named among those who may manage it, with their own real session and a
 * well-formed form: 403, nothing done. And those routes asked with a GET by anyone, the admin too:
 * 405, a GET changes nothing (docs/security.md, «Who may change what»).
 */
function manageProbes(fx: Fixtures): fc.Arbitrary<Probe> {
  const manage = fx.uiRoutes.filter((r) => r.access === 'manage');
  const stages = [
    'response',
    'consider',
    'phone_interview',
    'assessment',
    'interview',
    'offer',
    'hired',
    'discard',
  ];
  const validSettings = fc
    .record({
      entityType: fc.constantFrom('deal', 'lead'),
      action: fc.constantFrom('save', 'import'),
      extended: fc.boolean(),
      twoWay: fc.boolean(),
      manager: fc.option(fc.constantFrom(String(fx.employee.userId), '3'), { nil: null }),
    })
    .map((v): Entries => [
      ['responsibleUserId', '1'],
      ['entityType', v.entityType],
      ['categoryId', '0'],
      ['sourceId', 'WEB'],
      ['stageForResponse', v.entityType === 'deal' ? 'NEW' : 'NEW'],
      ['stageForInvitation', v.entityType === 'deal' ? 'PREPARATION' : 'IN_PROCESS'],
      ...(v.extended ? ([['extendedSync', 'on']] as Entries) : []),
      ...stages.map((st): [string, string] => [`stageByState.${st}`, 'NEW']),
      ...(v.twoWay
        ? ([
            ['twoWayStatus', 'on'],
            ['twoWayDiscard', 'on'],
          ] as Entries)
        : []),
      // The employee naming themselves among those who may manage the app.
      ...(v.manager !== null ? ([['managerIds', v.manager]] as Entries) : []),
      ['action', v.action],
    ]);
  const formFor = (path: string): fc.Arbitrary<Entries> =>
    path === 'settings/save'
      ? validSettings
      : fc.oneof(
          fc.constant([] as Entries),
          fc.constantFrom(...fx.negotiationIds).map((id): Entries => [
            ['negotiationId', id],
            ['id', id],
          ]),
          fc.constant([['repair', '1']] as Entries),
        );
  const byEmployee = fc
    .constantFrom(...manage)
    .chain((r) => formFor(r.path).map((form) => ({ r, form })))
    .map(({ r, form }) =>
      post(
        '/ui/* (manage)',
        `POST ${r.path} by an employee who is no admin, with their own session and a well-formed form`,
        `/ui/${r.path}`,
        encodeForm(form),
        'refused',
        undefined,
        { origin: fx.publicOrigin, 'x-hhb24-session': fx.employeeSession },
      ),
    );
  const asGet = fc
    .record({
      r: fc.constantFrom(...manage),
      who: fc.constantFrom(
        { who: 'the admin', value: fx.adminSession },
        { who: 'an employee', value: fx.employeeSession },
      ),
      form: fc.array(fc.tuple(fc.constantFrom('action', 'negotiationId', 'entityType'), junk), {
        maxLength: 3,
      }),
    })
    .map(({ r, who, form }) =>
      withShow({
        endpoint: '/ui/* (manage)',
        what: `GET ${r.path} as ${who.who}: a GET changes nothing`,
        method: 'GET',
        path: `/ui/${r.path}?${encodeForm(form)}`,
        headers: { origin: fx.publicOrigin, 'x-hhb24-session': who.value },
        oracle: 'refused',
      }),
    );
  const login = fc
    .constant(null)
    .map(() =>
      post(
        '/ui/* (manage)',
        '«Войти» on hh.ru by an employee who is no admin, with their own session',
        '/hh/oauth/start',
        encodeForm([['_session', fx.employeeSession]]),
        'refused',
      ),
    );
  return fc.oneof(
    { weight: 4, arbitrary: byEmployee },
    { weight: 2, arbitrary: asGet },
    { weight: 1, arbitrary: login },
  );
}

// ---- the hh.ru login and hh.ru's webhooks ---------------------------------------------------

function oauthStart(fx: Fixtures): fc.Arbitrary<Probe> {
  return fc
    .record({
      session: fc.oneof(
        fc.constant(null),
        fc.constantFrom(`${fx.adminSession.split('.')[0]}.${'A'.repeat(43)}`, 'abc.def', 'x'.repeat(10_000)),
        junk,
      ),
      transport: maybeBadTransport(MB),
      method: fc.constantFrom('POST', 'POST', 'POST', 'GET'),
    })
    .map(({ session, transport, method }) => {
      const form = session === null ? '' : encodeForm([['_session', session]]);
      const what = session === null ? 'no session' : 'a session that is not ours';
      if (method === 'GET')
        return withShow({
          endpoint: '/hh/oauth/start',
          what: `GET: ${what}`,
          method,
          path: `/hh/oauth/start?${form}`,
          headers: {},
          oracle: 'refused',
        });
      return post('/hh/oauth/start', what, '/hh/oauth/start', form, 'refused', transport);
    });
}

function oauthCallback(fx: Fixtures): fc.Arbitrary<Probe> {
  const state = fc.oneof(
    fc.constant(null),
    fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/),
    fc.constantFrom('short', 'A'.repeat(65), 'a b c d e f g h i j', '../../../../x'),
    junk,
  );
  return fc
    .record({
      state,
      second: fc.option(state, { nil: null }),
      code: fc.oneof(
        fc.constant(null),
        fc.constantFrom(...fx.hhCodes),
        fc.constantFrom('c'.repeat(8000), 'Ω'),
        junk,
      ),
      error: fc.option(fc.oneof(fc.constantFrom('access_denied', 'server_error'), junk), { nil: null }),
      cookie: fc.constantFrom('none', 'same', 'other'),
      arrays: fc.boolean(),
    })
    .map(({ state, second, code, error, cookie, arrays }) => {
      const q = new URLSearchParams();
      if (state !== null) q.append('state', state);
      if (second !== null) q.append('state', second);
      if (code !== null) q.append(arrays ? 'code[]' : 'code', code);
      if (error !== null) q.append('error', error);
      const headers: Record<string, string> = {};
      if (cookie === 'same' && state !== null)
        headers['cookie'] = `hhb24-hh-state=${encodeURIComponent(state)}`;
      if (cookie === 'other') headers['cookie'] = `hhb24-hh-state=${'Z'.repeat(32)}`;
      return withShow({
        endpoint: '/hh/oauth/callback',
        what: `state ${state === null ? 'missing' : 'nobody issued'}${code !== null && fx.hhCodes.includes(code) ? ', a real code' : ''}${error ? `, error=${error.slice(0, 12)}` : ''}`,
        method: 'GET',
        path: `/hh/oauth/callback?${q}`,
        headers: sendable(headers),
        oracle: 'refused',
      });
    });
}

function webhookProbes(fx: Fixtures): fc.Arbitrary<Probe> {
  const base = fx.hook.path.slice(0, fx.hook.path.lastIndexOf('/') + 1);
  const genuine = JSON.stringify(fx.hook.body);
  const json = 'application/json';
  const wellFormed = fc
    .record({
      id: fc.stringMatching(/^[a-z0-9-]{8,36}$/),
      action: fc.constantFrom(
        'NEW_NEGOTIATION_VACANCY',
        'NEGOTIATION_EMPLOYER_STATE_CHANGE',
        'NEW_RESPONSE_OR_INVITATION_VACANCY',
      ),
    })
    .map(({ id, action }) => JSON.stringify({ ...fx.hook.body, id, action_type: action }));
  // Whatever the body, a path whose HMAC is not ours: 404, nothing read.
  const wrongMac = fc
    .record({
      token: fc.oneof(
        fc
          .stringMatching(/^[0-9a-f]{64}$/)
          .map((m) => ({ t: `${fx.hook.accountId}.${m}`, what: 'the right account, a made-up HMAC' })),
        fc.nat({ max: fx.hook.mac.length - 1 }).map((i) => ({
          t: `${fx.hook.accountId}.${fx.hook.mac.slice(0, i)}${fx.hook.mac[i] === '0' ? '1' : '0'}${fx.hook.mac.slice(i + 1)}`,
          what: 'the real HMAC with one digit changed',
        })),
        fc
          .uuid()
          .map((u) => ({ t: `${u}.${fx.hook.mac}`, what: "another account with this account's HMAC" })),
        fc.constantFrom(
          { t: fx.hook.accountId, what: 'no HMAC' },
          { t: `${fx.hook.accountId}.`, what: 'an empty HMAC' },
          { t: `${fx.hook.accountId}.${fx.hook.mac.toUpperCase()}`, what: 'the HMAC upper-cased' },
          { t: `${fx.hook.accountId}.${fx.hook.mac}0`, what: 'the HMAC one digit longer' },
          { t: `${fx.hook.accountId}.${fx.hook.mac}.${fx.hook.mac}`, what: 'two HMACs' },
          { t: '%2e%2e%2f%2e%2e%2fb24%2fevents', what: 'a path in the token' },
          { t: 'x'.repeat(5000), what: 'a 5000-character token' },
        ),
        junk.map((j) => ({ t: encodeURIComponent(j), what: 'a junk token' })),
      ),
      body: fc.oneof(fc.constant(genuine), wellFormed, junk),
    })
    .map(({ token, body }) =>
      withShow({
        endpoint: '/hh/webhook',
        what: token.what,
        method: 'POST',
        path: `${base}${token.t}`,
        headers: { 'content-type': json },
        body,
        oracle: 'refused',
      }),
    );
  // The real path (as if someone read it off a log): a body that is not hh.ru's callback.
  const field = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.integer(),
    fc.constant([]),
    fc.constant({}),
    fc.constantFrom(
      '',
      'a b',
      'i'.repeat(201),
      "x'; drop table",
      'ÿ',
      'new_negotiation_vacancy',
      'A'.repeat(81),
    ),
  );
  const badShape = fc
    .record({
      which: fc.constantFrom('id', 'action_type', 'payload'),
      value: field,
      extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    })
    // Only values the gateway's format refuses (gateway/src/hh-webhook.ts): a valid id on the signed path is a real callback.
    .filter(({ which, value }) =>
      which === 'id'
        ? !(typeof value === 'string' && /^[\w.:-]{1,200}$/.test(value))
        : which === 'action_type'
          ? !(typeof value === 'string' && /^[A-Z_]{1,80}$/.test(value))
          : !(value !== null && typeof value === 'object' && !Array.isArray(value)),
    )
    .map(({ which, value, extra }) =>
      withShow({
        endpoint: '/hh/webhook',
        what: `the real path, ${which} = ${JSON.stringify(value) ?? 'missing'}`,
        method: 'POST',
        path: fx.hook.path,
        headers: { 'content-type': json },
        body: JSON.stringify({ ...extra, ...fx.hook.body, id: 'probe-1', [which]: value }),
        oracle: 'refused',
      }),
    );
  const broken = fc
    .oneof(
      fc.constantFrom(
        '{"id": "1", "payload": {',
        '',
        'null',
        '[]',
        '"x"',
        '1',
        '{"__proto__":{"polluted":1}}',
        genuine.slice(0, -1),
      ),
      fc.string({ maxLength: 100 }).filter((s) => {
        try {
          const v = JSON.parse(s) as unknown;
          return typeof v !== 'object' || v === null || Array.isArray(v);
        } catch {
          return true;
        }
      }),
    )
    .map((body) =>
      withShow({
        endpoint: '/hh/webhook',
        what: 'the real path, a body that is no callback',
        method: 'POST',
        path: fx.hook.path,
        headers: { 'content-type': json },
        body,
        oracle: 'refused',
      }),
    );
  const wrapped = badTransport(64 * 1024)
    .filter((t) => t.contentType !== json || t.body !== undefined)
    .map((t) => {
      const p = post('/hh/webhook', 'the real path', fx.hook.path, genuine, 'refused', t);
      return p;
    });
  const replay = fc.constant(null).map(() =>
    withShow({
      endpoint: '/hh/webhook',
      what: "hh.ru's genuine callback delivered again",
      method: 'POST',
      path: fx.hook.path,
      headers: { 'content-type': json },
      body: genuine,
      oracle: 'replay',
    }),
  );
  return fc.oneof(
    { weight: 4, arbitrary: wrongMac },
    { weight: 2, arbitrary: badShape },
    { weight: 2, arbitrary: broken },
    { weight: 2, arbitrary: wrapped },
    { weight: 1, arbitrary: replay },
  );
}

// ---- static files and everything else under the public prefixes ---------------------------------

function otherProbes(fx: Fixtures): fc.Arbitrary<Probe> {
  const staticBad = fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
      name: fc.oneof(
        fc.constantFrom(...fx.staticFiles),
        fc.constantFrom(
          '%2e%2e/%2e%2e/package.json',
          '..%2f..%2fpackage.json',
          'app.js%00.png',
          'APP.JS',
          'app.js/',
          'index.html',
          '',
          '.env',
        ),
        fc.stringMatching(/^[a-z0-9.-]{1,20}$/),
      ),
      huge: fc.boolean(),
    })
    .filter(({ method, name, huge }) => huge || method !== 'GET' || !fx.staticFiles.includes(name))
    .map(({ method, name, huge }) =>
      withShow({
        endpoint: '/static/*',
        what: `${method} ${name}${huge ? ' with a 20 kB header' : ''}`,
        method,
        path: `/static/${name}`,
        headers: huge ? { 'x-padding': 'h'.repeat(20_000) } : {},
        body: method === 'GET' ? undefined : 'x=1',
        oracle: 'refused',
      }),
    );
  const elsewhere = fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
      path: fc.oneof(
        fc.constantFrom(
          '/b24/install',
          '/b24/app',
          '/b24/placement',
          '/b24/events',
          '/b24/events/install',
          '/b24/robot',
          '/hh/oauth/callback',
          '/hh/oauth/start',
        ),
        fc.constantFrom(
          '/b24/',
          '/b24/unknown',
          '/hh/',
          '/hh/webhook',
          '/hh/oauth/',
          '/ui',
          '/b24/events/../install',
          '/b24/%2e%2e/admin',
        ),
        fc
          .tuple(fc.constantFrom('/b24/', '/hh/', '/static/'), fc.stringMatching(/^[a-z0-9/-]{1,20}$/))
          .map(([a, b]) => a + b),
      ),
    })
    // What the route table serves with this method is not "elsewhere".
    .filter(({ method, path }) => {
      const served: Record<string, string[]> = {
        '/b24/install': ['POST'],
        '/b24/app': ['POST'],
        '/b24/placement': ['POST'],
        '/b24/events': ['POST'],
        '/b24/events/install': ['POST'],
        '/b24/robot': ['POST'],
        '/hh/oauth/callback': ['GET'],
        '/hh/oauth/start': ['POST'],
      };
      return (
        !(served[path] ?? []).includes(method) &&
        !path.startsWith('/hh/webhook/') &&
        !path.startsWith('/static/')
      );
    })
    .map(({ method, path }) =>
      withShow({
        endpoint: 'elsewhere',
        what: `${method} ${path}: no such route`,
        method,
        path,
        headers: method === 'GET' ? {} : { 'content-type': FORM },
        body: method === 'GET' ? undefined : 'a=1',
        oracle: 'refused',
      }),
    );
  return fc.oneof(staticBad, elsewhere);
}

/** The set: one arbitrary per endpoint and how many requests each gets. */
export function probeSets(
  fx: Fixtures,
): Array<{ endpoint: string; runs: number; arbitrary: fc.Arbitrary<Probe> }> {
  return [
    { endpoint: 'POST /b24/install', runs: 80, arbitrary: pageProbes(fx, '/b24/install') },
    { endpoint: 'POST /b24/app', runs: 70, arbitrary: pageProbes(fx, '/b24/app') },
    { endpoint: 'POST /b24/placement', runs: 50, arbitrary: pageProbes(fx, '/b24/placement') },
    { endpoint: 'POST /b24/events (refused)', runs: 120, arbitrary: eventsRefused(fx) },
    { endpoint: 'POST /b24/events (forged with the real token)', runs: 60, arbitrary: eventsTaken(fx) },
    { endpoint: 'POST /b24/events/install', runs: 40, arbitrary: installEvent(fx) },
    { endpoint: 'POST /b24/robot (refused)', runs: 70, arbitrary: robotRefused(fx) },
    { endpoint: 'POST /b24/robot (forged with the real token)', runs: 40, arbitrary: robotTaken(fx) },
    { endpoint: '/ui/* (the route table)', runs: 220, arbitrary: uiProbes(fx) },
    { endpoint: '/ui/* state-changing, by a non-admin (and any GET)', runs: 80, arbitrary: manageProbes(fx) },
    { endpoint: 'POST /hh/oauth/start', runs: 40, arbitrary: oauthStart(fx) },
    { endpoint: 'GET /hh/oauth/callback', runs: 70, arbitrary: oauthCallback(fx) },
    { endpoint: 'POST /hh/webhook/{account}.{hmac}', runs: 110, arbitrary: webhookProbes(fx) },
    { endpoint: '/static/* and unknown routes', runs: 50, arbitrary: otherProbes(fx) },
  ];
}
