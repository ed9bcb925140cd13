/**
 * The whole path with the real services, in a browser inside the simulated portal: install →
 * «Готово» → «Войти» → hh.ru's login page → connected → settings (leads on one portal; deals with
 * a pipeline and the extended mapping on another) → import progress → the result lines, counted
 * against what the portals received; then a password change on hh.ru (revoked tokens), a new login,
 * the card tab of an imported lead, and the uninstall that removes the hh.ru subscription.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import { rpc } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { browser, importAndWait, installAndConnect, screenshot, startStack, workers } from './stack.js';

if (!existsSync('/usr/bin/chromium')) {
  t.fail(
    '/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium; .ci/run does it)',
  );
} else {
  t.test(
    'install → login on hh.ru → settings → import → results; a revoked token and a new login; the card tab',
    { timeout: 300_000 },
    async (t) => {
      const stack = await startStack(t, {
        hh: 'real',
        build: workers('hh-connector', 'crm-writer'),
      });
      const { sim } = stack.b24;
      const b = await browser(t);
      const page = await b.newPage({ viewport: { width: 1280, height: 900 } });

      // ---- portal one: leads ---------------------------------------------------------------------
      const leads = sim.createPortal({ name: 'leads', lang: 'ru' });
      const app = await installAndConnect(page, stack, 'leads', 0);
      const employer = [...stack.hh.sim.store.employers.values()][0]!;
      t.equal(
        await app.getByTestId('employer-name').textContent(),
        employer.name,
        'connected to the employer chosen on hh.ru',
      );
      await app.locator('[data-testid=tab][data-tab=settings]').click();
      await app.getByTestId('settings-form').waitFor();
      await app.getByTestId('responsible').selectOption('1');
      const leadResult = await importAndWait(app);
      const imported = sim.entities(leads.memberId, 'lead');
      t.ok(imported.length > 0, `${imported.length} leads created`);
      t.equal(
        leadResult.imported,
        `Лидов импортировано: ${imported.length}`,
        'the result line counts the leads the portal received',
      );
      t.match(leadResult.loaded, /^Откликов загружено: \d+$/);

      // ---- the card tab of an imported lead -------------------------------------------------------
      const lead = imported[0]!;
      await page.goto(`${leads.baseUrl}crm/lead/details/${String(lead['ID'])}/`);
      await page.getByTestId('placement-tab').first().click();
      const card = page.frameLocator('[data-testid=placement-iframe]');
      await card.getByTestId('card').waitFor();
      t.equal(
        await card.getByTestId('card-none').count(),
        0,
        'hh-connector knows the negotiation behind the lead',
      );
      t.equal(
        await card.getByTestId('card-vacancy').textContent(),
        String(lead['UF_CRM_NH_VACANCIES']),
        'the vacancy the lead was made for',
      );
      await screenshot(page, 'flow-card-tab');

      // ---- a password change on hh.ru, then a new login ---------------------------------------------
      const admin = [...stack.hh.sim.store.managers.values()].filter((m) => m.isAdmin)[0]!;
      // The import's end starts a reconciliation pass; once it is over nothing calls hh.ru until the
      // page does, so the page is the first to meet the revoked token.
      let seen = -1;
      await eventually(
        () => {
          const now = stack.hh.sim.requests().length;
          const quiet = now === seen;
          seen = now;
          return quiet;
        },
        { timeoutMs: 30_000, intervalMs: 1500, what: 'hh.ru quiet after the reconciliation' },
      );
      stack.hh.sim.changePassword(admin.userId);
      await page.goto(`${leads.baseUrl}app/hh-b24-dev/`);
      await app.locator('[data-testid=tab][data-tab=new-responses]').click();
      await app
        .getByTestId('notice')
        .filter({ hasText: 'hh.ru отозвал доступ приложения' })
        .waitFor({ timeout: 20_000 });
      await eventually(
        async () => {
          await page.reload();
          return (await app.getByTestId('relogin').count()) > 0;
        },
        { timeoutMs: 30_000, intervalMs: 2000, what: '«Требуется повторный вход» after the password change' },
      );
      t.equal(await app.getByTestId('login-required').textContent(), 'Требуется повторный вход');
      const popupOpened = page.waitForEvent('popup');
      await app.getByTestId('login').click();
      const popup = await popupOpened;
      await popup.locator('#user_id').selectOption(String(admin.userId));
      await popup.getByRole('button', { name: 'Разрешить' }).click();
      await popup.getByTestId('login-result').waitFor();
      await popup.close().catch(() => {});
      await app.getByTestId('connected').waitFor({ timeout: 20_000 });
      t.equal(
        sim.entities(leads.memberId, 'lead').length,
        imported.length,
        'nothing lost, nothing twice after the new login',
      );

      // ---- portal two: deals in a pipeline with the extended mapping ----------------------------------
      const deals = sim.createPortal({ name: 'deals', lang: 'ru' });
      const pipeline = sim.addPipeline(deals.memberId, 'Подбор');
      const app2 = await installAndConnect(page, stack, 'deals', 1);
      await app2.locator('[data-testid=tab][data-tab=settings]').click();
      await app2.getByTestId('entity-deal').check();
      await app2.getByTestId('pipeline').waitFor();
      await eventually(
        async () => (await app2.locator('.htmx-request, .htmx-settling, .htmx-added').count()) === 0,
      );
      await app2.getByTestId('pipeline').selectOption(String(pipeline.id));
      await eventually(async () =>
        (
          await app2.locator('[data-field=stageForResponse] option').first().getAttribute('value')
        )?.startsWith(`C${pipeline.id}:`),
      );
      await eventually(
        async () => (await app2.locator('.htmx-request, .htmx-settling, .htmx-added').count()) === 0,
      );
      await app2.getByTestId('extended').check();
      await eventually(async () => (await app2.locator('[data-testid=stage]').count()) === 8);
      const dealResult = await importAndWait(app2);
      const created = sim.entities(deals.memberId, 'deal');
      t.ok(
        created.length > 0 && created.every((d) => Number(d['CATEGORY_ID']) === pipeline.id),
        `${created.length} deals, all in «Подбор»`,
      );
      t.equal(dealResult.imported, `Сделок импортировано: ${created.length}`);
      await screenshot(page, 'flow-deal-results');

      // ---- the first portal removes the app: its hh.ru subscription goes, hh-connector stops ----------
      const subscribed = () =>
        [...stack.hh.sim.webhooks.subscriptions.values()].filter((s) => s.userId === admin.userId).length;
      t.equal(subscribed(), 1, 'the first portal’s account is subscribed to hh.ru’s webhooks');
      await sim.uninstall(leads.memberId, { clean: false });
      await eventually(async () => subscribed() === 0, {
        timeoutMs: 20_000,
        what: 'the hh.ru subscription removed after the uninstall',
      });
      await eventually(
        async () =>
          (await stack.services[0]!.runtime.call(rpc.hhAccount, { memberId: leads.memberId })).status ===
          'not_connected',
        { what: 'hh-connector stopped the portal’s sync' },
      );
      t.equal(
        sim.entities(leads.memberId, 'lead').length,
        imported.length,
        'the portal keeps its leads (no CLEAN)',
      );
    },
  );
}
