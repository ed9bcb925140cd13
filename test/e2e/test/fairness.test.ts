/**
 * Portals importing at once take turns: each has at most HH_IMPORT_WINDOW negotiation steps queued,
 * so a portal whose import was asked for second does not wait for the first one's whole import.
 */
import t from 'tap';
import { eventually } from '@hhb24/common/testing';
import { checkPortal, visibleNegotiations } from './expect.js';
import { LEAD_SETTINGS, World } from './world.js';

t.test('two portals importing at once take turns', async (t) => {
  const world = await World.forTest(t, {
    b24RateLimit: false,
    // hh.ru's limit makes the steps the slow part, as in a real import: a backlog of them builds up.
    hhRateLimit: { perSec: 40, burst: 10 },
    generate: {
      seed: 8,
      employers: 2,
      unpaidEmployers: 0,
      managersPerEmployer: 1,
      vacanciesPerManager: 3,
      negotiations: 160,
      heavyApplicantResponses: 0,
      tombstones: 0,
      hiddenShare: 0,
    },
    env: { HH_IMPORT_WINDOW: '4' },
  });
  const { hh, b24 } = world;
  const portals = [];
  for (const employer of hh.sim.store.employers.values()) {
    const admin = [...hh.sim.store.managers.values()].find((m) => m.employerId === employer.id && m.isAdmin)!;
    const { memberId, settings } = await world.connectedPortal(LEAD_SETTINGS, admin);
    portals.push({
      memberId,
      admin,
      settings,
      expected: visibleNegotiations(hh.sim, admin.id).length,
    });
  }
  const [first, second] = portals as [(typeof portals)[0], (typeof portals)[0]];
  t.ok(
    first.expected >= 60 && second.expected >= 60,
    `${first.expected} and ${second.expected} negotiations`,
  );
  await world.requestImport(first.memberId);
  // The second import is asked for once the first one has listed everything and is loading.
  await eventually(async () => (await world.progress(first.memberId)).loaded >= 5, {
    timeoutMs: 60_000,
    what: 'the first import under way',
  });
  await world.requestImport(second.memberId);
  for (const p of portals)
    t.match(await world.waitForImport(p.memberId, 120_000), { state: 'finished', failed: 0 });

  for (const p of portals) {
    const check = checkPortal(hh.sim, b24.sim, p.memberId, p.admin.id, p.settings);
    t.same(
      { missing: check.missing, duplicated: check.duplicated },
      { missing: [], duplicated: [] },
      'every negotiation once',
    );
  }
  // In stream order the second portal's steps would all come after the first one's: its first lead
  // after nearly all of the first portal's. Taking turns, it starts within a window.
  // The creation times in ms, as the simulated portal stored them.
  const created = (memberId: string) =>
    [...b24.sim.portal(memberId).leads.values()]
      .map((l) => Number(l.fields['DATE_CREATE']))
      .sort((a, b) => a - b);
  const a = created(first.memberId);
  const b = created(second.memberId);
  const aheadOfSecond = a.filter((at) => at < b[0]!).length;
  t.ok(
    aheadOfSecond < a.length / 3,
    `${aheadOfSecond} of the first portal's ${a.length} leads came before the second portal's first`,
  );
});
