/**
 * An import that survives what production throws at it: hh-connector and crm-writer killed
 * (SIGKILL) in the middle and started again, a password change on hh.ru halfway through and a
 * new login, and a manager whose daily resume views run out. Each ends with every negotiation
 * exactly once in the portal, every field right.
 */
import t from 'tap';
import { rpc } from '@hhb24/common';
import { eventually } from '@hhb24/common/testing';
import { IMPORT_STEPS_IN_FLIGHT, WEBHOOKS_IN_FLIGHT } from '@hhb24/hh-connector';
import { checkPortal } from './expect.js';
import { LEAD_SETTINGS, World, oneManager } from './world.js';

t.test(
  'SIGKILL of hh-connector and of crm-writer, and a password change with a new login, mid-import',
  async (t) => {
    const world = await World.forTest(t, {
      children: ['hh-connector', 'crm-writer'],
      // Slow enough to stop it in the middle: hh.ru's per-address limit at 25 requests/s.
      hhRateLimit: { perSec: 25, burst: 10 },
      generate: {
        seed: 3,
        employers: 1,
        unpaidEmployers: 0,
        managersPerEmployer: 3,
        vacanciesPerManager: 5,
        negotiations: 180,
        heavyApplicantResponses: 8,
        tombstones: 3,
      },
    });
    const { hh, b24, admin } = world;
    const { memberId, settings } = await world.connectedPortal(LEAD_SETTINGS);
    await world.requestImport(memberId);
    const total = [...hh.sim.store.negotiations.values()].length;
    const loaded = (n: number) =>
      eventually(async () => (await world.progress(memberId)).loaded >= n, {
        timeoutMs: 60_000,
        what: `${n} negotiations loaded`,
      });

    await loaded(Math.round(total * 0.25));
    const before = (await world.progress(memberId)).loaded;
    await world.killChild('hh-connector');
    t.pass(`hh-connector killed with ${before} of ${total} loaded`);
    await world.startChild('hh-connector');

    await loaded(Math.round(total * 0.45));
    const seq = hh.sim.requests().length;
    hh.sim.changePassword(admin.userId);
    const paused = await eventually(
      async () => {
        const p = await world.progress(memberId);
        return p.state === 'paused' ? p : null;
      },
      { what: 'the import to pause' },
    );
    t.match(paused, { pausedReason: 'login_required' }, 'the import waits for a new login');
    t.match(
      await world.call(rpc.hhAccount, { memberId }),
      { status: 'login_required' },
      '«Требуется повторный вход»',
    );
    await eventually(
      () =>
        b24.sim.notifications(memberId, 1).length === 1 && b24.sim.notifications(memberId, 2).length === 1,
      { what: 'the notifications' },
    );
    t.match(
      b24.sim.notifications(memberId, 1)[0]?.message,
      /требуется повторный вход/,
      'the admin who connected is told',
    );
    t.match(
      b24.sim.notifications(memberId, 2)[0]?.message,
      /требуется повторный вход/,
      'and the responsible user',
    );
    await new Promise((r) => setTimeout(r, 1500));
    const refused = hh.sim
      .requests()
      .slice(seq)
      .filter((r) => r.status === 403);
    // Each step or webhook in flight when the password changed may meet the dead token once; none tries again.
    const inFlight = IMPORT_STEPS_IN_FLIGHT + WEBHOOKS_IN_FLIGHT;
    t.ok(
      refused.length > 0 && refused.length <= inFlight,
      `no retry loop: ${refused.length} calls met the dead token (at most ${inFlight} in flight)`,
    );
    const quiet = hh.sim.requests().length;
    await new Promise((r) => setTimeout(r, 1000));
    t.equal(hh.sim.requests().length, quiet, 'and nothing calls hh.ru while the login is missing');
    t.equal(
      b24.sim.requests(memberId).filter((r) => r.method === 'im.notify.system.add').length,
      2,
      'each told once',
    );

    const view = await world.connect(memberId, admin.userId);
    t.match(view, { status: 'active' }, 'a new login');
    await eventually(async () => (await world.progress(memberId)).state === 'running', {
      what: 'the import to go on',
    });

    await eventually(async () => (await world.progress(memberId)).imported >= Math.round(total * 0.7), {
      timeoutMs: 60_000,
      what: 'most leads written',
    });
    const written = (await world.progress(memberId)).imported;
    await world.killChild('crm-writer');
    t.pass(`crm-writer killed with ${written} of ${total} written`);
    await world.startChild('crm-writer');

    const done = await world.waitForImport(memberId, 120_000);
    const check = checkPortal(hh.sim, b24.sim, memberId, admin.id, settings);
    t.same(
      { missing: check.missing, duplicated: check.duplicated, foreign: check.foreign, wrong: check.wrong },
      { missing: [], duplicated: [], foreign: [], wrong: [] },
      `${check.expected} negotiations, ${check.entities} leads`,
    );
    t.match(done, { loaded: check.expected, imported: check.expected, failed: 0 });
    t.equal(
      b24.sim.requests(memberId).filter((r) => r.status === 503).length,
      0,
      'no 503 from the portal: writes kept to its pace',
    );
  },
);

