/**
 * Who may change the app (docs/security.md, «Who may change what»): settings, «Войти»/«Выйти» on
 * hh.ru, the import, «Повторить» and the subscription repair on «Новые отклики» need a portal admin
 * (asked of the portal with the user's own token, `user.admin`) or a user the settings name in
 * «Кто может управлять приложением». Everyone else is refused with 403 and nothing changes: the
 * tables, hh.ru's subscriptions and every request the simulated hh.ru saw. They read every tab with
 * a line that says who may change it; «Обратная связь» stays open. A GET never changes anything.
 * The real services (settings, hh-connector, crm-writer, gateway) against both simulators.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { Redis } from 'ioredis';
import { type Knex, rpc } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import {
  type Stack,
  type UiAnswer as Answer,
  browser,
  framePost,
  installThroughPages as install,
  sessionOf,
  startStack,
  uiRequest as ui,
  workers,
} from './stack.js';

const SETTINGS = {
  responsibleUserId: '1',
  entityType: 'lead',
  stageForResponse: 'NEW',
  stageForInvitation: 'IN_PROCESS',
};

/** «Войти»: the page posts its session to the gateway in a new window. */
async function loginStart(stack: Stack, token: string): Promise<Answer> {
  const res = await fetch(`${stack.gatewayUrl}/hh/oauth/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _session: token }),
    redirect: 'manual',
  });
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}

/** What a change would leave behind: our rows, hh.ru's subscriptions and every changing call hh.ru saw. */
async function digest(stack: Stack, db: Knex, memberId: string): Promise<Record<string, string>> {
  const rows = async (table: string, columns: string[], order: string) =>
    JSON.stringify(await db(table).where({ member_id: memberId }).select(columns).orderBy(order));
  const out: Record<string, string> = {
    portal_settings: await rows(
      'portal_settings',
      ['settings', 'updated_by', 'import_requested_at'],
      'member_id',
    ),
    hh_accounts: await rows('hh_accounts', ['id', 'status', 'status_reason'], 'id'),
    hh_imports: await rows('hh_imports', ['*'], 'member_id'),
    hh_reconciliations: String(
      (await db('hh_reconciliations').where({ member_id: memberId }).count<{ n: string }[]>('* as n'))[0]!.n,
    ),
    'hh.ru subscriptions': JSON.stringify(
      [...stack.hh.sim.webhooks.subscriptions.values()].map((s) => [s.id, s.url, s.userId]),
    ),
    'hh.ru changing calls': JSON.stringify(
      stack.hh.sim
        .requests()
        .filter((r) => r.method !== 'GET')
        .map((r) => `${r.method} ${r.path}`),
    ),
  };
  return Object.fromEntries(
    Object.entries(out).map(([k, v]) => [k, createHash('sha256').update(v).digest('hex').slice(0, 16)]),
  );
}

const errorOf = (html: string) => /data-error="([a-z_]+)"/.exec(html)?.[1] ?? null;

t.test(
  'a portal user who is not an admin: every change refused with 403 and nothing changed; read-only tabs with who can; feedback open; a named user and an admin can; a GET changes nothing',
  { timeout: 300_000 },
  async (t) => {
    const stack = await startStack(t, {
      hh: 'real',
      build: workers('hh-connector', 'crm-writer'),
    });
    const { sim } = stack.b24;
    const db = stack.services[0]!.runtime.db;
    const settingsRuntime = stack.services[0]!.runtime;
    const memberId = await install(stack, 'acme');
    const employee = sim.portal('acme').users.get(2)!;
    t.equal(employee.isAdmin, false, 'user 2 of a simulated portal is an employee, not an admin');
    t.equal(employee.crmAccess, true, 'with CRM access');

    // The admin connects hh.ru (the employer's admin on hh.ru) and saves the settings.
    const hhAdmin = [...stack.hh.sim.store.managers.values()].find((m) => m.isAdmin)!;
    await settingsRuntime.call(
      rpc.hhConnect,
      { memberId, userId: 1, code: stack.hh.sim.authorize({ userId: hhAdmin.userId }) },
      { timeoutMs: 30_000 },
    );
    const adminPage = await framePost(stack, 'acme', '/b24/app', { userId: 1 });
    t.equal(adminPage.status, 200);
    const admin = sessionOf(adminPage.html);
    const saved = await ui(stack, admin, 'POST', 'settings/save', { ...SETTINGS, action: 'save' });
    t.equal(saved.status, 200, 'the admin saves the settings');
    t.match(saved.html, /data-testid="notice" data-kind="ok"/);
    t.ok(
      sim.requests(memberId).some((r) => r.method === 'user.admin'),
      'the portal was asked whether the user is an admin, with the user’s own token',
    );

    // The employee opens the app.
    const page = await framePost(stack, 'acme', '/b24/app', { userId: 2 });
    t.equal(page.status, 200, 'an employee opens the app');
    const clerk = sessionOf(page.html);
    t.match(page.html, /data-testid="read-only"/, 'the first tab says it is read-only');
    t.match(page.html, /Изменять настройки могут только администраторы портала\./, 'and who can change it');

    // ---- every change refused, nothing changed -------------------------------------------------
    // Without a subscription on hh.ru: only a repair would bring it back.
    for (const [id, s] of stack.hh.sim.webhooks.subscriptions)
      if (s.userId === hhAdmin.userId) stack.hh.sim.webhooks.subscriptions.delete(id);
    const before = await digest(stack, db, memberId);
    const attempts: Array<[string, () => Promise<Answer>]> = [
      [
        'save the settings',
        () =>
          ui(stack, clerk, 'POST', 'settings/save', { ...SETTINGS, responsibleUserId: '2', action: 'save' }),
      ],
      [
        'start the import',
        () => ui(stack, clerk, 'POST', 'settings/save', { ...SETTINGS, action: 'import' }),
      ],
      [
        'name themselves a manager',
        () => ui(stack, clerk, 'POST', 'settings/save', { ...SETTINGS, managerIds: '2', action: 'save' }),
      ],
      ['press «Выйти»', () => ui(stack, clerk, 'POST', 'auth/logout')],
      ['retry refused writes', () => ui(stack, clerk, 'POST', 'failures/retry')],
      ['retry on «Состояние»', () => ui(stack, clerk, 'POST', 'health/retry', { all: '1' })],
      ['repair the subscription', () => ui(stack, clerk, 'POST', 'new-responses/check')],
    ];
    for (const [what, attempt] of attempts) {
      const answer = await attempt();
      t.equal(answer.status, 403, `${what}: 403`);
      t.equal(errorOf(answer.html), 'manage_only', `${what}: the catalogue's code manage_only`);
      t.match(
        answer.html,
        /Изменять настройки приложения могут только администраторы портала/,
        `${what}: says who can`,
      );
    }
    const login = await loginStart(stack, clerk);
    t.equal(login.status, 403, '«Войти» with another hh.ru account: 403');
    t.equal(login.location, null, 'not sent on to hh.ru');
    t.match(login.html, /Подключать hh\.ru могут администраторы портала и сотрудники, которых они назначили/);
    t.same(
      await digest(stack, db, memberId),
      before,
      'nothing changed: our rows, hh.ru’s subscriptions, hh.ru’s log',
    );

    // ---- read-only, and what a read may do -----------------------------------------------------
    for (const tab of ['settings', 'auth', 'new-responses', 'health']) {
      const answer = await ui(stack, clerk, 'GET', `tab/${tab}`);
      t.equal(answer.status, 200, `«${tab}» opens for the employee`);
      t.match(answer.html, /data-testid="read-only"/, `«${tab}»: the read-only line`);
      t.notMatch(
        answer.html,
        /hx-post="\/ui\/(settings\/save|auth\/logout|failures\/retry|health\/retry|new-responses\/check)"|\/hh\/oauth\/start|data-testid="save"/,
        `«${tab}»: no control that changes anything`,
      );
    }
    const settingsTab = await ui(stack, clerk, 'GET', 'tab/settings');
    t.match(settingsTab.html, /data-testid="settings-fields" disabled/, 'the settings form is disabled');
    const news = await ui(stack, clerk, 'GET', 'tab/new-responses');
    t.match(news.html, /data-state="missing"/, '«Новые отклики» shows the subscription is missing');
    t.same(await digest(stack, db, memberId), before, 'and reading changed nothing');

    const feedback = await ui(stack, clerk, 'POST', 'feedback/send', { message: 'Нужна выгрузка в Excel' });
    t.equal(feedback.status, 200, '«Обратная связь» is open to the employee');
    // This stack configures no channel: the message is kept and the employee told it waits.
    t.match(feedback.html, /data-testid="feedback-not-sent"/);
    t.equal(
      (await db('feedback').where({ member_id: memberId, user_id: 2 }).count<{ n: string }[]>('* as n'))[0]!
        .n,
      '1',
      'their message is kept',
    );

    // ---- a GET of a changing path changes nothing, even an admin's ------------------------------
    for (const route of [
      'settings/save',
      'auth/logout',
      'failures/retry',
      'health/retry',
      'new-responses/check',
    ]) {
      const answer = await ui(stack, admin, 'GET', route, {
        ...SETTINGS,
        responsibleUserId: '3',
        action: 'import',
      });
      t.equal(answer.status, 405, `GET ${route}: 405`);
      t.equal(errorOf(answer.html), 'method_not_allowed');
    }
    const installRun = await ui(stack, admin, 'GET', 'install/run');
    t.equal(installRun.status, 405, 'GET install/run: 405');
    t.same(await digest(stack, db, memberId), before, 'no GET changed anything');

    // ---- the admin starts the import; the portal refuses the writes (a field made required) -------
    sim.setRequired('acme', 'lead', 'SOURCE_ID');
    const started = await ui(stack, admin, 'POST', 'settings/save', { ...SETTINGS, action: 'import' });
    t.equal(started.status, 200, 'the admin starts the import');
    t.match(started.html, /data-testid="import-progress"/);
    await eventually(
      async () =>
        (await settingsRuntime.call(rpc.hhImportProgress, { memberId }, { timeoutMs: 10_000 })).state ===
        'finished',
      { timeoutMs: 120_000, what: 'the import to finish' },
    );
    const failureRows = () =>
      db('crm_failures')
        .where({ member_id: memberId })
        .select('negotiation_id', 'attempts', 'retry_requested_at')
        .orderBy('negotiation_id');
    await eventually(async () => (await failureRows()).length > 0, {
      timeoutMs: 30_000,
      what: 'the refused writes',
    });
    // The portal would take them now: a retry would write them.
    sim.setRequired('acme', 'lead', 'SOURCE_ID', false);
    await new Promise((r) => setTimeout(r, 1000));
    const refused = await failureRows();
    const leads = sim.entities('acme', 'lead').length;
    for (const [what, route, form] of [
      ['«Повторить» on «Настройки»', 'failures/retry', {}],
      ['«Повторить» of one response', 'failures/retry', { negotiationId: refused[0]!.negotiation_id }],
      ['«Повторить все» on «Состояние»', 'health/retry', { all: '1' }],
    ] as const) {
      const answer = await ui(stack, clerk, 'POST', route, form);
      t.equal(answer.status, 403, `${what} by the employee: 403`);
      t.equal(errorOf(answer.html), 'manage_only');
    }
    await new Promise((r) => setTimeout(r, 1000));
    t.same(await failureRows(), refused, 'the refused writes are as they were');
    t.equal(sim.entities('acme', 'lead').length, leads, 'and nothing was written to the portal');
    const withFailures = await ui(stack, clerk, 'GET', 'tab/settings');
    t.match(withFailures.html, /data-testid="failure"/, 'the employee reads the refused writes');
    t.notMatch(withFailures.html, /failures\/retry/, 'with no «Повторить»');
    const health = await ui(stack, clerk, 'GET', 'tab/health');
    t.match(health.html, /data-testid="health-failure"/, 'and on «Состояние»');
    t.notMatch(health.html, /health\/retry/, 'with no «Повторить» there either');
    const adminRetry = await ui(stack, admin, 'POST', 'failures/retry');
    t.equal(adminRetry.status, 200, 'the admin presses «Повторить»');
    await eventually(async () => (await failureRows()).length === 0, {
      timeoutMs: 30_000,
      what: 'the refused writes written',
    });
    t.ok(sim.entities('acme', 'lead').length > leads, 'and they reach the portal');

    // ---- the admin names the employee; then the employee can ------------------------------------
    const naming = await ui(stack, admin, 'POST', 'settings/save', {
      ...SETTINGS,
      managerIds: ['2'],
      action: 'save',
    });
    t.equal(naming.status, 200, 'the admin names the employee in «Кто может управлять приложением»');
    const row = await db('portal_settings')
      .where({ member_id: memberId })
      .first<{ settings: { managerIds: number[] } }>();
    t.same(row.settings.managerIds, [2]);
    const other = await framePost(stack, 'acme', '/b24/app', { userId: 3 });
    t.match(
      other.html,
      /Изменять настройки могут администраторы портала и [^<]+\./,
      'a third user reads who can: the admins and the named user',
    );
    t.match(other.html, new RegExp(`${employee.NAME} ${employee.LAST_NAME}`), 'by name');

    const byNamed = await ui(stack, clerk, 'POST', 'settings/save', {
      ...SETTINGS,
      responsibleUserId: '2',
      managerIds: ['2', '3'],
      action: 'save',
    });
    t.equal(byNamed.status, 200, 'the named employee saves the settings');
    const after = await db('portal_settings')
      .where({ member_id: memberId })
      .first<{ settings: { responsibleUserId: number; managerIds: number[] }; updated_by: number }>();
    t.equal(after.settings.responsibleUserId, 2, 'what they changed is saved');
    t.equal(after.updated_by, 2, 'in their name');
    t.same(after.settings.managerIds, [2], 'but only an admin changes who may manage the app');
    const redraw = await ui(stack, clerk, 'POST', 'settings/form', { ...SETTINGS, entityType: 'deal' });
    t.match(
      redraw.html,
      /<option value="2" selected data-testid="manager-option">/,
      'their form, redrawn, shows the list as saved',
    );
    t.match(redraw.html, /data-testid="managers" disabled/, 'and does not let them change it');
    const repaired = await ui(stack, clerk, 'POST', 'new-responses/check');
    t.equal(repaired.status, 200);
    t.match(repaired.html, /data-state="created"/, 'the named employee repairs the subscription');
    t.equal(
      [...stack.hh.sim.webhooks.subscriptions.values()].filter((s) => s.userId === hhAdmin.userId).length,
      1,
      'hh.ru has it again',
    );
    const namedLogin = await loginStart(stack, clerk);
    t.equal(namedLogin.status, 303, '«Войти» of the named employee goes on to hh.ru');
    t.match(namedLogin.location, /\/oauth\/authorize\?/);

    // ---- the portal's answer is asked again once it is older than a few minutes ------------------
    const redis = new Redis(stack.env.config.REDIS_URL);
    t.teardown(() => redis.disconnect());
    const forget = async () => {
      const keys = await redis.keys(`${stack.env.config.REDIS_PREFIX}gw:user-admin:*`);
      if (keys.length > 0) await redis.del(...keys);
    };
    t.ok(
      (await redis.ttl(`${stack.env.config.REDIS_PREFIX}gw:user-admin:${memberId}:1`)) <= 180,
      'the answer is kept at most 180 s',
    );
    sim.portal('acme').users.get(1)!.isAdmin = false;
    await forget();
    const demoted = await ui(stack, admin, 'POST', 'auth/logout');
    t.equal(demoted.status, 403, 'an admin the portal no longer calls one is refused once the answer is old');
    t.equal(errorOf(demoted.html), 'manage_only');
    sim.portal('acme').users.get(1)!.isAdmin = true;
    await forget();
    sim.expireTokens('acme');
    const stale = await ui(stack, admin, 'POST', 'auth/logout');
    t.equal(stale.status, 403, 'an admin whose page-load token expired cannot be confirmed');
    t.equal(errorOf(stale.html), 'admin_unconfirmed', 'and is asked to reload the page');
    const account = await db('hh_accounts').where({ member_id: memberId }).first<{ status: string }>();
    t.equal(account.status, 'active', 'the hh.ru login is still in place');

    // A fresh page load: the admin signs out.
    const reloaded = sessionOf((await framePost(stack, 'acme', '/b24/app', { userId: 1 })).html);
    const out = await ui(stack, reloaded, 'POST', 'auth/logout');
    t.equal(out.status, 200, 'the admin presses «Выйти»');
    t.equal(
      (await db('hh_accounts').where({ member_id: memberId }).first<{ status: string }>()).status,
      'login_required',
      'and the hh.ru login is closed',
    );
  },
);

