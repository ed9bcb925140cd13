/**
 * The «Состояние» tab with the real services, in a browser inside the simulated portal, in each
 * state: healthy after the import; a new response by webhook in the delivery log (paged); webhooks
 * dropped on hh.ru's side and the response found by a reconciliation pass; a required field the
 * portal enforces, failing writes with one notice for the incident, «Повторить все» after the fix
 * and one notice when it clears; and a password change on hh.ru that revokes the token.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import type { FrameLocator, Page } from 'playwright-core';
import { eventually } from '@hhb24/common/testing';
import { browser, importAndWait, installAndConnect, screenshot, startStack, workers } from './stack.js';

const INCIDENT_TAG = 'hhb24|crm-failures|';

/** Opens «Состояние» again (the tab is a snapshot; the refresh button asks anew) until `check` holds. */
async function healthUntil(
  app: FrameLocator,
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  await eventually(
    async () => {
      await app.locator('[data-testid=tab][data-tab=health]').click();
      await app.getByTestId('health-panel').waitFor();
      await settled(app);
      return check();
    },
    { timeoutMs, intervalMs: 1000, what },
  );
}

async function settled(app: FrameLocator): Promise<void> {
  await eventually(
    async () => (await app.locator('.htmx-request, .htmx-settling, .htmx-swapping').count()) === 0,
    { what: 'htmx settled' },
  );
}

const text = async (app: FrameLocator, id: string) =>
  ((await app.getByTestId(id).textContent()) ?? '').replace(/\s+/g, ' ').trim();

