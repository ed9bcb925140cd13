/**
 * The services under test wired to the two simulators, in one process: the gateway on a known
 * port (Bitrix24 needs its handler URLs before the gateway listens), settings, and on the hh.ru
 * side either the real hh-connector and crm-writer or, in the page tests, a responder that
 * answers hh-connector's request/reply contracts from fixture data the test controls.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import type { Test } from 'tap';
import { type Browser, type FrameLocator, type Page, chromium } from 'playwright-core';
import {
  type CardView,
  type CrmFailureView,
  type HhAccountView,
  type HhManagerView,
  type ImportProgress,
  type Launchable,
  FileStore,
  type RpcContract,
  createLogger,
  createService,
  loadConfig,
  rpc,
} from '@hhb24/common';
import { type TestEnv, createTestEnv } from '@hhb24/common/testing';
import { buildCrmWriter, schema as crmWriterSchema } from '@hhb24/crm-writer';
import { buildGateway, field, parsePhpForm, schema as gatewaySchema } from '@hhb24/gateway';
import { buildHhConnector, schema as hhConnectorSchema } from '@hhb24/hh-connector';
import { buildSettings, schema as settingsSchema } from '@hhb24/settings';
import { type RunningSim, startB24Sim } from '@hhb24/sim-b24';
import { type GenerateOptions, type RunningHhSim, startHhSim } from '@hhb24/sim-hh';
import { buildTimelineRenderer, schema as timelineRendererSchema } from '@hhb24/timeline-renderer';

export const CHROMIUM = '/usr/bin/chromium';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

type NewResponses = typeof rpc.hhNewResponses extends RpcContract<infer Req, infer Res> ? [Req, Res] : never;
type NewResponsesAnswer = NewResponses[1];

/** What the hh-connector stand-in answers; tests change it as the story goes on. */
export interface HhFixture {
  account: HhAccountView;
  progress: ImportProgress;
  /** The answer, or one made from the request (the count of the choice asked). */
  newResponses: NewResponsesAnswer | ((req: NewResponses[0]) => NewResponsesAnswer);
  cards: Map<string, CardView>;
  /** The resume PDF the stand-in stores and names (null: none). */
  pdf: { filename: string; bytes: Buffer } | null;
  failures: CrmFailureView[];
  /** The account's active vacancies («Что импортировать»). */
  vacancies: Array<{ id: string; name: string }>;
  /** The connected employer's managers on hh.ru (read from the simulated hh.ru at «Войти»). */
  managers: HhManagerView[];
  calls: Array<{ contract: string; request: unknown }>;
}

export const NOT_CONNECTED: HhAccountView = {
  status: 'not_connected',
  accountId: null,
  employerName: null,
  managerName: null,
  isAdmin: null,
  connectedAt: null,
  loginRequiredReason: null,
};
export const NEVER: ImportProgress = {
  state: 'never',
  pausedReason: null,
  vacanciesTotal: 0,
  vacanciesDone: 0,
  found: 0,
  loaded: 0,
  imported: 0,
  failed: 0,
  startedAt: null,
  finishedAt: null,
};

export interface Stack {
  env: TestEnv;
  b24: RunningSim;
  hh: RunningHhSim;
  gatewayUrl: string;
  /** Every gateway replica's address (the first is gatewayUrl); they share Postgres, Redis and NATS. */
  gatewayUrls: string[];
  services: Launchable[];
  /** Set when the stack runs with the stand-in for hh-connector. */
  fixture: HhFixture | null;
  /** The gateway's log lines (JSON, info and above), when the stack was started with `logs: true`. */
  logs: string[];
  /** What the gateways answered, when the stack records it. */
  traffic: TrafficRecord[];
}

/** One request a gateway answered: when, from which address, on which route, for which portal it claimed. */
export interface TrafficRecord {
  at: number;
  address: string;
  route: string;
  status: number;
  /** The portal (member_id) a Bitrix24 post names, or `hh:<account>` for an hh.ru webhook. */
  portal: string | null;
}