t.test(
  'the daily resume views run out: the import parks, and goes on when hh.ru gives views again',
  async (t) => {
    const world = await World.forTest(t, {
      generate: oneManager(4, { vacanciesPerManager: 3, negotiations: 20, hiddenShare: 0 }),
      env: { HH_VIEW_LIMIT_RECHECK_SEC: '1' },
    });
    const { hh, b24, admin } = world;
    hh.sim.setManager(admin.id, { resumeViewsPerDay: 8 });
    const { memberId, settings } = await world.connectedPortal(LEAD_SETTINGS);
    await world.requestImport(memberId);
    const paused = await eventually(
      async () => {
        const p = await world.progress(memberId);
        return p.state === 'paused' && p.loaded === 8 ? p : null;
      },
      // Eight loads take 7–10 s on a loaded two-core machine: more than eventually's default 10 s.
      { timeoutMs: 30_000, what: 'the import parked at the limit' },
    );
    t.match(paused, { pausedReason: 'view_limit', found: 20 }, 'paused: views used up, nothing failed');
    await new Promise((r) => setTimeout(r, 2500));
    t.equal((await world.progress(memberId)).loaded, 8, 'it waits (the probe finds no views left)');
    t.equal(b24.sim.entities(memberId, 'lead').length, 8);

    hh.sim.clock.advance(24 * 3600_000);
    hh.sim.setManager(admin.id, { resumeViewsPerDay: 100 });
    const done = await world.waitForImport(memberId, 30_000);
    t.match(done, { state: 'finished', loaded: 20, imported: 20, failed: 0 });
    const check = checkPortal(hh.sim, b24.sim, memberId, admin.id, settings);
    t.same(
      { missing: check.missing, duplicated: check.duplicated, wrong: check.wrong },
      { missing: [], duplicated: [], wrong: [] },
    );
    t.same(
      (await world.db('dead_letters').select('consumer', 'reason')).map(
        (r: { consumer: string }) => r.consumer,
      ),
      [],
      'nothing was dead-lettered',
    );
  },
);

t.test(
  'the portal failing for a while spends no deliveries: every lead and activity arrives, nothing is dead-lettered',
  async (t) => {
    // Two failed deliveries would dead-letter a message; the portal's 500s must not count as failures.
    const world = await World.forTest(t, {
      generate: oneManager(5, { vacanciesPerManager: 2, negotiations: 24, hiddenShare: 0 }),
      env: { CONSUMER_MAX_DELIVER: '2' },
    });
    const { hh, b24, admin } = world;
    const { memberId, settings } = await world.connectedPortal(LEAD_SETTINGS);
    // Every batch fails until the first writes have met the 500s twice and 2 s more (longer than the
    // first retries' back-off): without the waits their deliveries would be spent.
    b24.sim.injectFault(memberId, { kind: 'http_error', status: 500, methods: ['batch'] });
    await world.requestImport(memberId);
    await eventually(() => b24.sim.requests(memberId).filter((r) => r.status === 500).length >= 2, {
      timeoutMs: 60_000,
      what: 'the portal failing',
    });
    await new Promise((r) => setTimeout(r, 2000));
    b24.sim.clearFaults(memberId);
    t.match(await world.waitForImport(memberId, 60_000), { state: 'finished', loaded: 24, failed: 0 });
    const check = checkPortal(hh.sim, b24.sim, memberId, admin.id, settings);
    t.same(
      { missing: check.missing, duplicated: check.duplicated, wrong: check.wrong },
      { missing: [], duplicated: [], wrong: [] },
    );
    const leads = b24.sim.entities(memberId, 'lead').map((l) => Number(l['ID']));
    await eventually(() => b24.sim.activities(memberId).length >= leads.length, {
      timeoutMs: 30_000,
      what: 'an activity on every lead',
    });
    t.same(
      new Set(b24.sim.activities(memberId).map((a) => a.ownerId)),
      new Set(leads),
      'one activity per lead',
    );
    const failed = b24.sim.requests(memberId).filter((r) => r.status === 500).length;
    t.ok(failed >= 2, `the portal failed ${failed} times`);
    t.same(await world.db('dead_letters').select('consumer', 'reason'), [], 'nothing was dead-lettered');
  },
);
