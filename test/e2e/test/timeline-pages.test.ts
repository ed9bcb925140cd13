/**
 * A recruiter in the simulated portal's browser, with the real services: the activity on a deal
 * and on a lead with all its blocks, «Резюме» to the resume on hh.ru, «Другие отклики» for an
 * applicant with three responses and for one with 30+ (the rows that fit, «Все отклики (N)» opening
 * the full list, the notification with every id), a deal moved to the interview stage moving the
 * response on hh.ru, and both robots run from the automation settings with their return values.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import type { FrameLocator, Page } from 'playwright-core';
import { eventually } from '@hhb24/common/testing';
import { browser, importAndWait, installAndConnect, screenshot, startStack, workers } from './stack.js';

/** Stages of the default pipeline per hh.ru state; the interview goes to the stage «Интервью» the admin adds. */
const MAPPING: Record<string, string> = {
  response: 'NEW',
  consider: 'PREPARATION',
  phone_interview: 'PREPAYMENT_INVOICE',
  assessment: 'PREPAYMENT_INVOICE',
  offer: 'FINAL_INVOICE',
  hired: 'WON',
  discard: 'LOSE',
};

const settled = (app: FrameLocator) =>
  eventually(async () => (await app.locator('.htmx-request, .htmx-settling, .htmx-added').count()) === 0);

/** Reloads the page until `check` holds (the portal's pages do not update themselves). */
async function reloadUntil(page: Page, check: () => Promise<boolean>, what: string): Promise<void> {
  await eventually(
    async () => {
      if (await check()) return true;
      await page.reload();
      return check();
    },
    { timeoutMs: 30_000, intervalMs: 500, what },
  );
}