function recordTraffic(app: Launchable['app'], into: TrafficRecord[]): void {
  app.addHook('onResponse', async (req, reply) => {
    const body = typeof req.body === 'string' ? parsePhpForm(req.body) : {};
    const session =
      req.headers['x-hhb24-session'] ?? new URLSearchParams(String(req.body ?? '')).get('_session');
    // The page's session names its portal (the recorder reads it, it does not check it).
    const sessionPortal = (() => {
      try {
        return (
          JSON.parse(Buffer.from(String(session).split('.')[0]!, 'base64url').toString()) as {
            memberId?: string;
          }
        ).memberId;
      } catch {
        return undefined;
      }
    })();
    const claimed = field(body, 'auth', 'member_id') || field(body, 'member_id') || sessionPortal || null;
    const webhook = /^\/hh\/webhook\/([^.]+)\./.exec(req.url)?.[1];
    into.push({
      at: Date.now(),
      address: req.ip,
      route: req.routeOptions.url ?? req.url.split('?')[0]!,
      status: reply.statusCode,
      portal: webhook ? `hh:${webhook}` : claimed,
    });
  });
}

/** Requests per (key, minute) at their busiest: the figure a per-minute limit must stay above. */
export function busiestMinute(
  records: TrafficRecord[],
  keyOf: (r: TrafficRecord) => string | null,
): {
  key: string | null;
  count: number;
} {
  let best: { key: string | null; count: number } = { key: null, count: 0 };
  // Every sliding minute that starts at a request, not only the clock's minutes.
  const sorted = [...records].sort((x, y) => x.at - y.at);
  const byKey = new Map<string, number[]>();
  for (const r of sorted) {
    const k = keyOf(r);
    if (k === null) continue;
    const list = byKey.get(k) ?? [];
    list.push(r.at);
    byKey.set(k, list);
  }
  for (const [k, times] of byKey) {
    let from = 0;
    for (let to = 0; to < times.length; to++) {
      while (times[to]! - times[from]! >= 60_000) from++;
      const n = to - from + 1;
      if (n > best.count) best = { key: k, count: n };
    }
  }
  return best;
}

const WORKERS = {
  'hh-connector': (env: Record<string, string>) =>
    buildHhConnector(loadConfig('hh-connector', hhConnectorSchema, env)),
  'crm-writer': (env: Record<string, string>) =>
    buildCrmWriter(loadConfig('crm-writer', crmWriterSchema, env)),
  'timeline-renderer': (env: Record<string, string>) =>
    buildTimelineRenderer(loadConfig('timeline-renderer', timelineRendererSchema, env)),
};

/** A real-hh.ru stack's `build`: the named worker services, in this process, on the stack's settings. */
export function workers(
  ...names: Array<keyof typeof WORKERS>
): (env: Record<string, string>) => Launchable[] {
  return (env) => names.map((name) => WORKERS[name](env));
}

/**
 * Starts the simulators and the services. `hh: 'fixture'` answers hh-connector's contracts from
 * `stack.fixture`; `hh: 'real'` builds the given services (hh-connector, crm-writer).
 */
