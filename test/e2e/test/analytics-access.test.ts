/**
 * Who sees «Аналитика» (services/settings/src/ui/routes.ts, access `analytics`): the portal's
 * admins, and the users an admin names in «Кто может видеть аналитику» (found with the settings'
 * user search). In a browser inside the simulated portal: the admin names one employee; that
 * employee, no admin, sees the tab and its figures; another employee with CRM access sees no tab,
 * and asking its route anyway gets the same 403 refusal as any page that is not theirs.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import type { Page } from 'playwright-core';
import { rpc } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import {
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

t.test(
  '«Кто может видеть аналитику» over the gateway: saved by an admin, kept by the user search, opening the tab to the named only',
  { timeout: 300_000 },
  async (t) => {
    const stack = await startStack(t, { hh: 'real', build: workers('hh-connector') });
    const { sim } = stack.b24;
    const db = stack.services[0]!.runtime.db;
    const memberId = await install(stack, 'delta');
    const hhAdmin = [...stack.hh.sim.store.managers.values()].find((m) => m.isAdmin)!;
    await stack.services[0]!.runtime.call(
      rpc.hhConnect,
      { memberId, userId: 1, code: stack.hh.sim.authorize({ userId: hhAdmin.userId }) },
      { timeoutMs: 30_000 },
    );
    const session = async (userId: number) =>
      sessionOf((await framePost(stack, 'delta', '/b24/app', { userId })).html);
    const admin = await session(1);
    const viewer = sim.portal('delta').users.get(3)!;

    // The user search keeps the users chosen so far, chosen, whatever it finds.
    const search = await ui(stack, admin, 'GET', 'settings/users', {
      userQuery: 'Кузнецов',
      analyticsViewerIds: String(viewer.ID),
    });
    t.equal(search.status, 200);
    t.same(
      [...search.html.matchAll(/<option value="(\d+)"( selected)?/g)].map((m) => [m[1], Boolean(m[2])]),
      [
        [String(viewer.ID), true],
        ['2', false],
      ],
      'the chosen one first and chosen, then what the search found',
    );

    // Only a portal admin names them; a named manager's save keeps the list as it was.
    const saved = await ui(stack, admin, 'POST', 'settings/save', {
      ...SETTINGS,
      analyticsViewerIds: [String(viewer.ID)],
      managerIds: ['2'],
      action: 'save',
    });
    t.equal(saved.kind, 'ok', 'the admin saves');
    const stored = async () =>
      (
        await db('portal_settings')
          .where({ member_id: memberId })
          .first<{ settings: { analyticsViewerIds?: number[] } }>('settings')
      ).settings.analyticsViewerIds;
    t.same(await stored(), [viewer.ID], 'stored: the one named');
    const manager = await session(2);
    const managed = await ui(stack, manager, 'POST', 'settings/save', {
      ...SETTINGS,
      analyticsViewerIds: ['2'],
      managerIds: ['2'],
      action: 'save',
    });
    t.equal(managed.kind, 'ok', 'the named manager saves the settings');
    t.same(await stored(), [viewer.ID], 'but not who sees analytics');
    const wrong = await ui(stack, admin, 'POST', 'settings/save', {
      ...SETTINGS,
      analyticsViewerIds: ['999'],
      action: 'save',
    });
    t.match(
      wrong.html,
      /data-testid="error-analyticsViewerIds">Выберите сотрудников из списка/,
      'a user the portal has not',
    );
    t.same(await stored(), [viewer.ID], 'and nothing changed');

    // The named employee: the tab in the bar and its figures.
    const named = await session(viewer.ID);
    const page = await framePost(stack, 'delta', '/b24/app', { userId: viewer.ID });
    t.match(page.html, /data-tab="analytics"/, 'the named employee’s tab bar has «Аналитика»');
    const tab = await ui(stack, named, 'GET', 'tab/analytics', { bucket: 'week' });
    t.equal(tab.status, 200, 'and the tab answers');
    t.match(tab.html, /data-testid="analytics-panel"/);
    // Another employee (the manager of the app, even): no tab, and the route refused.
    t.notMatch((await framePost(stack, 'delta', '/b24/app', { userId: 2 })).html, /data-tab="analytics"/);
    const refused = await ui(stack, manager, 'GET', 'tab/analytics');
    t.same([refused.status, refused.kind, refused.code], [403, 'error', 'analytics_only'], 'another: 403');
    t.notMatch(refused.html, /analytics-panel/, 'with no figure');
  },
);

if (!existsSync('/usr/bin/chromium')) {
  t.fail('/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium)');
} else {
  t.test(
    '«Кто может видеть аналитику»: the named employee sees «Аналитика», another is refused like on any page not theirs',
    { timeout: 300_000 },
    async (t) => {
      const stack = await startStack(t, {
        hh: 'real',
        generate: {
          seed: 23,
          employers: 1,
          managersPerEmployer: 1,
          vacanciesPerManager: 1,
          negotiations: 3,
          heavyApplicantResponses: 0,
          tombstones: 0,
          unpaidEmployers: 0,
        },
        build: workers('hh-connector', 'crm-writer'),
      });
      const { sim } = stack.b24;
      const db = stack.services[0]!.runtime.db;
      const memberId = await install(stack, 'gamma');
      const hhAdmin = [...stack.hh.sim.store.managers.values()].find((m) => m.isAdmin)!;
      await stack.services[0]!.runtime.call(
        rpc.hhConnect,
        { memberId, userId: 1, code: stack.hh.sim.authorize({ userId: hhAdmin.userId }) },
        { timeoutMs: 30_000 },
      );
      const users = sim.portal('gamma').users;
      const viewer = users.get(3)!;
      const other = users.get(2)!;
      t.same(
        [viewer.isAdmin, viewer.crmAccess, other.isAdmin, other.crmAccess],
        [false, true, false, true],
        'users 2 and 3 of a simulated portal are employees with CRM access, no admins',
      );

      const b = await browser(t);
      const portal = sim.portalInfo('gamma');
      /** The app as the portal's user `userId` opens it (what the simulated portal's user switch sets). */
      const openAs = async (userId: number): Promise<Page> => {
        const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
        await page
          .context()
          .addCookies([{ name: 'b24sim_user_gamma', value: String(userId), url: portal.baseUrl }]);
        await page.goto(`${portal.baseUrl}app/hh-b24-dev/`);
        await page.frameLocator('[data-testid=app-iframe]').getByTestId('tabs').waitFor({ timeout: 20_000 });
        return page;
      };
      const tabsOf = async (page: Page) =>
        page
          .frameLocator('[data-testid=app-iframe]')
          .locator('[data-testid=tab]')
          .evaluateAll((tabs) => tabs.map((el) => el.getAttribute('data-tab')));

      // ---- the admin names one employee, found by the user search --------------------------------------
      const adminPage = await openAs(1);
      const admin = adminPage.frameLocator('[data-testid=app-iframe]');
      t.ok((await tabsOf(adminPage)).includes('analytics'), 'the admin sees «Аналитика»');
      // hh.ru is connected: the app opens on «Настройки».
      await admin.locator('[data-testid=tab][data-tab=settings][aria-selected=true]').waitFor();
      await admin.getByTestId('settings-form').waitFor();
      await eventually(
        async () =>
          (await admin.locator('.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added').count()) === 0,
        { what: 'htmx settled' },
      );
      const viewers = admin.getByTestId('analytics-viewers');
      await admin.getByTestId('viewer-query').fill(viewer.LAST_NAME);
      await eventually(
        async () => {
          const names = await viewers.locator('option').allTextContents();
          if (names.length === 1 && names[0]!.startsWith(`${viewer.NAME} ${viewer.LAST_NAME}`)) return true;
          throw new Error(`the list holds ${JSON.stringify(names)}`);
        },
        { what: 'the search to list the one employee', timeoutMs: 20_000 },
      );
      await viewers.selectOption(String(viewer.ID));
      await admin.getByTestId('save').click();
      await eventually(
        async () => {
          const row = await db('portal_settings').where({ member_id: memberId }).first('settings');
          return JSON.stringify(row?.settings?.analyticsViewerIds) === JSON.stringify([viewer.ID]);
        },
        { what: 'the settings to name the employee', timeoutMs: 30_000 },
      );
      t.pass('saved: the employee may see analytics');

      // ---- the named employee ------------------------------------------------------------------------
      const viewerPage = await openAs(viewer.ID);
      const seen = viewerPage.frameLocator('[data-testid=app-iframe]');
      t.ok(
        (await tabsOf(viewerPage)).includes('analytics'),
        'the named employee sees «Аналитика» in the tab bar',
      );
      await seen.locator('[data-testid=tab][data-tab=analytics]').click();
      await seen.getByTestId('analytics-panel').waitFor();
      await seen.locator('[data-testid=analytics-funnel-row][data-vacancy=all]').waitFor();
      t.equal(await seen.getByTestId('notice').count(), 0, 'its panel: the figures, no refusal');

      // ---- another employee ---------------------------------------------------------------------------
      const otherPage = await openAs(other.ID);
      t.notOk((await tabsOf(otherPage)).includes('analytics'), 'another employee sees no «Аналитика»');
      const token = await otherPage
        .frameLocator('[data-testid=app-iframe]')
        .locator('body')
        .getAttribute('data-session');
      const ask = async (method: 'GET' | 'POST', route: string) => {
        const res = await fetch(`${stack.gatewayUrl}/ui/${route}`, {
          method,
          headers: {
            'x-hhb24-session': token!,
            ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          },
          ...(method === 'POST' ? { body: 'action=save' } : {}),
        });
        const html = await res.text();
        return {
          status: res.status,
          kind: /data-kind="(\w+)"/.exec(html)?.[1],
          code: /data-error="(\w+)"/.exec(html)?.[1],
        };
      };
      const refused = await ask('GET', 'tab/analytics');
      t.same(refused, { status: 403, kind: 'error', code: 'analytics_only' }, 'its route asked anyway: 403');
      const change = await ask('POST', 'settings/save');
      t.same(
        [change.status, change.kind],
        [refused.status, refused.kind],
        'the same refusal as a change only admins make (a 403 notice)',
      );
      t.equal(change.code, 'manage_only');
      const filtered = await ask('GET', 'tab/analytics?from=2026-01-01&bucket=week');
      t.equal(filtered.status, 403, 'a filter does not open it either');
    },
  );
}
