/**
 * The app's pages in a real browser inside the simulated portal, with hh-connector's contracts
 * answered from fixture data (hh-connector's own behaviour is tested with it; the full path runs
 * in flow.test.ts). An admin installs the app («Готово» registers everything, then
 * BX24.installFinish()), signs in on the simulated hh.ru, sets up leads and then deals with a
 * pipeline and extended mapping, watches the import and its results, checks new responses, writes
 * feedback; then the revoked-token state, the card tab and a user without rights.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { FrameLocator } from 'playwright-core';
import { type CardView, HH_STATES, type NegotiationSnapshot, subjects } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { NOT_CONNECTED, browser, screenshot, startStack } from './stack.js';

if (!existsSync('/usr/bin/chromium')) {
  t.fail(
    '/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium; .ci/run does it)',
  );
} else {
  t.test(
    'install, sign in, settings, import, new responses, feedback; revoked token, card tab, no rights',
    { timeout: 150_000 },
    async (t) => {
      // «Обратная связь» goes to a webhook here (feedback.test.ts tests the channels and the retries).
      const feedbackPosts: unknown[] = [];
      const webhook = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString('utf8')));
        req.on('end', () => (feedbackPosts.push(JSON.parse(body)), res.end('{}')));
      });
      await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
      t.teardown(() => new Promise((r) => webhook.close(r)));
      const stack = await startStack(t, {
        hh: 'fixture',
        env: {
          FEEDBACK_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/feedback`,
        },
      });
      const f = stack.fixture!;
      const { sim } = stack.b24;
      const b = await browser(t);
      const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
      const portal = sim.createPortal({ name: 'acme', lang: 'ru' });
      const deals = sim.addPipeline(portal.memberId, 'Подбор');
      const app = () => page.frameLocator('[data-testid=app-iframe]');
      const gatewayDb = stack.services.at(-1)!.runtime.db;

      // ---- install ---------------------------------------------------------------------------------
      await page.goto(`${portal.baseUrl}marketplace/`);
      await page.getByTestId('install-app').click();
      await app().getByTestId('install').waitFor();
      const stored = await gatewayDb('b24_portals').where({ member_id: portal.memberId }).first();
      t.equal(
        stored?.status,
        'installed',
        'the installer page stored the portal after the OAuth server confirmed it',
      );
      t.match(
        await app().getByTestId('install').textContent(),
        'Роботы «Обновить статус НН» и «Сменить статус на НН» для лидов и сделок',
        'the installer names both robots, «НН» in Cyrillic as the fields have it',
      );
      await screenshot(page, '01-install');
      await app().getByTestId('install-done').click();
      await page.getByTestId('install-finished').waitFor();
      t.equal(
        sim.portal('acme').installs.get('hh-b24-dev')!.installed,
        true,
        '«Готово» ended in BX24.installFinish()',
      );
      const fields = sim
        .userFields(portal.memberId)
        .map((u) => `${u.ENTITY_ID}:${u.FIELD_NAME}:${u.USER_TYPE_ID}`)
        .sort();
      t.same(
        fields.filter((x) => x.startsWith('CRM_LEAD')),
        [
          'CRM_LEAD:UF_CRM_APPLICANT_CITY:string',
          'CRM_LEAD:UF_CRM_HH_RESUME:file',
          'CRM_LEAD:UF_CRM_NH_CREATED_AT:string',
          'CRM_LEAD:UF_CRM_NH_STATUS:string',
          'CRM_LEAD:UF_CRM_NH_VACANCIES:string',
        ],
        'the user fields on leads',
      );
      t.equal(fields.filter((x) => x.startsWith('CRM_DEAL')).length, 5, 'and on deals');
      t.same(
        sim.placements(portal.memberId).map((p) => [p.placement, p.handler]),
        [
          ['CRM_LEAD_DETAIL_TAB', `${stack.gatewayUrl}/b24/placement`],
          ['CRM_DEAL_DETAIL_TAB', `${stack.gatewayUrl}/b24/placement`],
        ],
        'the card tabs',
      );
      t.same(
        sim.robots(portal.memberId).map((r) => [r.code, r.handler, r.useSubscription]),
        [
          ['hh_status_refresh', `${stack.gatewayUrl}/b24/robot`, true],
          ['hh_status_change', `${stack.gatewayUrl}/b24/robot`, true],
        ],
        'the robots «Обновить статус НН» and «Сменить статус на НН», waiting for their answer',
      );
      t.same(
        sim.eventBindings(portal.memberId).map((e) => [e.event, e.handler]),
        [
          'ONAPPUNINSTALL',
          'ONAPPUPDATE',
          'ONCRMTIMELINEITEMACTION',
          'ONCRMLEADUPDATE',
          'ONCRMDEALUPDATE',
        ].map((e) => [e, `${stack.gatewayUrl}/b24/events`]),
        'the uninstall, the app update, «Другие отклики» and stage-move handlers',
      );

      // ---- «Авторизация»: only it is open until hh.ru is connected --------------------------------
      await app().getByTestId('auth-panel').waitFor();
      t.same(
        await app()
          .locator('[data-testid=tab]:disabled')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-tab'))),
        ['settings', 'vacancies', 'new-responses'],
        'the other tabs but «Состояние» and «Обратная связь» are inactive',
      );
      await screenshot(page, '02-auth');
      const popupOpened = page.waitForEvent('popup');
      await app().getByTestId('login').click();
      const popup = await popupOpened;
      await popup.waitForURL(/\/oauth\/authorize\?/);
      const authorize = new URL(popup.url());
      t.match(
        Object.fromEntries(authorize.searchParams),
        {
          response_type: 'code',
          client_id: 'hh-b24-dev',
          redirect_uri: `${stack.gatewayUrl}/hh/oauth/callback`,
          state: /^[A-Za-z0-9_-]{32}$/,
        },
        '«Войти» opened hh.ru’s authorize page with a state',
      );
      await screenshot(popup, '03-hh-login');
      const chosen = stack.hh.sim.store.managersByUser.get(await popup.locator('#user_id').inputValue())!;
      const chosenName = [chosen.lastName, chosen.firstName, chosen.middleName].filter(Boolean).join(' ');
      await popup.getByRole('button', { name: 'Разрешить' }).click();
      await popup.getByTestId('login-result').waitFor();
      t.equal(await popup.getByTestId('login-result').getAttribute('data-outcome'), 'connected');
      t.match(
        await popup.getByTestId('login-result').textContent(),
        chosenName,
        'the login result names the manager who signed in',
      );
      const connect = f.calls.find((c) => c.contract === 'hhConnect')!.request as {
        memberId: string;
        userId: number;
        code: string;
      };
      t.match(
        connect,
        { memberId: portal.memberId, userId: 1, code: /\S+/ },
        'the code went to hh-connector for the portal and the user who clicked',
      );
      await popup.close().catch(() => {});

      await app().getByTestId('connected').waitFor();
      t.equal(
        await app().getByTestId('sync-active').textContent(),
        'Синхронизация активна',
        'the page noticed the connection by itself',
      );
      t.equal(
        await app().getByTestId('employer-name').textContent(),
        stack.hh.sim.store.employers.get(chosen.employerId)!.name,
      );
      t.equal(
        await app().getByTestId('manager-name').textContent(),
        chosenName,
        'the connected page names the manager who signed in',
      );
      t.equal(await app().locator('[data-testid=tab]:disabled').count(), 0, 'every tab is open now');
      await screenshot(page, '04-connected');

      // ---- «Настройки»: leads --------------------------------------------------------------------
      await tab(app(), 'settings');
      const form = app().getByTestId('settings-form');
      await form.waitFor();
      t.equal(await app().getByTestId('save').textContent(), 'Сохранить и начать импорт');
      t.equal(await app().getByTestId('stage-mapping').getAttribute('data-mode'), 'simple');
      t.same(
        await stageFields(app()),
        ['stageForResponse', 'stageForInvitation'],
        'simple mode: a stage for responses and one for invitations',
      );
      await app().getByTestId('user-query').fill('Попова');
      await eventually(
        async () =>
          (await app().getByTestId('responsible').getByTestId('user-option').allTextContents()).join() ===
          'Мария Попова — Рекрутер',
        { what: 'the search found the user' },
      );
      await app().getByTestId('responsible').selectOption('3');
      await app().getByTestId('source').selectOption('WEB');
      await app().locator('[data-field=stageForInvitation]').selectOption('PROCESSED');
      await screenshot(page, '05-settings-lead');

      // ---- deals, a pipeline, the extended mapping ----------------------------------------------
      await app().getByTestId('entity-deal').check();
      await app().getByTestId('pipeline').waitFor();
      await settled(app());
      t.equal(
        await app().locator('[data-testid=pipeline] option:checked').textContent(),
        'Общее',
        'deals start in the default pipeline «Общее»',
      );
      await app().getByTestId('pipeline').selectOption(String(deals.id));
      await eventually(
        async () =>
          (
            await app().locator('[data-field=stageForResponse] option').first().getAttribute('value')
          )?.startsWith(`C${deals.id}:`),
        { what: 'the stages of the chosen pipeline' },
      );
      await settled(app());
      await app().getByTestId('extended').check();
      await eventually(async () => (await stageFields(app())).length === 8, {
        what: 'a stage for each hh status',
      });
      t.same(
        await stageFields(app()),
        HH_STATES.map((s) => `stageByState.${s}`),
      );
      t.same(
        await app().locator('[data-testid=stage-mapping] tbody th').allTextContents(),
        [
          'Отклики',
          'Подумать',
          'Телефонное интервью',
          'Оценка',
          'Интервью',
          'Предложение о работе',
          'Выход на работу',
          'Отказано',
        ],
        'the reference app’s names of the statuses; the refusal as hh.ru names the state, as the activity shows it',
      );
      t.equal(
        await app().locator('#responsible option:checked').getAttribute('value'),
        '3',
        'the choices made so far are kept',
      );
      await settled(app());
      await app().locator('[data-field="stageByState.offer"]').selectOption(`C${deals.id}:FINAL_INVOICE`);
      await app().locator('[data-field="stageByState.discard"]').selectOption(`C${deals.id}:LOSE`);
      await screenshot(page, '06-settings-deal-extended');

      // ---- «Что импортировать»: the last 30 days, no discards, one chosen vacancy -------------------
      t.equal(
        await app().getByTestId('import-viewed').textContent(),
        'Чтобы перенести данные соискателя, приложение открывает его резюме: на hh.ru отклик станет просмотренным.',
        'the admin is told that reading a resume marks the response viewed',
      );
      t.equal(await app().getByTestId('import-vacancy').count(), f.vacancies.length, 'the active vacancies');
      await app().getByTestId('import-vacancies-chosen').check();
      f.progress = { ...f.progress, state: 'never' };
      await app().getByTestId('save').click();
      await app().getByTestId('error-vacancyIds').waitFor();
      t.equal(
        await app().getByTestId('error-vacancyIds').textContent(),
        'Выберите хотя бы одну вакансию',
        '«Выбранные» without a vacancy is refused before anything starts',
      );
      await settled(app());
      await app().getByTestId('import-period-days').check();
      await app().getByTestId('import-days').fill('30');
      await app().getByTestId('import-collections-no-discards').check();
      await app().getByTestId('import-vacancy').first().check();

      // ---- «Сохранить и начать импорт» → progress → results ------------------------------------------
      await app().getByTestId('save').click();
      await app().getByTestId('import-progress').waitFor();
      t.equal(
        await app().getByTestId('settings-form').count(),
        0,
        'the settings are hidden while the import runs',
      );
      const saved = await stack.services[0]!.runtime.db('portal_settings')
        .where({ member_id: portal.memberId })
        .first();
      t.match(
        saved.settings,
        {
          entityType: 'deal',
          categoryId: deals.id,
          responsibleUserId: 3,
          sourceId: 'WEB',
          extendedSync: true,
          stageByState: { offer: `C${deals.id}:FINAL_INVOICE`, discard: `C${deals.id}:LOSE` },
        },
        'the settings were saved',
      );
      const request = await eventually(async () => findMessage(stack, subjects.hhImportRequested), {
        what: 'hh.import.requested published',
      });
      t.match(
        request,
        {
          memberId: portal.memberId,
          kind: 'initial',
          requestedBy: 1,
          scope: { periodDays: 30, discarded: false, vacancyIds: [f.vacancies[0]!.id] },
        },
        'the initial import was asked for, with the admin’s choice',
      );

      f.progress = {
        state: 'running',
        pausedReason: null,
        vacanciesTotal: 4,
        vacanciesDone: 1,
        found: 24,
        loaded: 10,
        imported: 6,
        failed: 0,
        startedAt: new Date().toISOString(),
        finishedAt: null,
      };
      await eventually(
        async () =>
          (await app().getByTestId('count-imported').textContent()) === 'Импортировано на портал: 6',
        { what: 'the progress counters updated live' },
      );
      t.equal(await app().getByTestId('count-found').textContent(), 'Найдено откликов: 24');
      await screenshot(page, '07-import-progress');

      // One progress request fails (a gateway restarting): the error line shows, the page keeps asking,
      // and the line goes once the counters answer again.
      let progressFailed = false;
      await page.route('**/ui/import/progress', async (route) => {
        if (progressFailed) return route.continue();
        progressFailed = true;
        await route.fulfill({ status: 503, body: '' });
      });
      await app().getByTestId('request-error').waitFor();
      f.progress = { ...f.progress, loaded: 14, imported: 8 };
      await eventually(
        async () =>
          (await app().getByTestId('count-imported').textContent()) === 'Импортировано на портал: 8',
        { what: 'the progress went on after a failed request' },
      );
      await app().getByTestId('request-error').waitFor({ state: 'hidden' });
      await page.unroute('**/ui/import/progress');
      f.progress = { ...f.progress, state: 'paused', pausedReason: 'no_paid_access' };
      await eventually(
        async () =>
          (await app().getByTestId('import-state').textContent()) ===
          'Импорт приостановлен: hh.ru не отдаёт отклики и резюме без платного доступа к API. Как только работодатель подключит его на hh.ru, импорт продолжится сам (доступ проверяется каждые несколько минут).',
        { what: 'a paused import says why and what to do' },
      );
      f.failures = [
        {
          negotiationId: '1300000009',
          applicantName: 'Сидоров <b>Пётр</b>',
          vacancyName: 'Аналитик',
          code: 'b24_rejected',
          message: 'Не введено значение обязательного поля "Источник"',
          fix: 'Выбрать источник на вкладке «Настройки» и сохранить: портал требует поле «Источник». Отклики будут записаны снова.',
          failedAt: new Date().toISOString(),
          attempts: 1,
        },
      ];
      f.progress = {
        ...f.progress,
        state: 'finished',
        vacanciesDone: 4,
        loaded: 24,
        imported: 23,
        failed: 1,
        finishedAt: new Date().toISOString(),
      };
      await app().getByTestId('import-results').waitFor({ timeout: 10_000 });
      t.equal(await app().getByTestId('result-loaded').textContent(), 'Откликов загружено: 24');
      t.equal(await app().getByTestId('result-imported').textContent(), 'Сделок импортировано: 23');
      t.equal(
        await app().getByTestId('failure-fix').textContent(),
        'Выбрать источник на вкладке «Настройки» и сохранить: портал требует поле «Источник». Отклики будут записаны снова.',
        'a refused write says what to fix',
      );
      t.equal(
        await app().getByTestId('save').textContent(),
        'Сохранить',
        'after the import, saving applies to new responses only',
      );
      await screenshot(page, '08-import-results');
      await app().getByTestId('failure-retry').click();
      await app().getByTestId('retried').waitFor();
      t.same(
        f.calls.find((c) => c.contract === 'crmRetry')?.request,
        { memberId: portal.memberId, negotiationId: '1300000009' },
        '«Повторить» asked crm-writer to write it again',
      );
      t.equal(await app().getByTestId('failures').count(), 0, 'and it is gone from the list');

      // ---- «Новые отклики», «Обратная связь» --------------------------------------------------------
      // The count follows the choice of what to import: 3 for the portal's (everything), 1 without the discards.
      f.newResponses = (req) => ({
        newCount: req.scope?.discarded === false ? 1 : 3,
        subscription: req.repair ? 'renewed' : 'created',
        scope: { periodDays: null, discarded: true, vacancyIds: null },
      });
      await tab(app(), 'new-responses');
      await app().getByTestId('new-count').waitFor();
      t.equal(
        await app().getByTestId('new-count').textContent(),
        'Найдено новых откликов: 3. Они появятся на портале в течение нескольких минут.',
      );
      t.equal(await app().getByTestId('subscription').getAttribute('data-state'), 'created');
      await screenshot(page, '09-new-responses');

      // ---- «Что импортировать» on «Новые отклики»: a count per choice, kept only on «Проверить ещё раз» ----
      const lastNewResponses = () => f.calls.filter((c) => c.contract === 'hhNewResponses').at(-1)?.request;
      t.equal(
        await app().getByTestId('import-viewed').textContent(),
        'Чтобы перенести данные соискателя, приложение открывает его резюме: на hh.ru отклик станет просмотренным.',
        '«Новые отклики» says that reading a resume marks the response viewed',
      );
      t.ok(await app().getByTestId('import-collections-all').isChecked(), 'the portal’s choice is shown');
      await settled(app());
      await app().getByTestId('import-collections-no-discards').check();
      await app().locator('[data-testid=new-count][data-preview="1"]').waitFor();
      t.equal(
        await app().getByTestId('new-count').textContent(),
        'По выбранным условиям новых откликов на hh.ru: 1. «Проверить ещё раз» загрузит их.',
        'the count of the changed choice, before anything is kept',
      );
      t.same(
        lastNewResponses(),
        {
          memberId: portal.memberId,
          repair: false,
          scope: { periodDays: null, discarded: false, vacancyIds: null },
        },
        'the count was asked for the choice, without repair',
      );
      await settled(app());
      // «За последние дни» without a number of days: not counted, the field says why.
      await app().getByTestId('import-period-days').check();
      await app().getByTestId('error-importDays').waitFor();
      t.equal(
        await app().getByTestId('error-importDays').textContent(),
        'Укажите число дней от 1 до 3650',
        'a period that does not fit is refused with a reason',
      );
      await settled(app());
      await app().getByTestId('import-days').fill('14');
      await app().getByTestId('import-days').blur();
      await app().locator('[data-testid=new-count][data-preview="1"]').waitFor();
      await settled(app());
      await app().getByTestId('check-again').click();
      await app().locator('[data-testid=subscription][data-state=renewed]').waitFor();
      t.same(
        lastNewResponses(),
        {
          memberId: portal.memberId,
          repair: true,
          scope: { periodDays: 14, discarded: false, vacancyIds: null },
        },
        '«Проверить ещё раз» keeps the choice on the form',
      );

      await tab(app(), 'feedback');
      await app().getByTestId('feedback-send').click();
      t.equal(
        await app().getByTestId('error-message').textContent(),
        'Напишите сообщение',
        'an empty message is refused with a reason',
      );
      await app().getByTestId('feedback-message').fill('Добавьте, пожалуйста, фильтр по городам <b>');
      await app().getByTestId('feedback-contact').fill('hr@acme.example');
      await app().getByTestId('feedback-send').click();
      await app().getByTestId('feedback-sent').waitFor();
      const feedback = await stack.services[0]!.runtime.db('feedback').where({ member_id: portal.memberId });
      t.match(
        feedback,
        [{ user_id: 1, message: 'Добавьте, пожалуйста, фильтр по городам <b>', contact: 'hr@acme.example' }],
        'the feedback is stored for the portal',
      );
      t.match(
        feedbackPosts,
        [
          {
            feedback: { message: 'Добавьте, пожалуйста, фильтр по городам <b>', contact: 'hr@acme.example' },
          },
        ],
        'and it reached the webhook',
      );
      await screenshot(page, '10-feedback');

      // ---- keyboard: the tab bar moves with the arrows ---------------------------------------------
      await app().locator('[data-tab=feedback]').focus();
      await page.keyboard.press('ArrowLeft');
      await app().getByTestId('new-count').waitFor();
      t.equal(
        await app().locator('[aria-selected=true]').getAttribute('data-tab'),
        'new-responses',
        'ArrowLeft opened the previous tab',
      );

      // ---- the iframe fits its content ---------------------------------------------------------------
      const frameHeight = await page
        .locator('.app-layout')
        .evaluate((el) => el.getBoundingClientRect().height);
      t.not(frameHeight, 640, `BX24.resizeWindow changed the frame’s height (now ${frameHeight}px)`);

      // ---- revoked on hh.ru: red state, «Войти» again, the other tabs wait --------------------------
      f.account = { ...f.account, status: 'login_required', loginRequiredReason: 'token_revoked' };
      await page.reload();
      await app().getByTestId('relogin').waitFor();
      t.equal(await app().getByTestId('login-required').textContent(), 'Требуется повторный вход');
      t.equal(await app().getByTestId('login').textContent(), 'Войти');
      t.equal(
        await app().locator('[data-testid=tab]:disabled').count(),
        3,
        'a lost login closes «Настройки», «Вакансии» and «Новые отклики»; «Обратная связь» stays open',
      );
      await screenshot(page, '11-login-required');

      // ---- the card tab ------------------------------------------------------------------------------
      const lead = sim.createEntity(portal.memberId, 'lead', { TITLE: 'Отклик: Программист' });
      const other = sim.createEntity(portal.memberId, 'deal', { TITLE: 'Отклик: Аналитик' });
      f.cards.set(`lead:${String(lead['ID'])}`, card(portal.memberId, Number(other['ID'])));
      // Bigger than one stored part (256 KB): the answer is put together from two.
      const pdfBytes = Buffer.concat([
        Buffer.from('%PDF-1.4 test of a resume in two parts\n'),
        Buffer.alloc(300_000, 0x25),
      ]);
      f.pdf = { filename: 'Иванов Иван_Программист 01-12-2026.pdf', bytes: pdfBytes };
      await page.goto(`${portal.baseUrl}crm/lead/details/${String(lead['ID'])}/`);
      await page.getByTestId('placement-tab').first().click();
      const tabFrame = page.frameLocator('[data-testid=placement-iframe]');
      await tabFrame.getByTestId('card').waitFor();
      t.equal(
        await tabFrame.getByTestId('card-name').textContent(),
        '<img src=x onerror=alert(1)>Иван <script>alert(1)</script>',
        'the applicant’s name is shown as text',
      );
      t.equal(
        await tabFrame.locator('[data-testid=card-name] script, [data-testid=card-name] img').count(),
        0,
        'and nothing in it became markup',
      );
      t.equal(
        await tabFrame.getByTestId('card-phone').textContent(),
        'Соискатель скрыл телефон',
        'hidden contacts say so',
      );
      t.equal(await tabFrame.getByTestId('card-created').textContent(), '01.12.2026');
      t.equal(
        await tabFrame.getByTestId('card-resume').getAttribute('href'),
        'https://hh.ru/resume/abc',
        'the resume on hh.ru',
      );
      t.equal(
        await tabFrame.locator('[data-testid=card-vacancy] a').count(),
        0,
        'a javascript: link from the data is not made a link',
      );
      t.same(await tabFrame.locator('[data-testid=card-history] li').allTextContents(), [
        '01.12.2026 Отклики',
        '02.12.2026 Интервью',
      ]);
      const downloading = page.waitForEvent('download');
      await tabFrame.getByTestId('card-pdf').click();
      const download = await downloading;
      t.equal(
        download.suggestedFilename(),
        'Иванов Иван_Программист 01-12-2026.pdf',
        'the PDF downloads under its name',
      );
      t.same(await readFile(await download.path()), pdfBytes, 'whole, put together from its parts');
      t.same(
        f.calls.filter((c) => c.contract === 'hhPdf').map((c) => c.request),
        [{ memberId: portal.memberId, negotiationId: '1300000001' }],
        'asked once where it is stored',
      );
      await screenshot(page, '12-card-tab');
      await tabFrame.getByTestId('open-other').click();
      await page.waitForURL(`${portal.baseUrl}crm/deal/details/${String(other['ID'])}/`);
      t.pass('«Открыть» opened the other response’s deal in the portal');

      // ---- a user who reads only their own leads («Свои») -----------------------------------------------
      const own = sim.addUser(portal.memberId, {
        NAME: 'Ольга',
        LAST_NAME: 'Своя',
        isAdmin: false,
        crmAccess: true,
        crmOwnOnly: true,
      });
      const mine = sim.createEntity(portal.memberId, 'lead', {
        TITLE: 'Отклик: Тестировщик',
        ASSIGNED_BY_ID: own.ID,
      });
      f.cards.set(`lead:${String(mine['ID'])}`, card(portal.memberId, Number(other['ID'])));
      await page
        .context()
        .addCookies([{ name: 'b24sim_user_acme', value: String(own.ID), url: stack.b24.url }]);
      await page.goto(`${portal.baseUrl}crm/lead/details/${String(lead['ID'])}/`);
      await page.getByTestId('placement-tab').first().click();
      await tabFrame.getByTestId('access-entity').waitFor();
      t.equal(
        await tabFrame.getByTestId('card').count(),
        0,
        'another’s lead: the portal says no, so the card shows nothing of the response',
      );
      await page.goto(`${portal.baseUrl}crm/lead/details/${String(mine['ID'])}/`);
      await page.getByTestId('placement-tab').first().click();
      await tabFrame.getByTestId('card').waitFor();
      t.pass('one’s own lead: the card');
      // Its session serves that card and its PDF only, whatever the page is made to ask.
      const cardToken = await tabFrame.locator('input[name=_session]').first().inputValue();
      const ask = (route: string, body: Record<string, string>) =>
        fetch(`${stack.gatewayUrl}/ui/${route}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-hhb24-session': cardToken },
          body: new URLSearchParams(body).toString(),
        });
      t.equal(
        (await ask('card', { entityType: 'lead', entityId: String(mine['ID']) })).status,
        200,
        'the card it was opened on',
      );
      t.equal(
        (await ask('card', { entityType: 'lead', entityId: String(lead['ID']) })).status,
        403,
        'another lead by a forged request',
      );
      t.equal((await ask('card/pdf', { negotiationId: '1300000001' })).status, 200, 'its response’s PDF');
      t.equal((await ask('card/pdf', { negotiationId: '1300000777' })).status, 403, 'another response’s PDF');

      // ---- a user without admin rights and without CRM access ---------------------------------------
      const nobody = sim.addUser(portal.memberId, {
        NAME: 'Гость',
        LAST_NAME: 'Без прав',
        isAdmin: false,
        crmAccess: false,
      });
      await page
        .context()
        .addCookies([{ name: 'b24sim_user_acme', value: String(nobody.ID), url: stack.b24.url }]);
      await page.goto(`${portal.baseUrl}app/hh-b24-dev/`);
      await app().getByTestId('no-access').waitFor();
      t.same(
        [
          await app().getByTestId('access-admin').textContent(),
          await app().getByTestId('access-crm').textContent(),
        ],
        ['нет', 'нет'],
        'the page says what is missing',
      );
      await screenshot(page, '13-no-access');
      f.account = NOT_CONNECTED;
    },
  );
}

async function tab(frame: FrameLocator, key: string): Promise<void> {
  await frame.locator(`[data-testid=tab][data-tab=${key}]`).click();
  await frame.locator(`[data-testid=tab][data-tab=${key}][aria-selected=true]`).waitFor();
}

/** htmx has swapped and wired the new content (a change made before that would go unheard). */
async function settled(frame: FrameLocator): Promise<void> {
  await eventually(
    async () =>
      (await frame.locator('.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added').count()) === 0,
    { what: 'htmx settled' },
  );
}

function stageFields(frame: FrameLocator): Promise<string[]> {
  return frame
    .locator('[data-testid=stage]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-field') ?? ''));
}

async function findMessage(stack: Awaited<ReturnType<typeof startStack>>, subject: string): Promise<unknown> {
  const runtime = stack.services[0]!.runtime;
  const stream = runtime.naming.stream('HH');
  const info = await runtime.nats.jsm.streams.info(stream).catch(() => null);
  for (let seq = 1; info && seq <= info.state.last_seq; seq++) {
    const m = await runtime.nats.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m && m.subject === runtime.naming.subject(subject)) return m.json();
  }
  return undefined;
}

function card(memberId: string, otherDealId: number): CardView {
  const snapshot: NegotiationSnapshot = {
    memberId,
    accountId: 'acc-1',
    negotiationId: '1300000001',
    version: 3,
    kind: 'response',
    vacancy: { id: '80000001', name: 'Программист', url: 'javascript:alert(1)' },
    state: { id: 'interview', name: 'Интервью' },
    createdAt: '2026-12-01T10:00:00+0300',
    updatedAt: '2026-12-02T10:00:00+0300',
    personId: 'p-1',
    applicant: {
      resumeId: 'abc',
      fullName: '<img src=x onerror=alert(1)>Иван <script>alert(1)</script>',
      phones: [],
      email: 'ivan@example.com',
      city: 'Москва',
      hidden: { name: false, phones: true, email: false },
    },
    resume: {
      title: 'Программист',
      url: 'https://hh.ru/resume/abc',
      experienceMonths: 30,
      salary: null,
      skills: ['TypeScript'],
      pdf: { filename: 'Иванов Иван_Программист 01-12-2026.pdf' },
    },
  };
  return {
    snapshot,
    history: [
      { stateId: 'response', stateName: 'Отклики', at: '2026-12-01T10:00:00+0300' },
      { stateId: 'interview', stateName: 'Интервью', at: '2026-12-02T10:00:00+0300' },
    ],
    others: [
      {
        negotiationId: '1300000002',
        vacancyName: 'Аналитик',
        stateName: 'Отклики',
        createdAt: '2026-11-20T10:00:00+0300',
        kind: 'response',
        entity: { type: 'deal', id: otherDealId },
      },
    ],
    pdfAvailable: true,
  };
}