export async function startStack(
  t: Test,
  options: ({ hh: 'fixture' } | { hh: 'real'; build: (env: Record<string, string>) => Launchable[] }) & {
    generate?: GenerateOptions;
    /** Keep the gateway's log lines in `stack.logs`. */
    logs?: boolean;
    /** Settings of every service (the gateway's request limits, say). */
    env?: Record<string, string>;
    /** Gateway replicas (default 1). */
    gateways?: number;
    /** Bitrix24's request limit on the simulated portals (default off: the tests run as fast as they can). */
    b24RateLimit?: boolean;
    /** Keep every request the gateways answer in `stack.traffic` (who sent it, for which portal). */
    recordTraffic?: boolean;
  },
): Promise<Stack> {
  const env = createTestEnv();
  t.teardown(() => env.cleanup());
  const b24 = await startB24Sim({ port: 0, ...(options.b24RateLimit ? {} : { rateLimit: false }) });
  t.teardown(() => b24.close());
  const hh = await startHhSim({
    port: 0,
    settings: { rateLimit: { by: 'off' } },
    generate: options.generate ?? {
      seed: 3,
      employers: 2,
      managersPerEmployer: 2,
      vacanciesPerManager: 2,
      negotiations: 24,
      heavyApplicantResponses: 3,
      tombstones: 1,
      unpaidEmployers: 0,
    },
  });
  t.teardown(() => hh.close());

  const port = await freePort();
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const simHost = new URL(b24.url).host;
  const serviceEnv: Record<string, string> = {
    ...env.env,
    GATEWAY_PORT: String(port),
    SETTINGS_PORT: '0',
    HH_CONNECTOR_PORT: '0',
    CRM_WRITER_PORT: '0',
    TIMELINE_RENDERER_PORT: '0',
    PUBLIC_URL: gatewayUrl,
    B24_PORTAL_HOSTS: simHost,
    B24_OAUTH_HOSTS: simHost,
    B24_JS_URL: `${b24.url}/api/v1/`,
    HH_OAUTH_URL: hh.url,
    HH_API_URL: hh.url,
    HH_REDIRECT_URI: `${gatewayUrl}/hh/oauth/callback`,
    ...options.env,
  };
  hh.sim.configure({
    apps: [
      {
        clientId: 'hh-b24-dev',
        clientSecret: 'hh-b24-dev-secret',
        redirectUri: `${gatewayUrl}/hh/oauth/callback`,
        redirectRule: 'hh',
        name: 'hh-b24',
      },
    ],
  });
  b24.sim.updateApp('hh-b24-dev', {
    handlerUrl: `${gatewayUrl}/b24/app`,
    installUrl: `${gatewayUrl}/b24/install`,
    installEventUrl: `${gatewayUrl}/b24/events/install`,
  });

  const services: Launchable[] = [buildSettings(loadConfig('settings', settingsSchema, serviceEnv))];
  let fixture: HhFixture | null = null;
  if (options.hh === 'fixture') {
    fixture = {
      account: NOT_CONNECTED,
      progress: NEVER,
      newResponses: { newCount: 0, subscription: 'ok' },
      cards: new Map(),
      pdf: null,
      failures: [],
      vacancies: [
        { id: '93001', name: 'Менеджер по продажам' },
        { id: '93002', name: 'Бухгалтер' },
      ],
      managers: [],
      calls: [],
    };
    services.push(hhStandIn(env, fixture, hh.url, `${gatewayUrl}/hh/oauth/callback`));
  } else {
    services.push(...options.build(serviceEnv));
  }
  const logs: string[] = [];
  const gateways = Array.from({ length: options.gateways ?? 1 }, (_, i) =>
    buildGateway(loadConfig('gateway', gatewaySchema, serviceEnv), {
      // The first replica's log lines, when asked for.
      log:
        options.logs && i === 0
          ? createLogger(
              { name: 'gateway', level: 'info' },
              new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) }),
            )
          : undefined,
    }),
  );
  const traffic: TrafficRecord[] = [];
  if (options.recordTraffic) for (const g of gateways) recordTraffic(g.app, traffic);
  // The first gateway is last in `services`, where the tests look for it.
  services.push(...gateways.slice(1), gateways[0]!);
  for (const s of services) {
    await s.runtime.start();
    t.teardown(() => s.app.close());
  }
  const gatewayUrls = [gatewayUrl];
  await gateways[0]!.app.listen({ port, host: '127.0.0.1' });
  for (const replica of gateways.slice(1)) {
    await replica.app.listen({ port: 0, host: '127.0.0.1' });
    gatewayUrls.push(`http://127.0.0.1:${(replica.app.server.address() as { port: number }).port}`);
  }
  return { env, b24, hh, gatewayUrl, gatewayUrls, services, fixture, logs, traffic };
}

