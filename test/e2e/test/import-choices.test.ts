/**
 * The admin's choice of what to import, honoured by hh-connector against the simulated hh.ru: three
 * employers, one portal each, one choice each (the last N days; all collections but the discards;
 * two chosen vacancies). Each portal holds exactly the negotiations the simulator's own data says
 * the choice takes, and a choice that does not fit the schema never reaches hh-connector.
 */
import t from 'tap';
import { ImportScope, WHOLE_SCOPE, compileSchema, rpc, subjects } from '@hhb24/common';
import type { Negotiation } from '@hhb24/sim-hh';
import { eventually } from '@hhb24/common/testing';
import { visibleNegotiations } from './expect.js';
import { LEAD_SETTINGS, World } from './world.js';

const DAY = 86_400_000;

t.test('import choices: the period, the collections and the chosen vacancies, counted', async (t) => {
  const world = await World.forTest(t, {
    generate: {
      seed: 19,
      employers: 3,
      unpaidEmployers: 0,
      managersPerEmployer: 1,
      vacanciesPerManager: 3,
      negotiations: 150,
      heavyApplicantResponses: 0,
      tombstones: 0,
    },
  });
  const { sim } = world.hh;
  const admins = [...sim.store.managers.values()].filter((m) => m.isAdmin);
  t.equal(admins.length, 3, 'three employers, each with its admin');
  const vacanciesOf = (managerId: string) =>
    [...new Set(visibleNegotiations(sim, managerId).map((n) => n.vacancyId))].sort();

  // A period whose boundary no negotiation lies within an hour of: the count cannot flip while the test runs.
  const all0 = visibleNegotiations(sim, admins[0]!.id);
  const periodDays = [7, 5, 10, 3, 12, 14].find((d) =>
    all0.every((n) => Math.abs(n.createdAt - (Date.now() - d * DAY)) > 3_600_000),
  )!;
  const choices: Array<{ name: string; scope: ImportScope; takes: (n: Negotiation) => boolean }> = [
    {
      name: `the last ${periodDays} days`,
      scope: { periodDays, discarded: true, vacancyIds: null },
      takes: (n) => n.createdAt >= Date.now() - periodDays * DAY,
    },
    {
      name: 'all but the discarded',
      scope: { periodDays: null, discarded: false, vacancyIds: null },
      takes: (n) => !n.employerState.startsWith('discard'),
    },
    {
      name: 'two chosen vacancies',
      scope: { periodDays: null, discarded: true, vacancyIds: vacanciesOf(admins[2]!.id).slice(0, 2) },
      takes: (n) => vacanciesOf(admins[2]!.id).slice(0, 2).includes(n.vacancyId),
    },
  ];

  const portals: string[] = [];
  for (const [i, choice] of choices.entries()) {
    const memberId = await world.installPortal();
    await world.connect(memberId, admins[i]!.userId);
    await world.saveSettings(memberId, LEAD_SETTINGS);
    await world.requestImport(memberId, 'initial', choice.scope);
    portals.push(memberId);
  }
  for (const [i, choice] of choices.entries()) {
    const memberId = portals[i]!;
    const visible = visibleNegotiations(sim, admins[i]!.id);
    const expected = visible.filter(choice.takes).map((n) => n.id);
    t.ok(
      expected.length > 0 && expected.length < visible.length,
      `${choice.name}: the choice takes ${expected.length} of the employer’s ${visible.length} negotiations`,
    );
    const progress = await world.waitForImport(memberId);
    const held = (await world
      .db('hh_negotiations')
      .where({ member_id: memberId })
      .pluck('negotiation_id')) as string[];
    t.same(held.sort(), expected.sort(), `${choice.name}: exactly those negotiations are kept`);
    t.match(
      progress,
      { found: expected.length, loaded: expected.length },
      `${choice.name}: found and loaded count them`,
    );
  }

  await t.test('a new response by webhook: kept on a chosen vacancy, left out on another', async (t) => {
    const [memberId, vacancies] = [portals[2]!, vacanciesOf(admins[2]!.id)];
    const chosen = sim.respond({ vacancyId: vacancies[0]! });
    const other = sim.respond({ vacancyId: vacancies[2]! });
    const delivery = (topicId: string) =>
      world.db('hh_webhook_deliveries').where({ member_id: memberId, topic_id: topicId }).first();
    await eventually(async () => (await delivery(chosen.id))?.outcome === 'processed', {
      what: 'the chosen vacancy’s response processed',
    });
    await eventually(async () => Boolean((await delivery(other.id))?.outcome), {
      what: 'the other vacancy’s response handled',
    });
    t.match(
      await delivery(other.id),
      { outcome: 'ignored: a new negotiation outside what the portal chose to import' },
      'the delivery log says why the other was left out',
    );
    const held = await world
      .db('hh_negotiations')
      .where({ member_id: memberId })
      .whereIn('negotiation_id', [chosen.id, other.id])
      .pluck('negotiation_id');
    t.same(held, [chosen.id], 'only the chosen vacancy’s response is kept');
  });

  await t.test(
    '«Новые отклики»: the count of each choice, and what the confirmed one brings to the CRM',
    async (t) => {
      const [memberId, admin] = [portals[0]!, admins[0]!];
      const vacancies = vacanciesOf(admin.id);
      // Responses that arrive without a notification (the count finds them, the check brings them):
      // recent and old ones, some already discarded on hh.ru.
      for (const [i, age] of [1, 2, periodDays + 20, periodDays + 40, 3, periodDays + 30].entries())
        sim.store.createNegotiation({
          vacancyId: vacancies[i % vacancies.length]!,
          resumeId: sim.addResume().id,
          initiator: 'applicant',
          employerState: i % 3 === 2 ? 'discard_by_employer' : 'response',
          createdAt: Date.now() - age * DAY,
          silent: true,
        });
      const held = new Set(
        (await world
          .db('hh_negotiations')
          .where({ member_id: memberId })
          .pluck('negotiation_id')) as string[],
      );
      const lacking = visibleNegotiations(sim, admin.id).filter((n) => !held.has(n.id));
      const recent = (n: Negotiation) => n.createdAt >= Date.now() - periodDays * DAY;
      const kept = (n: Negotiation) => !n.employerState.startsWith('discard');
      const counted: Array<{ name: string; scope: ImportScope; takes: (n: Negotiation) => boolean }> = [
        { name: 'everything', scope: WHOLE_SCOPE, takes: () => true },
        { name: `the last ${periodDays} days`, scope: { ...WHOLE_SCOPE, periodDays }, takes: recent },
        { name: 'all but the discarded', scope: { ...WHOLE_SCOPE, discarded: false }, takes: kept },
        {
          name: `the last ${periodDays} days but the discarded`,
          scope: { periodDays, discarded: false, vacancyIds: null },
          takes: (n) => recent(n) && kept(n),
        },
        {
          name: 'one vacancy',
          scope: { ...WHOLE_SCOPE, vacancyIds: [vacancies[0]!] },
          takes: (n) => n.vacancyId === vacancies[0],
        },
      ];
      const counts = new Set<number>();
      const cost: Record<string, { collections: number; pages: number }> = {};
      for (const c of counted) {
        const expected = lacking.filter(c.takes).length;
        counts.add(expected);
        const from = sim.requests({ userId: admin.userId }).length;
        const answer = await world.call(rpc.hhNewResponses, { memberId, scope: c.scope });
        t.equal(answer.newCount, expected, `${c.name}: ${expected} new on hh.ru`);
        const asked = sim.requests({ userId: admin.userId }).slice(from);
        cost[c.name] = {
          collections: asked.filter((r) => r.route === '/negotiations').length,
          pages: asked.filter((r) => r.route === '/negotiations/:x').length,
        };
      }
      // What a count asks of hh.ru (docs/performance.md): the vacancies' counters for everything or
      // chosen vacancies, each vacancy's collections without the discards, list pages for a period.
      t.match(cost['everything'], { collections: 0, pages: 0 }, 'everything: the vacancies’ counters alone');
      t.match(cost['one vacancy'], { collections: 0, pages: 0 }, 'chosen vacancies: the counters alone');
      t.match(
        cost['all but the discarded'],
        { collections: vacancies.length, pages: 0 },
        'without the discards: one request per vacancy for its collections',
      );
      t.ok(
        cost[`the last ${periodDays} days`]!.pages > 0,
        `a period pages the collections that hold more than the portal (${JSON.stringify(cost)})`,
      );
      t.ok(counts.size >= 3, 'the choices count differently');
      t.same(
        (await world.db('hh_imports').where({ member_id: memberId }).first()).scope,
        { ...WHOLE_SCOPE, periodDays },
        'counting keeps nothing: the portal’s choice is as it was',
      );

      // «Проверить ещё раз» with «Все, кроме отказов»: the reconciliation brings exactly those into the CRM.
      const chosen = counted[2]!;
      const answer = await world.call(rpc.hhNewResponses, { memberId, repair: true, scope: chosen.scope });
      t.equal(answer.newCount, lacking.filter(chosen.takes).length, 'the count the user confirmed');
      const expected = [...held, ...lacking.filter(chosen.takes).map((n) => n.id)].sort();
      const inCrm = () =>
        world.b24.sim
          .entities(memberId, 'lead')
          .map((e) => String(e['ORIGIN_ID']))
          .sort();
      await eventually(async () => inCrm().length === expected.length, {
        what: 'the confirmed choice’s responses in the CRM',
        timeoutMs: 60_000,
      });
      t.same(
        inCrm(),
        expected,
        'the CRM holds what it held and exactly the confirmed choice’s new responses',
      );
      // hh-connector learns of each write from crm-writer's answer, a moment after the lead exists.
      await eventually(async () => (await world.call(rpc.hhNewResponses, { memberId })).newCount === 0, {
        what: '«Новые отклики» counting none left for the kept choice',
        timeoutMs: 30_000,
      });
      t.pass('and «Новые отклики» counts none left for the kept choice');
    },
  );

  await t.test('a choice that does not fit the schema never leaves the publisher', async (t) => {
    const check = compileSchema(ImportScope);
    for (const bad of [
      { periodDays: 0, discarded: true, vacancyIds: null },
      { periodDays: 5000, discarded: true, vacancyIds: null },
      { periodDays: null, discarded: 'no', vacancyIds: null },
      { periodDays: null, discarded: true, vacancyIds: [] },
      { periodDays: null, discarded: true, vacancyIds: ['1', '1'] },
    ])
      t.notOk(check.check(bad), `refused: ${JSON.stringify(bad)}`);
    await t.rejects(
      world.requestImport(portals[0]!, 'initial', {
        periodDays: -1,
        discarded: true,
        vacancyIds: null,
      }),
      `the outbox refuses an ${subjects.hhImportRequested} whose scope does not fit`,
    );
  });
});
