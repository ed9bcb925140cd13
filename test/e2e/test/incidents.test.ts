/**
 * The failure channel's notification rule with the real services: a portal that refuses writes
 * opens one incident, and the admin who installed the app and the responsible user each get one
 * notice when it opens and one when it clears, however many responses fail meanwhile; the next
 * failures open a new incident with notices of their own. The «Состояние» answers follow it.
 */
import t from 'tap';
import { rpc } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { World, oneManager } from './world.js';

const TAG = 'hhb24|crm-failures|';
/** Longer than a few incident checks (every 2 s): time for a rule breach to show. */
const QUIET_MS = 5000;

t.test(
  'one notice per incident to each recipient, one when it clears, a new incident afterwards',
  async (t) => {
    const world = await World.forTest(t, { generate: oneManager(5) });
    const { hh, b24 } = world;
    const vacancy = [...hh.sim.store.vacancies.values()][0]!;
    const { memberId: portal } = await world.connectedPortal({
      responsibleUserId: 2,
      entityType: 'lead',
      stageForResponse: 'NEW',
      stageForInvitation: 'IN_PROCESS',
    });
    await world.importAll(portal);
    const notices = () => b24.sim.notifications(portal).filter((n) => n.tag?.startsWith(TAG));
    const failures = async () => (await world.call(rpc.crmFailures, { memberId: portal })).items.length;
    const leadOf = (id: string) => b24.sim.entities(portal, 'lead').filter((e) => e['ORIGIN_ID'] === id);
    const quiet = () => new Promise((r) => setTimeout(r, QUIET_MS));

    const healthy = await world.call(rpc.crmHealth, { memberId: portal });
    t.match(
      healthy,
      { portalStatus: 'installed', incidentSince: null, failures: [], counts: { total: { failed: 0 } } },
      'no incident while writes succeed',
    );
    t.equal(notices().length, 0);

    // ---- the first incident: three refusals, one notice to each of the two people ------------------
    b24.sim.setRequired(portal, 'lead', 'SOURCE_ID');
    const first = [hh.sim.respond({ vacancyId: vacancy.id }), hh.sim.respond({ vacancyId: vacancy.id })];
    await eventually(async () => (await failures()) === 2, { timeoutMs: 20_000, what: 'two refusals' });
    await eventually(() => notices().length === 2, { timeoutMs: 15_000, what: 'the incident’s notices' });
    t.same(
      notices()
        .map((n) => n.userId)
        .sort(),
      [1, 2],
      'the admin who installed the app and the responsible user',
    );
    const later = hh.sim.respond({ vacancyId: vacancy.id });
    await eventually(async () => (await failures()) === 3, { timeoutMs: 20_000, what: 'a third refusal' });
    await quiet();
    t.equal(notices().length, 2, 'a failure during the incident adds no notice');
    t.match(
      notices()[0]!.message,
      /^hh\.ru: не удалось добавить на портал откликов: [23]\. Причина: .*Источник.*«Состояние»/,
    );
    const open = await world.call(rpc.crmHealth, { memberId: portal });
    t.ok(open.incidentSince, 'the open incident is on the tab');
    t.equal(open.failures.length, 3);
    t.equal(open.counts.today.failed, 3, 'three refusals counted today');
    t.ok(
      open.failures.every((f) => f.hhUrl?.startsWith('http') && f.entity === null),
      'each with its hh.ru link; no entity exists yet',
    );

    // ---- it clears: one notice to each ----------------------------------------------------------
    b24.sim.setRequired(portal, 'lead', 'SOURCE_ID', false);
    t.same(await world.call(rpc.crmRetry, { memberId: portal }), { retried: 3 });
    await eventually(() => [...first, later].every((n) => leadOf(n.id).length === 1), {
      timeoutMs: 20_000,
      what: 'the retried leads',
    });
    await eventually(() => notices().length === 4, {
      timeoutMs: 15_000,
      what: 'the notices that it cleared',
    });
    t.same(
      notices()
        .slice(2)
        .map((n) => [n.userId, n.message])
        .sort(),
      [
        [1, 'hh.ru: ошибок больше нет — все отклики снова добавляются на портал.'],
        [2, 'hh.ru: ошибок больше нет — все отклики снова добавляются на портал.'],
      ],
    );
    await quiet();
    t.equal(notices().length, 4, 'nothing more once it cleared');
    t.match(
      await world.call(rpc.crmHealth, { memberId: portal }),
      { incidentSince: null, failures: [], counts: { today: { imported: 5, failed: 3 } } },
      'two imported and three retried leads today',
    );

    // ---- new failures later: a new incident, notified again --------------------------------------
    b24.sim.setRequired(portal, 'lead', 'SOURCE_ID');
    const again = hh.sim.respond({ vacancyId: vacancy.id });
    await eventually(() => notices().length === 6, {
      timeoutMs: 20_000,
      what: 'the second incident’s notices',
    });
    t.equal(
      new Set(notices().map((n) => n.tag)).size,
      6,
      'each notice tagged by its incident and end, so none replaces another',
    );
    b24.sim.setRequired(portal, 'lead', 'SOURCE_ID', false);
    await world.call(rpc.crmRetry, { memberId: portal, negotiationId: again.id });
    await eventually(() => notices().length === 8, {
      timeoutMs: 20_000,
      what: 'the second incident cleared',
    });
    t.equal(leadOf(again.id).length, 1);
    type Incident = {
      cleared_at: Date | null;
      open_notified_at: Date | null;
      clear_notified_at: Date | null;
    };
    const incidents = (): Promise<Incident[]> =>
      world.db('crm_incidents').where({ member_id: portal }).orderBy('id');
    // The notice goes out before the transaction that records it commits: the row may lag the notice.
    await eventually(
      async () => {
        const rows = await incidents();
        return (
          rows.length === 2 && rows.every((i) => i.cleared_at && i.open_notified_at && i.clear_notified_at)
        );
      },
      { timeoutMs: 10_000, what: 'two incidents, both opened, cleared and told at both ends' },
    );
    t.equal((await incidents()).length, 2, 'two incidents, both opened, cleared and told at both ends');
  },
);