/** Answers hh-connector's (and crm-writer's page) contracts from the fixture: a stand-in for other services, for page tests only. */
function hhStandIn(env: TestEnv, f: HhFixture, hhUrl: string, redirectUri: string): Launchable {
  const { app, runtime } = createService({ name: 'hh-connector', config: env.config });
  const record = <Req>(contract: string, request: Req) => f.calls.push({ contract, request });
  runtime.serve(rpc.hhAccount, async (req) => (record('hhAccount', req), f.account));
  // The code is exchanged with the simulated hh.ru and /me read, as hh-connector does: the page names
  // the manager who signed in.
  runtime.serve(rpc.hhConnect, async (req) => {
    record('hhConnect', req);
    const tokens = (await (
      await fetch(`${hhUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: 'hh-b24-dev',
          client_secret: 'hh-b24-dev-secret',
          code: req.code,
          redirect_uri: redirectUri,
        }),
      })
    ).json()) as { access_token: string };
    const me = (await (
      await fetch(`${hhUrl}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    ).json()) as {
      first_name: string;
      last_name: string;
      middle_name: string | null;
      employer: { id: string; name: string };
    };
    // The employer's managers, as hh-connector lists them for «Ответственные по менеджерам hh.ru».
    const managers = (await (
      await fetch(`${hhUrl}/employers/${me.employer.id}/managers?per_page=200`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      })
    ).json()) as {
      items: Array<{
        id: string;
        first_name: string;
        last_name: string;
        middle_name: string | null;
        email: string;
        vacancies_count: number | null;
      }>;
    };
    f.managers = managers.items.map((m) => ({
      employerId: me.employer.id,
      managerId: m.id,
      firstName: m.first_name,
      lastName: m.last_name,
      middleName: m.middle_name,
      email: m.email || null,
      vacancies: m.vacancies_count,
    }));
    f.account = {
      status: 'active',
      accountId: 'acc-1',
      employerName: me.employer.name,
      managerName: [me.last_name, me.first_name, me.middle_name].filter(Boolean).join(' '),
      isAdmin: true,
      connectedAt: new Date().toISOString(),
      loginRequiredReason: null,
    };
    return f.account;
  });
  runtime.serve(rpc.hhDisconnect, async (req) => (record('hhDisconnect', req), (f.account = NOT_CONNECTED)));
  runtime.serve(rpc.hhImportProgress, async (req) => (record('hhImportProgress', req), f.progress));
  runtime.serve(
    rpc.hhNewResponses,
    async (req) => (
      record('hhNewResponses', req),
      typeof f.newResponses === 'function' ? f.newResponses(req) : f.newResponses
    ),
  );
  runtime.serve(rpc.hhVacancies, async (req) => (record('hhVacancies', req), { items: f.vacancies }));
  runtime.serve(rpc.hhManagers, async (req) => (record('hhManagers', req), { items: f.managers }));
  runtime.serve(
    rpc.hhCard,
    async (req) => (record('hhCard', req), f.cards.get(`${req.entityType}:${req.entityId}`) ?? null),
  );
  // The PDF stored in the file store as hh-connector stores a download; the answer names it.
  runtime.serve(rpc.hhPdf, async (req) => {
    record('hhPdf', req);
    if (!f.pdf) return null;
    const ref = await new FileStore(runtime.db).write(req.memberId, 'hh-resume:test', [f.pdf.bytes]);
    return { filename: f.pdf.filename, file: ref.key, size: ref.size };
  });
  // crm-writer's contracts about refused writes.
  runtime.serve(rpc.crmFailures, async (req) => (record('crmFailures', req), { items: f.failures }));
  runtime.serve(rpc.crmRetry, async (req) => {
    record('crmRetry', req);
    const retried = f.failures.filter((x) => !req.negotiationId || x.negotiationId === req.negotiationId);
    f.failures = f.failures.filter((x) => !retried.includes(x));
    return { retried: retried.length };
  });
  return { app, runtime, port: 0 };
}

/**
 * In the simulated portal's browser: install the app, «Готово», «Войти» as the admin of the
 * employer chosen on hh.ru's login page; returns the app's frame once it says connected.
 */
export async function installAndConnect(
  page: Page,
  stack: Stack,
  portalName: string,
  employerIndex: number,
): Promise<FrameLocator> {
  const portal = stack.b24.sim.portalInfo(portalName);
  const app = page.frameLocator('[data-testid=app-iframe]');
  await page.goto(`${portal.baseUrl}marketplace/`);
  await page.getByTestId('install-app').click();
  await app.getByTestId('install-done').click();
  await page.getByTestId('install-finished').waitFor();
  const popupOpened = page.waitForEvent('popup');
  await app.getByTestId('login').click();
  const popup = await popupOpened;
  await popup.waitForURL(/\/oauth\/authorize\?/);
  // The admin of the chosen employer (each employer's first manager is its admin).
  const admin = [...stack.hh.sim.store.managers.values()].filter((m) => m.isAdmin)[employerIndex]!;
  await popup.locator('#user_id').selectOption(String(admin.userId));
  await popup.getByRole('button', { name: 'Разрешить' }).click();
  await popup.getByTestId('login-result').waitFor();
  await popup.close().catch(() => {});
  await app.getByTestId('connected').waitFor({ timeout: 20_000 });
  return app;
}

/** «Сохранить и начать импорт» on the settings tab, then the result lines once the import finished. */
export async function importAndWait(
  app: FrameLocator,
  timeoutMs = 60_000,
): Promise<{ loaded: string; imported: string }> {
  await app.getByTestId('save').click();
  await app.getByTestId('import-progress').waitFor();
  await app.getByTestId('import-results').waitFor({ timeout: timeoutMs });
  return {
    loaded: (await app.getByTestId('result-loaded').textContent())!,
    imported: (await app.getByTestId('result-imported').textContent())!,
  };
}

export async function browser(t: Test): Promise<Browser> {
  const b = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  t.teardown(() => b.close());
  return b;
}

