/**
 * The applicant's own words reach the CRM (against the simulated hh.ru and Bitrix24): a response
 * with a cover letter and a test result carries both on its timeline activity and in its lead's
 * comment, on a Russian and an English portal; a message the applicant writes later (hh.ru sends
 * no notification of it) raises the activity's count of unread messages at the next
 * reconciliation.
 */
import t from 'tap';
import { eventually } from '@hhb24/common/testing';
import { LEAD_SETTINGS, World } from './world.js';

const LETTER = 'Добрый день!\nГотов выйти через неделю. <b>Спасибо</b>';

t.test('cover letter, test result and unread messages on the activity and in the comment', async (t) => {
  const world = await World.forTest(t, {
    generate: {
      seed: 7,
      employers: 2,
      unpaidEmployers: 0,
      managersPerEmployer: 1,
      vacanciesPerManager: 1,
      negotiations: 4,
      heavyApplicantResponses: 0,
      tombstones: 0,
    },
  });
  const { sim } = world.hh;
  const admins = [...sim.store.managers.values()].filter((m) => m.isAdmin);
  const vacancyOf = (managerId: string) =>
    [...sim.store.vacancies.values()].find((v) => v.managerId === managerId)!;

  for (const [i, lang] of (['ru', 'en'] as const).entries()) {
    await t.test(`a ${lang} portal`, async (t) => {
      const admin = admins[i]!;
      const withWords = sim.respond({
        vacancyId: vacancyOf(admin.id).id,
        coverLetter: LETTER,
        testScore: 86,
      });
      const memberId = await world.installPortal({ lang });
      await world.connect(memberId, admin.userId);
      await world.saveSettings(memberId, LEAD_SETTINGS);
      await world.requestImport(memberId, 'initial');
      await world.waitForImport(memberId);
      const lead = () =>
        world.b24.sim.entities(memberId, 'lead').find((e) => e['ORIGIN_ID'] === withWords.id)!;
      const activity = () =>
        world.b24.sim.activities(memberId, { ownerTypeId: 1, ownerId: Number(lead()?.['ID']) })[0];
      await eventually(() => lead() && activity(), { what: 'the lead and its activity', timeoutMs: 30_000 });
      const blocks = () => (activity()!.layout as any).body.blocks;
      const en = lang === 'en';
      t.match(
        blocks().cover_letter.properties,
        { title: en ? 'Cover letter' : 'Сопроводительное письмо', block: { properties: { value: LETTER } } },
        'the cover letter on the activity, as written',
      );
      t.equal(
        blocks().test.properties.block.properties.text,
        en ? '86 of 100, excellent' : '86 из 100, отлично',
        'the test’s score and mark',
      );
      t.match(blocks().test.properties.block.properties.action.uri, /^http/, 'a link to the test’s result');
      t.notOk(blocks().unread, 'the letter was read on import: nothing unread is shown');
      t.match(
        (activity()!.layout as any).footer.menu.items.chat,
        {
          title: en ? 'Open the conversation on hh.ru' : 'Открыть переписку на hh.ru',
          action: { type: 'redirect', uri: /^http/ },
        },
        'the conversation on hh.ru from the footer menu',
      );
      const comment = String(lead()['COMMENTS']);
      t.match(
        comment,
        (en ? 'Cover letter: ' : 'Сопроводительное письмо: ') + LETTER,
        'the letter in the comment',
      );
      t.match(
        comment,
        en ? 'Test: 86 of 100, excellent' : 'Тест: 86 из 100, отлично',
        'the test in the comment',
      );

      // The applicant writes twice; hh.ru notifies nothing: the reconciliation finds it.
      sim.applicantWrites(withWords.id, 'Когда можно подъехать?');
      sim.applicantWrites(withWords.id, 'Жду ответа.');
      await world.requestImport(memberId, 'reconcile');
      await eventually(() => blocks().unread?.properties.block.properties.value === '2', {
        what: 'the activity counting two unread messages',
        timeoutMs: 60_000,
      });
      t.pass('a new message from the applicant raises the unread count on the activity');
      t.equal(
        world.b24.sim.activities(memberId, { ownerTypeId: 1, ownerId: Number(lead()['ID']) }).length,
        1,
        'updated, not repeated',
      );
    });
  }
});
