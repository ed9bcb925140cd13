/**
 * App updates reach installed portals. A portal installed with an older set of registrations (no
 * stage-move events, no robots, no ONAPPUPDATE binding) is brought up to date by the gateway's check
 * when it starts, and then behaves as a new one: a recruiter's stage move reaches hh.ru and the
 * robot works. Then the admin installs a newer version of the app: Bitrix24 deletes the app's
 * robots and sends ONAPPUPDATE, and the gateway registers them again. Every registration is made
 * once, however many times the check and the event ask.
 */
import t from 'tap';
import {
  APP_VERSION,
  HH_STATUS_ROBOT_CODE,
  type PortalAppUpdate,
  enqueue,
  rpc,
  subjects,
} from '@hhb24/common';
import { eventually, sleep } from '@hhb24/common/testing';
import { installSteps } from '@hhb24/gateway';
import { TWO_WAY_DEAL_SETTINGS, World, oneManager } from './world.js';

t.test('an installed portal gets what a new version of the app adds', { timeout: 300_000 }, async (t) => {
  const world = await World.forTest(t, {
    children: ['gateway'],
    b24RateLimit: false,
    generate: oneManager(5, { vacanciesPerManager: 3, negotiations: 8 }),
  });
  const { hh, b24 } = world;
  const store = hh.sim.store;
  const publicUrl = world.env['PUBLIC_URL']!;

  // Installed as an older version of the app did: the fields, the card tabs, the uninstall and
  // «Другие отклики» events; no stage-move events, no robots, no ONAPPUPDATE.
  const portal = await world.installPortal();
  const older = installSteps(publicUrl, 1).filter(
    (s) =>
      s.key.startsWith('placement:') ||
      s.key === 'event:ONAPPUNINSTALL' ||
      s.key === 'event:ONCRMTIMELINEITEMACTION',
  );
  const done = await world.b24Client.batch(
    portal,
    older.map((s) => s.add),
  );
  t.same(done.errors, {}, 'the older set registered');
  // What the migration that added versions records for a portal installed before them.
  await world.db('b24_portals').where({ member_id: portal }).update({ app_version: 1 });
  const events = () =>
    b24.sim
      .eventBindings(portal)
      .map((e) => e.event)
      .sort();
  const robots = () =>
    b24.sim
      .portal(portal)
      .robots.map((r) => r.code)
      .sort();
  t.same(events(), ['ONAPPUNINSTALL', 'ONCRMTIMELINEITEMACTION']);
  t.same(robots(), []);
  t.match(
    await world.call(rpc.crmHealth, { memberId: portal }),
    { appVersion: 1, appVersionCurrent: APP_VERSION },
    '«Состояние»: the portal is behind',
  );

  // A gateway starts (a deploy): its check finds the portal behind and registers what it lacks.
  const since = Date.now();
  await world.stopChild('gateway', 'SIGTERM');
  await world.startChild('gateway');
  const expectedEvents = [
    'ONAPPUNINSTALL',
    'ONAPPUPDATE',
    'ONCRMDEALUPDATE',
    'ONCRMLEADUPDATE',
    'ONCRMTIMELINEITEMACTION',
  ];
  await eventually(() => JSON.stringify(events()) === JSON.stringify(expectedEvents), {
    timeoutMs: 30_000,
    what: `the stage-move events and ONAPPUPDATE bound (bound: ${events().join(', ')})`,
  });
  await eventually(() => robots().length === 2, { timeoutMs: 30_000, what: 'both robots added' });
  await eventually(
    async () => (await world.call(rpc.crmHealth, { memberId: portal })).appVersion === APP_VERSION,
    { what: 'the portal recorded at the current version' },
  );
  t.pass(`brought up to date in ${Date.now() - since} ms after the gateway was stopped`);
  const calls = (method: string, from = since) =>
    b24.sim.requests(portal, { since: from }).filter((r) => r.method === method).length;
  t.equal(calls('event.bind'), 3, 'three events bound, each once');
  t.equal(calls('bizproc.robot.add'), 2, 'two robots added, each once');
  t.equal(calls('placement.bind'), 0, 'the card tabs it had are left alone');
  t.equal(calls('crm.lead.userfield.add') + calls('crm.deal.userfield.add'), 0, 'and the fields');

  // Another gateway start finds nothing to do.
  const again = Date.now();
  await world.stopChild('gateway', 'SIGTERM');
  await world.startChild('gateway');
  await sleep(7000);
  t.equal(calls('event.bind', again) + calls('bizproc.robot.add', again), 0, 'a second start adds nothing');

  // Now it behaves as a new one: deals in extended mode with the two-way status.
  await world.connect(portal, world.admin.userId);
  await world.saveSettings(portal, TWO_WAY_DEAL_SETTINGS);
  await world.importAll(portal);
  const deals = () => b24.sim.entities(portal, 'deal');
  const n = [...store.negotiations.values()].find(
    (x) => x.employerState === 'response' && deals().some((d) => d['ORIGIN_ID'] === x.id),
  )!;
  const dealId = Number(deals().find((d) => d['ORIGIN_ID'] === n.id)!['ID']);
  b24.sim.moveStage(portal, 'deal', dealId, 'EXECUTING', { userId: 1 });
  await eventually(() => store.negotiations.get(n.id)!.employerState === 'interview', {
    timeoutMs: 20_000,
    what: 'the recruiter’s stage move to reach hh.ru',
  });
  t.pass('a stage move in the portal reached hh.ru');

  const runRefresh = async (what: string) => {
    hh.sim.move(n.id, 'offer');
    const run = b24.sim.runRobot(portal, {
      entityType: 'deal',
      entityId: dealId,
      code: HH_STATUS_ROBOT_CODE,
    });
    const ended = await eventually(
      () => b24.sim.robotRuns(portal).find((x) => x.id === run.id && x.status === 'completed'),
      { timeoutMs: 30_000, what: `«Обновить статус НН» completed (${what})` },
    );
    t.match(ended.returnValues, { status: 'Предложение о работе' }, `the robot works (${what})`);
  };
  await runRefresh('after the start check');

  // The admin installs a newer version: Bitrix24 deletes the app's robots and sends ONAPPUPDATE.
  const clientId = b24.sim.portalInfo(portal).installs[0]!.clientId;
  b24.sim.updateApp(clientId, { version: b24.sim.app(clientId).version + 1 });
  const updated = Date.now();
  const sent = b24.sim.updateInstall(portal);
  t.equal(sent.length, 1, 'ONAPPUPDATE sent to the handler bound at the start check');
  t.same(robots(), [], 'Bitrix24 deleted the robots');
  await b24.sim.idle();
  t.equal(sent[0]!.status, 200, 'the gateway took ONAPPUPDATE');
  await eventually(() => robots().length === 2, { timeoutMs: 30_000, what: 'the robots added again' });
  t.pass(`robots back ${Date.now() - updated} ms after the update`);
  t.equal(calls('bizproc.robot.add', updated), 2, 'each robot added once');
  t.equal(calls('event.bind', updated), 0, 'the bound events are left alone');
  hh.sim.move(n.id, 'hired');
  hh.sim.move(n.id, 'discard_by_employer');
  hh.sim.move(n.id, 'consider');
  await runRefresh('after ONAPPUPDATE');

  // Two replicas asked at once (two messages, as after JetStream's duplicate window): one works,
  // the other waits for its lock and then finds everything there.
  b24.sim.portal(portal).robots = [];
  const twice = Date.now();
  await enqueue(
    world.db,
    ['a', 'b'].map((replica) => ({
      subject: subjects.portalAppUpdate,
      msgId: `app-update-test:${portal}:${replica}`,
      payload: {
        memberId: portal,
        reason: 'event',
        version: null,
        previousVersion: null,
        at: new Date().toISOString(),
      } satisfies PortalAppUpdate,
    })),
  );
  await eventually(() => robots().length === 2, { timeoutMs: 30_000, what: 'the robots added again' });
  await sleep(4000);
  t.equal(calls('bizproc.robot.add', twice), 2, 'asked twice at once: each robot added once');
});
