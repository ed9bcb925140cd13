/**
 * What the app writes into the portal follows the portal's language, and what hh.ru sends is shown
 * as text. In the simulated portal's browser, with the real services: an English-language portal
 * gets deal titles, the activity, a refused write's fix and the failure notification in English;
 * an applicant whose name is markup (`<img src=x onerror=…>`) shows as that text in the activity,
 * the card tab and «Состояние», and nothing in it runs; once the portal switches to Russian (an
 * app page opened with LANG=ru), the next writes are in Russian.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import type { FrameLocator } from 'playwright-core';
import { eventually } from '@hhb24/common/testing';
import { browser, importAndWait, installAndConnect, startStack, workers } from './stack.js';
import { oneManager } from './world.js';

const MARKUP_NAME = '<img src=x onerror=alert(1)>';
const INCIDENT_TAG = 'hhb24|crm-failures|';

const settled = (app: FrameLocator) =>
  eventually(async () => (await app.locator('.htmx-request, .htmx-settling, .htmx-added').count()) === 0);

if (!existsSync('/usr/bin/chromium')) {
  t.fail('/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium)');
} else {
  t.test(
    'an English portal gets English writes; markup from hh.ru is text; a language change is followed',
    { timeout: 240_000 },
    async (t) => {
      const stack = await startStack(t, {
        hh: 'real',
        generate: oneManager(11),
        build: workers('hh-connector', 'crm-writer', 'timeline-renderer'),
      });
      const { sim } = stack.b24;
      const hh = stack.hh.sim;
      const vacancy = [...hh.store.vacancies.values()][0]!;
      const markup = hh.addResume({ firstName: '', lastName: MARKUP_NAME, middleName: null });
      const markupResponse = hh.respond({ vacancyId: vacancy.id, resumeId: markup.id });

      const b = await browser(t);
      const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      const portal = sim.createPortal({ name: 'english', lang: 'en' });
      const base = portal.baseUrl;
      const app = await installAndConnect(page, stack, 'english', 0);
      await app.locator('[data-testid=tab][data-tab=settings]').click();
      await app.getByTestId('settings-form').waitFor();
      await app.getByTestId('entity-deal').check();
      await settled(app);
      await importAndWait(app);

      const deals = () => sim.entities(portal.memberId, 'deal');
      const dealOf = (negotiationId: string) => deals().find((d) => d['ORIGIN_ID'] === negotiationId);
      await eventually(() => deals().length === 3 && sim.activities(portal.memberId).length === 3, {
        timeoutMs: 30_000,
        what: 'three deals with their activities',
      });
      const activity = page.getByTestId('activity').first();
      const block = (key: string) => activity.locator(`[data-block-key="${key}"]`);

      await t.test('titles, comments and the activity in English', async (t) => {
        t.ok(
          deals().every((d) => /^Response: /.test(String(d['TITLE']))),
          'every deal title starts with «Response: »',
        );
        const deal = dealOf(markupResponse.id)!;
        t.equal(
          deal['TITLE'],
          `Response: ${vacancy.name} — ${MARKUP_NAME}`,
          'the markup name is in the title as text',
        );
        t.match(
          String(deal['COMMENTS']),
          new RegExp(`^Applicant: ${MARKUP_NAME.replace(/[()]/g, '\\$&')}\\n`),
        );
        await page.goto(`${base}crm/deal/details/${String(deal['ID'])}/`);
        t.equal(await activity.getByTestId('activity-title').textContent(), 'Response');
        t.match(await block('vacancy').textContent(), /^\s*Vacancy/);
        t.match(await block('status').textContent(), /^\s*HH status/);
        t.match(await block('date').textContent(), /^\s*Response date/);
        t.equal(
          (
            await activity.locator('[data-testid=activity-button][data-button-key=others]').textContent()
          )?.trim(),
          'Other responses',
        );
      });

      await t.test('the markup name is text in the activity and the card tab', async (t) => {
        t.match(await block('name').textContent(), MARKUP_NAME, 'the activity shows the name as written');
        t.equal(await activity.locator('img').count(), 0, 'and draws no image');
        await page.locator('[data-testid=placement-tab]').first().click();
        const card = page.frameLocator('[data-testid=placement-iframe]');
        await card.getByTestId('card').waitFor({ timeout: 20_000 });
        t.equal(await card.getByTestId('card-name').textContent(), MARKUP_NAME, 'the card tab too');
        t.equal(await card.locator('[data-testid=card] img').count(), 0);
      });

      await t.test(
        'a refused write: the fix and the notification in English, the name as text',
        async (t) => {
          sim.setRequired('english', 'deal', 'SOURCE_ID');
          const again = hh.addResume({ firstName: '', lastName: MARKUP_NAME, middleName: null });
          const refused = hh.respond({ vacancyId: vacancy.id, resumeId: again.id });
          await page.goto(`${base}app/hh-b24-dev/`);
          const appFrame = page.frameLocator('[data-testid=app-iframe]');
          await appFrame.locator('[data-testid=tab][data-tab=health]').click();
          const failure = appFrame.locator(
            `[data-testid=health-failure][data-negotiation-id="${refused.id}"]`,
          );
          await eventually(
            async () => {
              if ((await failure.count()) === 1) return true;
              await appFrame.getByTestId('health-refresh').click();
              return false;
            },
            { timeoutMs: 30_000, intervalMs: 1000, what: 'the refusal on «Состояние»' },
          );
          t.match(await failure.textContent(), MARKUP_NAME, '«Состояние» names the applicant as written');
          t.equal(await failure.locator('img').count(), 0);
          t.match(
            await failure.getByTestId('failure-fix').textContent(),
            /^Choose a source on the Settings tab and save/,
            'the fix, in English, is to choose a source',
          );
          await eventually(
            () => sim.notifications(portal.memberId).some((n) => n.tag?.startsWith(INCIDENT_TAG)),
            { timeoutMs: 20_000, what: 'the failure notification' },
          );
          const notice = sim.notifications(portal.memberId).find((n) => n.tag?.startsWith(INCIDENT_TAG))!;
          t.match(notice.message, /^hh\.ru: responses that could not be added to the portal: 1\. Cause: /);
          t.match(notice.message, /What to do: Choose a source/);
          sim.setRequired('english', 'deal', 'SOURCE_ID', false);
        },
      );

      await t.test('the portal switches to Russian: the next writes are in Russian', async (t) => {
        sim.setLanguage('english', 'ru');
        // Any app page the portal opens names its language (LANG).
        await page.goto(`${base}app/hh-b24-dev/`);
        await page.frameLocator('[data-testid=app-iframe]').locator('[data-testid=tab]').first().waitFor();
        const later = hh.respond({ vacancyId: vacancy.id });
        await eventually(() => dealOf(later.id) !== undefined, { timeoutMs: 30_000, what: 'the new deal' });
        t.match(String(dealOf(later.id)!['TITLE']), /^Отклик: /, 'the title in Russian');
        await eventually(
          () =>
            sim
              .activities(portal.memberId)
              .some(
                (a) =>
                  a.ownerId === Number(dealOf(later.id)!['ID']) &&
                  JSON.stringify(a.layout).includes('"Отклик"'),
              ),
          { timeoutMs: 30_000, what: 'its activity, in Russian' },
        );
      });

      t.same(dialogs, [], 'nothing from hh.ru ran in the page');
    },
  );
}