if (!existsSync('/usr/bin/chromium')) {
  t.fail(
    '/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium; .ci/run does it)',
  );
} else {
  t.test(
    '«Состояние»: healthy, webhooks in the log, webhooks dropped and found by reconciliation, a required field failing and retried, a revoked token',
    { timeout: 300_000 },
    async (t) => {
      const stack = await startStack(t, {
        hh: 'real',
        build: workers('hh-connector', 'crm-writer'),
      });
      const { sim } = stack.b24;
      const hh = stack.hh.sim;
      const b = await browser(t);
      const page: Page = await b.newPage({ viewport: { width: 1280, height: 900 } });
      const portal = sim.createPortal({ name: 'health', lang: 'ru' });
      const app = await installAndConnect(page, stack, 'health', 0);
      const admin = [...hh.store.managers.values()].filter((m) => m.isAdmin)[0]!;
      await app.locator('[data-testid=tab][data-tab=settings]').click();
      await app.getByTestId('settings-form').waitFor();
      await app.getByTestId('responsible').selectOption('1');
      await importAndWait(app);
      const leads = () => sim.entities(portal.memberId, 'lead');
      const leadOf = (negotiationId: string) => leads().filter((e) => e['ORIGIN_ID'] === negotiationId);
      const imported = leads().length;

      // ---- healthy -----------------------------------------------------------------------------------
      await healthUntil(
        app,
        async () => (await app.getByTestId('health-reconciliation').getAttribute('data-found')) === '0',
        'the first reconciliation pass after the import',
      );
      t.equal(
        await app.getByTestId('health-panel').getAttribute('data-state'),
        'ok',
        'the summary says all is well',
      );
      t.match(await text(app, 'health-summary'), /Всё работает: отклики приходят и добавляются на портал$/);
      t.equal(await text(app, 'health-token'), 'действует');
      t.equal(await text(app, 'health-employer'), [...hh.store.employers.values()][0]!.name);
      t.equal(await text(app, 'health-admin'), 'есть', 'the admin rights of the hh.ru account');
      t.equal(await text(app, 'health-paid'), 'есть', 'paid API access, from method_access');
      t.match(
        await text(app, 'health-views'),
        /^осталось \d+ из \d+$/,
        'resume views left today, from limits/resume',
      );
      t.equal(await app.getByTestId('health-subscription').getAttribute('data-state'), 'ok');
      t.equal(
        await text(app, 'health-subscription'),
        'подписка есть',
        'in words: no address of ours, no «webhook»',
      );
      t.match(await text(app, 'health-reconciliation'), /расхождений нет \(вакансий проверено: \d+\)/);
      t.equal(await text(app, 'health-portal-tokens'), 'действует');
      t.match(
        await text(app, 'health-last-write'),
        /^\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d$/,
        'the last successful write',
      );
      t.same(
        await app.locator('[data-testid=counts-total] td').allTextContents(),
        [String(imported), String(imported), '0', '0'],
        'all time: received, added, updated, failed',
      );
      t.equal(await text(app, 'health-no-failures'), 'Ошибок нет.');
      t.match(
        await text(app, 'health-portal'),
        /Пауз из-за лимита запросов портала за последний час/,
        'the waits for the portal’s request limit, in words',
      );
      t.equal(
        (await app.locator('[data-testid=health-counts] thead th').allTextContents()).at(-1),
        'Ошибки',
        'the counts’ column of failures…',
      );
      t.equal(
        await app.locator('#health-failures').textContent(),
        'Нерешённые ошибки: 0',
        '…and the list of the ones left to fix, in the same word and told apart',
      );
      await screenshot(page, '14-health');

      // ---- webhooks: each one in the delivery log, paged ----------------------------------------------
      const vacancy = [...hh.store.vacancies.values()].find((v) => v.managerId === admin.id && !v.archived)!;
      // How the log lists a response: the applicant (unless hidden) over the vacancy, as hh.ru names them.
      const listed = (n: { resumeId: string; vacancyId: string }) => {
        const r = hh.store.resumes.get(n.resumeId)!;
        const name = r.hidden.includes('names_and_photo')
          ? ''
          : [r.lastName, r.firstName, r.middleName].filter(Boolean).join(' ');
        return `${name}${hh.store.vacancies.get(n.vacancyId)!.name}`;
      };
      // 21 at once (their webhooks may be logged in any order), then the newest alone.
      const arrived = Array.from({ length: 21 }, () => hh.respond({ vacancyId: vacancy.id }));
      await eventually(() => arrived.every((n) => leadOf(n.id).length === 1), {
        timeoutMs: 30_000,
        what: 'the responses by webhook',
      });
      arrived.push(hh.respond({ vacancyId: vacancy.id }));
      await eventually(() => leadOf(arrived.at(-1)!.id).length === 1, {
        timeoutMs: 30_000,
        what: 'the newest response by webhook',
      });
      await healthUntil(
        app,
        async () => (await app.locator('[data-testid=log-row][data-source=webhook]').count()) >= 20,
        'the webhooks in the log',
      );
      t.equal(await app.getByTestId('log-row').count(), 20, 'one page of the log');
      const newest = app.locator('[data-testid=log-row]').first();
      t.equal(await newest.getAttribute('data-negotiation-id'), arrived.at(-1)!.id, 'newest first');
      t.same(
        (await newest.locator('td').allTextContents()).slice(1),
        ['Уведомление hh.ru', 'Новый отклик или приглашение', listed(arrived.at(-1)!), 'Загружен с hh.ru'],
        'the log names the applicant and the vacancy, not hh.ru’s id',
      );
      t.match(await text(app, 'health-last-delivery'), /— Новый отклик или приглашение$/);
      await app.getByTestId('log-more').click();
      await eventually(async () => (await app.getByTestId('log-row').count()) > 20, {
        what: 'the next page',
      });
      const shown = await app
        .locator('[data-testid=log-row]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-negotiation-id')));
      t.ok(
        arrived.every((n) => shown.includes(n.id)),
        'every webhook is in the log, across pages',
      );
      t.equal(new Set(shown).size, shown.length, 'no line twice across pages');
      // The import ran today too: today's figures are the import's plus the webhooks'.
      await healthUntil(
        app,
        async () =>
          (await app.locator('[data-testid=counts-today] td').allTextContents()).join() ===
          [imported + arrived.length, imported + arrived.length, 0, 0].join(),
        'today’s counts',
      );

      // ---- webhooks dropped, then found by reconciliation ---------------------------------------------
      hh.addFault({ kind: 'drop_webhook' });
      const lost = hh.respond({ vacancyId: vacancy.id });
      await eventually(
        () =>
          hh
            .deliveries()
            .some(
              (d) =>
                d.state === 'dropped' && (d.body['payload'] as { topic_id?: string }).topic_id === lost.id,
            ),
        { timeoutMs: 5000, what: 'the callback dropped' },
      );
      await new Promise((r) => setTimeout(r, 1500));
      t.equal(leadOf(lost.id).length, 0, 'the lost response did not arrive by itself');
      await healthUntil(
        app,
        async () =>
          (await app.locator(`[data-testid=log-row][data-negotiation-id="${lost.id}"]`).count()) === 0,
        'the tab open while the webhook is lost',
      );
      t.equal(
        await app.getByTestId('health-reconciliation').getAttribute('data-found'),
        '0',
        'no pass has found anything yet',
      );
      await app.locator('[data-testid=tab][data-tab=new-responses]').click();
      await app.getByTestId('new-count').waitFor();
      // Opening the tab only counts; the admin's «Проверить ещё раз» (a POST) starts the pass.
      await app.getByTestId('check-again').click();
      await app.getByTestId('new-count').waitFor();
      t.equal(
        await text(app, 'new-count'),
        'Найдено новых откликов: 1. Они появятся на портале в течение нескольких минут.',
        '«Новые отклики» counted it and started a pass',
      );
      await eventually(() => leadOf(lost.id).length === 1, {
        timeoutMs: 20_000,
        what: 'the lost response brought by the reconciliation',
      });
      await healthUntil(
        app,
        async () => (await app.getByTestId('health-reconciliation').getAttribute('data-found')) === '1',
        'the pass’s finding on the tab',
      );
      t.match(await text(app, 'health-reconciliation'), /найдено откликов, о которых hh.ru не сообщил: 1/);
      t.equal(
        await app.getByTestId('health-panel').getAttribute('data-state'),
        'warning',
        'a pass that had to find responses is worth a look',
      );
      const found = app.locator(`[data-testid=log-row][data-negotiation-id="${lost.id}"]`);
      t.same(
        (await found.locator('td').allTextContents()).slice(1),
        ['Сверка (API)', 'Найден новый отклик', listed(lost), 'Загружен с hh.ru'],
        'the log says the pass found it',
      );
      await screenshot(page, '15-health-reconciled');
      hh.clearFaults();

      // ---- a required field: failures, one notice per incident, «Повторить все», one notice when clear --
      const incidentNotices = () =>
        sim
          .notifications(portal.memberId)
          .filter((n) => (n as { tag?: string | null }).tag?.startsWith(INCIDENT_TAG));
      sim.setRequired(portal.memberId, 'lead', 'SOURCE_ID');
      const refused = [hh.respond({ vacancyId: vacancy.id }), hh.respond({ vacancyId: vacancy.id })];
      await healthUntil(
        app,
        async () => (await app.getByTestId('health-failure').count()) === 2,
        'both refusals on the tab',
      );
      t.equal(await app.getByTestId('health-panel').getAttribute('data-state'), 'error');
      const failure = app.locator(`[data-testid=health-failure][data-negotiation-id="${refused[0]!.id}"]`);
      t.match(await failure.getByTestId('failure-reason').textContent(), /Источник/, 'the portal’s words');
      t.match(
        await failure.getByTestId('failure-fix').textContent(),
        /^Выбрать источник на вкладке «Настройки» и сохранить: портал требует поле «Источник»/,
        'and what to do about it: choose a source (the settings have one), not make the field optional',
      );
      t.match(
        await failure.getByTestId('failure-hh-link').getAttribute('href'),
        /^https?:\/\//,
        'a link to the response on hh.ru',
      );
      t.same(await app.locator('[data-testid=counts-today] td').nth(3).textContent(), '2', 'failed today');
      await eventually(() => incidentNotices().length === 1, {
        timeoutMs: 15_000,
        what: 'the notice that failures started',
      });
      const third = hh.respond({ vacancyId: vacancy.id });
      await healthUntil(
        app,
        async () => (await app.getByTestId('health-failure').count()) === 3,
        'a third refusal',
      );
      await new Promise((r) => setTimeout(r, 3000));
      t.equal(incidentNotices().length, 1, 'one notice for the incident, not one per failure');
      t.match(
        incidentNotices()[0]!.message,
        /не удалось добавить на портал откликов: \d+\. Причина: .*Источник/,
      );
      t.equal(
        incidentNotices()[0]!.userId,
        1,
        'to the admin who installed the app (also the responsible user here)',
      );
      t.match(await text(app, 'health-failures'), /администратор и ответственный получили уведомление/);
      await screenshot(page, '16-health-failures');

      sim.setRequired(portal.memberId, 'lead', 'SOURCE_ID', false);
      await app.getByTestId('health-retry-all').click();
      await app.getByTestId('health-retried').waitFor();
      t.equal(await text(app, 'health-retried'), 'Отправлено повторно: 3.');
      await eventually(() => [...refused, third].every((n) => leadOf(n.id).length === 1), {
        timeoutMs: 20_000,
        what: 'the retried leads',
      });
      await healthUntil(
        app,
        async () => (await app.getByTestId('health-no-failures').count()) === 1,
        'no failures left',
      );
      await eventually(() => incidentNotices().length === 2, {
        timeoutMs: 15_000,
        what: 'the notice that failures cleared',
      });
      t.match(incidentNotices()[1]!.message, /ошибок больше нет/);
      await new Promise((r) => setTimeout(r, 3000));
      t.equal(incidentNotices().length, 2, 'one notice when it clears, and nothing more');
      t.equal(
        leads().length,
        imported + arrived.length + 1 + 3,
        'every response is one lead: nothing lost, nothing twice',
      );

      // ---- a password change on hh.ru revokes the token ------------------------------------------------
      hh.changePassword(admin.userId);
      await healthUntil(
        app,
        async () => (await app.getByTestId('health-token').getAttribute('data-state')) === 'login_required',
        'the revoked token on the tab',
        30_000,
      );
      t.equal(await text(app, 'health-token'), 'требуется повторный вход');
      t.equal(await app.getByTestId('health-panel').getAttribute('data-state'), 'error');
      t.match(
        await text(app, 'health-summary'),
        /hh.ru отозвал доступ: отклики не приходят, пока вы не войдёте снова$/,
      );
      t.equal(
        await text(app, 'health-paid'),
        'станет известно после входа',
        'nothing is asked of hh.ru with a dead token',
      );
      t.equal(
        await app.locator('[data-testid=tab][data-tab=health]').isDisabled(),
        false,
        '«Состояние» stays open while the other tabs wait for a login',
      );
      await screenshot(page, '17-health-login-required');
      await app.getByTestId('health-relogin').click();
      await app.getByTestId('relogin').waitFor();
      t.pass('«Войти снова» leads to «Авторизация»');
    },
  );
}
