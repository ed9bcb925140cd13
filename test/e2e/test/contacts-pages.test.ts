/**
 * A recruiter in the simulated portal's browser, with the real services: the settings offer
 * «Использовать существующий контакт…» (on unless turned off); after the import into deals, a
 * deal's card shows its applicant as the contact in «Клиент» with the name and the phones as
 * `tel:` links typed as hh.ru types them, and a second response of the same person shows the same
 * contact on its own deal.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import type { FrameLocator } from 'playwright-core';
import { eventually } from '@hhb24/common/testing';
import { browser, importAndWait, installAndConnect, screenshot, startStack, workers } from './stack.js';
import { oneManager } from './world.js';

const settled = (app: FrameLocator) =>
  eventually(async () => (await app.locator('.htmx-request, .htmx-settling, .htmx-added').count()) === 0);

if (!existsSync('/usr/bin/chromium')) {
  t.fail(
    '/usr/bin/chromium is missing: install Debian’s chromium (apt-get install -y chromium; .ci/run does it)',
  );
} else {
  t.test('the applicant as the deal’s contact, in the portal', { timeout: 240_000 }, async (t) => {
    const stack = await startStack(t, {
      hh: 'real',
      generate: oneManager(17, { vacanciesPerManager: 3, negotiations: 6, hiddenShare: 0 }),
      build: workers('hh-connector', 'crm-writer', 'timeline-renderer'),
    });
    const { sim } = stack.b24;
    const hh = stack.hh.sim;
    const store = hh.store;
    // An applicant with a mobile and a work phone who will answer a second vacancy.
    const first = [...store.negotiations.values()][0]!;
    const resume = store.resumes.get(first.resumeId)!;
    resume.phones = [
      { country: '7', city: '916', number: '5550101', type: 'cell', comment: null },
      { country: '7', city: '495', number: '5550102', type: 'work', comment: null },
    ];

    const b = await browser(t);
    const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
    const portal = sim.createPortal({ name: 'people', lang: 'ru' });
    const app = await installAndConnect(page, stack, 'people', 0);
    await app.locator('[data-testid=tab][data-tab=settings]').click();
    await app.getByTestId('settings-form').waitFor();
    await app.getByTestId('entity-deal').check();
    await settled(app);
    t.equal(
      await app.getByTestId('reuse-contacts').isChecked(),
      true,
      '«Использовать существующий контакт с тем же телефоном или e-mail» is on unless turned off',
    );
    await importAndWait(app);

    const dealOf = (negotiationId: string) =>
      sim.entities(portal.memberId, 'deal').find((d) => d['ORIGIN_ID'] === negotiationId);
    const client = page.getByTestId('client-contact');

    await t.test('the deal’s card shows its contact, the phones as tel: links', async (t) => {
      const deal = dealOf(first.id)!;
      await page.goto(`${portal.baseUrl}crm/deal/details/${String(deal['ID'])}/`);
      t.equal(await client.count(), 1, 'one contact in «Клиент»');
      t.equal(await client.getAttribute('data-contact-id'), String(deal['CONTACT_ID']));
      t.equal(
        await client.getByTestId('client-name').textContent(),
        [resume.lastName, resume.firstName, resume.middleName].filter(Boolean).join(' '),
        'the applicant’s name',
      );
      const phones = client.getByTestId('client-phone');
      t.same(
        await phones.evaluateAll((links) =>
          links.map((a) => [a.getAttribute('href'), a.getAttribute('data-value-type')]),
        ),
        [
          ['tel:+79165550101', 'MOBILE'],
          ['tel:+74955550102', 'WORK'],
        ],
        'a click calls; cell is the mobile, work the work phone',
      );
      if (resume.email)
        t.equal(
          await client.getByTestId('client-email').getAttribute('href'),
          `mailto:${resume.email.toLowerCase()}`,
        );
      await screenshot(page, '24-deal-contact');
    });

    await t.test('a second response of the same person: the same contact on its deal', async (t) => {
      const other = [...store.vacancies.values()].find((v) => v.id !== first.vacancyId && !v.archived)!;
      const second = hh.respond({ vacancyId: other.id, resumeId: first.resumeId });
      await eventually(() => dealOf(second.id), { timeoutMs: 30_000, what: 'the second deal' });
      const deal = dealOf(second.id)!;
      await page.goto(`${portal.baseUrl}crm/deal/details/${String(deal['ID'])}/`);
      t.equal(
        await client.getAttribute('data-contact-id'),
        String(dealOf(first.id)!['CONTACT_ID']),
        'the contact of the first deal',
      );
      t.equal(
        sim.entities(portal.memberId, 'contact').filter((c) => c['LAST_NAME'] === resume.lastName).length,
        1,
        'one contact for the person',
      );
    });
  });
}