/**
 * The README's screenshots: written to docs/screenshots when HHB24_SCREENSHOTS is set
 * (`npm run screenshots`), so an ordinary test run leaves the working tree alone.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env['HHB24_SCREENSHOTS']) return;
  const dir = new URL('../../../../docs/screenshots/', import.meta.url).pathname;
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: `${dir}${name}.png`, fullPage: true });
}

export interface FramePost {
  userId?: number;
  placement?: string;
  options?: Record<string, string>;
  /** Overrides of what the portal would send, to forge requests. */
  memberId?: string;
  applicationToken?: string;
  domain?: string;
  serverEndpoint?: string;
  authId?: string;
  refreshId?: string;
  /** Which gateway replica to post to (default the first), and headers a proxy would add. */
  gatewayUrl?: string;
  headers?: Record<string, string>;
}

/** An iframe load as the portal makes it (query DOMAIN, PROTOCOL, LANG, APP_SID; form AUTH_ID, member_id…), possibly forged. */
export async function framePost(
  stack: Stack,
  portalName: string,
  path: string,
  o: FramePost = {},
): Promise<{ status: number; headers: Headers; html: string }> {
  const { sim } = stack.b24;
  const info = sim.portalInfo(portalName);
  const tokens = sim.issueUserToken(info.memberId, { userId: o.userId ?? 1 });
  const query = new URLSearchParams({
    DOMAIN: o.domain ?? info.domain,
    PROTOCOL: '0',
    LANG: info.lang,
    APP_SID: 'a'.repeat(32),
  });
  const body = new URLSearchParams({
    AUTH_ID: o.authId ?? tokens.accessToken,
    AUTH_EXPIRES: '3600',
    REFRESH_ID: o.refreshId ?? tokens.refreshToken,
    SERVER_ENDPOINT: o.serverEndpoint ?? info.serverEndpoint,
    APPLICATION_TOKEN: o.applicationToken ?? info.installs[0]?.applicationToken ?? '',
    APPLICATION_SCOPE: 'crm,placement,bizproc,im,user_brief',
    member_id: o.memberId ?? info.memberId,
    status: 'L',
    PLACEMENT: o.placement ?? 'DEFAULT',
    PLACEMENT_OPTIONS: JSON.stringify(o.options ?? {}),
  });
  const res = await fetch(`${o.gatewayUrl ?? stack.gatewayUrl}${path}?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...o.headers },
    body,
  });
  return { status: res.status, headers: res.headers, html: await res.text() };
}

/** The session token an app page was given (the page embeds it for its own requests). */
export function sessionOf(html: string): string {
  const m = /data-session="([^"]+)"/.exec(html);
  if (!m) throw new Error('the page carries no session');
  return m[1]!;
}

/** Installs the app as the installer page and «Готово» do; the portal's member id. */
export async function installThroughPages(stack: Stack, name: string): Promise<string> {
  const portal = stack.b24.sim.createPortal({ name, lang: 'ru' });
  await stack.b24.sim.install(portal.memberId);
  const page = await framePost(stack, name, '/b24/install');
  if (page.status !== 200) throw new Error(`install page answered ${page.status}`);
  const run = await fetch(`${stack.gatewayUrl}/ui/install/run`, {
    method: 'POST',
    headers: { 'x-hhb24-session': sessionOf(page.html) },
  });
  if (!(await run.text()).includes('data-install-complete'))
    throw new Error('install steps did not complete');
  stack.b24.sim.finishInstall(portal.memberId);
  return portal.memberId;
}

export interface UiAnswer {
  status: number;
  html: string;
  location: string | null;
  /** The page's `data-kind` and `data-error`, when it is a refusal or an error. */
  kind?: string;
  code?: string;
}

/** A request of the app page (htmx): the session in its header, a form body on a POST. */
export async function uiRequest(
  stack: Stack,
  token: string,
  method: 'GET' | 'POST',
  route: string,
  form: Record<string, string | string[]> = {},
): Promise<UiAnswer> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of [v].flat()) body.append(k, one);
  const res = await fetch(
    `${stack.gatewayUrl}/ui/${route}${method === 'GET' && body.size > 0 ? `?${body}` : ''}`,
    {
      method,
      headers: {
        'x-hhb24-session': token,
        ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(method === 'POST' ? { body } : {}),
    },
  );
  const html = await res.text();
  return {
    status: res.status,
    html,
    location: res.headers.get('location'),
    kind: /data-kind="(\w+)"/.exec(html)?.[1],
    code: /data-error="(\w+)"/.exec(html)?.[1],
  };
}