if (!existsSync('/usr/bin/chromium')) {
  t.fail(
    '/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium; .ci/run does it)',
  );
} else {
  t.test(
    'the activity, its buttons, the stage move and the robots in the portal',
    { timeout: 300_000 },
    async (t) => {
      const stack = await startStack(t, {
        hh: 'real',
        generate: {
          seed: 5,
          employers: 1,
          managersPerEmployer: 2,
          vacanciesPerManager: 17,
          negotiations: 50,
          heavyApplicantResponses: 32,
          tombstones: 1,
          unpaidEmployers: 0,
        },
        build: workers('hh-connector', 'crm-writer', 'timeline-renderer'),
      });
      const { sim } = stack.b24;
      const hh = stack.hh.sim;
      const store = hh.store;

      // An applicant with three responses: one of the generated ones, with a cover letter and a
      // test, answers two more vacancies.
      const byResume = (resumeId: string) =>
        [...store.negotiations.values()].filter((n) => n.resumeId === resumeId);
      const three = [...store.negotiations.values()].find(
        (n) =>
          byResume(n.resumeId).length === 1 &&
          n.coverLetter &&
          n.testResult &&
          !store.resumes.get(n.resumeId)!.deleted &&
          store.resumes.get(n.resumeId)!.hidden.length === 0,
      )!;
      const vacancies = [...store.vacancies.values()].filter((v) => v.id !== three.vacancyId).slice(0, 2);
      for (const v of vacancies) hh.respond({ vacancyId: v.id, resumeId: three.resumeId });
      const heavyResume = [...store.resumes.keys()].find((r) => byResume(r).length >= 31)!;

      const b = await browser(t);
      const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
      const portal = sim.createPortal({ name: 'recruiting', lang: 'ru' });
      const interviewStage = sim.addStage('recruiting', {
        name: 'Интервью',
        after: 'PREPAYMENT_INVOICE',
      }).statusId;
      const mapping = { ...MAPPING, interview: interviewStage };
      const base = portal.baseUrl;
      const app = await installAndConnect(page, stack, 'recruiting', 0);
      await app.locator('[data-testid=tab][data-tab=settings]').click();
      await app.getByTestId('settings-form').waitFor();
      await app.getByTestId('entity-deal').check();
      await settled(app);
      await app.getByTestId('extended').check();
      await eventually(async () => (await app.locator('[data-testid=stage]').count()) === 8);
      await settled(app);
      for (const [state, stage] of Object.entries(mapping))
        await app.locator(`[data-field="stageByState.${state}"]`).selectOption(stage);
      await app.getByTestId('two-way').check();
      await settled(app);
      t.equal(await app.getByTestId('two-way-discard').isChecked(), false, 'discards are off unless set');
      await importAndWait(app);

      const deals = () => sim.entities(portal.memberId, 'deal');
      const dealOf = (negotiationId: string) => deals().find((d) => d['ORIGIN_ID'] === negotiationId)!;
      await eventually(() => sim.activities(portal.memberId).length === deals().length, {
        timeoutMs: 30_000,
        what: 'an activity on every deal',
      });
      const activity = page.getByTestId('activity').first();
      const block = (key: string) => activity.locator(`[data-block-key="${key}"]`);

      await t.test('a deal shows the activity with all its blocks; «Резюме» opens the resume', async (t) => {
        const deal = dealOf(three.id);
        await page.goto(`${base}crm/deal/details/${String(deal['ID'])}/`);
        t.equal(await page.getByTestId('activity').count(), 1, 'one activity');
        t.equal(await activity.getByTestId('activity-title').textContent(), 'Отклик');
        t.match(await block('vacancy').textContent(), String(deal['UF_CRM_NH_VACANCIES']));
        const resume = store.resumes.get(three.resumeId)!;
        t.match(await block('name').textContent(), resume.lastName, 'the applicant’s name');
        for (const key of ['city', 'phone', 'email', 'status', 'date'])
          t.ok(((await block(key).textContent()) ?? '').trim().length > 4, `the ${key} block`);
        t.match(await block('status').textContent(), String(deal['UF_CRM_NH_STATUS']));
        t.match(
          await block('cover_letter').textContent(),
          three.coverLetter!.slice(0, 40),
          'the cover letter, as the applicant wrote it',
        );
        t.match(
          await block('test').textContent(),
          `${three.testResult!.score} из 100`,
          'the test’s score, a link to its result',
        );
        const chat = activity.locator('[data-testid=activity-menu-item][data-button-key=chat]');
        t.equal(await chat.textContent(), 'Открыть переписку на hh.ru', 'the conversation in the menu');
        t.match(await chat.getAttribute('href'), new RegExp(`/resume/${three.resumeId}`));
        await screenshot(page, '18-activity');
        const popupOpened = page.waitForEvent('popup');
        await activity.locator('[data-testid=activity-button][data-button-key=resume]').click();
        const popup = await popupOpened;
        await popup.waitForLoadState();
        t.match(
          popup.url(),
          new RegExp(`/resume/${three.resumeId}`),
          '«Резюме» leads to the resume on hh.ru',
        );
        await popup.close();
      });

      await t.test('«Другие отклики» for an applicant with three responses', async (t) => {
        await page.goto(`${base}crm/deal/details/${String(dealOf(three.id)['ID'])}/`);
        await activity.locator('[data-testid=activity-button][data-button-key=others]').click();
        await reloadUntil(
          page,
          async () => (await block('others_title').count()) > 0,
          'the other responses in the activity',
        );
        t.equal(await block('others_title').textContent(), 'Другие отклики (2):');
        t.equal(await activity.locator('[data-block-key^="others_"]').count(), 3, 'a heading and two rows');
        t.equal(await block('others_all').count(), 0, 'all fit: no «Все отклики»');
      });

      await t.test(
        '«Другие отклики» for one with 30+: the rows that fit, «Все отклики (N)», the notification',
        async (t) => {
          const own = byResume(heavyResume);
          const first = own[0]!;
          const others = own.length - 1;
          await page.goto(`${base}crm/deal/details/${String(dealOf(first.id)['ID'])}/`);
          await activity.locator('[data-testid=activity-button][data-button-key=others]').click();
          await reloadUntil(
            page,
            async () => (await block('others_all').count()) > 0,
            'the other responses in the activity',
          );
          const rows = await activity.locator('[data-block-key^="others_"]').count();
          t.ok(rows > 5 && rows < others, `${rows - 2} of ${others} rows fit`);
          t.equal(await block('others_all').textContent(), `Все отклики (${others})`);
          await screenshot(page, '19-other-responses');
          await block('others_all').getByTestId('activity-link').click();
          const slider = page.frameLocator('[data-testid=slider-iframe]');
          await slider.getByTestId('card-others').waitFor();
          t.equal(await slider.getByTestId('other-response').count(), others, 'the app lists every one');

          await page.goto(`${base}notifications/`);
          const note =
            (await page
              .getByTestId('notification')
              .filter({ hasText: 'Другие отклики' })
              .first()
              .textContent()) ?? '';
          const ids = own.slice(1).map((n) => String(dealOf(n.id)['ID']));
          t.same(
            ids.filter((id) => !note.includes(`Сделка ${id}`)),
            [],
            `the notification names all ${ids.length} deals`,
          );
        },
      );

      const moved = [...store.negotiations.values()].find(
        (n) =>
          n.employerState === 'response' &&
          n.resumeId !== heavyResume &&
          n.id !== three.id &&
          !store.resumes.get(n.resumeId)!.deleted,
      )!;
      const movedId = String(dealOf(moved.id)['ID']);

      await t.test('moving a deal to the «Интервью» stage moves the response on hh.ru', async (t) => {
        await page.goto(`${base}crm/deal/details/${movedId}/`);
        await page
          .locator(`[data-testid=stage-button][data-stage-id="${interviewStage}"]`)
          .filter({ hasText: 'Интервью' })
          .click();
        await eventually(() => store.negotiations.get(moved.id)!.employerState === 'interview', {
          timeoutMs: 20_000,
          what: 'hh.ru shows the interview',
        });
        await reloadUntil(
          page,
          async () => (await activity.getByTestId('activity-tag').textContent()) === 'Интервью',
          'the activity shows it',
        );
        t.equal(dealOf(moved.id)['STAGE_ID'], interviewStage, 'the deal stays where the recruiter put it');
        t.equal(dealOf(moved.id)['UF_CRM_NH_STATUS'], 'Интервью');
      });

      await t.test('both robots run from the automation settings and return the status', async (t) => {
        await page.goto(`${base}crm/deal/automation/`);
        const refresh = page.locator('[data-testid=robot-card][data-code=hh_status_refresh]');
        await refresh.getByTestId('run-robot-entity').selectOption(movedId);
        await refresh.getByTestId('run-robot').click();
        const refreshRun = page.locator('[data-testid=robot-run][data-code=hh_status_refresh]').first();
        await reloadUntil(
          page,
          async () => (await refreshRun.getAttribute('data-status')) === 'completed',
          '«Обновить статус НН» completed',
        );
        t.equal(
          await refreshRun.getByTestId('robot-run-returned').textContent(),
          'Статус НН: Интервью',
          '«Обновить статус НН» returns the status, named, and no empty error',
        );

        // «Сменить статус на НН» on the stage «Сделка провалена»: a discard with a message.
        const change = page.locator('[data-testid=robot-card][data-code=hh_status_change]');
        await change.getByTestId('robot-stage').selectOption('LOSE');
        await change.locator('[name=prop_action]').selectOption('discard_message');
        await change.locator('[name=prop_message]').fill('Спасибо за отклик, вакансия закрыта.');
        await change.getByTestId('add-robot').click();
        await page
          .locator(
            '[data-testid=robots-stage][data-stage-id=LOSE] [data-testid=automation-rule][data-code=hh_status_change]',
          )
          .waitFor();
        await page.goto(`${base}crm/deal/details/${movedId}/`);
        await page.locator('[data-testid=stage-button][data-stage-id=LOSE]').click();
        await page.goto(`${base}crm/deal/automation/`);
        const changeRun = page.locator('[data-testid=robot-run][data-code=hh_status_change]').first();
        await reloadUntil(
          page,
          async () => (await changeRun.getAttribute('data-status')) === 'completed',
          '«Сменить статус на НН» completed',
        );
        t.equal(
          await changeRun.getByTestId('robot-run-returned').textContent(),
          'Статус НН: Отказано',
          '«Сменить статус на НН» returns the new status as hh.ru names it',
        );
        t.match(await changeRun.textContent(), /Отклик переведён на hh\.ru в статус «Отказано»/);
        t.equal(store.negotiations.get(moved.id)!.employerState, 'discard_by_employer', 'hh.ru discarded it');
        await screenshot(page, '20-robots');
      });

      await t.test('a lead shows the activity too', async (t) => {
        await page.goto(`${base}app/hh-b24-dev/`);
        await app.locator('[data-testid=tab][data-tab=settings]').click();
        await app.getByTestId('settings-form').waitFor();
        await app.getByTestId('entity-lead').check();
        await settled(app);
        await app.getByTestId('save').click();
        await settled(app);
        const vacancy = [...store.vacancies.values()][0]!;
        const fresh = hh.respond({ vacancyId: vacancy.id });
        const lead = await eventually(
          () => sim.entities(portal.memberId, 'lead').find((l) => l['ORIGIN_ID'] === fresh.id),
          { timeoutMs: 30_000, what: 'the new response as a lead' },
        );
        await page.goto(`${base}crm/lead/details/${String(lead['ID'])}/`);
        await reloadUntil(
          page,
          async () => (await page.getByTestId('activity').count()) > 0,
          'the lead’s activity',
        );
        t.equal(await activity.getByTestId('activity-title').textContent(), 'Отклик');
        t.match(await block('vacancy').textContent(), vacancy.name);
        for (const key of ['name', 'city', 'phone', 'email', 'status', 'date'])
          t.equal(await block(key).count(), 1, `the ${key} block`);
        t.equal(
          await activity.locator('[data-testid=activity-button]').count(),
          2,
          '«Резюме» and «Другие отклики»',
        );
      });
    },
  );
}
