/**
 * Contacts, end to end with both simulators: each applicant is one contact of the portal (the
 * name in its three fields, phones typed as hh.ru types them), bound to every deal of theirs; a
 * contact the portal already has with the same phone is used instead of a new one unless the
 * setting is off; a lead of a person who has a contact is bound to it; and neither a redelivered
 * message, nor a write whose record was lost, nor two responses of one new person at once make a
 * second contact.
 */
import t from 'tap';
import { type NegotiationSnapshot, enqueue, subjects } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import type { Negotiation, Resume, Vacancy } from '@hhb24/sim-hh';
import { World, oneManager } from './world.js';

const DEAL_SETTINGS = {
  responsibleUserId: 2,
  entityType: 'deal',
  categoryId: 0,
  sourceId: 'WEB',
  stageForResponse: 'NEW',
  stageForInvitation: 'PREPARATION',
} as const;

const phoneOf = (p: Resume['phones'][number]) => `+${p.country}${p.city}${p.number}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('contacts of applicants', { timeout: 240_000 }, async (t) => {
  const world = await World.forTest(t, {
    b24RateLimit: false,
    generate: oneManager(41, { vacanciesPerManager: 3 }),
  });
  const { hh, b24 } = world;
  const [vacancy, vacancy2] = [...hh.sim.store.vacancies.values()].filter((v) => !v.archived) as [
    Vacancy,
    Vacancy,
  ];

  const dealsOf = (memberId: string, negotiationId: string) =>
    b24.sim.entities(memberId, 'deal').filter((e) => e['ORIGIN_ID'] === negotiationId);
  const contacts = (memberId: string) => b24.sim.entities(memberId, 'contact');
  const dealOf = async (memberId: string, n: Negotiation) => {
    await eventually(() => dealsOf(memberId, n.id).length === 1, { what: `the deal of ${n.id}` });
    return dealsOf(memberId, n.id)[0]!;
  };
  /** The contact commands the portal ran since `since`, by method. */
  const contactCommands = (memberId: string, since: number) => {
    const counts: Record<string, number> = {};
    for (const r of b24.sim.requests(memberId, { since }))
      if (r.kind === 'batch' && /^crm\.(contact|duplicate|deal\.contact|lead\.contact)\./.test(r.method))
        counts[r.method] = (counts[r.method] ?? 0) + 1;
    return counts;
  };
  /** A new applicant on hh.ru with a mobile, a work and a home phone. */
  const applicant = (names: { firstName: string; lastName: string; middleName: string | null }) => {
    const resume = hh.sim.addResume(names);
    resume.phones = [
      {
        country: '7',
        city: '916',
        number: String(1_000_000 + Math.floor(Math.random() * 8_999_999)),
        type: 'cell',
        comment: null,
      },
      {
        country: '7',
        city: '495',
        number: String(1_000_000 + Math.floor(Math.random() * 8_999_999)),
        type: 'work',
        comment: null,
      },
      {
        country: '7',
        city: '812',
        number: String(1_000_000 + Math.floor(Math.random() * 8_999_999)),
        type: 'home',
        comment: null,
      },
    ];
    return resume;
  };
  const { memberId: portal } = await world.connectedPortal(DEAL_SETTINGS);
  // The portal's events reach the app (the uninstall at the end).
  await world.registerHandlers(portal);
  await world.importAll(portal);

  await t.test(
    'a deal with its contact: the name in three fields, phones by type, e-mail WORK',
    async (t) => {
      t.ok(
        b24.sim.entities(portal, 'deal').every((d) => Number(d['CONTACT_ID']) > 0),
        'every imported deal has its contact',
      );
      const resume = applicant({ firstName: 'Анна', lastName: 'Иванова', middleName: 'Сергеевна' });
      const since = Date.now();
      const n = hh.sim.respond({ vacancyId: vacancy.id, resumeId: resume.id });
      const deal = await dealOf(portal, n);
      const contact = b24.sim.entity(portal, 'contact', Number(deal['CONTACT_ID']))!;
      t.match(contact, {
        LAST_NAME: 'Иванова',
        NAME: 'Анна',
        SECOND_NAME: 'Сергеевна',
        ORIGINATOR_ID: 'hh-b24',
        ASSIGNED_BY_ID: '2',
        SOURCE_ID: 'WEB',
      });
      t.same(
        (contact['PHONE'] as Array<{ VALUE: string; VALUE_TYPE: string }>).map((p) => [
          p.VALUE,
          p.VALUE_TYPE,
        ]),
        [
          [phoneOf(resume.phones[0]!), 'MOBILE'],
          [phoneOf(resume.phones[1]!), 'WORK'],
          [phoneOf(resume.phones[2]!), 'HOME'],
        ],
        'cell → MOBILE, work → WORK, home → HOME',
      );
      if (resume.email)
        t.match(contact['EMAIL'], [{ VALUE: resume.email.toLowerCase(), VALUE_TYPE: 'WORK' }]);
      t.same(b24.sim.contactBindings(portal, 'deal', Number(deal['ID'])), [
        { CONTACT_ID: Number(contact['ID']), SORT: 10, IS_PRIMARY: 'Y' },
      ]);
      t.same(
        contactCommands(portal, since),
        {
          'crm.contact.list': 1,
          'crm.duplicate.findbycomm': resume.email ? 2 : 1,
          'crm.contact.add': 1,
        },
        'a new person costs one search of our contacts, the duplicate search by phones and e-mail, one add: all inside the two batches of the write',
      );

      const since2 = Date.now();
      const second = hh.sim.respond({ vacancyId: vacancy2.id, resumeId: resume.id });
      const deal2 = await dealOf(portal, second);
      t.equal(
        deal2['CONTACT_ID'],
        deal['CONTACT_ID'],
        'the second response of the same person: the same contact',
      );
      t.equal(
        contacts(portal).filter((c) => c['LAST_NAME'] === 'Иванова' && c['NAME'] === 'Анна').length,
        1,
        'one contact for the person',
      );
      t.same(contactCommands(portal, since2), {}, 'a known person costs no contact command at all');
    },
  );

  await t.test(
    'the portal’s own contact with the same phone is used; not when the setting is off',
    async (t) => {
      const resume = applicant({ firstName: 'Пётр', lastName: 'Сидоров', middleName: null });
      // The portal's contact has the applicant's mobile, written the way people type it.
      const mobile = resume.phones[0]!;
      const own = b24.sim.createEntity(portal, 'contact', {
        NAME: 'Пётр (из CRM)',
        PHONE: [{ VALUE: `+7 (${mobile.city}) ${mobile.number}`, VALUE_TYPE: 'WORK' }],
      });
      const before = contacts(portal).length;
      const n = hh.sim.respond({ vacancyId: vacancy.id, resumeId: resume.id });
      const deal = await dealOf(portal, n);
      t.equal(deal['CONTACT_ID'], own['ID'], 'the deal is bound to the portal’s contact');
      t.equal(contacts(portal).length, before, 'no new contact');
      t.match(
        b24.sim.entity(portal, 'contact', Number(own['ID'])),
        { NAME: 'Пётр (из CRM)', PHONE: [{ VALUE_TYPE: 'WORK' }] },
        'the portal’s contact is left as it was',
      );

      // The setting off: the same situation makes a contact of the app's own, without a duplicate search.
      await world.saveSettings(portal, { ...DEAL_SETTINGS, reuseContacts: false });
      await sleep(1500); // crm-writer forgets the settings it holds when portal.settings.saved arrives
      const resume2 = applicant({ firstName: 'Ольга', lastName: 'Кузнецова', middleName: null });
      const theirs = b24.sim.createEntity(portal, 'contact', {
        NAME: 'Ольга (из CRM)',
        PHONE: [{ VALUE: phoneOf(resume2.phones[0]!), VALUE_TYPE: 'MOBILE' }],
      });
      const since = Date.now();
      const deal2 = await dealOf(portal, hh.sim.respond({ vacancyId: vacancy.id, resumeId: resume2.id }));
      t.not(deal2['CONTACT_ID'], theirs['ID'], 'with the setting off, a contact of its own');
      t.match(b24.sim.entity(portal, 'contact', Number(deal2['CONTACT_ID'])), { LAST_NAME: 'Кузнецова' });
      t.notOk(contactCommands(portal, since)['crm.duplicate.findbycomm'], 'and no duplicate search');
      await world.saveSettings(portal, DEAL_SETTINGS);
      await sleep(1500);
    },
  );

  await t.test('a lead of a person who has a contact is bound to it', async (t) => {
    const resume = applicant({ firstName: 'Игорь', lastName: 'Смирнов', middleName: 'Павлович' });
    const deal = await dealOf(portal, hh.sim.respond({ vacancyId: vacancy.id, resumeId: resume.id }));
    await world.saveSettings(portal, {
      responsibleUserId: 2,
      entityType: 'lead',
      sourceId: 'WEB',
      stageForResponse: 'NEW',
      stageForInvitation: 'IN_PROCESS',
    });
    // crm-writer forgets the settings it holds when portal.settings.saved arrives.
    await sleep(1500);
    const n = hh.sim.respond({ vacancyId: vacancy2.id, resumeId: resume.id });
    await eventually(() => b24.sim.entities(portal, 'lead').find((l) => l['ORIGIN_ID'] === n.id), {
      what: 'the lead',
    });
    const lead = b24.sim.entities(portal, 'lead').find((l) => l['ORIGIN_ID'] === n.id)!;
    t.match(
      lead,
      { LAST_NAME: 'Смирнов', NAME: 'Игорь', SECOND_NAME: 'Павлович' },
      'the name in three fields',
    );
    t.same(
      (lead['PHONE'] as Array<{ VALUE_TYPE: string }>).map((p) => p.VALUE_TYPE),
      ['MOBILE', 'WORK', 'HOME'],
    );
    t.equal(lead['CONTACT_ID'], deal['CONTACT_ID'], 'bound to the person’s contact');

    const stranger = hh.sim.respond({ vacancyId: vacancy.id });
    await eventually(() => b24.sim.entities(portal, 'lead').find((l) => l['ORIGIN_ID'] === stranger.id), {
      what: 'the lead of a new person',
    });
    t.equal(
      b24.sim.entities(portal, 'lead').find((l) => l['ORIGIN_ID'] === stranger.id)!['CONTACT_ID'],
      null,
      'a lead makes no contact of its own',
    );
    await world.saveSettings(portal, DEAL_SETTINGS);
    await sleep(1500);
  });

  await t.test('redelivery, a lost record, two responses at once: never a second contact', async (t) => {
    const resume = applicant({ firstName: 'Мария', lastName: 'Орлова', middleName: null });
    const n = hh.sim.respond({ vacancyId: vacancy.id, resumeId: resume.id });
    const deal = await dealOf(portal, n);
    const mine = () => contacts(portal).filter((c) => c['LAST_NAME'] === 'Орлова');
    const snapshotOf = async (id: string) =>
      (
        await world
          .db('hh_negotiations')
          .where({ member_id: portal, negotiation_id: id })
          .first<{ snapshot: NegotiationSnapshot }>('snapshot')
      ).snapshot;
    const publish = (snapshot: NegotiationSnapshot, tag: string) =>
      enqueue(world.db, {
        subject: subjects.hhNegotiationSynced,
        msgId: `e2e-contacts:${tag}:${snapshot.negotiationId}:${Date.now()}`,
        payload: { snapshot },
      });

    // The same message again, as JetStream redelivers it.
    const snapshot = await snapshotOf(n.id);
    await publish(snapshot, 'again');
    await sleep(1500);
    t.equal(mine().length, 1, 'a redelivered message: still one contact');

    // The contact was added but its record lost (a crash between the portal's answer and the
    // commit): the next write finds it by ORIGIN_ID instead of adding another.
    await world.db('crm_contacts').where({ member_id: portal, person_id: snapshot.personId }).delete();
    await world
      .db('crm_links')
      .where({ member_id: portal, negotiation_id: n.id })
      .update({ contact_id: null });
    await publish({ ...snapshot, version: snapshot.version + 1 }, 'lost');
    await eventually(
      async () =>
        (await world
          .db('crm_contacts')
          .where({ member_id: portal, person_id: snapshot.personId })
          .first()) !== undefined,
      { what: 'the contact recorded again' },
    );
    t.equal(mine().length, 1, 'a lost record: still one contact');
    t.match(
      await world.db('crm_contacts').where({ member_id: portal, person_id: snapshot.personId }).first(),
      { contact_id: Number(deal['CONTACT_ID']), origin: 'created' },
    );

    // Two responses of a new person at the same moment.
    const twin = applicant({ firstName: 'Денис', lastName: 'Волков', middleName: null });
    const a = hh.sim.respond({ vacancyId: vacancy.id, resumeId: twin.id });
    const b = hh.sim.respond({ vacancyId: vacancy2.id, resumeId: twin.id });
    const [da, db] = [await dealOf(portal, a), await dealOf(portal, b)];
    t.equal(da['CONTACT_ID'], db['CONTACT_ID'], 'both deals on one contact');
    t.equal(contacts(portal).filter((c) => c['LAST_NAME'] === 'Волков').length, 1, 'one contact');
  });

  await t.test('a clean uninstall erases the people’s contacts with the rest of the portal', async (t) => {
    const recorded = () => world.db('crm_contacts').where({ member_id: portal });
    t.ok((await recorded()).length > 0, 'the portal’s people have contacts on record');
    await b24.sim.uninstall(portal, { clean: true });
    await b24.sim.idle();
    await eventually(async () => (await recorded()).length === 0, {
      timeoutMs: 30_000,
      what: 'crm_contacts erased',
    });
    t.same(await world.db('crm_links').where({ member_id: portal }), [], 'and the links');
  });
});
