/**
 * An employer without paid API access: hh.ru lists its vacancies but refuses their responses and
 * resumes. The import pauses with the reason a person can act on, nothing is dead-lettered, hh.ru
 * is not asked again and again, and once the employer has access the import carries on by itself
 * and brings every negotiation (those that arrived meanwhile too) exactly once.
 */
import t from 'tap';
import { rpc } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { checkPortal } from './expect.js';
import { World, oneManager } from './world.js';

t.test(
  'no paid API access: the import pauses and says why, and goes on by itself once access is there',
  async (t) => {
    const world = await World.forTest(t, {
      generate: oneManager(11, { unpaidEmployers: 1, vacanciesPerManager: 3, negotiations: 24 }),
      env: { HH_PAID_ACCESS_RECHECK_SEC: '1' },
    });
    const { hh, b24 } = world;
    const employer = [...hh.sim.store.employers.values()].find((e) => !e.paidApiAccess)!;
    const admin = [...hh.sim.store.managers.values()].find((m) => m.employerId === employer.id && m.isAdmin)!;
    const vacancy = [...hh.sim.store.vacancies.values()].find(
      (v) => v.managerId === admin.id && !v.archived,
    )!;
    const { memberId: portal, settings } = await world.connectedPortal(
      { responsibleUserId: 1, entityType: 'lead', stageForResponse: 'NEW', stageForInvitation: 'IN_PROCESS' },
      admin,
    );
    const asked = hh.sim.requests().length;
    await world.requestImport(portal);

    const paused = await eventually(
      async () => {
        const p = await world.progress(portal);
        return p.state === 'paused' ? p : null;
      },
      { timeoutMs: 30_000, what: 'the import paused' },
    );
    t.match(
      paused,
      { pausedReason: 'no_paid_access', vacanciesDone: 0, loaded: 0 },
      'paused for want of paid access, nothing loaded',
    );
    t.equal(
      (await world.call(rpc.hhHealth, { memberId: portal })).paidAccess,
      false,
      '«Состояние» says there is no paid access',
    );

    // A response arriving meanwhile is not lost: its webhook is logged as waiting for access.
    const meanwhile = hh.sim.respond({ vacancyId: vacancy.id });
    const log = await eventually(
      async () =>
        (await world.call(rpc.hhSyncEvents, { memberId: portal })).items.find(
          (i) => i.negotiationId === meanwhile.id && i.outcome !== 'received',
        ),
      { timeoutMs: 15_000, what: 'the webhook handled' },
    );
    t.match(log, { source: 'webhook', outcome: /no paid API access/ });
    await new Promise((r) => setTimeout(r, 1500));
    const refused = hh.sim
      .requests()
      .slice(asked)
      .filter((r) => r.status === 403);
    t.ok(
      refused.length <= 3,
      `hh.ru refused ${refused.length} calls: once told, the work waits instead of asking again (one per vacancy step already under way: ${refused.map((r) => r.route).join(', ')})`,
    );
    t.same(
      await world.db('dead_letters').select('consumer', 'reason'),
      [],
      'nothing dead-lettered: missing access is the employer’s state, not a broken message',
    );
    t.equal(b24.sim.entities(portal, 'lead').length, 0);

    // The employer gets paid access on hh.ru: the probe finds it and the import goes on.
    hh.sim.setEmployer(employer.id, { paidApiAccess: true });
    const done = await world.waitForImport(portal, 60_000);
    t.equal(done.state, 'finished');
    await eventually(() => b24.sim.entities(portal, 'lead').some((l) => l['ORIGIN_ID'] === meanwhile.id), {
      timeoutMs: 30_000,
      what: 'the response that arrived meanwhile, by the reconciliation',
    });
    const check = checkPortal(hh.sim, b24.sim, portal, admin.id, settings);
    t.same(
      { missing: check.missing, duplicated: check.duplicated, wrong: check.wrong },
      { missing: [], duplicated: [], wrong: [] },
      `every one of the ${check.expected} negotiations exactly once`,
    );
    t.same(await world.db('dead_letters').select('consumer'), []);
  },
);