t.test(
  'in the browser: an employee sees every tab read-only, with who can change it',
  { timeout: 300_000 },
  async (t) => {
    const stack = await startStack(t, {
      hh: 'real',
      build: workers('hh-connector', 'crm-writer'),
    });
    const { sim } = stack.b24;
    const memberId = await install(stack, 'beta');
    const hhAdmin = [...stack.hh.sim.store.managers.values()].find((m) => m.isAdmin)!;
    await stack.services[0]!.runtime.call(
      rpc.hhConnect,
      { memberId, userId: 1, code: stack.hh.sim.authorize({ userId: hhAdmin.userId }) },
      { timeoutMs: 30_000 },
    );
    const admin = sessionOf((await framePost(stack, 'beta', '/b24/app', { userId: 1 })).html);
    t.equal(
      (await ui(stack, admin, 'POST', 'settings/save', { ...SETTINGS, managerIds: ['3'], action: 'save' }))
        .status,
      200,
    );
    const named = sim.portal('beta').users.get(3)!;

    const b = await browser(t);
    const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
    const portal = sim.portalInfo('beta');
    // The person the simulated portal's pages act as (what its header's selector sets): the employee.
    await page.context().addCookies([{ name: 'b24sim_user_beta', value: '2', url: portal.baseUrl }]);
    await page.goto(`${portal.baseUrl}app/hh-b24-dev/`);
    const app = page.frameLocator('[data-testid=app-iframe]');
    await app.getByTestId('settings-panel').waitFor({ timeout: 20_000 });
    const line = `Изменять настройки могут администраторы портала и ${named.NAME} ${named.LAST_NAME}.`;
    t.equal((await app.getByTestId('read-only').textContent())?.trim(), line, '«Настройки»: the line');
    t.equal(await app.getByTestId('save').count(), 0, 'no «Сохранить»');
    t.ok(await app.getByTestId('responsible').isDisabled(), 'the form cannot be changed');
    t.ok(await app.getByTestId('entity-deal').isDisabled());
    for (const tab of ['auth', 'new-responses', 'health']) {
      await app.locator(`[data-testid=tab][data-tab=${tab}]`).click();
      await app.getByTestId('read-only').waitFor();
      t.equal((await app.getByTestId('read-only').textContent())?.trim(), line, `«${tab}»: the line`);
    }
    await app.locator('[data-testid=tab][data-tab=auth]').click();
    await app.getByTestId('connected').waitFor();
    t.equal(await app.getByTestId('logout').count(), 0, '«Авторизация»: no «Выйти»');
    await app.locator('[data-testid=tab][data-tab=feedback]').click();
    await app.getByTestId('feedback-form').waitFor();
    t.equal(await app.getByTestId('read-only').count(), 0, '«Обратная связь» is not read-only');
    await app.locator('textarea[name=message]').fill('Спасибо за приложение');
    await app.getByTestId('feedback-send').click();
    await app.getByTestId('feedback-not-sent').waitFor();
    t.pass('the employee sends feedback');
  },
);
